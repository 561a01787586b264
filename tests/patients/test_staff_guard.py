"""One staff guard (patients.access.staff_required / StaffRequiredMixin) behind every staff
URL outside the admin, found by walking the URL resolver: a URL is either behind the
guard or on the explicit list of patient, public, sign-in and API URLs below."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from patients.access import StaffRequiredMixin, staff_required
from patients.admin_site import StaffAdminSite
from tests.config.test_url_walk import all_patterns

# Not staff pages, each for a reason. Anything else must be behind the guard.
NOT_STAFF = {
    r"patient:.*": "the patient's journey: the link's token and the date-of-birth check",
    r"accessibility|privacy": "public information pages",
    r"healthz|readyz|metrics": "operations probes (config/probes.py)",
    r"route:": "the site root's redirect to the staff home",
    r"account:(login|verify|enrol|enrol-qr|logout|home)": "the sign-in steps themselves",
    r"otp_webauthn:.*": "the passkey ceremony, part of the second-factor step",
    r"api:.*": "the REST API: API-client tokens, no staff session",
    r"clinic:notify_callback": "GOV.UK Notify's receipts (bearer token)",
    r"kiosk:(hand_back|unlock)": "the tablet between patients; unlock is a sign-in form",
    r"set_language": "the language switcher",
    r"bench:.*": "benchmark baselines, mounted only with settings.BENCH",
}


def is_guarded(callback) -> bool:
    # The mark survives decorators that use functools.wraps (never_cache, require_GET):
    # one that does not would hide the guard and fail this test, the safe way round.
    if getattr(callback, "staff_guarded", False):
        return True
    view_class = getattr(callback, "view_class", None)
    return view_class is not None and issubclass(view_class, StaffRequiredMixin)


def allowed(ident):
    return next((p for p in NOT_STAFF if re.fullmatch(p, ident)
                 or (p.endswith(":") and ident.startswith(p))), None)


def test_every_staff_url_is_behind_the_one_guard():
    unguarded, used = [], set()
    for ident, route, pattern in all_patterns():
        if ident.startswith("admin:"):
            continue  # below: the admin site's own permission check
        reason = allowed(ident)
        if reason is not None:
            used.add(reason)
            assert not is_guarded(pattern.callback), f"{ident} is guarded: drop it from NOT_STAFF"
        elif not is_guarded(pattern.callback):
            unguarded.append(f"{ident} ({route})")
    assert not unguarded, (
        "Staff URLs not behind patients.access.staff_required / StaffRequiredMixin "
        f"(or add a patient/public URL to NOT_STAFF with its reason): {unguarded}")
    stale = (set(NOT_STAFF) - used) - {r"bench:.*"}
    assert not stale, f"NOT_STAFF entries matching no URL: {stale}"


def test_the_admin_uses_the_same_rule():
    # Every admin view goes through AdminSite.admin_view -> has_permission, which is
    # StaffAdminSite's is_verified_staff (the guard's own test); the URL walk checks each.
    assert isinstance(admin.site, StaffAdminSite)


@pytest.fixture
def anonymous_request():
    request = RequestFactory().get("/staff/thing/?x=1")
    request.user = AnonymousUser()
    return request


def _ok(request):
    return HttpResponse("staff page")


def test_the_guard_sends_each_visitor_to_their_missing_step(anonymous_request):
    response = staff_required(_ok)(anonymous_request)
    assert (response.status_code, response["Location"]) == (
        302, "/account/login/?next=%2Fstaff%2Fthing%2F%3Fx%3D1")
    response = staff_required(login_url="kiosk:unlock")(_ok)(anonymous_request)
    assert (response.status_code, response["Location"]) == (
        302, "/kiosk/unlock/?next=/staff/thing/%3Fx%3D1")
    response = staff_required(json_response=True)(_ok)(anonymous_request)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
