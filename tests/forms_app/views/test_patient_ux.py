"""Patient pages as issue 13 asks: messages that name the question, "(optional)" marks,
a page count that never jumps back, "Save and come back later", one device at a time,
the clinic's contact details, the form's description and lang on untranslated text."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from forms_app import services
from forms_app.engine import compile_definition
from forms_app.engine.translation import TRANSLATION, translate_definition
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Link, Submission
from patients.models import AuditEvent
from tests.factories.forms_app import version_from_definition
from tests.forms_app.journey import DEMO_ANSWERS, open_and_verify, page_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after():
    # A Welsh request leaves Welsh active in this thread (LocaleMiddleware activates and
    # nothing deactivates): later tests must not inherit it.
    yield
    translation.deactivate()


def welsh(text):
    return {"extension": [{"url": TRANSLATION, "extension": [
        {"url": "lang", "valueCode": "cy"}, {"url": "content", "valueString": text}]}]}


SMOKING = {
    "resourceType": "Questionnaire", "status": "active", "title": "Smoking check",
    "description": "Two short questions about smoking.",
    "_description": welsh("Dau gwestiwn byr am ysmygu."),
    "item": [
        {"linkId": "p1", "type": "group", "text": "About you", "item": [
            {"linkId": "smoke", "type": "boolean", "text": "Do you smoke?", "required": True},
            {"linkId": "nhs", "type": "string", "text": "NHS number"},
        ]},
        {"linkId": "p2", "type": "group", "text": "Smoking",
         "enableWhen": [{"question": "smoke", "operator": "=", "answerBoolean": True}],
         "item": [{"linkId": "per-day", "type": "integer", "required": True,
                   "text": "How many cigarettes a day?"}]},
        {"linkId": "p3", "type": "group", "text": "Last", "item": [
            {"linkId": "notes", "type": "text", "text": "Anything else?"}]},
    ],
}


def issue(definition=None, *, care_team=None):
    user, patient, team, version = ensure_demo()
    if definition is not None:
        version = version_from_definition(team.organisation, definition, by=user)
    return services.issue_link(version=version, patient=patient,
                               care_team=care_team or team, by=user)


def test_messages_name_the_question_in_its_own_words():
    form = compile_definition(SMOKING)
    p1 = form.form_class("p1", answers={})(data={}, prefix="p1")
    p2 = form.form_class("p2", answers={"smoke": True})(data={"p2-per-day": "lots"}, prefix="p2")
    assert not p1.is_valid() and not p2.is_valid()
    assert p1.errors["smoke"] == ["Select yes or no for do you smoke"]
    assert p2.errors["per-day"] == ["How many cigarettes a day must be a number"]
    empty = form.form_class("p2", answers={"smoke": True})(data={}, prefix="p2")
    assert empty.errors["per-day"] == ["Enter how many cigarettes a day"]


def test_an_abbreviation_keeps_its_capitals():
    from forms_app.engine.messages import from_question

    assert from_question("NHS number") == "NHS number"
    assert from_question("  What is your\nname? ") == "what is your name"
    assert from_question("") == ""


def test_optional_questions_are_marked_and_required_ones_are_not(client):
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert 'NHS number <span class="app-optional" lang="en-gb">(optional)</span>' in page
    assert "Do you smoke? <span" not in page


def test_the_description_is_translated_and_shown_on_the_first_page_only(client):
    assert translate_definition(SMOKING, "cy")["description"] == "Dau gwestiwn byr am ysmygu."
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    first = client.get(reverse("patient:answer")).content.decode()
    assert "Two short questions about smoking." in first
    second = client.post(reverse("patient:answer"), page_data("p1", {"smoke": "yes"}),
                         follow=True).content.decode()
    assert "How many cigarettes a day?" in second  # the next page, after the redirect
    assert "Two short questions about smoking." not in second
    client.post(reverse("set_language"), {"language": "cy", "next": "/"})
    welsh_first = client.get(reverse("patient:answer") + "?step=p1").content.decode()
    assert "Dau gwestiwn byr am ysmygu." in welsh_first


def test_the_page_count_never_jumps_back_when_a_condition_adds_a_page(client):
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    assert "Page 1 of up to 3" in client.get(reverse("patient:answer")).content.decode()
    client.post(reverse("patient:answer"), page_data("p1", {"smoke": "yes"}))
    assert "Page 2 of up to 3" in client.get(reverse("patient:answer")).content.decode()


def test_a_form_without_conditional_pages_counts_exactly(client):
    issued = issue()
    open_and_verify(client, issued.token)
    assert "Page 1 of 3" in client.get(reverse("patient:answer")).content.decode()


def test_english_form_text_on_a_welsh_page_is_marked_english(client):
    issued = issue()  # the demo form has no Welsh
    open_and_verify(client, issued.token)
    english = client.get(reverse("patient:answer")).content.decode()
    assert 'lang="en"' not in english.split("<html", 1)[1].split(">", 1)[1]
    client.post(reverse("set_language"), {"language": "cy", "next": "/"})
    page = client.get(reverse("patient:answer")).content.decode()
    assert '<html lang="cy">' in page
    assert '<h1 class="nhsuk-heading-l" lang="en">About you</h1>' in page
    assert "Cadw a pharhau" in page  # the fixed text stays Welsh, outside the lang="en"


def test_save_and_come_back_later_says_how_to_return_and_until_when(client):
    issued = issue()
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert f'href="{reverse("patient:saved")}"' in page
    saved = client.get(reverse("patient:saved"))
    assert saved.status_code == 200
    expires = timezone.localtime(issued.link.expires_at)
    text = saved.content.decode()
    assert "Open the link we sent you again" in text
    assert f"{expires.day} {expires:%B} {expires.year}" in text
    # Nothing is lost by leaving: the same session carries on.
    assert client.get(reverse("patient:answer")).status_code == 200


def test_the_saved_page_needs_a_journey(client):
    assert client.get(reverse("patient:saved")).status_code == 403


def test_a_newer_device_takes_over_and_the_older_one_is_told(client):
    issued = issue()
    open_and_verify(client, issued.token)
    client.post(reverse("patient:answer"), page_data("about-you", DEMO_ANSWERS["about-you"]))
    other = Client()
    open_and_verify(other, issued.token)
    assert other.get(reverse("patient:answer")).status_code == 200

    for response in (client.get(reverse("patient:answer")),
                     client.post(reverse("patient:answer"),
                                 page_data("your-health", DEMO_ANSWERS["your-health"])),
                     client.get(reverse("patient:check")),
                     client.post(reverse("patient:check"))):
        assert response.status_code == 409
        body = response.content.decode()
        assert "on another device" in body
        assert "Sal" not in body and "168" not in body and "Sarah" not in body
    submission = Submission.objects.get(link=issued.link)
    assert submission.state == Submission.State.IN_PROGRESS
    assert "smoker" not in (submission.draft_answers or {})  # the older POST wrote nothing

    # Opening the link again takes it back; now the other device is told.
    open_and_verify(client, issued.token)
    assert client.get(reverse("patient:answer")).status_code == 200
    assert other.get(reverse("patient:answer")).status_code == 409


def test_an_older_device_cannot_save_over_a_newer_one():
    issued = issue()
    Submission.objects.create(link=issued.link)
    old = services.claim_device(link_id=issued.link.pk)
    services.claim_device(link_id=issued.link.pk)
    submission = Submission.objects.get(link=issued.link)
    assert not services.save_progress(submission_id=submission.pk, wizard_state={},
                                      draft_answers={"x": 1},
                                      device=services.device_fingerprint(old))
    assert services.save_progress(submission_id=submission.pk, wizard_state={},
                                  draft_answers={"x": 1}, device=submission.device)


def test_the_row_keeps_only_a_fingerprint_of_the_device_token():
    issued = issue()
    Submission.objects.create(link=issued.link)
    token = services.claim_device(link_id=issued.link.pk)
    stored = Submission.objects.get(link=issued.link).device
    assert token not in stored
    assert stored == services.device_fingerprint(token) and len(stored) == 64


def test_taking_the_form_over_is_audited_and_the_first_claim_is_not():
    issued = issue()
    submission = Submission.objects.create(link=issued.link)
    taken = AuditEvent.objects.filter(action=AuditEvent.Action.DEVICE_TAKEN_OVER)
    services.claim_device(link_id=issued.link.pk)
    assert not taken.exists()
    services.claim_device(link_id=issued.link.pk, ip_address="192.0.2.7")
    (event,) = taken
    assert event.object_id == str(submission.pk) and event.patient == issued.link.patient
    assert event.ip_address == "192.0.2.7" and event.actor_label == "patient"


def test_pages_that_say_contact_the_clinic_show_the_teams_details(client):
    issued = issue()
    team = issued.link.care_team
    team.contact_phone, team.contact_hours = "01632 960 001", "Monday to Friday, 9am to 5pm"
    team.save(update_fields=["contact_phone", "contact_hours"])
    open_and_verify(client, issued.token)
    Link.objects.filter(pk=issued.link.pk).update(revoked_at=timezone.now())
    page = client.get(reverse("patient:answer"))
    assert page.status_code == 404
    text = page.content.decode()
    assert f"Contact {team.name}" in text
    assert 'href="tel:01632960001"' in text and "Monday to Friday, 9am to 5pm" in text


def test_the_organisations_details_when_the_team_has_none(client):
    issued = issue()
    organisation = issued.link.care_team.organisation
    organisation.contact_email = "clinic@example.nhs.uk"
    organisation.save(update_fields=["contact_email"])
    client.get(reverse("patient:start", kwargs={"token": issued.token}))
    for _ in range(10):  # wrong dates of birth until the link locks
        response = client.post(reverse("patient:verify"),
                               {"day": "1", "month": "1", "year": "1990"})
    assert response.status_code == 429
    text = response.content.decode()
    assert f"Contact {organisation.name}" in text
    assert "mailto:clinic@example.nhs.uk" in text


def test_no_contact_details_for_an_unknown_link(client):
    page = client.get(reverse("patient:start", kwargs={"token": "not-a-real-token"}))
    assert "app-clinic-contact" not in page.content.decode()


def test_every_new_fixed_string_has_welsh():
    with translation.override("cy"):
        for message in ("(optional)", "Page %(number)s of up to %(count)s",
                        "Save and come back later", "Patient forms"):
            assert translation.gettext(message) != message, message


def test_the_service_name_is_translated(client):
    client.post(reverse("set_language"), {"language": "cy", "next": "/"})
    page = client.get(reverse("patient:start", kwargs={"token": "nope"})).content.decode()
    assert "Ffurflenni cleifion" in page


def test_link_expiry_date_is_shown_in_the_patients_language(client):
    issued = issue()
    Link.objects.filter(pk=issued.link.pk).update(
        expires_at=timezone.make_aware(datetime.datetime(2030, 12, 3, 10, 0)))
    open_and_verify(client, issued.token)
    client.post(reverse("set_language"), {"language": "cy", "next": "/"})
    assert "3 Rhagfyr 2030" in client.get(reverse("patient:saved")).content.decode()
