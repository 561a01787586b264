"""Clinic tablet mode through the test client: scoping, hand-back, no trace, unlock."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice

from forms_app.management.demo_data import DEMO_NHS_NUMBER, ensure_demo
from forms_app.models import Link, Submission
from patients.models import AuditEvent
from tests.factories.patients import CareTeamFactory, UserFactory
from tests.forms_app.journey import answer_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return ensure_demo()


def start(client, team, version, nhs_number=DEMO_NHS_NUMBER):
    return client.post(reverse("kiosk:start"), {
        "nhs_number": nhs_number, "form": str(version.form_id), "care_team": str(team.pk)})


def test_a_password_alone_does_not_reach_the_kiosk_page(client, demo):
    user = demo[0]
    client.force_login(user)  # no second factor
    response = client.get(reverse("kiosk:start"))
    assert response.status_code == 302 and response.url.startswith(reverse("kiosk:unlock"))


def test_staff_start_the_form_for_the_patient_in_front_of_them(client, otp_login, demo):
    user, patient, team, version = demo
    otp_login(client, user)
    page = client.get(reverse("kiosk:start"))
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    response = start(client, team, version)
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    # The staff member is signed out: the patient holds a session with no staff in it.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302
    # No date of birth asked: straight to page one; identity confirmed in person, audited.
    assert b"Page 1 of 3" in client.get(reverse("patient:answer")).content
    link = Link.objects.get(patient=patient)
    event = AuditEvent.objects.get(action=AuditEvent.Action.IDENTITY_VERIFIED, object_id=link.pk)
    assert event.actor == user and event.detail == {"method": "in-person", "device": "kiosk"}


def test_after_sending_the_tablet_is_handed_back_with_no_trace(client, otp_login, demo):
    user, patient, team, version = demo
    otp_login(client, user)
    start(client, team, version)
    old_key = client.session.session_key
    answer_all(client)
    response = client.post(reverse("patient:check"))
    assert response.status_code == 302 and response.url == reverse("kiosk:hand_back")
    assert Submission.objects.get(link__patient=patient).state != Submission.State.IN_PROGRESS
    hand_back = client.get(reverse("kiosk:hand_back"))
    assert b"Please hand this device back" in hand_back.content
    assert b"Sal" not in hand_back.content and b"wheelchair" not in hand_back.content
    assert hand_back["Cache-Control"].startswith("max-age=0")
    # The session was flushed: a new key, holding nothing but the lock.
    assert client.session.session_key != old_key
    assert dict(client.session.items()) == {"kiosk_locked": True}
    # The back button: every journey page now shows the hand-back screen.
    for name in ("patient:check", "patient:answer", "patient:verify"):
        back = client.get(reverse(name))
        assert back.status_code == 302 and back.url == reverse("kiosk:hand_back"), name
    assert client.get(reverse("patient:confirmation")).url != reverse("patient:confirmation")


def test_unlocking_needs_password_and_second_factor(client, demo):
    user = demo[0]
    user.set_password("correct-horse-battery-staple")
    user.save(update_fields=["password"])
    device = StaticDevice.objects.create(user=user, name="backup")
    device.token_set.create(token="abcd1234")
    url = reverse("kiosk:unlock")
    no_code = client.post(url, {"username": user.username,
                                "password": "correct-horse-battery-staple"})
    assert no_code.status_code == 200 and b"nhsuk-error-summary" in no_code.content
    wrong = client.post(url, {"username": user.username,
                              "password": "correct-horse-battery-staple", "otp_token": "zzzz9999"})
    assert wrong.status_code == 200
    assert client.get(reverse("kiosk:start")).status_code == 302
    # django-otp throttles a device after a wrong code; the member of staff waits it out.
    device.refresh_from_db()
    device.throttle_reset()
    ok = client.post(url, {"username": user.username,
                           "password": "correct-horse-battery-staple", "otp_token": "abcd1234"})
    assert ok.status_code == 302, ok.context["form"].errors
    assert ok.url == reverse("kiosk:start")
    assert client.get(reverse("kiosk:start")).status_code == 200


def test_kiosk_is_scoped_to_the_staff_members_care_teams(client, otp_login, demo):
    _, patient, team, version = demo
    stranger = UserFactory()
    other_team = CareTeamFactory(organisation=team.organisation)
    other_team.members.add(stranger)
    otp_login(client, stranger)
    response = start(client, other_team, version)
    assert response.status_code == 400
    assert b"No patient of your care teams has that NHS number" in response.content
    # Another team's id is not a choice either.
    response = start(client, team, version)
    assert response.status_code == 400 and b"Select a care team" in response.content
    assert not Link.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("nhs_number", ["", "abc", "9" * 5000, "943 476 5919\x00"])
def test_bad_nhs_numbers_get_a_message(client, otp_login, demo, nhs_number):
    user, _, team, version = demo
    otp_login(client, user)
    response = start(client, team, version, nhs_number=nhs_number)
    assert response.status_code == 400
    assert b"nhsuk-error-summary" in response.content
    assert not Link.objects.exists()
