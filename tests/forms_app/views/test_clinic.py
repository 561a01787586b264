# ruff: noqa: F811  (pytest fixtures imported from clinic_fixtures)
import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.models import DeliveryAttempt, Link, LinkSecret
from patients.models import AuditEvent
from tests.factories.patients import CareTeamFactory, PatientFactory, UserFactory
from tests.forms_app.clinic_fixtures import demo, staff_client  # noqa: F401

pytestmark = pytest.mark.django_db


def expiry(days=10):
    return (timezone.localdate() + datetime.timedelta(days=days)).strftime("%d/%m/%Y")


def issue(client, patient, version, team, channel, **extra):
    return client.post(reverse("clinic:issue", kwargs={"patient_id": patient.pk}), {
        "version": version.pk, "care_team": team.pk, "channel": channel,
        "expires_on": expiry(), **extra})


def test_clinic_pages_need_a_verified_second_factor(client, demo):
    user, patient = demo[0], demo[1]
    for url in [reverse("clinic:find"), reverse("clinic:patient", args=[patient.pk]),
                reverse("clinic:lists")]:
        assert client.get(url).status_code == 302
        client.force_login(user)  # a password alone is not enough
        response = client.get(url)
        # The one staff guard: to the step missing (this user has no device yet).
        assert response.status_code == 302
        assert response.url.startswith(reverse("account:enrol"))
        client.logout()


def test_find_by_nhs_number_hospital_number_and_name_with_date_of_birth(staff_client, demo):
    patient = demo[1]
    patient.hospital_number = "RX12345"
    patient.save(update_fields=["hospital_number"])
    url = reverse("clinic:find")
    detail = reverse("clinic:patient", args=[patient.pk])
    for data in [{"nhs_number": "943 476 5919"}, {"hospital_number": "rx12345"},
                 {"family_name": "demo", "date_of_birth": "15/03/1984"}]:
        response = staff_client.post(url, data)
        assert response.status_code == 200
        assert detail in response.content.decode(), data


def test_find_refuses_bad_input_and_never_shows_another_teams_patient(staff_client, demo):
    other = PatientFactory(care_teams=[CareTeamFactory()])
    response = staff_client.post(reverse("clinic:find"), {"nhs_number": other.nhs_number})
    assert b"0 patients found" in response.content
    response = staff_client.post(reverse("clinic:find"), {"nhs_number": "1234567890"})
    assert response.status_code == 400 and b"There is a problem" in response.content
    response = staff_client.post(reverse("clinic:find"), {"family_name": "Demo"})
    assert response.status_code == 400 and b"date of birth" in response.content
    response = staff_client.get(reverse("clinic:patient", args=[other.pk]))
    assert response.status_code == 404


def test_issue_by_text_message_sends_the_link_and_shows_it(
        staff_client, demo, capsys, django_capture_on_commit_callbacks):
    _, patient, team, version = demo
    with django_capture_on_commit_callbacks(execute=True):
        response = issue(staff_client, patient, version, team, "sms")
    assert response.status_code == 302
    link = Link.objects.get(patient=patient)
    attempt = DeliveryAttempt.objects.get(link=link)
    # The console backend is its own destination: sent is delivered.
    assert attempt.status == DeliveryAttempt.Status.DELIVERED and attempt.backend == "console"
    printed = capsys.readouterr().out
    assert "/l/" in printed and patient.mobile in printed
    page = staff_client.get(reverse("clinic:patient", args=[patient.pk])).content.decode()
    assert "Text message" in page and "Delivered" in page
    # The token is not in the page: only the message carried it.
    token = LinkSecret.objects.get(link=link).token
    assert token not in page


@pytest.mark.parametrize("channel,template_text", [
    ("screen", "Ask the patient to scan this code"),
    ("letter", "Please fill in your form before your appointment"),
])
def test_issue_on_screen_or_as_a_letter_shows_the_link_and_a_qr_code_once(
        staff_client, demo, channel, template_text):
    _, patient, team, version = demo
    response = issue(staff_client, patient, version, team, channel)
    # POST-redirect-GET: the address carries the link's id, never its token.
    link = Link.objects.get(patient=patient)
    assert response.status_code == 302
    assert response.url == reverse("clinic:show_link", kwargs={"link_id": link.pk})
    response = staff_client.get(response.url)
    assert response.status_code == 200
    page = response.content.decode()
    assert template_text in page and "<svg" in page and "/l/" in page
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert link.channel == channel
    assert not LinkSecret.objects.filter(link=link).exists()
    assert not DeliveryAttempt.objects.filter(link=link).exists()
    assert "no-cache" in response["Cache-Control"]
    # A refresh shows that it was shown, issues nothing and shows no link.
    again = staff_client.get(reverse("clinic:show_link", kwargs={"link_id": link.pk}))
    assert again.status_code == 410
    assert "already been shown" in again.content.decode() and "/l/" not in again.content.decode()
    assert Link.objects.filter(patient=patient).count() == 1


def test_the_shown_link_is_for_the_issuing_session_only(staff_client, demo, otp_login):
    user, patient, team, version = demo
    response = issue(staff_client, patient, version, team, "screen")
    other_session = otp_login(Client(), user)  # the same user on another PC
    page = other_session.get(response.url)
    assert page.status_code == 410 and "/l/" not in page.content.decode()
    assert staff_client.get(response.url).status_code == 200
    # The token is kept encrypted in the session, and only until the page is shown.
    assert "clinic_show_link" not in staff_client.session


