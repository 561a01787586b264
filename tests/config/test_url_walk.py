"""Walk every URL pattern of the project as five kinds of visitor; only the right team
sees patient data.

How it works: `all_patterns()` iterates Django's URL resolver, so a URL added by anyone
is walked automatically. Each URL must match a rule in URL_RULES (first match wins, on
the namespaced name, or `route:<pattern>` for an unnamed pattern); an unclassified URL
fails `test_every_url_is_classified` with instructions. Arguments in the URL are filled
from KWARGS by name; an unknown argument name fails loudly too.

Adding your URL: add a rule (most staff pages are `STAFF` or `STAFF_DATA`), and if it
takes a new kind of argument, a KWARGS entry that returns the right team's object.

For each visitor the response is classified and checked:
- no one but the right team ever receives a page containing the patient's data
  (World.markers: name, NHS number, an answer, the submission reference);
- a guarded (staff) URL sends anonymous and password-only visitors to sign in
  (a redirect into /account/ or the admin login) or answers 404/405;
- the right team reaches every staff URL the rule says it may, and sees the data where
  the rule says the page shows it.
"""

import re
import uuid
from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from patients.models import EncryptionCanary
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Rule:
    """What a URL is. `guarded`: a staff page (verified second factor required).
    `right_team_reaches`: the right team (full model permissions, not a superuser)
    gets a non-error page. `shows_data`: that page contains the patient's data."""

    guarded: bool
    right_team_reaches: bool = False
    shows_data: bool = False
    # A JSON endpoint answers a visitor without a verified second factor with 401/403
    # (there is no sign-in page to send a machine to).
    json: bool = False


PUBLIC = Rule(guarded=False)
STAFF = Rule(guarded=True, right_team_reaches=True)
STAFF_DATA = Rule(guarded=True, right_team_reaches=True, shows_data=True)
# Staff pages the right team's clinicians may not use (platform or organisation admin).
ADMIN_ONLY = Rule(guarded=True)
# Staff pages about an object the walk's world does not create (a clinic list): guarded,
# and the right team gets a 404 like everyone else.
GUARDED = Rule(guarded=True)
# The REST API: API-client tokens only; a staff session reaches nothing there.
API_TOKEN_ONLY = Rule(guarded=False)

_PATIENT_MODELS = "patients_patient|forms_app_link|forms_app_submission|patients_recordentry"

