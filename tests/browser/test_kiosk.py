"""A clinic tablet in a real Chromium: staff sign in with two factors, start the form for
the patient in front of them, the patient fills it in and sends it, the tablet asks to be
handed back and keeps nothing (back button included), staff unlock it for the next one."""

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from playwright.sync_api import Error as PlaywrightError

from forms_app.management.demo_data import DEMO_NHS_NUMBER, ensure_demo
from forms_app.models import Submission
from tests.browser.test_patient_journey import (
    answer_about_you,
    answer_your_health,
    check_page,
    save,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def staff(live_server):
    user, patient, _team, version = ensure_demo()
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    device = StaticDevice.objects.create(user=user, name="backup codes")
    for code in ("kiosk001", "kiosk002"):
        device.token_set.create(token=code)
    return user, patient, version


def sign_in(page, user, code):
    page.get_by_label("Username").fill(user.username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()


def test_clinic_tablet_hand_back(live_server, staff, phone, screenshot, assert_accessible):
    user, patient, version = staff
    tablet = phone
    tablet.goto(live_server.url + "/kiosk/")
    assert "/kiosk/unlock/" in tablet.url  # a password alone would not do
    check_page(tablet, screenshot, assert_accessible, "staff-sign-in")
    sign_in(tablet, user, "kiosk001")
    assert tablet.url.endswith("/kiosk/")
    check_page(tablet, screenshot, assert_accessible, "start-kiosk")
    tablet.get_by_label("Patient's NHS number").fill(DEMO_NHS_NUMBER)
    tablet.get_by_label("Form", exact=True).select_option(label=version.form.title)
    tablet.get_by_role("button", name="Start the form and hand over").click()

    # The patient: no date of birth asked (confirmed in person), straight to page one.
    assert "Page 1 of 3" in tablet.locator("main").inner_text()
    answer_about_you(tablet)
    answer_your_health(tablet)
    tablet.get_by_label("Is there anything else you want the clinic to know?").fill("Kiosk")
    save(tablet)
    tablet.get_by_role("button", name="Send form").click()

    assert "Please hand this device back" in tablet.locator("main").inner_text()
    check_page(tablet, screenshot, assert_accessible, "hand-back")
    assert Submission.objects.get(link__patient=patient).answers["notes"] == "Kiosk"

    # Back, and back again: no answers, only the hand-back screen.
    # Pages that answered a POST are not re-sent: Chromium shows its own "Confirm form
    # resubmission" page (ERR_CACHE_MISS, as every page is no-store), which holds nothing.
    for _ in range(3):
        try:
            tablet.go_back()
        except PlaywrightError as error:
            assert "ERR_CACHE_MISS" in str(error)
        text = tablet.locator("body").inner_text()
        assert "Kiosk" not in text and "Sal" not in text and "168" not in text
    assert tablet.evaluate("document.querySelectorAll('input[value=\"168\"]').length") == 0
    cookies = {c["name"] for c in tablet.context.cookies()}
    assert "django_language" not in cookies

    # Staff unlock it for the next patient: password and a fresh code again.
    tablet.goto(live_server.url + "/kiosk/hand-back/")
    tablet.get_by_role("link", name="Staff: unlock this device").click()
    sign_in(tablet, user, "kiosk002")
    assert tablet.url.endswith("/kiosk/")
    assert "Start a form on this tablet" in tablet.locator("h1").inner_text()
