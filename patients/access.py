"""Who may reach a staff page, and the one rule for who sees what.

Use this on every staff page outside the admin (clinic pages, whiteboards, kiosk unlock,
exports):

    from patients.access import staff_required, StaffRequiredMixin

    @staff_required
    def worklist(request): ...

    class WhiteboardView(StaffRequiredMixin, TemplateView): ...

A request passes only when the user is logged in, active, `is_staff`, and has verified a
second factor in this session (django-otp: TOTP, a backup code or a passkey). Otherwise
it is sent to the step it is missing: the password login, the second-factor check, or
(for a user with no device yet) enrolment. Then scope every query with
`Model.objects.visible_to(request.user)` and look objects up through it (a miss is a
404, whether the object does not exist or belongs to another team). A page, export or
download that shows a patient's answers or record writes one audit row in the same
transaction, before the response: `audit_access(request, action=..., patient=..., obj=...)`
(AuditEvent.Action.ANSWERS_VIEWED, ANSWERS_EXPORTED, RECORD_VIEWED, RECORD_DOWNLOADED).

The rule for data:
- **Care-team members** see the patients, links, submissions and record entries of
  their care teams (`CareTeam.objects.of_user(user)`, the root of every `visible_to`).
- **Organisation administrators** (`Organisation.administrators`) manage their
  organisation's care teams, forms and audit trail. They see patient data only through
  care teams they are members of, like anyone else.
- **Platform superusers** run the installation (organisations, user accounts, device
  resets) and count as administrators of every organisation, but `is_superuser` opens
  no patient data: the hosting provider must not be able to read answers. A superuser who
  is also a care-team member sees that team's data, and nothing more.
"""

from functools import partial, wraps
from urllib.parse import urlencode

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django_otp import user_has_device

from patients.client_ip import client_ip


def is_verified_staff(user) -> bool:
    """Logged in with a password and a verified second factor, active and staff."""
    return bool(
        user and user.is_authenticated and user.is_active and user.is_staff
        and getattr(user, "is_verified", lambda: False)()
    )


def needs_enrolment(user) -> bool:
    """A logged-in staff user with no confirmed second-factor device yet."""
    return user.is_authenticated and not user_has_device(user, confirmed=True)


def next_step_url(request, next_url=None) -> str:
    """Where a request that is not yet verified staff must go first."""
    next_url = next_url or request.get_full_path()
    query = "?" + urlencode({"next": next_url})
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return reverse("account:login") + query
    if needs_enrolment(user):
        return reverse("account:enrol") + query
    return reverse("account:verify") + query


def refuse(request, *, json_response=False, login_url=None):
    """The answer to a request that is not verified staff: the step it is missing, the
    guard's own sign-in page (the kiosk's unlock screen), or a JSON 403 for a machine."""
    if json_response:
        return JsonResponse({"error": "Sign in with two-factor authentication."},
                            status=403)
    if login_url:
        return redirect_to_login(request.get_full_path(), resolve_url(login_url))
    return redirect(next_step_url(request))


def staff_required(view=None, *, json_response=False, login_url=None):
    """The staff guard for a view function: `@staff_required`, or with options
    `@staff_required(json_response=True)` / `@staff_required(login_url="kiosk:unlock")`.

    Every staff view outside the admin uses this (or StaffRequiredMixin); a test walks
    the URL resolver for the `staff_guarded` mark it leaves
    (tests/patients/test_staff_guard.py)."""
    if view is None:
        return partial(staff_required, json_response=json_response, login_url=login_url)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_verified_staff(request.user):
            return refuse(request, json_response=json_response, login_url=login_url)
        return view(request, *args, **kwargs)

    wrapped.staff_guarded = True
    return wrapped


def audit_access(request, *, action, patient, obj=None, detail=None):
    """Record that `request.user` saw, exported or downloaded a patient's data."""
    from patients.services import record_audit

    return record_audit(by=request.user, action=action, patient=patient, obj=obj,
                        ip_address=client_ip(request), detail=detail)


class StaffRequiredMixin(AccessMixin):
    """Mixin for a staff class-based view: verified second factor required."""

    staff_guarded = True
    staff_json_response = False
    staff_login_url = None

    def dispatch(self, request, *args, **kwargs):
        if not is_verified_staff(request.user):
            return refuse(request, json_response=self.staff_json_response,
                          login_url=self.staff_login_url)
        return super().dispatch(request, *args, **kwargs)
