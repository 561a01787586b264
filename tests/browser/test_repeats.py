"""A family history with two relatives, in Chromium at phone size with JavaScript on
(issue 11, point 3: repeating groups were answered once). "Add another" posts the page
and comes back at the new relative; axe finds nothing on any page."""

import pytest

from forms_app.models import Submission
from tests.browser.test_patient_journey import check_page, fill_dob, save
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


def _group(scope, question):
    return scope.get_by_role("group", name=question)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_each_relatives_own_questions_are_revealed_in_place(
    request, live_server, javascript, screenshot, assert_accessible, assert_no_js_errors
):
    """Per-relative conditions (issue 11): with JavaScript a relative's "How old were
    they when they died?" appears under that relative's own "No"; without it, it is
    there. The genetic-test question an expression asks of a relative whose cancer was
    found before 50 comes with the page once it is posted, for that relative only."""
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    issued = issue(load("family-cancer-per-relative"))
    page.goto(live_server.url + issued.path)
    fill_dob(page, 15, 3, 1984)
    first = relative(page, 0)
    died = first.get_by_label("How old were they when they died?")
    assert died.is_visible() is not javascript
    first.get_by_label("Mother").check()
    _group(first, "Are they still alive?").get_by_label("No", exact=True).check()
    assert died.is_visible()
    died.fill("61")
    _group(first, "Have they had cancer?").get_by_label("Yes", exact=True).check()
    first.get_by_label("Breast cancer").check()
    first.get_by_label("How old were they when it was found?").fill("38")
    check_page(page, screenshot, assert_accessible, f"relative-revealed-{javascript}")
    page.get_by_role("button", name="Add another close relative").click()
    # The page comes back (Add another posts it) with the genetic-test question the
    # mother's answers now ask, in her instance only.
    genetic = "Have they had a genetic test for an inherited cancer risk?"
    assert page.get_by_role("group", name=genetic).count() == 1
    assert _group(relative(page, 0), genetic).is_visible()
    assert page.locator(".nhsuk-error-summary").count() == 0
    _group(relative(page, 0), genetic).get_by_label("No", exact=True).check()
    second = relative(page, 1)
    second.get_by_label("Father").check()
    _group(second, "Are they still alive?").get_by_label("Yes", exact=True).check()
    _group(second, "Have they had cancer?").get_by_label("No", exact=True).check()
    if javascript:  # his reveals stay closed; hers stay open
        assert not second.get_by_label("How old were they when they died?").is_visible()
        assert relative(page, 0).get_by_label("How old were they when they died?").is_visible()
    check_page(page, screenshot, assert_accessible, f"two-relatives-{javascript}")
    save(page)
    assert "Check your answers" in page.locator("h1").inner_text()
    if javascript:
        assert_no_js_errors(page)
    answers = Submission.objects.get(link=issued.link).draft_answers
    assert answers == {"relative": [
        {"relation": "MTH", "living": False, "age-at-death": 61, "had-cancer": True,
         "cancer-type": "254837009", "cancer-age": 38, "genetic-test": False},
        {"relation": "FTH", "living": True, "had-cancer": False},
    ]}
