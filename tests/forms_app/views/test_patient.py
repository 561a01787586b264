import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Link, Submission
from patients.models import RecordEntry
from tests.forms_app.journey import (
    DEMO_ANSWERS,
    answer_all,
    complete_demo_journey,
    open_and_verify,
    page_data,
)

pytestmark = pytest.mark.django_db


def unmasked(content):
    # Identical pages but for the (per-response masked) CSRF token of the language switcher.
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


@pytest.fixture
def issued():
    user, patient, team, version = ensure_demo()
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


def test_whole_journey_files_the_submission(client, issued,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_demo_journey(client, issued.token)
    response = client.get(reverse("patient:confirmation"))
    submission = Submission.objects.get(link=issued.link)
    assert submission.reference.encode() in response.content
    # Tasks run in-process here: the submission is already filed.
    assert submission.state == Submission.State.FILED
    assert RecordEntry.objects.filter(source_id=submission.pk).count() == 1
    # The patient who sent it, reopening the link, is back at their confirmation.
    response = client.get(reverse("patient:start", kwargs={"token": issued.token}))
    assert response.status_code == 302 and response.url == reverse("patient:confirmation")
    assert submission.reference.encode() in client.get(response.url).content
    # Anyone else holding the token learns nothing, not even that it was sent: the same
    # answer as an unknown link (issue 14, LOW 6).
    other = client.__class__()
    response = other.get(reverse("patient:start", kwargs={"token": issued.token}))
    unknown = other.get(reverse("patient:start", kwargs={"token": "not-a-real-token"}))
    assert response.status_code == unknown.status_code == 404
    assert unmasked(response.content) == unmasked(unknown.content)
    assert b"already sent" not in response.content
    assert b"Sarah" not in response.content and b"9434765919" not in response.content
    assert "sessionid" not in response.cookies  # nothing kept for the visitor either


def test_token_is_moved_out_of_the_url(client, issued):
    response = client.get(reverse("patient:start", kwargs={"token": issued.token}))
    assert response.status_code == 302
    assert issued.token not in response.url
    page = client.get(response.url)
    assert issued.token.encode() not in page.content
    assert page["Cache-Control"].startswith("max-age=0")


def test_unknown_and_expired_links_get_the_same_neutral_page(client, issued):
    unknown = client.get(reverse("patient:start", kwargs={"token": "not-a-real-token"}))
    Link.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now())
    expired = client.get(reverse("patient:start", kwargs={"token": issued.token}))
    assert unknown.status_code == expired.status_code == 404
    assert unmasked(unknown.content) == unmasked(expired.content)


def test_wrong_date_of_birth_shows_no_patient_data(client, issued):
    response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
    assert response.status_code == 400
    assert b"does not match" in response.content
    assert b"Sarah" not in response.content and issued.link.patient.nhs_number.encode() not in (
        response.content)
    # The form stays closed: back to the identity check.
    answer = client.get(reverse("patient:answer"))
    assert answer.status_code == 302 and answer.url == reverse("patient:verify")


@pytest.mark.parametrize("dob", [("31", "2", "1990"), ("aa", "1", "1990"), ("", "", ""),
                                 ("1", "1", "3000"), ("1\x00", "1", "1990")])
def test_impossible_dates_of_birth_get_a_clear_error(client, issued, dob):
    client.get(reverse("patient:start", kwargs={"token": issued.token}))
    response = client.post(reverse("patient:verify"),
                           {"day": dob[0], "month": dob[1], "year": dob[2]})
    assert response.status_code == 400
    assert b"nhsuk-error-summary" in response.content
    # Not a check against the record: nothing is counted.
    assert Link.objects.get(pk=issued.link.pk).failed_checks == 0


def test_five_wrong_attempts_lock_the_link(client, issued):
    for left in (4, 3, 2, 1):
        response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
        assert response.status_code == 400
        # The patient is told how many tries are left (issue 14, LOW 5).
        plural = "time" if left == 1 else "times"
        assert f"You can try {left} more {plural} before".encode() in response.content
    response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
    assert response.status_code == 429
    assert b"cannot continue for 2 minutes" in response.content  # a short first pause
    # A fresh browser (another IP, say) is locked out too.
    response = open_and_verify(client.__class__(), issued.token)
    assert response.status_code == 429


def test_each_pause_is_twice_as_long_up_to_the_limit_and_the_patient_resets_it(client,
                                                                                 issued):
    addresses = iter(range(1, 100))

    def lock_once():
        Link.objects.filter(pk=issued.link.pk).update(locked_until=None)
        # Another address each round: the per-IP rate limit is not what is tested here.
        client.defaults["REMOTE_ADDR"] = f"10.0.0.{next(addresses)}"
        for _ in range(5):
            response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
        assert response.status_code == 429
        link = Link.objects.get(pk=issued.link.pk)
        return round((link.locked_until - timezone.now()).total_seconds() / 60), link.lockouts

    assert [lock_once() for _ in range(6)] == [(2, 1), (4, 2), (8, 3), (16, 4), (30, 5),
                                               (30, 6)]
    assert services.lock_minutes(100) == 30
    # The right answer, once the pause is over, starts the escalation again.
    Link.objects.filter(pk=issued.link.pk).update(locked_until=None)
    assert open_and_verify(client, issued.token).status_code == 302
    link = Link.objects.get(pk=issued.link.pk)
    assert (link.lockouts, link.failed_checks, link.locked_until) == (0, 0, None)


