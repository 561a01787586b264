"""Questions that depend on an answer on the same page (issue 11, point 1: a required
question enabled by an answer on its own page was never shown, yet stayed required, so
the patient was trapped).

A question shown by one answer to a radio or checkbox question sits in that answer's
NHS.UK conditional reveal (with JavaScript it appears in place; without, it is always
there). Any other such question is shown once the posted answers enable it: the page
comes back with it, nothing typed lost, and no error for it on that first showing.
"""

import re

import pytest
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from forms_app.views.patient import SHOWN_FIELD
from tests.factories.forms_app import version_from_definition
from tests.forms_app.journey import open_and_verify, page_data

pytestmark = pytest.mark.django_db

SMOKING = {
    "resourceType": "Questionnaire", "status": "active", "title": "Smoking",
    "item": [{
        "linkId": "habits", "type": "group", "text": "Your habits", "item": [
            {"linkId": "smoke", "type": "boolean", "text": "Do you smoke?", "required": True},
            {"linkId": "per-day", "type": "integer", "text": "How many a day?",
             "required": True,
             "enableWhen": [{"question": "smoke", "operator": "=", "answerBoolean": True}]},
        ]}],
}

# Conditions a page cannot reveal in place: a number compared, and a checkbox.
DRINKING = {
    "resourceType": "Questionnaire", "status": "active", "title": "Drinking",
    "item": [{
        "linkId": "drink", "type": "group", "text": "Alcohol", "item": [
            {"linkId": "units", "type": "integer", "text": "How many units a week?",
             "required": True},
            {"linkId": "advice", "type": "string", "text": "Who gave you advice about it?",
             "required": True,
             "enableWhen": [{"question": "units", "operator": ">", "answerInteger": 14}]},
            {"linkId": "notes", "type": "string", "text": "Anything else about drinking?",
             "enableWhen": [{"question": "units", "operator": ">", "answerInteger": 14}]},
            {"linkId": "symptoms", "type": "choice", "text": "Which do you have?",
             "repeats": True, "answerOption": [
                 {"valueCoding": {"code": "pain", "display": "Pain"}},
                 {"valueCoding": {"code": "cough", "display": "Cough"}}]},
            {"linkId": "pain-where", "type": "string", "text": "Where is the pain?",
             "required": True,
             "enableWhen": [{"question": "symptoms", "operator": "=",
                             "answerCoding": {"code": "pain"}}]},
        ]}],
}


def issue(definition):
    user, patient, team, _ = ensure_demo()
    version = version_from_definition(team.organisation, definition, by=user)
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


def saved_answers(issued):
    return Submission.objects.get(link=issued.link).draft_answers


def conditional(page: str, option_id: str) -> str:
    """The HTML of the conditional reveal under the radio or checkbox ``option_id``."""
    start = page.index(f'id="conditional-{option_id}"')
    return page[start:page.index("</fieldset>", start)]


def test_a_question_shown_by_yes_is_revealed_under_yes(client):
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    # The "Yes" radio controls the reveal, which holds the number question.
    assert re.search(r'id="id_habits-smoke" name="habits-smoke" type="radio" value="yes"'
                     r' data-aria-controls="conditional-id_habits-smoke"', page)
    assert 'name="habits-per-day"' in conditional(page, "id_habits-smoke")
    assert "nhsuk-radios--inline" not in page  # inline radios never reveal


def test_yes_with_the_revealed_question_empty_is_an_error_not_a_trap(client):
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"), page_data("habits", {"smoke": "yes"}))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_habits-per-day"' in page  # the summary links to the shown question
    # Still inside the "Yes" reveal, which is open because "Yes" stays chosen.
    assert "nhsuk-radios__conditional--hidden" not in page
    assert 'id="id_habits-per-day-error"' in conditional(page, "id_habits-smoke")
    assert re.search(r'value="yes"[^>]*checked', page)
    response = client.post(reverse("patient:answer"),
                           page_data("habits", {"smoke": "yes", "per-day": "10"}))
    assert response.status_code == 302 and response.url == reverse("patient:check")
    assert saved_answers(issued) == {"smoke": True, "per-day": 10}


