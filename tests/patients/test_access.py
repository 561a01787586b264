"""Two factors on every staff page; sessions that end when they should."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.views import View
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.access import StaffRequiredMixin, staff_required
from patients.middleware import SESSION_SEEN
from patients.models import AuditEvent, StaffSession
from tests.factories.patients import CareTeamFactory, UserFactory
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _sign_in(client, user):
    return client.post(reverse("account:login"),
                       {"username": user.username, "password": PASSWORD, "next": "/admin/"})


def test_first_login_enrols_an_authenticator_app_and_reaches_nothing_else(client):
    user = UserFactory()
    CareTeamFactory(members=[user])
    response = _sign_in(client, user)
    assert response.status_code == 302 and response.url.startswith(reverse("account:enrol"))
    # Password only: every staff page sends the user back to enrolment.
    for url in (reverse("admin:index"), reverse("admin:patients_patient_changelist"),
                reverse("account:passkeys")):
        response = client.get(url)
        assert response.status_code == 302, url
        if not response.url.startswith(reverse("account:enrol")):
            response = client.get(response.url)  # the admin's login hands over
        assert response.status_code == 302 and response.url.startswith(
            reverse("account:enrol")), url
    page = client.get(reverse("account:enrol") + "?next=/admin/")
    assert page.status_code == 200 and b'src="/account/enrol/qr.svg"' in page.content
    qr = client.get(reverse("account:enrol-qr"))
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(reverse("account:enrol"), {"code": "000000"}).status_code == 400
    time.sleep(1.1)  # django-otp throttles: a wrong code makes the next wait a second
    response = client.post(reverse("account:enrol"),
                           {"code": f"{totp(device.bin_key):06d}", "next": "/admin/"})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    assert client.get(reverse("admin:index")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SECOND_FACTOR_ENROLLED,
                                     actor=user).count() == 1


def test_backup_codes_work_once(client):
    user = UserFactory()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    device.token_set.create(token="abcd1234")
    _sign_in(client, user)
    response = client.post(reverse("account:verify"), {"code": "abcd 1234", "next": "/admin/"})
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200
    client.post(reverse("account:logout"))
    _sign_in(client, user)
    response = client.post(reverse("account:verify"), {"code": "abcd1234"})
    assert response.status_code == 400
    assert client.get(reverse("admin:index")).status_code == 302


def test_wrong_password_and_login_are_audited(client):
    user = UserFactory()
    client.post(reverse("account:login"), {"username": user.username, "password": "nope"})
    failed = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert failed.detail == {"username": user.username} and failed.ip_address == "127.0.0.1"
    _sign_in(client, user)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN, actor=user).count() == 1


def test_deactivating_a_user_ends_their_live_session_within_one_request(client):
    world = build_world()
    user = world.users["right_team"]
    verified(client, user)
    url = reverse("admin:patients_patient_change", args=[world.patient.pk])
    assert client.get(url).status_code == 200
    session_key = client.session.session_key
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not Session.objects.filter(session_key=session_key).exists()
    response = client.get(url)
    assert response.status_code == 302 and world.patient.family_name not in str(
        response.content)


def test_deactivating_in_the_admin_ends_the_session(client, django_user_model):
    world = build_world()
    user = world.users["right_team"]
    victim = verified(client.__class__(), user)
    admin_client = verified(client, world.users["superuser"])
    change = reverse("admin:auth_user_change", args=[user.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(is_active="", date_joined_0="2026-01-01", date_joined_1="10:00:00",
                last_login_0="", last_login_1="", groups=[], user_permissions=[])
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert victim.get(reverse("admin:index")).status_code == 302


def test_logging_out_ends_every_session_of_the_user(client):
    world = build_world()
    user = world.users["right_team"]
    laptop = verified(client, user)
    phone = verified(client.__class__(), user)
    assert StaffSession.objects.filter(user=user).count() == 2
    assert phone.get(reverse("admin:index")).status_code == 200
    laptop.post(reverse("account:logout"))
    assert phone.get(reverse("admin:index")).status_code == 302
    assert not StaffSession.objects.filter(user=user).exists()


def test_idle_and_absolute_session_limits(client, settings):
    world = build_world()
    verified(client, world.users["right_team"])
    assert client.get(reverse("admin:index")).status_code == 200
    session = client.session
    session[SESSION_SEEN] = int(time.time()) - settings.STAFF_SESSION_IDLE_SECONDS - 5
    session.save()
    assert client.get(reverse("admin:index")).status_code == 302
    verified(client, world.users["right_team"])
    assert client.get(reverse("admin:index")).status_code == 200
    settings.STAFF_SESSION_MAX_SECONDS = 0
    time.sleep(1.1)
    assert client.get(reverse("admin:index")).status_code == 302


def test_reset_devices_admin_action_is_audited_and_ends_sessions(client):
    world = build_world()
    target = world.users["right_team"]
    victim = verified(client.__class__(), target)
    admin_client = verified(client, world.users["superuser"])
    response = admin_client.post(reverse("admin:auth_user_changelist"), {
        "action": "reset_second_factor", "_selected_action": [target.pk]})
    assert response.status_code == 302
    assert not StaticDevice.objects.filter(user=target).exists()
    assert not TOTPDevice.objects.filter(user=target).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DEVICES_RESET,
                                     object_id=str(target.pk)).count() == 1
    assert victim.get(reverse("admin:index")).status_code == 302


def test_the_guard_for_other_staff_pages(rf: RequestFactory, client):
    world = build_world()

    @staff_required
    def page(request):
        return HttpResponse("ok")

    class ClassPage(StaffRequiredMixin, View):
        def get(self, request):
            return HttpResponse("ok")

    request = rf.get("/clinic/")
    request.user = AnonymousUser()
    assert page(request).url.startswith(reverse("account:login"))
    request.user = world.users["unverified"]
    request.user.is_verified = lambda: False
    assert page(request).url.startswith(reverse("account:verify"))
    assert ClassPage.as_view()(request).url.startswith(reverse("account:verify"))
    request.user.is_verified = lambda: True
    assert page(request).content == b"ok"
    assert ClassPage.as_view()(request).content == b"ok"


def test_passkeys_are_a_second_factor_only(client):
    """Passwordless passkey login is off: the ceremony needs a password session first."""
    begin = reverse("otp_webauthn:credential-authentication-begin")
    response = client.post(begin)
    assert response.status_code >= 400 and "_auth_user_id" not in client.session
    user = UserFactory()
    _sign_in(client, user)
    response = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert response.status_code == 200  # enrolling a passkey as the first device
    assert response.json()["rp"]["id"]


def test_repeated_wrong_passwords_lock_the_login(client, settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("account:login"), {"username": user.username, "password": "no"})
    response = _sign_in(client, user)  # the right password, too late
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() >= (
        settings.AXES_FAILURE_LIMIT)
