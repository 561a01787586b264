"""The patient's journey in a real Chromium at 375x667: with and without JavaScript.

Every page is screenshotted (test-artifacts/screenshots/<test>/) and checked with axe-core
(WCAG 2.2 AA, zero violations). The journey covers a wrong and an impossible date of birth,
a validation error, letters in a number field, resume in a second browser, change from
check your answers, a 10,000-character answer with emoji and right-to-left text, and a
double-click on "Send form".
"""

import re

import pytest
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission

pytestmark = pytest.mark.browser

LONG_ANSWER = ("I use a wheelchair 🦽. مرحبا بالعالم. " * 300)[:10_000]


@pytest.fixture
def link(live_server):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    return live_server.url + issued.path, issued


def fill_dob(page, day, month, year):
    page.get_by_label("Day").fill(str(day))
    page.get_by_label("Month").fill(str(month))
    page.get_by_label("Year").fill(str(year))
    page.get_by_role("button", name="Continue").click()


def save(page):
    page.get_by_role("button", name=re.compile("^Save and")).click()


def check_page(page, screenshot, assert_accessible, name):
    """Every patient page: no sideways scroll at phone width, a screenshot, axe clean."""
    # Measured once the page (its stylesheets too) has loaded: on a busy machine a
    # click's navigation may still be loading, and an unstyled page is wider.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    screenshot(page, name)
    assert_accessible(page)


def answer_about_you(page):
    page.get_by_label("What name would you like us to call you?").fill("Sal")
    page.get_by_label("What is your height in centimetres?").fill("168")
    page.get_by_label("What is your weight in kilograms?").fill("61.5")
    save(page)


def answer_your_health(page):
    page.get_by_role("group", name="Do you smoke?").get_by_label("No").check()
    page.get_by_label("Good").check()
    page.get_by_label("Dizziness").check()
    save(page)


def test_whole_journey_on_a_phone(
    link, browser, phone, screenshot, assert_accessible, assert_no_js_errors
):
    url, issued = link
    phone.goto(url)
    # The token left the address bar at once.
    assert issued.token not in phone.url and phone.url.endswith("/form/verify/")
    assert "Demo Teaching Hospitals NHS Foundation Trust" in phone.locator("header").inner_text()
    check_page(phone, screenshot, assert_accessible, "date-of-birth")

    # A wrong date of birth: a clear message, nothing about the patient.
    fill_dob(phone, 1, 1, 1990)
    summary = phone.locator(".nhsuk-error-summary")
    assert "does not match" in summary.inner_text()
    assert "Sarah" not in phone.content()
    check_page(phone, screenshot, assert_accessible, "date-of-birth-wrong")

    # An impossible date.
    fill_dob(phone, 31, 2, 1990)
    assert "must be a real date" in summary.inner_text()

    fill_dob(phone, 15, 3, 1984)
    assert phone.url.endswith("/form/answer/")
    assert "Page 1 of 3" in phone.locator("main").inner_text()
    assert phone.get_by_label("What is your height in centimetres?").get_attribute(
        "inputmode") == "numeric"
    assert phone.get_by_label("What is your weight in kilograms?").get_attribute(
        "inputmode") == "decimal"
    check_page(phone, screenshot, assert_accessible, "page-1")

    # A validation error: nothing entered, and letters in a number field.
    phone.get_by_label("What is your weight in kilograms?").fill("sixty")
    save(phone)
    errors = phone.locator(".nhsuk-error-summary")
    assert errors.is_visible()
    assert phone.title().startswith("Error:")
    # Focus moved there (by nhsuk-frontend's script once the page has loaded: waited
    # for, as on a busy machine the check could run before it).
    phone.wait_for_function("document.querySelector('.nhsuk-error-summary')"
                            ".contains(document.activeElement)", timeout=5000)
    check_page(phone, screenshot, assert_accessible, "page-1-errors")
    # Each message links to its field.
    errors.get_by_role("link").first.click()
    assert phone.evaluate("document.activeElement.name") == "about-you-height-cm"
    answer_about_you(phone)
    assert "Page 2 of 3" in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "page-2")

    # Resume on another device: a new browser context (no cookies) opens the same link.
    other_context = browser.new_context(viewport={"width": 375, "height": 667})
    other = other_context.new_page()
    try:
        other.goto(url)
        fill_dob(other, 15, 3, 1984)
        assert "Page 2 of 3" in other.locator("main").inner_text()
        screenshot(other, "resumed-on-another-device")
        other.get_by_role("link", name="Back", exact=True).click()
        assert other.get_by_label("What is your height in centimetres?").input_value() == "168"
        save(other)
        answer_your_health(other)
        assert "Page 3 of 3" in other.locator("main").inner_text()
    finally:
        other_context.close()

    # Back on the phone: one device at a time, so it is told the form moved, and shows
    # nothing of it; opening the link again takes it back, at the server's page 3.
    phone.reload()
    assert "on another device" in phone.locator("h1").inner_text()
    assert "168" not in phone.content() and "Sal" not in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "continued-on-another-device")
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    assert "Page 3 of 3" in phone.locator("main").inner_text()

    # "Save and come back later": how to return, and until when.
    phone.get_by_role("link", name="Save and come back later").click()
    assert "Your answers are saved" in phone.locator("h1").inner_text()
    assert "until the link expires on" in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "saved-come-back-later")
    phone.get_by_role("link", name="Continue filling in the form").click()
    check_page(phone, screenshot, assert_accessible, "page-3")
    phone.get_by_label("Is there anything else you want the clinic to know?").fill(LONG_ANSWER)
    save(phone)

    assert phone.url.endswith("/form/check/")
    assert "Check your answers" in phone.locator("h1").inner_text()
    assert "مرحبا بالعالم" in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "check-your-answers")

    # Change an answer: straight back to the summary.
    phone.get_by_role("link", name="Change How is your health in general?").click()
    phone.get_by_label("Poor").check()
    phone.get_by_role("button", name="Save and go back to your answers").click()
    assert phone.url.endswith("/form/check/")
    assert "Poor" in phone.locator("main").inner_text()

    # A double-click on "Send form": one submission, the confirmation page.
    phone.get_by_role("button", name="Send form").dblclick()
    phone.wait_for_url("**/form/confirmation/")
    reference = issued.link.submissions.get().reference if hasattr(
        issued.link, "submissions") else Submission.objects.get(link=issued.link).reference
    assert reference in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "confirmation")
    assert Submission.objects.filter(link=issued.link).exclude(
        state=Submission.State.IN_PROGRESS).count() == 1
    submission = Submission.objects.get(link=issued.link)
    assert submission.answers["notes"] == LONG_ANSWER.strip()
    assert submission.answers["general-health"] == "poor"

    # The link again on the phone that sent it: its own confirmation, nothing more.
    # (Anyone else is answered as for an unknown link: tests/forms_app/views.)
    phone.goto(url)
    assert "Form sent" in phone.locator("h1").inner_text()
    check_page(phone, screenshot, assert_accessible, "reopened-after-sending")
    assert_no_js_errors(phone)


