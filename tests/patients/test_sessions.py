"""patients/sessions.py: the session read compiled once, an update written as the one
UPDATE statement (issue 12), with Django's own behaviour kept."""

import datetime

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.sessions import SessionStore

# No test transaction: the queries are counted as a request makes them.
pytestmark = pytest.mark.django_db(transaction=True)


def saved(**data):
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_a_session_is_read_by_its_key():
    key = saved(patient_link="abc")
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key)["patient_link"] == "abc"
    assert len(queries.captured_queries) == 1


def test_an_expired_session_is_not_read():
    key = saved(patient_link="abc")
    Session.objects.filter(pk=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None


def test_an_unknown_key_is_an_empty_session():
    store = SessionStore("x" * 32)
    assert store.load() == {} and store.session_key is None


def test_an_update_is_one_statement_without_a_transaction():
    key = saved(patient_link="abc")
    store = SessionStore(key)
    store["patient_reference"] = "ABC123"
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    assert SessionStore(key)["patient_reference"] == "ABC123"


def test_a_session_gone_meanwhile_is_django_update_error():
    # SessionMiddleware turns this into "session interrupted", as with Django's backend.
    key = saved(patient_link="abc")
    store = SessionStore(key)
    store["patient_reference"] = "ABC123"
    Session.objects.filter(pk=key).delete()
    with pytest.raises(UpdateError):
        store.save()


def test_a_new_session_is_still_created_in_its_transaction():
    store = SessionStore()
    store["patient_link"] = "abc"
    with CaptureQueriesContext(connection) as queries:
        store.save()
    verbs = [q["sql"].split()[0] for q in queries.captured_queries]
    assert "INSERT" in verbs
    assert SessionStore(store.session_key)["patient_link"] == "abc"