def test_no_discards_an_answer_typed_into_the_hidden_question(client):
    issued = issue(SMOKING)
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"),
                           page_data("habits", {"smoke": "no", "per-day": "10"}))
    assert response.status_code == 302 and response.url == reverse("patient:check")
    assert saved_answers(issued) == {"smoke": False}
    check = client.get(reverse("patient:check")).content.decode()
    assert "How many a day?" not in check


def test_a_question_enabled_by_a_number_is_shown_after_the_post_without_an_error(client):
    issued = issue(DRINKING)
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert 'name="drink-advice"' not in page and 'name="drink-notes"' not in page
    response = client.post(reverse("patient:answer"), page_data("drink", {"units": "20"}))
    page = response.content.decode()
    # The page comes back with both new questions, the answer given kept, no error.
    assert response.status_code == 200
    assert 'name="drink-advice"' in page and 'name="drink-notes"' in page
    assert 'id="new-questions"' in page
    assert "nhsuk-error-summary" not in page and "nhsuk-error-message" not in page
    assert re.search(r'name="drink-units"[^>]*value="20"', page)
    # The page says it showed them, so the next post holds the patient to them.
    for link_id in ("advice", "notes"):
        assert f'name="{SHOWN_FIELD}" value="{link_id}"' in page
    assert saved_answers(issued) in (None, {})  # nothing moved on


def test_once_seen_the_required_new_question_is_required(client):
    issued = issue(DRINKING)
    open_and_verify(client, issued.token)
    data = {**page_data("drink", {"units": "20"}), SHOWN_FIELD: ["advice", "notes"]}
    response = client.post(reverse("patient:answer"), data)
    page = response.content.decode()
    assert response.status_code == 200 and 'href="#id_drink-advice"' in page
    assert 'href="#id_drink-notes"' not in page  # optional
    data["drink-advice"] = "My GP"
    response = client.post(reverse("patient:answer"), data)
    assert response.status_code == 302 and response.url == reverse("patient:check")
    assert saved_answers(issued) == {"units": 20, "advice": "My GP"}


def test_an_optional_new_question_is_shown_once_before_the_page_moves_on(client):
    definition = {**DRINKING, "item": [{**DRINKING["item"][0], "item": [
        item if item["linkId"] != "advice" else {**item, "required": False}
        for item in DRINKING["item"][0]["item"]]}]}
    issued = issue(definition)
    open_and_verify(client, issued.token)
    response = client.post(reverse("patient:answer"), page_data("drink", {"units": "20"}))
    assert response.status_code == 200 and 'name="drink-notes"' in response.content.decode()
    data = {**page_data("drink", {"units": "20"}), SHOWN_FIELD: ["advice", "notes"]}
    response = client.post(reverse("patient:answer"), data)
    assert response.status_code == 302


def test_a_question_shown_by_a_ticked_box_is_revealed_under_that_box(client):
    issued = issue(DRINKING)
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert 'name="drink-pain-where"' in conditional(page, "id_drink-symptoms")
    data = page_data("drink", {"units": "2", "symptoms": ["pain"]})
    page = client.post(reverse("patient:answer"), data).content.decode()
    assert 'href="#id_drink-pain-where"' in page
    data["drink-pain-where"] = "My back"
    response = client.post(reverse("patient:answer"), data)
    assert response.status_code == 302
    assert saved_answers(issued) == {"units": 2, "symptoms": ["pain"], "pain-where": "My back"}
    # Unticked, the answer under it goes.
    client.get(reverse("patient:answer") + "?change=drink")
    data = page_data("drink", {"units": "2", "symptoms": ["cough"], "pain-where": "My back"})
    client.post(reverse("patient:answer"), data)
    assert saved_answers(issued) == {"units": 2, "symptoms": ["cough"]}
