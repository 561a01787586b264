"""Patient states added by issue 13 at 375x667, axe clean: an English form on a Welsh page
(lang="en" on the form's text, messages naming the question), the closed-link and
locked pages with the clinic's contact details. The device take-over and "Save and come
back later" pages are in test_patient_journey.py."""

import pytest
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Link
from tests.browser.test_patient_journey import check_page, fill_dob

pytestmark = pytest.mark.browser


@pytest.fixture
def link_with_contact(live_server):
    user, patient, team, version = ensure_demo()
    team.contact_phone, team.contact_email = "01632 960 001", "preop@example.nhs.uk"
    team.contact_hours = "Monday to Friday, 9am to 5pm"
    team.save(update_fields=["contact_phone", "contact_email", "contact_hours"])
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    return live_server.url + issued.path, issued, team


def test_an_english_form_on_a_welsh_page(link_with_contact, phone, screenshot,
                                         assert_accessible):
    url, _issued, _team = link_with_contact
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    phone.get_by_role("button", name="Cymraeg").click()
    phone.wait_for_load_state("load")
    assert phone.locator("html").get_attribute("lang") == "cy"
    assert phone.locator("h1").get_attribute("lang") == "en"
    assert phone.locator("main").get_by_text("(dewisol)").count() >= 1
    check_page(phone, screenshot, assert_accessible, "english-form-welsh-page")
    phone.get_by_role("button", name="Cadw a pharhau").click()  # nothing entered
    summary = phone.locator(".nhsuk-error-summary").inner_text()
    assert "Rhowch what is your height in centimetres" in summary
    check_page(phone, screenshot, assert_accessible, "english-form-welsh-errors")


def test_a_closed_link_shows_the_clinics_contact_details(link_with_contact, phone, screenshot,
                                                         assert_accessible):
    url, issued, team = link_with_contact
    phone.goto(url)
    fill_dob(phone, 15, 3, 1984)
    Link.objects.filter(pk=issued.link.pk).update(revoked_at=timezone.now())
    phone.reload()
    main = phone.locator("main")
    assert "This link cannot be used" in main.inner_text()
    assert f"Contact {team.name}" in main.inner_text()
    assert main.get_by_role("link", name="01632 960 001").get_attribute(
        "href") == "tel:01632960001"
    check_page(phone, screenshot, assert_accessible, "closed-link-contact")


def test_the_locked_page_shows_the_clinics_contact_details(link_with_contact, phone, screenshot,
                                                           assert_accessible):
    url, _issued, _team = link_with_contact
    phone.goto(url)
    for _ in range(5):
        fill_dob(phone, 1, 1, 1990)
    main = phone.locator("main")
    assert "Try again later" in main.inner_text()
    assert "preop@example.nhs.uk" in main.inner_text()
    check_page(phone, screenshot, assert_accessible, "locked-contact")
