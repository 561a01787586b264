"""More patient pages in Chromium at phone size: Welsh, the engine's open-choice and
date-time widgets (with and without JavaScript), and the session timeout warning."""

import pytest

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from tests.browser.test_patient_journey import answer_about_you, check_page, fill_dob
from tests.factories.forms_app import bilingual_definition, version_from_definition

pytestmark = pytest.mark.browser


@pytest.fixture
def bilingual(live_server):
    user, patient, team, _ = ensure_demo()
    version = version_from_definition(team.organisation, bilingual_definition(), by=user)
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    return live_server.url + issued.path, issued


@pytest.fixture
def demo_link(live_server):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    return live_server.url + issued.path, issued


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_welsh_form_with_open_choice_and_date_time(
    request, bilingual, javascript, screenshot, assert_accessible
):
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    url, issued = bilingual
    page.goto(url)
    page.get_by_role("button", name="Cymraeg").click()
    assert page.locator("html").get_attribute("lang") == "cy"
    check_page(page, screenshot, assert_accessible, "dyddiad-geni")
    page.get_by_label("Diwrnod").fill("15")
    page.get_by_label("Mis").fill("3")
    page.get_by_label("Blwyddyn").fill("1984")
    page.get_by_role("button", name="Parhau").click()

    assert "Tudalen 1 o 2" in page.locator("main").inner_text()
    assert "Sut byddwch yn teithio i'r ysbyty?" in page.locator("main").inner_text()
    details = page.get_by_label("Os arall, rhowch fanylion")
    # "Other" reveals the box with JavaScript; without it the box is always there.
    assert details.is_visible() is not javascript
    page.get_by_label("Arall", exact=True).check()
    assert details.is_visible()
    check_page(page, screenshot, assert_accessible, "dewis-agored")
    page.get_by_role("button", name="Cadw a pharhau").click()  # "Other" with no details
    assert page.locator(".nhsuk-error-summary").is_visible()
    check_page(page, screenshot, assert_accessible, "dewis-agored-gwall")
    details.fill("Tacsi")
    page.get_by_role("button", name="Cadw a pharhau").click()

    assert "Tudalen 2 o 2" in page.locator("main").inner_text()
    page.get_by_label("Diwrnod").fill("31")
    page.get_by_label("Mis").fill("2")
    page.get_by_label("Blwyddyn").fill("2030")
    page.get_by_label("Amser", exact=True).fill("09:30")
    page.get_by_role("button", name="Cadw a pharhau").click()
    assert "dyddiad go iawn" in page.locator(".nhsuk-error-summary").inner_text()
    check_page(page, screenshot, assert_accessible, "dyddiad-ac-amser-gwall")
    page.get_by_label("Diwrnod").fill("1")
    page.get_by_label("Mis").fill("6")
    page.get_by_role("button", name="Cadw a pharhau").click()

    assert "Gwiriwch eich atebion" in page.locator("h1").inner_text()
    check_page(page, screenshot, assert_accessible, "gwirio-atebion")
    page.get_by_role("button", name="Anfon y ffurflen").click()
    assert "Ffurflen wedi'i hanfon" in page.locator("h1").inner_text()
    check_page(page, screenshot, assert_accessible, "wedi-anfon")
    answers = Submission.objects.get(link=issued.link).answers
    assert answers["how"] == {"other": "Tacsi"}
    assert answers["arrival"].startswith("2030-06-01T09:30:00")


def test_session_timeout_warns_then_closes_and_loses_nothing(
    demo_link, phone, settings, screenshot, assert_accessible
):
    # A short session for the test: warn 8 seconds in, close at 20.
    settings.PATIENT_SESSION_SECONDS = 20
    settings.PATIENT_SESSION_WARNING_SECONDS = 12
    url, _ = demo_link
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    answer_about_you(phone)
    dialog = phone.locator("#session-timeout")
    dialog.wait_for(state="visible", timeout=15_000)
    assert "Do you need more time?" in dialog.inner_text()
    screenshot(phone, "timeout-warning")
    assert_accessible(phone)
    # "Continue" keeps the session (and the page) without reloading.
    dialog.get_by_role("button", name="Continue filling in the form").click()
    dialog.wait_for(state="hidden")
    assert "Page 2 of 3" in phone.locator("main").inner_text()
    # Do nothing: the warning comes back, then the form closes itself.
    phone.wait_for_url("**/form/timed-out/", timeout=30_000)
    assert "Your answers are saved." in phone.locator("main").inner_text()
    check_page(phone, screenshot, assert_accessible, "timed-out")
    # Open the link again: the answers are there.
    settings.PATIENT_SESSION_SECONDS = 1800
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    assert "Page 2 of 3" in phone.locator("main").inner_text()


def test_phq9_on_a_phone(live_server, phone, screenshot, assert_accessible):
    import json

    from tests.factories.forms_app import library_definition

    user, patient, team, _ = ensure_demo()
    definition = json.loads(library_definition("phq9"))
    version = version_from_definition(team.organisation, definition, by=user)
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    phone.goto(live_server.url + issued.path)
    fill_dob(phone, 15, 3, 1984)
    for number in range(1, 10):
        assert f"Page {number} of 9" in phone.locator("main").inner_text()
        # One question a page: the question is the page's heading (its fieldset legend).
        assert phone.locator("legend h1").count() == 1
        if number in (1, 9):
            check_page(phone, screenshot, assert_accessible, f"phq9-question-{number}")
        phone.get_by_label("Several days").check()
        phone.get_by_role("button", name="Save and continue").click()
    check_page(phone, screenshot, assert_accessible, "phq9-check-your-answers")
    phone.get_by_role("button", name="Send form").click()
    assert "Form sent" in phone.locator("h1").inner_text()
    submission = Submission.objects.get(link=issued.link)
    assert submission.evaluation["scores"]  # scored by the engine: 9 x 1
