"""The shared cache, falling back to this process's memory while Redis is unreachable.

Rate limits (django-ratelimit), the API throttles and the whiteboards' short cache all
count or keep things in the shared cache. Django's Redis backend raises when Redis is
down, which turned every patient opening a link into a 500 (issue 14). This backend
catches Redis' errors and serves the same call from a per-process memory cache instead:
limits are then counted per process (a little looser, never off), shared boards are
built per process, and the outage is logged and counted (patients.fallbacks).

A circuit breaker keeps a dead Redis from costing every request a connection attempt:
after a failure, calls go straight to memory for RETRY_SECONDS, then Redis is tried
again. Connect and read timeouts (settings CACHES OPTIONS) bound a Redis that hangs.
Staff sign-in does not use the cache at all (docs/adr/0014-staff-sign-in-without-the-cache.md).
"""

import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

from patients.fallbacks import record_fallback

RETRY_SECONDS = 5.0
ERRORS = (RedisError, OSError)

_lock = threading.Lock()
_down_until: dict[str, float] = {}


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per connection pool.

    Django builds a new redis.Redis for every cache call, and building one copies its
    table of ~200 response callbacks: a few hundred microseconds a call, several calls
    a request. A redis.Redis on a connection pool is safe to share between threads.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._location = server if isinstance(server, str) else ",".join(server)
        # LocMemCache instances of one name share their storage: one memory cache per
        # process, whichever thread's cache object falls back.
        self._memory = LocMemCache(f"pf-fallback:{self._location}", params)

    def _redis_up(self) -> bool:
        return time.monotonic() >= _down_until.get(self._location, 0.0)

    def _call(self, name, *args, **kwargs):
        if self._redis_up():
            try:
                return getattr(super(), name)(*args, **kwargs)
            except ERRORS as error:
                with _lock:
                    _down_until[self._location] = time.monotonic() + RETRY_SECONDS
                record_fallback("cache", "unreachable", error=error)
        else:
            record_fallback("cache", "unreachable")
        return getattr(self._memory, name)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        try:
            return self._call("incr", key, delta, version)
        except ValueError:
            if self._redis_up():
                raise  # Redis answered: the key really is missing
            # The counter began in Redis just before it went away (add succeeded there,
            # incr falls back here): start it afresh in memory rather than fail the call,
            # which django-ratelimit would take as "over the limit".
            self._memory.set(key, delta, version=version)
            return delta

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        self._memory.clear()
        return self._call("clear")


def reset_breaker() -> None:
    """Try Redis again on the next call (tests)."""
    with _lock:
        _down_until.clear()
