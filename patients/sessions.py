"""Database sessions that survive a database restart.

The patient's session holds their place (which link, whether the identity check has
passed). Django's database backend loses it in two ways when a connection drops:

- saving the session at the end of the request fails, and Django answers 400
  ("session interrupted") or 500 with the new state unsaved;
- `cycle_key()` (after the identity check) creates the new session and deletes the old
  one at once, so if anything fails before the response sets the new cookie, the
  browser is left holding the key of a deleted session: "your session has timed out,
  open your link again" (issue 14: six patients).

Here a save (and the new session's creation) that loses its connection waits briefly
for the database and tries again (a session save writes the whole state, so twice is
harmless); if the database stays away the original error goes up, and the request ends
in the "try again" page (patients/outage.py) with the old session intact. The old key
is deleted only once the new session is saved; until then an interrupted request leaves
the patient with their old, unverified session (the identity check is asked again,
nothing else is lost), never with none. Set by SESSION_ENGINE.

A session update is the one UPDATE statement, without the transaction Django opens
around it (a single statement is atomic by itself; BEGIN and COMMIT would be two more
round trips on every session write, issue 12).
"""

import contextlib

from django.conf import settings
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError, connections, router
from django.utils import timezone

from patients.outage import is_database_outage, wait_for_database


class SessionStore(db.SessionStore):
    _delete_after_save = None

    def _retrying(self, write, *args, **kwargs):
        try:
            return write(*args, **kwargs)
        except Exception as error:
            if not is_database_outage(error):
                raise
            if not wait_for_database(settings.DATABASE_RETRY_WAIT_SECONDS):
                raise self._outage(error) from None
            try:
                return write(*args, **kwargs)
            except Exception as again:
                if is_database_outage(again):
                    raise self._outage(again) from None
                raise

    @staticmethod
    def _outage(error):
        # Django's UpdateError would become a 400; the database error itself becomes the
        # 503 "try again" page.
        while error is not None and not isinstance(error, DatabaseError):
            error = error.__cause__ or error.__context__
        return error

    def load(self):
        # The one column it needs, in plain SQL: building the ORM query cost a fifth of
        # a whiteboard poll's CPU, on every staff and patient request. Same rule as
        # Django's: a missing or expired session is an empty new one.
        if not self.session_key:
            self._session_key = None
            return {}
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            # The table name is the model's own, quoted; the values are parameters.
            cursor.execute(f"SELECT session_data FROM {table} "  # noqa: S608
                           "WHERE session_key = %s AND expire_date > %s",
                           [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])

    def _write(self, must_create=False):
        if must_create or self.session_key is None:
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session())
        try:
            obj.save(force_update=True, using=router.db_for_write(self.model, instance=obj))
        except DatabaseError as error:
            # As Django's save: the row has gone (the session ended meanwhile), or the
            # database is away (_retrying looks at the cause).
            raise UpdateError from error
        return None

    def save(self, must_create=False):
        self._retrying(self._write, must_create=must_create)
        old, self._delete_after_save = self._delete_after_save, None
        if old:
            # Tidying only: an old session left behind holds nothing verified, and
            # expires with the cookie.
            with contextlib.suppress(DatabaseError):
                super().delete(old)

    def cycle_key(self):
        data = self._session
        key = self.session_key
        self.create()
        self._session_cache = data
        if key:
            self._delete_after_save = key