def test_the_pause_and_tries_left_in_welsh(client, issued):
    client.cookies["django_language"] = "cy"
    for _ in range(4):
        response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
    assert b"Gallwch roi cynnig arall arni 1 waith" in response.content
    response = open_and_verify(client, issued.token, dob=(1, 1, 1990))
    assert response.status_code == 429
    assert b"allwch barhau am 2 funud" in response.content


def test_missing_required_answers_show_an_error_summary_and_save_nothing(client, issued):
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"), page_data("about-you", {
        "preferred-name": "Sal", "height-cm": "", "weight-kg": ""}))
    assert response.status_code == 200
    assert b"nhsuk-error-summary" in response.content
    submission = Submission.objects.get(link=issued.link)
    assert not (submission.draft_answers or {})


def test_skipping_a_page_is_refused(client, issued):
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"),
                           page_data("anything-else", DEMO_ANSWERS["anything-else"]))
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    state = Submission.objects.get(link=issued.link).wizard_state or {}
    assert "anything-else" not in state.get("step_data", {})
    assert client.get(reverse("patient:check")).status_code == 302


@pytest.mark.parametrize("step", ["no-such-page", "", "x" * 500])
def test_tampered_step_name_is_refused(client, issued, step):
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"),
                           {"answer_wizard-current_step": step, f"{step}-notes": "x"})
    assert response.status_code == 302


def test_missing_management_form_is_refused(client, issued):
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"), {"about-you-height-cm": "1"})
    assert response.status_code == 302


@pytest.mark.parametrize("value", ["Sal\x00", "x" * 1_000_000])
def test_nul_bytes_and_huge_answers_get_a_clear_error(client, issued, value):
    open_and_verify(client, issued.token)
    answers = {**DEMO_ANSWERS["about-you"], "preferred-name": value}
    response = client.post(reverse("patient:answer"), page_data("about-you", answers))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert b"nhsuk-error-summary" in response.content
    assert not (Submission.objects.get(link=issued.link).draft_answers or {})


def test_letters_in_a_number_field(client, issued):
    open_and_verify(client, issued.token)
    answers = {**DEMO_ANSWERS["about-you"], "height-cm": "tall"}
    response = client.post(reverse("patient:answer"), page_data("about-you", answers))
    assert b"nhsuk-error-summary" in response.content


def test_a_saved_page_redirects_to_the_next_so_a_refresh_sends_nothing_again(client, issued):
    """Post/Redirect/Get: a valid page is saved and answered with a redirect to the
    answer page (no answer in the address); the next page is its own GET, so reloading
    it writes nothing and asks no "confirm form resubmission"."""
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"),
                           page_data("about-you", DEMO_ANSWERS["about-you"]))
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    saved = Submission.objects.get(link=issued.link)
    assert str(saved.draft_answers["height-cm"]) == DEMO_ANSWERS["about-you"]["height-cm"]
    first = client.get(response.url)
    assert b"Page 2 of 3" in first.content
    again = client.get(response.url)
    assert unmasked(again.content) == unmasked(first.content)
    reread = Submission.objects.get(link=issued.link)
    assert (reread.wizard_state, reread.draft_answers) == (saved.wizard_state,
                                                           saved.draft_answers)


def test_resume_in_another_browser_keeps_answers(client, issued):
    open_and_verify(client, issued.token)
    client.post(reverse("patient:answer"), page_data("about-you", DEMO_ANSWERS["about-you"]))
    other = client.__class__()
    open_and_verify(other, issued.token)
    response = other.get(reverse("patient:answer"))
    assert b"Page 2 of 3" in response.content
    response = other.get(reverse("patient:answer") + "?step=about-you")
    assert b'value="168"' in response.content


def test_check_your_answers_and_change(client, issued):
    open_and_verify(client, issued.token)
    answer_all(client)
    response = client.get(reverse("patient:check"))
    assert b"Check your answers" in response.content
    assert b"I use a wheelchair." in response.content
    response = client.get(reverse("patient:answer") + "?change=your-health")
    assert response.status_code == 200
    response = client.post(reverse("patient:answer"), page_data(
        "your-health", {**DEMO_ANSWERS["your-health"], "general-health": "poor"}))
    assert response.status_code == 302 and response.url == reverse("patient:check")
    assert b"Poor" in client.get(reverse("patient:check")).content


def test_double_submit_makes_one_submission(client, issued,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complete_demo_journey(client, issued.token)
        response = client.post(reverse("patient:check"))
    assert response.status_code in (302, 404)
    assert RecordEntry.objects.count() == 1


def test_expired_link_cannot_be_submitted(client, issued):
    open_and_verify(client, issued.token)
    answer_all(client)
    Link.objects.filter(pk=issued.link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = client.post(reverse("patient:check"))
    assert response.status_code == 404
    assert Submission.objects.get(link=issued.link).state == Submission.State.IN_PROGRESS
