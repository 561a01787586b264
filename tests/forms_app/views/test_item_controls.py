"""Item types and controls on the patient's pages (issue 11): required groups,
choiceOrientation and the autocomplete control, in the corpus's GP registration form
(tests/corpus/questionnaires/gp-registration-controls.json), without JavaScript."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify, page_data
from tests.forms_app.pages import post_page

pytestmark = pytest.mark.django_db
ABOUT = {"country-of-birth": "PL", "main-language": "Polish"}
HEALTH = {"general-health": "LA8969-3", "smoke": "no", "conditions": ["195967001"]}


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.deactivate()  # a Welsh request leaves Welsh active in this thread


@pytest.fixture
def journey(client):
    open_and_verify(client, corpus_link("gp-registration-controls").token)
    return client


def _component(page: str, name: str) -> str:
    """The HTML of the form group holding the question ``name``."""
    start = page.index(f'name="{name}"')
    group = page.rindex('<div class="nhsuk-form-group', 0, start)
    return page[group:start]


def test_a_required_group_left_blank_says_to_answer_one_of_its_questions(journey):
    post_page(journey, "about", ABOUT)
    page = post_page(journey, "contact", {}).content.decode()
    message = "Answer at least one question in how we can contact you"
    # In the error summary, linking to the group's first question, and on the page.
    summary = page[page.index("nhsuk-error-summary"):page.index("nhsuk-caption-l")]
    assert re.search(rf'href="#id_contact-mobile">\s*{message}\s*</a>', summary)
    assert f'id="group-contact-error"><span class="nhsuk-u-visually-hidden">Error:</span> ' \
           f"{message}" in page
    # Each question alone is not required, but neither is it optional: none is marked so.
    assert "(optional)" not in page[page.index("<h1"):page.index("Save and continue")]
    assert post_page(journey, "contact", {"email": "sal@example.com"}).status_code == 200
    assert "Your health" in journey.get(reverse("patient:answer")).content.decode()


def test_a_required_group_inside_a_page_has_its_error_under_its_heading(journey):
    post_page(journey, "about", ABOUT)
    post_page(journey, "contact", {"email": "sal@example.com"})
    page = post_page(journey, "health", {**HEALTH, "conditions": []}).content.decode()
    heading = page.index('<h2 class="nhsuk-heading-m">Long-term conditions</h2>')
    error = page.index("Answer at least one question in long-term conditions", heading)
    assert error < page.index('name="health-conditions"')
    # Writing about another condition instead of ticking one is an answer too.
    response = post_page(journey, "health", {**HEALTH, "conditions": [],
                                             "conditions-other": "Migraine"})
    assert response.status_code == 302 and response.url == reverse("patient:check")


def test_the_required_group_error_is_in_welsh_on_a_welsh_page(journey):
    journey.post(reverse("set_language"), {"language": "cy", "next": "/"})
    post_page(journey, "about", ABOUT)
    page = post_page(journey, "contact", {}).content.decode()
    assert "Atebwch o leiaf un cwestiwn yn how we can contact you" in page
    first = journey.get(reverse("patient:answer") + "?step=about").content.decode()
    assert 'data-hint="Dechreuwch deipio, yna dewiswch o&#39;r rhestr"' in first


def test_choices_sit_side_by_side_or_stacked_as_the_author_says(journey):
    post_page(journey, "about", ABOUT)
    post_page(journey, "contact", {"email": "sal@example.com"})
    page = journey.get(reverse("patient:answer")).content.decode()
    assert "nhsuk-radios--inline" in _component(page, "health-general-health")
    # A yes or no is side by side unless the author says vertical, as here.
    assert "--inline" not in _component(page, "health-smoke")
    assert "nhsuk-checkboxes--inline" in _component(page, "health-conditions")


def test_an_autocomplete_list_is_a_drop_down_without_javascript(journey):
    page = journey.get(reverse("patient:answer")).content.decode()
    select = page[page.index('<select class="nhsuk-select" id="id_about-country-of-birth"'):]
    select = select[:select.index("</select>")]
    assert 'data-module="app-autocomplete"' in select
    assert 'data-hint="Start typing, then choose from the list"' in select
    assert '<option value="PL">Poland</option>' in select
    assert post_page(journey, "about", ABOUT).status_code == 200
    page = journey.get(reverse("patient:answer") + "?step=about").content.decode()
    assert '<option value="PL" selected>Poland</option>' in page


def test_an_autocomplete_answer_not_on_the_list_is_refused(journey):
    response = journey.post(reverse("patient:answer"),
                            page_data("about", {"country-of-birth": "Atlantis"}))
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()


def test_check_answers_and_the_filed_response_read_the_choices(journey):
    post_page(journey, "about", ABOUT)
    post_page(journey, "contact", {"email": "sal@example.com"})
    post_page(journey, "health", HEALTH)
    page = journey.get(reverse("patient:check")).content.decode()
    assert "Poland" in page and "Good" in page and "Asthma" in page