def test_two_links_issued_before_either_is_shown_are_each_shown_once(staff_client, demo):
    """Two tabs, or a second issue before the first page loaded: neither link is lost."""
    _, patient, team, version = demo
    first = issue(staff_client, patient, version, team, "screen")
    second = issue(staff_client, patient, version, team, "screen")
    assert first.url != second.url
    for response in (second, first):
        page = staff_client.get(response.url)
        assert page.status_code == 200 and "/l/" in page.content.decode()
        assert staff_client.get(response.url).status_code == 410
    assert "clinic_show_link" not in staff_client.session


def test_issue_refuses_opted_out_or_unreachable_patients_and_bad_input(staff_client, demo):
    _, patient, team, version = demo
    patient.sms_opt_out = True
    patient.email = ""
    patient.save(update_fields=["sms_opt_out", "email"])
    for channel, text in [("sms", "asked not to be contacted"), ("email", "no email address")]:
        response = issue(staff_client, patient, version, team, channel)
        assert response.status_code == 400 and text in response.content.decode()
    response = issue(staff_client, patient, version, team, "pigeon")
    assert response.status_code == 400
    response = issue(staff_client, patient, version, team, "screen", expires_on="31/02/2026")
    assert response.status_code == 400
    response = issue(staff_client, patient, version, CareTeamFactory(), "screen")
    assert response.status_code == 400
    assert not Link.objects.filter(patient=patient).exists()


def test_the_clinic_lets_a_locked_out_patient_try_again(staff_client, demo):
    user, patient, team, version = demo
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    patient_client = Client()
    for _ in range(5):
        patient_client.get(reverse("patient:start", args=[issued.token]))
        response = patient_client.post(reverse("patient:verify"),
                                       {"day": "1", "month": "1", "year": "1990"})
    assert response.status_code == 429
    page = staff_client.get(reverse("clinic:patient", args=[patient.pk])).content.decode()
    assert reverse("clinic:unlock", args=[issued.link.pk]) in page

    response = staff_client.post(reverse("clinic:unlock", args=[issued.link.pk]))
    assert response.status_code == 302
    link = Link.objects.get(pk=issued.link.pk)
    assert (link.locked_until, link.failed_checks, link.lockouts) == (None, 0, 0)
    event = AuditEvent.objects.get(action=AuditEvent.Action.LINK_UNLOCKED)
    assert (event.object_id, event.patient_id) == (str(link.pk), patient.pk)
    assert event.actor_id == user.pk  # staff_client is the demo clinician
    # The patient is let in at once.
    response = patient_client.post(reverse("patient:verify"),
                                   {"day": "15", "month": "3", "year": "1984"})
    assert response.status_code == 302 and response.url == reverse("patient:answer")


def test_another_team_cannot_unlock(demo, otp_login):
    user, patient, team, version = demo
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    Link.objects.filter(pk=issued.link.pk).update(locked_until=timezone.now()
                                                  + datetime.timedelta(minutes=5))
    outsider = UserFactory(is_staff=True)
    CareTeamFactory(organisation=team.organisation).members.add(outsider)
    client = otp_login(Client(), outsider)
    assert client.post(reverse("clinic:unlock", args=[issued.link.pk])).status_code == 404
    assert Link.objects.get(pk=issued.link.pk).locked_until is not None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LINK_UNLOCKED).exists()


def test_revoke_resend_and_extend(staff_client, demo):
    _user, patient, team, version = demo
    issue(staff_client, patient, version, team, "sms")
    link = Link.objects.get(patient=patient)

    response = staff_client.post(reverse("clinic:resend", args=[link.pk]), {"channel": "email"})
    assert response.status_code == 302
    assert list(link.deliveries.order_by("created_at").values_list("channel", flat=True)) == [
        "sms", "email"]
    assert AuditEvent.objects.filter(action="link.resent", object_id=str(link.pk)).exists()

    new_day = timezone.localdate() + datetime.timedelta(days=30)
    staff_client.post(reverse("clinic:extend", args=[link.pk]),
                      {"expires_on": new_day.strftime("%d/%m/%Y")})
    link.refresh_from_db()
    assert timezone.localtime(link.expires_at).date() == new_day
    assert AuditEvent.objects.filter(action="link.extended", object_id=str(link.pk)).exists()

    response = staff_client.post(reverse("clinic:extend", args=[link.pk]),
                                 {"expires_on": "yesterday"}, follow=True)
    assert b"Enter the last day as a real date" in response.content

    staff_client.post(reverse("clinic:revoke", args=[link.pk]))
    link.refresh_from_db()
    assert link.revoked_at is not None
    response = staff_client.post(reverse("clinic:resend", args=[link.pk]), {"channel": "sms"},
                                 follow=True)
    assert b"This link is closed" in response.content
    assert link.deliveries.count() == 2


def test_actions_on_another_teams_link_are_not_found(staff_client, demo):
    version = demo[3]
    other_team = CareTeamFactory(organisation=version.form.organisation)
    other = PatientFactory(organisation=version.form.organisation, care_teams=[other_team])
    link = services.issue_link(version=version, patient=other, care_team=other_team,
                               by=UserFactory()).link
    for name, data in [("revoke", {}), ("resend", {"channel": "sms"}),
                       ("extend", {"expires_on": expiry(20)})]:
        assert staff_client.post(reverse(f"clinic:{name}", args=[link.pk]),
                                 data).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_patient_page_shows_each_links_state(staff_client, demo):
    user, patient, team, version = demo
    services.issue_link(version=version, patient=patient, care_team=team, by=user)
    revoked = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    services.revoke_link(link=revoked.link, by=user)
    page = staff_client.get(reverse("clinic:patient", args=[patient.pk])).content.decode()
    assert "Revoked" in page and "Issued" in page
