"""A family history with two relatives, in Chromium at phone size with JavaScript on
(issue 11, point 3: repeating groups were answered once). "Add another" posts the page
and comes back at the new relative; axe finds nothing on any page."""

import pytest

from forms_app.models import Submission
from tests.browser.test_patient_journey import check_page, fill_dob
from tests.corpus import load
from tests.forms_app.views.test_same_page_conditions import issue

pytestmark = pytest.mark.browser


def relative(page, index):
    return page.locator(f'[id="repeat-relative~{index}"]')


def test_adding_two_relatives_with_conditions(live_server, phone, screenshot,
                                              assert_accessible, assert_no_js_errors):
    issued = issue(load("family-history-repeats"))
    phone.goto(live_server.url + issued.path)
    fill_dob(phone, 15, 3, 1984)
    check_page(phone, screenshot, assert_accessible, "one-relative")

    first = relative(phone, 0)
    first.get_by_label("Mother").check()
    first.get_by_label("Condition").fill("Type 2 diabetes")
    first.get_by_label("Age when diagnosed").fill("52")
    phone.get_by_role("button", name="Add another relative").click()

    # Back at the new relative, the first one's answers kept.
    assert phone.url.endswith("#repeat-relative~1")
    second = relative(phone, 1)
    assert second.locator("legend").first.inner_text().strip() == "Relative 2"
    assert second.is_visible()
    assert relative(phone, 0).get_by_label("Condition").input_value() == "Type 2 diabetes"
    assert relative(phone, 0).get_by_label("Mother").is_checked()
    second.get_by_label("Brother").check()
    second.get_by_label("Condition").fill("Asthma")
    second.get_by_role("button", name="Add another condition they had").click()
    third_condition = phone.locator('[id="repeat-relative~1~condition~1"]')
    assert third_condition.is_visible()
    third_condition.get_by_label("Condition").fill("Eczema")
    check_page(phone, screenshot, assert_accessible, "two-relatives")
    # "Remove" is named for what it removes, for screen readers.
    assert phone.get_by_role("button", name="Remove relative 2").is_visible()

    # Enter in a box saves the page (it is not the first "Add another" button).
    third_condition.get_by_label("Condition").press("Enter")
    assert "Check your answers" in phone.locator("h1").inner_text()
    headings = phone.locator("h3").all_inner_texts()
    assert headings == ["Relative 1", "Relative 1, condition they had 1", "Relative 2",
                        "Relative 2, condition they had 1", "Relative 2, condition they had 2"]
    check_page(phone, screenshot, assert_accessible, "check-answers")
    assert_no_js_errors(phone)
    answers = Submission.objects.get(link=issued.link).draft_answers
    assert answers == {"relative": [
        {"relation": "Mother",
         "condition": [{"condition-name": "Type 2 diabetes", "age-at-diagnosis": 52}]},
        {"relation": "Brother",
         "condition": [{"condition-name": "Asthma"}, {"condition-name": "Eczema"}]},
    ]}