def test_whole_journey_without_javascript(link, phone_nojs, screenshot, assert_accessible):
    url, issued = link
    page = phone_nojs
    page.goto(url)
    check_page(page, screenshot, assert_accessible, "date-of-birth")
    fill_dob(page, 31, 2, 1990)
    assert "must be a real date" in page.locator(".nhsuk-error-summary").inner_text()
    check_page(page, screenshot, assert_accessible, "date-of-birth-error")
    fill_dob(page, 15, 3, 1984)
    save(page)  # nothing entered
    assert page.locator(".nhsuk-error-summary").is_visible()
    check_page(page, screenshot, assert_accessible, "page-1-errors")
    answer_about_you(page)
    check_page(page, screenshot, assert_accessible, "page-2")
    answer_your_health(page)
    page.get_by_label("Is there anything else you want the clinic to know?").fill("No.")
    save(page)
    check_page(page, screenshot, assert_accessible, "check-your-answers")
    page.get_by_role("link", name="Change Do you smoke?").click()
    page.get_by_role("group", name="Do you smoke?").get_by_label("Yes").check()
    page.get_by_role("button", name="Save and go back to your answers").click()
    assert "Yes" in page.locator(".nhsuk-summary-list").first.inner_text() or "Yes" in (
        page.locator("main").inner_text())
    page.get_by_role("button", name="Send form").click()
    assert "Form sent" in page.locator("h1").inner_text()
    check_page(page, screenshot, assert_accessible, "confirmation")
    assert Submission.objects.get(link=issued.link).answers["smoker"] is True


def test_two_tabs_sending_different_answers_make_one_clean_submission(link, phone):
    url, issued = link
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    answer_about_you(phone)
    answer_your_health(phone)
    phone.get_by_label("Is there anything else you want the clinic to know?").fill("Tab one")
    save(phone)
    second = phone.context.new_page()  # a second tab: same session
    second.goto(phone.url)
    second.get_by_role("link", name="Change Is there anything else").click()
    second.get_by_label("Is there anything else you want the clinic to know?").fill("Tab two")
    second.get_by_role("button", name="Save and go back to your answers").click()

    responses = []
    phone.on("response", lambda r: responses.append(r.status))
    second.on("response", lambda r: responses.append(r.status))
    phone.get_by_role("button", name="Send form").click()
    second.get_by_role("button", name="Send form").click()
    assert all(status < 500 for status in responses), responses
    assert "Form sent" in phone.locator("h1").inner_text()
    assert "already sent" in second.locator("h1").inner_text()
    submission = Submission.objects.get(link=issued.link)
    assert submission.state != Submission.State.IN_PROGRESS
    # What was sent is what the summary showed last: the second tab's saved change.
    assert submission.answers["notes"] == "Tab two"
    assert submission.submitted_at <= timezone.now()
