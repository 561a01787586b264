# ruff: noqa: F811  (pytest fixtures imported from the fixture modules)
"""The staff home, the staff layout on every staff page, and the way in and out."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment
from tests.factories.patients import CareTeamFactory, UserFactory
from tests.forms_app.clinic_fixtures import demo, staff_client  # noqa: F401
from tests.forms_app.staff_fixtures import filed_urgent, phq9_clinic  # noqa: F401

pytestmark = pytest.mark.django_db


def _today_at(hour, minute=0):
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def test_home_shows_teams_clinics_whiteboards_worklist_forms(client, otp_login, filed_urgent,
                                                             phq9_clinic):
    user, team, patient, version = phq9_clinic
    for external_id, clinic, hour in [("A1", "Memory Tue AM", 9), ("A2", "Memory Tue AM", 10),
                                      ("A3", "Ward 7", 11)]:
        upsert_appointment(care_team=team, patient=patient, by=user, details=AppointmentDetails(
            external_id=external_id, clinic=clinic, starts_at=_today_at(hour)))
    otp_login(client, user)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 200
    html = response.content.decode()
    board = reverse("whiteboard:board", kwargs={"team_id": team.pk})
    assert "Memory clinic" in html and f'href="{board}"' in html
    assert f"http://testserver{board}" in html  # the address a wall screen needs
    assert f'href="{board}?clinic=Memory%20Tue%20AM"' in html and "Ward 7" in html
    assert "09:00" in html
    assert ">1</strong> flagged form waiting" in html  # the urgent PHQ-9's task
    assert version.title in html
    assert "Sign out" in html and reverse("account:logout") in html


def test_home_has_another_teams_nothing(client, otp_login, filed_urgent, phq9_clinic):
    _, team, _, _ = phq9_clinic
    outsider = UserFactory()
    CareTeamFactory(organisation=team.organisation, members=[outsider], name="Other team")
    otp_login(client, outsider)
    html = client.get(reverse("staff:home")).content.decode()
    assert "Memory clinic" not in html and "Other team" in html
    assert "Nothing is waiting" in html
    assert reverse("admin:index") + '"' not in html  # no admin for a plain member


def test_home_needs_two_factors(client, phq9_clinic):
    user = phq9_clinic[0]
    assert client.get(reverse("staff:home")).status_code == 302
    client.force_login(user)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302 and response.url.startswith("/account/")


def test_sign_in_lands_on_the_staff_home(client, otp_login, demo):
    user = demo[0]
    assert client.get("/").url == reverse("staff:home")
    otp_login(client, user)
    assert client.get(reverse("account:home")).url == reverse("staff:home")
    response = client.post(reverse("account:verify"), {"code": "x"})
    assert response.url == reverse("staff:home")  # already verified: on to the default


def test_every_staff_page_has_the_navigation_and_sign_out(staff_client, demo):
    _user, patient, team, _ = demo
    pages = [reverse("staff:home"), reverse("clinic:find"), reverse("clinic:lists"),
             reverse("clinic:patient", args=[patient.pk]), reverse("worklist:list"),
             reverse("whiteboard:board", args=[team.pk]), reverse("kiosk:start")]
    for url in pages:
        html = staff_client.get(url).content.decode()
        assert 'aria-label="Staff menu"' in html, url
        assert f'action="{reverse("account:logout")}"' in html and ">Sign out<" in html, url
        assert f'href="{reverse("admin:index")}"' in html, url  # the demo user may


def test_admin_links_to_the_staff_pages(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{reverse("staff:home")}">Staff home</a>' in html
    assert f'<a href="{reverse("staff:home")}">View site</a>' in html


def test_sign_out_ends_the_session(staff_client):
    response = staff_client.post(reverse("account:logout"))
    assert response.status_code == 302
    assert staff_client.get(reverse("staff:home")).status_code == 302


def test_only_current_versions_are_offered(staff_client, demo):
    user, patient, team, version = demo
    form = version.form
    newer = services.publish_form(form=form, by=user, change_note="Second")
    html = staff_client.get(reverse("clinic:patient", args=[patient.pk])).content.decode()
    assert f'value="{newer.pk}"' in html and f'value="{version.pk}"' not in html
    home = staff_client.get(reverse("staff:home")).content.decode()
    assert f"version {newer.number}," in home and f"version {version.number}," not in home
    newer.retired_at = timezone.now()
    newer.save(update_fields=["retired_at"])
    html = staff_client.get(reverse("clinic:patient", args=[patient.pk])).content.decode()
    assert f'value="{version.pk}"' not in html  # retiring the current one stops the form
    response = staff_client.post(reverse("clinic:issue", args=[patient.pk]), {
        "version": version.pk, "care_team": team.pk, "channel": "screen",
        "expires_on": (timezone.localdate() + datetime.timedelta(days=3)).strftime("%d/%m/%Y")})
    assert response.status_code == 400


def test_clinic_page_sends_first_with_coloured_tags_and_clear_messages(staff_client, demo):
    user, patient, team, version = demo
    services.issue_link(version=version, patient=patient, care_team=team, by=user)
    url = reverse("clinic:patient", args=[patient.pk])
    html = staff_client.get(url).content.decode()
    assert html.index('id="issue"') < html.index('id="links"')
    assert "nhsuk-tag nhsuk-tag--grey" in html  # issued
    assert "943 476 5919" in html
    assert 'class="nhsuk-input nhsuk-input--width-10" id="id_expires_on"' in html
    response = staff_client.post(reverse("clinic:issue", args=[patient.pk]), {})
    page = response.content.decode()
    assert response.status_code == 400 and "This field is required" not in page
    for message in ("Select the form to send.", "Select how to give the patient the link.",
                    "Enter the last day the link works, for example 31/12/2026."):
        assert message in page