# First match wins. Keep specific rules above general ones.
URL_RULES: list[tuple[str, Rule]] = [
    # The patient's journey: public, and shows nothing without the link and the check.
    (r"patient:.*", PUBLIC),
    (r"accessibility|privacy", PUBLIC),
    # Operations probes (config/probes.py): check names and counts, never patient data.
    (r"healthz|readyz|metrics", PUBLIC),
    (r"route:", PUBLIC),  # the site root redirects to the admin
    # Staff sign-in and second factors.
    (r"account:(login|verify|enrol|enrol-qr|logout|home)", PUBLIC),
    (r"account:(backup-codes|passkeys)", STAFF),
    (r"otp_webauthn:.*", PUBLIC),  # JSON endpoints; POST only, refuse without a session
    # The admin.
    (r"admin:login|admin:logout", PUBLIC),
    (r"admin:(index|app_list|password_change|password_change_done)", STAFF),
    (r"admin:autocomplete|admin:jsi18n|admin:view_on_site", ADMIN_ONLY),
    (rf"admin:({_PATIENT_MODELS})_change", STAFF_DATA),
    (r"admin:(patients_patient|forms_app_submission)_history", STAFF_DATA),
    (r"admin:(forms_app_link|patients_recordentry)_history", STAFF),
    (r"admin:(patients_patient|forms_app_link|forms_app_submission)_changelist", STAFF_DATA),
    (r"admin:patients_recordentry_changelist", STAFF_DATA),
    (rf"admin:({_PATIENT_MODELS})_(add|delete)", ADMIN_ONLY),
    (r"admin:forms_app_(form|item|formversion)_(changelist|change|history)", STAFF),
    (r"admin:forms_app_(form|item)_add", STAFF),
    (r"admin:forms_app_retentionpolicy_(changelist|change|history|add)", STAFF),
    (r"admin:forms_app_retentionpolicy_delete", ADMIN_ONLY),
    (r"admin:forms_app_formversion_add", ADMIN_ONLY),  # versions come from publishing
    (r"admin:forms_app_form_publish|admin:forms_app_formversion_issue_link", STAFF),
    # The link shown once after issuing it in the admin (POST-redirect-GET).
    (r"admin:forms_app_formversion_issued_link", GUARDED),
    (r"admin:forms_app_(form|item|formversion)_delete", ADMIN_ONLY),
    (r"admin:patients_careteam_(changelist|change|history)", STAFF),
    (r"admin:patients_organisation_(changelist|change|history)", STAFF),
    (r"admin:patients_(careteam|organisation)_(add|delete)", ADMIN_ONLY),
    (r"admin:patients_auditevent_.*", ADMIN_ONLY),
    (r"admin:auth_.*", ADMIN_ONLY),
    (r"admin:(otp_static|otp_totp|django_otp_webauthn|axes)_.*", ADMIN_ONLY),
    (r"admin:route:.*", ADMIN_ONLY),  # the admin's catch-all
    # The form designer (issue 3).
    (r"admin:forms_app_(form_preview|form_import|form_library)", STAFF),
    # The outline's changes (POST; a GET goes back to the form) and translations (issue 13).
    (r"admin:forms_app_form_(outline|translations)", STAFF),
    (r"admin:forms_app_formversion_(preview|export)", STAFF),
    (r"admin:forms_app_flagrule_.*", ADMIN_ONLY),
    (r"admin:forms_app_apiclient_.*", ADMIN_ONLY),
    (r"admin:forms_app_(messagetemplate|deliveryattempt)_.*", ADMIN_ONLY),
    # Clinic pages (issue 5). Revoke/resend/extend are POST only (405 on GET).
    (r"clinic:patient", STAFF_DATA),
    # The link shown once after issuing (POST-redirect-GET); only to the issuing session.
    (r"clinic:show_link", GUARDED),
    (r"clinic:(find|issue|revoke|resend|extend|unlock|lists)", STAFF),
    (r"clinic:(list|issue_list)", GUARDED),
    (r"clinic:notify_callback", PUBLIC),  # GOV.UK Notify's receipts, bearer-token checked
    # The REST API (issue 5): token-authenticated; sessions are refused.
    (r"api:.*", API_TOKEN_ONLY),
    # Clinic tablets (issue 4): staff start a session; the hand-back and unlock screens
    # are what the tablet shows between patients (unlock is a staff sign-in form).
    (r"kiosk:start", STAFF),
    (r"kiosk:(hand_back|unlock)", PUBLIC),
    (r"set_language", PUBLIC),  # the language switcher (POST; GET redirects)
    # Flag worklists (issue 6): acknowledge is POST only (405 on GET).
    (r"worklist:list", STAFF),
    (r"worklist:acknowledge", GUARDED),
    (r"admin:forms_app_worklisttask_.*", ADMIN_ONLY),
    # The staff home (issue 13): teams, clinics, boards; no patient's answers.
    (r"staff:home", STAFF),
    # A filed record readable by staff (issue 13), and its PDF.
    (r"records:submission_pdf", GUARDED),  # the walk's submission has no filed PDF
    (r"records:submission", STAFF_DATA),
    # Whiteboards (issue 8).
    (r"whiteboard:(board|fragment)", STAFF),
    (r"whiteboard:data", Rule(guarded=True, right_team_reaches=True, json=True)),
]


