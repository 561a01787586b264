"""A dropped database connection: retried where that is safe, else a calm page.

When PostgreSQL restarts or fails over, requests in flight lose their connection. A
request is run again, once, after waiting a moment for the database to answer, when
running it twice cannot do anything twice:

- GET and HEAD requests (they only read, or write what they would write anyway: the
  session's expiry, "link first opened"), and
- any other request that has committed no write yet: every write statement seen so far
  was inside a transaction that never committed (the connection died first), so the
  database holds nothing of the first try.

Otherwise the person gets the "try again in a moment" page (jinja2/503.html, 503 with
Retry-After). Their session and everything saved before this request are untouched
(patients/sessions.py keeps the session itself through the outage), so trying again
carries on where they were. No traceback reaches the page or the log: the outage is
logged once as a warning and counted (patients.fallbacks).

The one case a retry cannot see is a COMMIT that reached the database but whose answer
was lost with the connection: the first try's writes did happen. The requests retried
this way are the patient's, and each is idempotent (saving a page rewrites the same
state; submitting twice finds it submitted and shows "already sent").
"""

import contextlib
import sys
import time

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, connections
from django.db.utils import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse
from django.template import loader
from django.utils import translation

from patients.fallbacks import record_fallback

OUTAGE_ERRORS = (OperationalError, InterfaceError)
SAFE_METHODS = {"GET", "HEAD"}
FLAG = "database_outage"
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET ", "SHOW")


def is_database_outage(error: BaseException | None) -> bool:
    """True when the error, or one it was raised from, is a lost or refused connection
    (Django's OperationalError/InterfaceError; e.g. the session backend turns one into
    its own UpdateError)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OUTAGE_ERRORS):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def wait_for_database(seconds: float) -> bool:
    """Drop this thread's broken connections and wait up to `seconds` for the database
    to accept a new one. False if it does not, or if a transaction is still open (the
    caller is inside atomic(): only its owner may retry)."""
    deadline = time.monotonic() + seconds
    aliases = list(connections)
    while True:
        try:
            for alias in aliases:
                connection = connections[alias]
                if connection.in_atomic_block:
                    return False
                if connection.connection is not None and not connection.is_usable():
                    with contextlib.suppress(DatabaseError):
                        connection.close()
                connection.ensure_connection()
            return True
        except OUTAGE_ERRORS:
            for alias in aliases:
                with contextlib.suppress(DatabaseError):
                    connections[alias].close()
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


class _CommittedWrites:
    """An execute wrapper noting whether this request has committed a write."""

    def __init__(self):
        self.committed = False

    def _commit_seen(self):
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        if not self.committed and not str(sql).lstrip()[:10].upper().startswith(_READS):
            connection = context["connection"]
            if connection.in_atomic_block:
                # Dropped with the transaction if it rolls back (the connection died).
                connection.on_commit(self._commit_seen, robust=True)
            else:
                self.committed = True  # autocommit: it may have committed already
        return execute(sql, params, many, context)


class DatabaseRetryMiddleware:
    """First in MIDDLEWARE: wraps the whole request, session save included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = _CommittedWrites()
        with contextlib.ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(writes))
            response = self.get_response(request)
            if not getattr(request, FLAG, False):
                return response
            if request.method not in SAFE_METHODS and writes.committed:
                return response  # the "try again" page
            if not wait_for_database(settings.DATABASE_RETRY_WAIT_SECONDS):
                return response
            setattr(request, FLAG, False)
            record_fallback("database", "request retried")
            return self.get_response(request)


@receiver(got_request_exception, dispatch_uid="patients.outage.mark")
def _mark_outage(sender, request=None, **kwargs):
    # Every uncaught exception passes here (with DEBUG on as well), before handler500.
    if request is not None and is_database_outage(sys.exc_info()[1]):
        setattr(request, FLAG, True)


def try_again_response() -> HttpResponse:
    """503 with Retry-After: a fixed page, nothing from the request in it."""
    error = sys.exc_info()[1]
    record_fallback("database", "unavailable", error=error)
    # Only the language (already active for this request) goes into the page.
    response = HttpResponse(loader.get_template("503.html").render(
        {"LANGUAGE_CODE": translation.get_language()}), status=503)
    response["Retry-After"] = str(settings.DATABASE_OUTAGE_RETRY_AFTER_SECONDS)
    # Logged above as a warning: not again as an "Internal Server Error" traceback.
    response._has_been_logged = True
    return response
