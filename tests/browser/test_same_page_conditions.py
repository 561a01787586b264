"""Questions that depend on an answer on the same page, in Chromium at phone size, with
and without JavaScript (issue 11, point 1: the patient was trapped by a required
question that was never shown)."""

import pytest

from forms_app.models import Submission
from tests.browser.test_patient_journey import check_page, fill_dob, save
from tests.forms_app.views.test_same_page_conditions import DRINKING, SMOKING, issue

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_question_revealed_in_place(
    request, live_server, javascript, screenshot, assert_accessible, assert_no_js_errors
):
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    issued = issue(SMOKING)
    page.goto(live_server.url + issued.path)
    fill_dob(page, 15, 3, 1984)
    how_many = page.get_by_label("How many a day?")
    # With JavaScript the question waits under "Yes"; without, it is always there.
    assert how_many.is_visible() is not javascript
    page.get_by_label("Yes").check()
    assert how_many.is_visible()
    # The reveal keeps ARIA valid (no aria-expanded on a radio) and axe clean.
    assert page.get_by_label("Yes").get_attribute("aria-expanded") is None
    check_page(page, screenshot, assert_accessible, "revealed")
    save(page)  # required, shown, left empty: a normal error, not a trap
    assert page.locator(".nhsuk-error-summary").is_visible()
    check_page(page, screenshot, assert_accessible, "revealed-error")
    how_many.fill("12")
    save(page)
    assert "Check your answers" in page.locator("h1").inner_text()
    assert "12" in page.locator(".nhsuk-summary-list").inner_text()
    if javascript:
        assert_no_js_errors(page)
    submission = Submission.objects.get(link=issued.link)
    assert submission.draft_answers == {"smoke": True, "per-day": 12}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_question_enabled_by_a_number_comes_back_with_the_page(
    request, live_server, javascript, screenshot, assert_accessible
):
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    issued = issue(DRINKING)
    page.goto(live_server.url + issued.path)
    fill_dob(page, 15, 3, 1984)
    assert page.get_by_label("Who gave you advice about it?").count() == 0
    page.get_by_label("How many units a week?").fill("20")
    save(page)
    # The same page, the answer kept, the new questions shown and no error yet.
    assert page.locator("#new-questions").is_visible()
    assert page.locator(".nhsuk-error-summary").count() == 0
    assert page.get_by_label("How many units a week?").input_value() == "20"
    advice = page.get_by_label("Who gave you advice about it?")
    assert advice.is_visible()
    check_page(page, screenshot, assert_accessible, "new-questions")
    advice.fill("My GP")
    save(page)
    assert "Check your answers" in page.locator("h1").inner_text()
