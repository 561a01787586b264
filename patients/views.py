"""Staff sign-in: password, then a second factor; enrolment on first login; sign-out.

A staff user with a password but no verified second factor reaches these pages and
nothing else (every staff page uses patients.access, the admin uses StaffAdminSite).
"""

import io
import sys

import segno
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.views import CompleteCredentialAuthenticationView

from patients import services
from patients.access import is_verified_staff, needs_enrolment, next_step_url, staff_required
from patients.account_forms import EnrolForm, SecondFactorForm
from patients.client_ip import client_ip
from patients.outage import is_database_outage, try_again_response

SESSION_ENROL_DEVICE = "enrol_totp_device"




def safe_next(request, default=None) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default or resolve_url(settings.LOGIN_REDIRECT_URL)


def _signed_in_staff(request) -> bool:
    user = request.user
    return user.is_authenticated and user.is_active and user.is_staff


class StaffLoginView(auth_views.LoginView):
    """The password step (django-axes counts failures and locks out)."""

    template_name = "patients/account/login.html"
    redirect_authenticated_user = False

    def get_success_url(self):
        return next_step_url(self.request, safe_next(self.request))


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second-factor step: a code from the app, a backup code or a passkey."""
    if not _signed_in_staff(request):
        return redirect(next_step_url(request, safe_next(request)))
    if needs_enrolment(request.user):
        return redirect(next_step_url(request, safe_next(request)))
    if request.user.is_verified():
        return redirect(safe_next(request))
    form = SecondFactorForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        otp_login(request, form.device)
        services.record_audit(
            by=request.user, action=services.AuditEvent.Action.SECOND_FACTOR_VERIFIED,
            organisation=services.user_organisation(request.user), obj=request.user,
            ip_address=client_ip(request), detail={"device": type(form.device).__name__})
        return redirect(safe_next(request))
    return render(request, "patients/account/verify.html", {
        "form": form, "next": safe_next(request),
    }, status=400 if form.errors else 200)


def _enrolment_device(request) -> TOTPDevice:
    device = TOTPDevice.objects.filter(pk=request.session.get(SESSION_ENROL_DEVICE),
                                       user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Authenticator app",
                                           confirmed=False)
        request.session[SESSION_ENROL_DEVICE] = device.pk
    return device


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request):
    """First login: set up an authenticator app (QR code), or a passkey."""
    if not _signed_in_staff(request):
        return redirect(next_step_url(request, safe_next(request)))
    if not needs_enrolment(request.user):
        return redirect(next_step_url(request, safe_next(request)))
    device = _enrolment_device(request)
    form = EnrolForm(device, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = services.confirm_enrolment(user=request.user, device=device,
                                           ip_address=client_ip(request))
        otp_login(request, device)
        request.session.pop(SESSION_ENROL_DEVICE, None)
        return render(request, "patients/account/backup_codes.html",
                      {"codes": codes, "next": safe_next(request)})
    return render(request, "patients/account/enrol.html", {
        "form": form, "next": safe_next(request),
        "secret": device.config_url.split("secret=")[1].split("&")[0],
    }, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET"])
def enrol_qr(request):
    """The QR code of the device being enrolled, as SVG (same origin, for the CSP)."""
    if not _signed_in_staff(request) or not needs_enrolment(request.user):
        return HttpResponse(status=404)
    device = _enrolment_device(request)
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=2)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """New single-use backup codes (the old ones stop working)."""
    if request.method == "POST":
        codes = services.new_backup_codes(user=request.user)
        return render(request, "patients/account/backup_codes.html",
                      {"codes": codes, "next": reverse("account:passkeys")})
    return render(request, "patients/account/backup_codes_confirm.html")


@staff_required
@never_cache
@require_http_methods(["GET"])
def passkeys(request):
    """Add a passkey (WebAuthn, through django-otp-webauthn) as another second factor."""
    return render(request, "patients/account/passkeys.html")


@require_POST
def sign_out(request):
    """Sign out everywhere: the user_logged_out signal ends all of the user's sessions."""
    logout(request)
    return redirect("account:login")


def account_home(request):
    if is_verified_staff(request.user):
        return redirect(settings.LOGIN_REDIRECT_URL)
    return redirect(next_step_url(request, resolve_url(settings.LOGIN_REDIRECT_URL)))


def server_error(request):
    """The 500 page: a fixed template, no request context, so no path, token, user or
    patient data can reach it (config/urls.py handler500). A lost database connection
    gets the 503 "try again in a moment" page instead (patients/outage.py)."""
    from django.http import HttpResponseServerError
    from django.template import loader

    if is_database_outage(sys.exc_info()[1]):
        return try_again_response()
    return HttpResponseServerError(loader.get_template("500.html").render())


class AuditedPasskeyVerification(CompleteCredentialAuthenticationView):
    """django-otp-webauthn's passkey check, written to the audit trail on success."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        user = self.request.user
        if response.status_code == 200 and user.is_authenticated and user.is_verified():
            services.record_audit(
                by=user, action=services.AuditEvent.Action.SECOND_FACTOR_VERIFIED,
                organisation=services.user_organisation(user), obj=user,
                ip_address=client_ip(self.request), detail={"device": "passkey"})
        return response
