"""Patient pages beyond the basic journey: languages, the session timeout, the engine's
less common widgets, and that every patient page carries the switcher and no token."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from tests.factories.forms_app import bilingual_definition, version_from_definition
from tests.forms_app.journey import answer_all, open_and_verify, page_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return ensure_demo()


@pytest.fixture
def issued(demo):
    user, patient, team, version = demo
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


@pytest.fixture
def bilingual(demo):
    user, patient, team, _ = demo
    version = version_from_definition(team.organisation, bilingual_definition(), by=user)
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


def welsh(client):
    response = client.post(reverse("set_language"), {"language": "cy", "next": "/form/verify/"})
    assert response.status_code == 302


def test_every_patient_page_has_the_language_switcher_and_no_token(client, issued):
    token = issued.token.encode()
    pages = [client.get(reverse("patient:start", kwargs={"token": "unknown-token"}))]
    pages.append(client.get(reverse("patient:start", kwargs={"token": issued.token}),
                            follow=True))
    open_and_verify(client, issued.token)
    pages.append(client.get(reverse("patient:answer")))
    answer_all(client)
    pages.append(client.get(reverse("patient:check")))
    client.post(reverse("patient:check"))
    pages.append(client.get(reverse("patient:confirmation")))
    pages.append(client.get(reverse("patient:already_submitted")))
    pages.append(client.get(reverse("patient:timed_out")))
    for page in pages:
        assert b'action="/i18n/setlang/"' in page.content, page.request["PATH_INFO"]
        assert b'lang="cy">Cymraeg</button>' in page.content
        assert token not in page.content
        assert b"Privacy notice" in page.content and b"Accessibility statement" in page.content
        assert b"Demo Teaching Hospitals NHS Foundation Trust" in page.content


def test_the_patient_switches_to_welsh_without_javascript(client, issued):
    open_and_verify(client, issued.token)
    welsh(client)
    page = client.get(reverse("patient:answer"))
    assert b'<html lang="cy">' in page.content
    assert b"Tudalen 1 o 3" in page.content and b"Cadw a pharhau" in page.content
    assert b'aria-current="true">Cymraeg</span>' in page.content
    assert b'lang="en-gb">English</button>' in page.content  # named in its own language
    # Engine messages too.
    error = client.post(reverse("patient:answer"), page_data("about-you", {"height-cm": "abc"}))
    assert "rhaid iddo fod yn rhif" in error.content.decode()
    # And back to English.
    client.post(reverse("set_language"), {"language": "en-gb", "next": "/form/answer/"})
    assert b"Page 1 of 3" in client.get(reverse("patient:answer")).content


def test_a_form_version_carries_its_own_welsh(client, bilingual):
    open_and_verify(client, bilingual.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert "How will you travel to the hospital?" in page
    welsh(client)
    page = client.get(reverse("patient:answer")).content.decode()
    assert "Sut byddwch yn teithio i&#39;r ysbyty?" in page  # escaped by Jinja (markupsafe)
    assert "Teithio a chyrraedd" in page and "Bws" in page
    assert "Rydym yn gofyn hyn i gynllunio parcio a thrafnidiaeth." in page


def test_open_choice_and_date_time_widgets_render_and_validate(client, bilingual):
    open_and_verify(client, bilingual.token)
    page = client.get(reverse("patient:answer")).content.decode()
    # Open choice: NHS radios; "Other" reveals a text box for the details (NHS.UK's
    # conditional reveal: hidden only where the NHS.UK script runs, so always there
    # without JavaScript).
    assert 'class="nhsuk-radios"' in page and 'value="__other__"' in page
    other = page.index('value="__other__"')
    assert 'data-aria-controls="conditional-id_travel-how-3"' in page[other:other + 200]
    assert 'id="conditional-id_travel-how-3"' in page
    assert 'name="travel-how_other"' in page[page.index('id="conditional-id_travel-how-3"'):]
    response = client.post(reverse("patient:answer"),
                           page_data("travel", {"how": "__other__", "how_other": ""}))
    assert response.status_code == 200 and b"nhsuk-error-summary" in response.content
    assert b'href="#id_travel-how"' in response.content  # the summary links to a radio
    assert b'id="id_travel-how" name="travel-how" type="radio"' in response.content
    response = client.post(reverse("patient:answer"),
                           page_data("travel", {"how": "", "how_other": "Taxi 🚕"}),
                           follow=True)
    page = response.content.decode()
    # Date and time: day, month, year and a time box in one fieldset, numeric keyboards.
    assert 'name="arrival-arrival_day"' in page and 'name="arrival-arrival_time"' in page
    assert page.count('inputmode="numeric"') >= 3
    bad = client.post(reverse("patient:answer"), page_data("arrival", {
        "arrival_day": "31", "arrival_month": "2", "arrival_year": "2030",
        "arrival_time": "09:30"}))
    assert b"must be a real date" in bad.content
    assert b'href="#id_arrival-arrival-day"' in bad.content
    assert b'id="id_arrival-arrival-day" name="arrival-arrival_day"' in bad.content
    good = client.post(reverse("patient:answer"), page_data("arrival", {
        "arrival_day": "1", "arrival_month": "6", "arrival_year": "2030",
        "arrival_time": "09:30"}))
    assert good.status_code == 302 and good.url == reverse("patient:check")
    check = client.get(reverse("patient:check")).content.decode()
    assert "Taxi 🚕" in check
    submission = Submission.objects.get(link=bilingual.link)
    assert submission.draft_answers["how"] == {"other": "Taxi 🚕"}


def test_journey_pages_after_the_session_ends_say_so_and_answers_are_kept(client, issued):
    open_and_verify(client, issued.token)
    client.post(reverse("patient:answer"), page_data("about-you", {
        "height-cm": "170", "weight-kg": "70"}))
    client.session.flush()  # what the idle timeout does
    client.cookies.clear()
    for name in ("patient:answer", "patient:check", "patient:verify"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        assert b"Your answers are saved." in response.content
    # Opening the link again resumes where the patient left off.
    open_and_verify(client, issued.token)
    assert b"Page 2 of 3" in client.get(reverse("patient:answer")).content


def test_each_patient_request_restarts_the_idle_clock(client, issued, settings):
    settings.PATIENT_SESSION_SECONDS = 600
    open_and_verify(client, issued.token)
    client.get(reverse("patient:answer"))
    expiry = client.session.get_expiry_date()
    assert timezone.now() + datetime.timedelta(seconds=590) < expiry
    assert expiry <= timezone.now() + datetime.timedelta(seconds=600)
    page = client.get(reverse("patient:answer")).content.decode()
    assert 'data-seconds="600"' in page and 'id="session-timeout"' in page
    keep = client.post(reverse("patient:keep_alive"), HTTP_ACCEPT="application/json")
    assert keep.json() == {"seconds": 600}
    # Without JavaScript the button is a plain form: back to the form.
    keep = client.post(reverse("patient:keep_alive"))
    assert keep.status_code == 302 and keep.url == reverse("patient:answer")


def test_keep_alive_without_a_session_is_refused(client):
    assert client.post(reverse("patient:keep_alive")).status_code == 403
    assert client.get(reverse("patient:keep_alive")).status_code == 405
