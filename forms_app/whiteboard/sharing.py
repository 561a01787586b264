"""A shared board is built by one process at a time, and off the request path while
it is still fresh.

Every screen polling a team's board shares what it is built into (the board, its HTML
fragment, its JSON) through the cache, each entry tagged with the board's generation
(freshness.py) and the time its data was read. An entry is served for at most
WHITEBOARD_CACHE_SECONDS after that time: with the refresh interval, that is the bound
on how long a change takes to show (settings).

Measured under the mixed load (bench/mixed.py, issue 12), every expiry put the rebuild
(100 to 300 ms for 300 rows) on the request that found it, which made the whiteboard's
p99, and when both web processes found it at once both rebuilt the same board. Here:

- in the last WHITEBOARD_REFRESH_AHEAD_SECONDS of an entry's life a request is still
  answered from it, and the one process that claims a short lock (cache.add) rebuilds
  it after that response has been sent: the response's close, which the WSGI server
  calls once the body is out (the test client too);
- a request that finds no current entry (none yet, expired, or of an older generation:
  staff changed the board, which must show at once) builds it now, unless another
  process holds the lock for it: then it waits briefly for that build rather than
  building the same board again.

An entry is a tuple (generation, built_at, *value); built_at is a Unix time.
"""

import logging
import time
from functools import partial

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# A lock outlives a build only if its process died during it: then the entry expires
# and a request builds it, at most this long after.
LOCK_SECONDS = 10
# How long a request waits for another process's build of the same entry before
# building it itself; a 300-row board builds in well under a second.
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.02


def is_current(entry, generation, max_age, now=None) -> bool:
    """An entry of this generation whose data is younger than max_age seconds."""
    return (isinstance(entry, tuple) and len(entry) >= 3 and entry[0] == generation
            and (now or time.time()) - entry[1] < max_age)


def refresh_due(entry, seconds) -> bool:
    """In the last WHITEBOARD_REFRESH_AHEAD_SECONDS of its life (at most half of it)."""
    ahead = min(settings.WHITEBOARD_REFRESH_AHEAD_SECONDS, seconds / 2)
    return time.time() - entry[1] >= seconds - ahead


def reuse_age(seconds) -> float:
    """How old a board may be for a refresh to build on it (the fragment's and the
    JSON's refreshes share one board build) without the result being due again at once."""
    ahead = min(settings.WHITEBOARD_REFRESH_AHEAD_SECONDS, seconds / 2)
    return (seconds - ahead) / 2


def _lock_key(key, generation) -> str:
    return f"{key}:building:{generation}"


def _claim(key, generation) -> bool:
    return cache.add(_lock_key(key, generation), 1, LOCK_SECONDS)


def _release(key, generation) -> None:
    cache.delete(_lock_key(key, generation))


def build_once(key, generation, max_age, build):
    """A current entry for key: build() it (it stores and returns the entry) under the
    lock, or wait for the process that holds the lock; build it anyway if that process
    has not stored it within WAIT_SECONDS."""
    if _claim(key, generation):
        try:
            return build()
        finally:
            _release(key, generation)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        entry = cache.get(key)
        if is_current(entry, generation, max_age):
            return entry
    return build()


def refresh_later(after: list, key, generation, build) -> None:
    """Rebuild the entry after this response, if no other process is rebuilding it."""
    if _claim(key, generation):
        after.append(partial(_refresh, key, generation, build))


def _refresh(key, generation, build) -> None:
    try:
        build()
    except Exception as error:
        # Nothing is lost: the entry expires and a request builds it. The type only: a
        # message could quote a value from the board.
        logger.warning("Whiteboard refresh failed (%s)", type(error).__name__)
    finally:
        _release(key, generation)


def send_then_run(response, after: list):
    """The response, with the refreshes in `after` run once it has been sent.

    Django runs a response's resource closers in response.close(), which the WSGI
    server calls after writing the body, before the request_finished signal (so the
    database connection is still the request's and is tidied after)."""
    response._resource_closers.extend(after)
    return response
