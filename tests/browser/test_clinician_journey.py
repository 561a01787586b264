"""Issue 13's clinician journey in one real Chromium run: build a two-page form with a
condition and Welsh text in the admin designer, publish it, issue it by QR from the clinic
page, complete it as the patient in Welsh, see it on the whiteboard against its
appointment, acknowledge the urgent task and see the board change.

Filing runs in-process (services.file_submission), as in the other browser tests; the
urgent flag rule is the one thing set up without the browser (the designer's flag-rule
page has its own test in test_designer.py)."""

import datetime
import re

import pytest
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Item, Submission, WorklistTask
from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment
from tests.browser.conftest import DESKTOP, check_at_both_widths
from tests.browser.test_designer import build_smoking_form, translate_smoking_form
from tests.browser.test_patient_journey import check_page
from tests.factories.forms_app import FlagConditionFactory, FlagRuleFactory

pytestmark = pytest.mark.browser


def appointment_later_today():
    now = timezone.localtime()
    latest = now.replace(hour=23, minute=30, second=0, microsecond=0)
    return min(now + datetime.timedelta(hours=1), max(latest, now + datetime.timedelta(minutes=5)))


def test_build_publish_issue_complete_in_welsh_and_acknowledge(
        live_server, staff_page, browser, screenshot, assert_accessible):
    page, user = staff_page
    base = live_server.url
    _, patient, team, _ = ensure_demo()
    starts_at = appointment_later_today()
    upsert_appointment(care_team=team, patient=patient, by=user, details=AppointmentDetails(
        external_id="EHR-42", clinic="Respiratory Wed PM", location="Room 4",
        starts_at=starts_at))

    # The clinician builds and translates the form in the designer.
    form = build_smoking_form(page, base)
    page.goto(base + f"/admin/forms_app/form/{form.pk}/translations/")
    translate_smoking_form(page)
    page.get_by_label("Cymraeg: Question 2.1: Words").fill("Faint o sigaréts y dydd?")
    page.get_by_role("button", name="Save translations").click()
    page.wait_for_load_state("load")
    per_day = form.items.get(type=Item.Type.INTEGER)
    rule = FlagRuleFactory(form=form, code="heavy-smoker", message="Offer stop-smoking help.")
    FlagConditionFactory(rule=rule, question=per_day, operator=">", answer="10")

    page.goto(base + f"/admin/forms_app/form/{form.pk}/publish/")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state("load")
    version = form.versions.get()

    # The receptionist issues it by QR from the patient's clinic page.
    page.goto(base + f"/clinic/patients/{patient.pk}/")
    page.get_by_label("Form", exact=True).select_option(
        label=f"{version.title} (version {version.number})")
    page.get_by_label("Shown on screen").check()
    page.get_by_role("button", name="Send the form").click()
    page.wait_for_load_state("load")
    assert page.locator(".clinic-qr svg").count() == 1
    check_at_both_widths(page, screenshot, assert_accessible, "qr-code")
    url = page.locator(".clinic-link-url").inner_text().strip()
    assert url.startswith(base) or "/l/" in url
    path = url[url.index("/l/"):]

    # The patient, on their phone, in Welsh.
    phone_context = browser.new_context(viewport={"width": 375, "height": 667},
                                        locale="en-GB", timezone_id="Europe/London")
    phone = phone_context.new_page()
    try:
        phone.goto(base + path)
        phone.get_by_role("button", name="Cymraeg").click()
        phone.wait_for_load_state("load")
        assert phone.locator("html").get_attribute("lang") == "cy"
        check_page(phone, screenshot, assert_accessible, "patient-verify-cy")
        fill_dob_welsh(phone)
        assert "Gwiriad ysmygu" in phone.locator("main").inner_text()
        assert "Two short questions about smoking." in phone.locator("main").inner_text()
        check_page(phone, screenshot, assert_accessible, "patient-page-1-cy")
        phone.get_by_role("group", name="Ydych chi'n ysmygu?").get_by_label("Ie").check()
        phone.get_by_role("button", name="Cadw a pharhau").click()
        phone.get_by_label("Faint o sigaréts y dydd?").fill("20")
        check_page(phone, screenshot, assert_accessible, "patient-page-2-cy")
        phone.get_by_role("button", name="Cadw a pharhau").click()
        phone.wait_for_url("**/form/check/")
        check_page(phone, screenshot, assert_accessible, "patient-check-cy")
        phone.get_by_role("button", name="Anfon y ffurflen").click()
        phone.wait_for_url("**/form/confirmation/")
        check_page(phone, screenshot, assert_accessible, "patient-confirmation-cy")
    finally:
        phone_context.close()

    submission = Submission.objects.get(link__version=version)
    assert submission.answers[per_day.link_id] == 20
    services.file_submission(submission_id=submission.pk)  # in-process, as elsewhere here

    # The whiteboard: the form against its appointment, urgent.
    page.goto(base + f"/whiteboard/{team.pk}/")
    row = page.locator("tr", has_text=version.title)
    row_text = row.inner_text()
    assert f"{timezone.localtime(starts_at):%H:%M}" in row_text and "Room 4" in row_text
    assert "Urgent: Offer stop-smoking help." in row_text
    assert page.locator("tr.wb-row--urgent", has_text=version.title).count() == 1
    check_at_both_widths(page, screenshot, assert_accessible, "whiteboard-urgent")

    # Acknowledge on the worklist; the board shows who and no longer counts it urgent.
    page.goto(base + "/worklist/")
    check_at_both_widths(page, screenshot, assert_accessible, "worklist-urgent")
    page.get_by_role("button", name=re.compile(f"Acknowledge {submission.reference}")).click()
    page.wait_for_load_state("load")
    assert WorklistTask.objects.get(submission=submission).acknowledged_at is not None
    page.goto(base + f"/whiteboard/{team.pk}/")
    row_text = page.locator("tr", has_text=version.title).inner_text()
    assert "Acknowledged by" in row_text
    assert page.locator("tr.wb-row--urgent", has_text=version.title).count() == 0
    check_at_both_widths(page, screenshot, assert_accessible, "whiteboard-acknowledged")
    page.set_viewport_size(DESKTOP["viewport"])


def fill_dob_welsh(phone):
    phone.get_by_label("Diwrnod").fill("15")
    phone.get_by_label("Mis").fill("3")
    phone.get_by_label("Blwyddyn").fill("1984")
    phone.get_by_role("button", name="Parhau").click()
    phone.wait_for_url("**/form/answer/")
