"""A dropped database connection: retried where safe, else "try again"; the patient's
session and place survive (patients/outage.py, patients/sessions.py)."""

import pytest
from django.contrib.sessions.models import Session
from django.db.utils import OperationalError
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from forms_app.views import patient as patient_views
from patients import fallbacks
from tests.forms_app.journey import answer_all, open_and_verify

# No test transaction around these: a retry must see the database as a request does.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _counts(settings, client):
    settings.DATABASE_RETRY_WAIT_SECONDS = 0.5
    fallbacks.reset()
    # The test client re-raises any exception a view raised, even one the retry
    # recovered from: look at the responses, as a browser would.
    client.raise_request_exception = False


@pytest.fixture
def link():
    user, patient, team, version = ensure_demo()
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


def fail_first(monkeypatch, owner, name, times=1):
    """Make owner.name raise OperationalError (a dropped connection) `times` times."""
    real = getattr(owner, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


def test_a_get_that_loses_its_connection_is_run_again(client, link, monkeypatch):
    calls = fail_first(monkeypatch, patient_views, "find_link_by_token")
    response = client.get(reverse("patient:start", kwargs={"token": link.token}))
    assert response.status_code == 302 and response.url == reverse("patient:verify")
    assert len(calls) == 2
    assert fallbacks.FALLBACKS[("database", "request retried")] == 1


def test_a_post_that_wrote_nothing_yet_is_run_again(client, link, monkeypatch):
    client.get(reverse("patient:start", kwargs={"token": link.token}))
    calls = fail_first(monkeypatch, services, "verify_identity")
    response = client.post(reverse("patient:verify"),
                           {"day": "15", "month": "3", "year": "1984"})
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    assert len(calls) == 2


def test_a_post_after_a_committed_write_gets_try_again_and_keeps_its_place(
        client, link, monkeypatch, caplog):
    open_and_verify(client, link.token)
    answer_all(client)
    real_submit = services.submit

    def submit_then_lose_connection(**kwargs):
        real_submit(**kwargs)  # committed
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "submit", submit_then_lose_connection)
    response = client.post(reverse("patient:check"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "Try again in a moment" in body and link.token not in body
    assert "Traceback" not in caplog.text and "Internal Server Error" not in caplog.text
    # Trying again: the form was sent, and the patient is told so.
    assert Submission.objects.get(link=link.link).state != Submission.State.IN_PROGRESS
    response = client.get(reverse("patient:check"), follow=True)
    assert b"You have already sent this form" in response.content


def test_a_database_that_stays_down_gets_try_again_not_a_500(client, link, monkeypatch):
    fail_first(monkeypatch, patient_views, "find_link_by_token", times=5)
    response = client.get(reverse("patient:start", kwargs={"token": link.token}))
    assert response.status_code == 503 and response["Retry-After"]
    assert fallbacks.FALLBACKS[("database", "unavailable")] == 2  # first try and retry


def test_the_try_again_page_is_the_patient_layout_in_the_patients_language(
        client, link, monkeypatch):
    fail_first(monkeypatch, patient_views, "find_link_by_token", times=5)
    client.cookies["django_language"] = "cy"
    response = client.get(reverse("patient:start", kwargs={"token": link.token}))
    assert response.status_code == 503
    page = response.content.decode()
    assert '<html lang="cy">' in page
    assert "Mae'n ddrwg gennym, mae'r gwasanaeth yn brysur" in page.replace("&#39;", "'")
    assert "nhsuk-header" in page  # the patient-facing layout (jinja2/base.html)
    assert link.token not in page


def test_other_errors_are_still_the_plain_500(client, link, monkeypatch):
    def boom(token):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(patient_views, "find_link_by_token", boom)
    response = client.get(reverse("patient:start", kwargs={"token": link.token}))
    assert response.status_code == 500 and "Retry-After" not in response


def test_a_session_save_that_loses_its_connection_is_saved_on_retry(client, link,
                                                                   monkeypatch):
    client.get(reverse("patient:start", kwargs={"token": link.token}))
    fail_first(monkeypatch, Session, "save")
    response = client.post(reverse("patient:verify"),
                           {"day": "15", "month": "3", "year": "1984"})
    # Without the retry Django answers 400 "session interrupted" here.
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    assert client.get(reverse("patient:answer")).status_code == 200


def test_an_interrupted_identity_check_leaves_the_old_session_not_none(client, link,
                                                                      monkeypatch):
    """The cycle_key after the check used to delete the old session at once: if the
    response never set the new cookie, the patient had to open the link again."""
    client.get(reverse("patient:start", kwargs={"token": link.token}))
    old_key = client.session.session_key
    # The new session is created, then every save after it fails.
    real_save = Session.save
    saves = []

    def second_save_fails(self, *args, **kwargs):
        saves.append(1)
        if len(saves) > 1:
            raise OperationalError("the database went away")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Session, "save", second_save_fails)
    response = client.post(reverse("patient:verify"),
                           {"day": "15", "month": "3", "year": "1984"})
    assert response.status_code == 503
    assert Session.objects.filter(session_key=old_key).exists()
    monkeypatch.setattr(Session, "save", real_save)
    # The browser still holds the old key: the patient is asked their date of birth
    # again, and carries on.
    response = client.get(reverse("patient:verify"))
    assert response.status_code == 200 and b"date of birth" in response.content