def all_patterns(patterns=None, prefix="", namespace=""):
    """(ident, route, pattern) for every URL pattern, through every include()."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            nested = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from all_patterns(entry.url_patterns, route, nested)
        elif isinstance(entry, URLPattern):
            name = entry.name
            if name:
                ident = f"{namespace}:{name}" if namespace else name
            else:
                ident = f"{namespace}:route:{route}" if namespace else f"route:{route}"
            yield ident, route, entry


def rule_for(ident):
    for pattern, rule in URL_RULES:
        if re.fullmatch(pattern, ident) or (pattern.endswith(":") and ident.startswith(
                pattern)):
            return rule
    return None


def _object_for(world, ident):
    match = re.fullmatch(r"admin:(\w+?)_(\w+)_(change|history|delete|password_change)",
                         ident)
    objects = {
        "patients_patient": world.patient, "patients_careteam": world.team,
        "patients_organisation": world.organisation,
        "patients_recordentry": world.record_entry, "patients_auditevent": world.audit_event,
        "forms_app_form": world.form, "forms_app_item": world.item,
        "forms_app_formversion": world.link.version, "forms_app_link": world.link,
        "forms_app_submission": world.submission, "auth_user": world.users["right_team"],
        "forms_app_retentionpolicy": world.retention,
    }
    if match is None:
        return world.patient
    for key, obj in objects.items():
        if ident.startswith(f"admin:{key}_"):
            return obj
    return None  # a platform model: a made-up id (404 or login for everyone)


# URL argument name -> value for the right team's objects. Extend for new arguments.
KWARGS = {
    "token": lambda world, ident: world.token,
    "object_id": lambda world, ident: str(getattr(_object_for(world, ident), "pk",
                                                  uuid.uuid4())),
    "id": lambda world, ident: str(world.users["right_team"].pk),
    "form_id": lambda world, ident: str(world.form.pk),
    "version_id": lambda world, ident: str(world.link.version.pk),
    "patient_id": lambda world, ident: str(world.patient.pk),
    "link_id": lambda world, ident: str(world.link.pk),
    "submission_id": lambda world, ident: str(world.submission.pk),
    "app_label": lambda world, ident: "patients",
    "content_type_id": lambda world, ident: str(ContentType.objects.get_for_model(
        world.patient).pk),
    "url": lambda world, ident: "no-such-page/",
    # django-otp's TOTP QR view (platform-only): the right team's own device; in the
    # API, the right team's objects (reached by no session anyway).
    "pk": lambda world, ident: (
        "1" if ident.startswith("api:appointment")  # appointments have whole-number ids
        else str(world.patient.pk) if ident.startswith("api:")
        else str(world.users["right_team"].totpdevice_set.get().pk)),
    "team_id": lambda world, ident: str(world.team.pk),
    "list_id": lambda world, ident: str(uuid.uuid4()),
    "task_id": lambda world, ident: str(uuid.uuid4()),
}


def kwarg_names(pattern: URLPattern, route: str) -> list[str]:
    return sorted(set(re.findall(r"<(?:\w+:)?(\w+)>", route))
                  | set(re.findall(r"\(\?P<(\w+)>", route)))


def url_for(world, ident, route, pattern):
    kwargs = {}
    for name in kwarg_names(pattern, route):
        if name not in KWARGS:
            raise AssertionError(
                f"{ident} ({route}) takes an argument {name!r} the URL walk does not know: "
                f"add it to KWARGS in {__file__}")
        kwargs[name] = KWARGS[name](world, ident)
    if ident.startswith("route:") or ":route:" in ident:
        path = "/" + route
        for name, value in kwargs.items():
            path = re.sub(rf"\(\?P<{name}>[^)]*\)|<(?:\w+:)?{name}>", value, path)
        return path.replace("^", "").replace("$", "").replace("\\", "")
    return reverse(ident, kwargs=kwargs)


VISITORS = ["anonymous", "unverified", "other_team", "other_organisation", "superuser",
            "right_team"]


def _client_for(client, world, visitor):
    if visitor == "anonymous":
        return client
    user = world.users[visitor]
    if visitor == "unverified":
        client.force_login(user)  # password only
        return client
    return verified(client, user)


def _is_sign_in_redirect(response):
    if response.status_code not in (301, 302):
        return False
    location = response["Location"]
    # The kiosk's own staff sign-in (unlock) counts: it is the tablet's login page.
    return location.startswith(("/account/", reverse("admin:login"), "/kiosk/unlock/"))


def test_every_url_is_classified():
    unclassified = [f"{ident}  ({route})" for ident, route, _ in all_patterns()
                    if rule_for(ident) is None]
    assert not unclassified, (
        "These URLs are not in the URL walk's table. Add a rule for each to URL_RULES in "
        f"{__file__} (PUBLIC, STAFF, STAFF_DATA or ADMIN_ONLY):\n  "
        + "\n  ".join(unclassified))


@pytest.mark.parametrize("visitor", VISITORS)
def test_walk_every_url(client, visitor):
    # /readyz answers 503 without the encryption canary, which the migration stores and
    # an earlier transactional test's flush may have removed.
    EncryptionCanary.objects.get_or_create(pk=1, defaults={"value": EncryptionCanary.VALUE})
    world = build_world()
    client = _client_for(client, world, visitor)
    problems = []
    walked = 0
    for ident, route, pattern in all_patterns():
        rule = rule_for(ident)
        if rule is None:
            continue  # reported by test_every_url_is_classified
        url = url_for(world, ident, route, pattern)
        response = client.get(url)
        walked += 1
        status = response.status_code
        body = b"".join(response.streaming_content) if response.streaming else (
            response.content)
        text = body.decode("utf-8", "replace")
        leaked = [m for m in world.markers if m in text]
        if visitor != "right_team" and leaked:
            problems.append(f"{ident} {url}: {status} shows patient data {leaked}")
        if status >= 500:
            problems.append(f"{ident} {url}: server error {status}")
        refused = status in (404, 405) or (rule.json and status in (401, 403))
        if rule.guarded and visitor in ("anonymous", "unverified") and not (
                _is_sign_in_redirect(response) or refused):
            problems.append(f"{ident} {url}: {status} instead of a sign-in redirect or 404")
        if visitor == "right_team" and rule.right_team_reaches and status >= 400 and (
                status != 405):
            problems.append(f"{ident} {url}: the right team got {status}")
        if visitor == "right_team" and rule.shows_data and not leaked:
            problems.append(f"{ident} {url}: {status}, the right team does not see the data")
    assert walked > 50
    assert not problems, f"{visitor}: " + "\n".join(problems)
