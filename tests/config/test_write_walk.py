"""Walk every URL pattern again, now writing: POST (and PUT, PATCH, DELETE on the API)
as the other care team and the other organisation, and check that nothing of the right
team's changed.

The read walk (test_url_walk.py) proves no page shows another team's data; this one
proves no route changes it. It reuses the read walk's table and arguments, so a URL
added anywhere is walked here too. Each write carries a body that would succeed if the
scoping were missing: the right team's object ids, a form's fields with every text
changed, each admin action with the right team's object selected, the upsert of the
right team's patient by NHS number, a clinic list naming that patient. Then the whole
database (every model but sessions and login-attempt records; see `snapshot` for the
visitor's own rows) must be exactly as it was, the answer must show none of the right
team's patient data, and nothing may answer 5xx. (A refusal may be a 4xx, a redirect,
or a form shown again with its errors: the database, not the status, is the proof.)

`test_the_bodies_would_change_data_for_the_right_team` is the control: the same bodies
from the right team do change things, so the walk's bodies are not harmless by accident.
"""

import datetime
import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.utils import timezone
from rest_framework.test import APIClient

from forms_app.models import ClinicList, Link, WorklistTask
from patients.models import Patient
from tests.config import test_url_walk as walk
from tests.factories.forms_app import api_client_for
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db

# Not the platform's data: who is signed in where, and login-attempt counters.
UNWATCHED_APPS = {"sessions", "axes", "contenttypes", "admin"}
UNWATCHED_MODELS = {"patients.staffsession", "auth.permission"}
# Columns that change when the attacker merely signs in (its own row).
UNWATCHED_COLUMNS = {"last_login"}

# Form design is the organisation's, not a team's: its staff with the design
# permissions edit, publish, copy and retire its forms whatever their team (the read
# walk's STAFF rules for these pages). Another organisation must change none of it.
ORGANISATION_WIDE = {"forms_app.form", "forms_app.item", "forms_app.answeroption",
                     "forms_app.formversion", "forms_app.itemcondition",
                     "forms_app.scoreband", "forms_app.flagrule", "forms_app.flagcondition",
                     "forms_app.retentionpolicy", "forms_app.messagetemplate"}
# Signing out ends the attacker's own session (and the rest would be walked signed out).
NOT_WALKED = {"admin:logout", "account:logout"}
TEXT = "Hacked-by-another-team"


def _others_rows(model, visitor, foreign_organisation):
    """The model's rows, less the visitor's own account rows (its backup codes, passkey
    handle), its own audit rows that name no patient (e.g. "exported nothing"), and the
    patients (and their audit) of the visitor's own organisation when that is another
    one: the same NHS number there is another trust's record, its own to register."""
    rows = model.objects.order_by("pk")
    if visitor is None:
        return rows
    names = {f.name for f in model._meta.concrete_fields}
    if foreign_organisation is not None and "organisation" in names and (
            model._meta.label_lower in ("patients.patient", "patients.auditevent")):
        rows = rows.exclude(organisation=foreign_organisation)
    if "user" in names:
        rows = rows.exclude(user=visitor)
    elif "device" in names and model._meta.get_field("device").is_relation:
        rows = rows.exclude(device__user=visitor)  # an OTP device's rows (not a
        # submission's "device", the patient's browser that holds the form)
    elif model._meta.label_lower == "patients.auditevent":
        rows = rows.exclude(actor=visitor, patient__isnull=True)
    return rows


def snapshot(visitor=None, same_organisation=False, foreign_organisation=None) -> dict:
    """Every watched row of the database, as text, by model."""
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label in UNWATCHED_APPS or label in UNWATCHED_MODELS:
            continue
        if same_organisation and label in ORGANISATION_WIDE:
            continue
        names = [f.attname for f in model._meta.concrete_fields
                 if f.attname not in UNWATCHED_COLUMNS]
        state[label] = [repr(row) for row in _others_rows(model, visitor,
                                                           foreign_organisation)
                        .values_list(*names)]
    return state


def changes(before: dict, after: dict) -> list[str]:
    return [f"{label}: {len(before[label])} -> {len(after[label])} rows"
            + ("" if len(before[label]) != len(after[label]) else " (a row changed)")
            for label in before if before[label] != after[label]]


def _with_write_targets(world):
    """The read walk's world, plus a clinic list and a flag worklist task of the right
    team, so that their write URLs aim at a real object of the right team."""
    user = world.users["right_team"]
    world.clinic_list = ClinicList.objects.create(
        care_team=world.team, version=world.link.version, channel=Link.Channel.SMS,
        expires_at=timezone.now() + datetime.timedelta(days=7), uploaded_by=user,
        total_rows=1, valid_rows=1)
    world.worklist_task = WorklistTask.objects.create(
        submission=world.submission, care_team=world.team, patient=world.patient,
        flags=[{"code": "urgent", "severity": "urgent", "message": "Call the patient"}])
    return world


KWARGS = {**walk.KWARGS,
          "list_id": lambda world, ident: str(world.clinic_list.pk),
          "task_id": lambda world, ident: str(world.worklist_task.pk)}


def url_for(world, ident, route, pattern):
    original = walk.KWARGS
    walk.KWARGS = KWARGS
    try:
        return walk.url_for(world, ident, route, pattern)
    finally:
        walk.KWARGS = original


# Free-text fields a change form accepts any short text in (identifiers, numbers and
# addresses keep their valid values, so the form would validate).
FREE_TEXT = {"given_name", "family_name", "hospital_number", "name", "title",
             "description", "text", "change_note", "prefix", "help_text"}


def _form_fields(obj) -> dict:
    """The object's own editable fields as form data, every free text changed: what an
    admin change form would accept if the object were reachable."""
    data = {}
    for field in obj._meta.concrete_fields:
        if not field.editable or field.primary_key:
            continue
        value = field.value_from_object(obj)
        if field.name in FREE_TEXT:
            value = TEXT
        elif value is None:
            continue
        data[field.name] = value if isinstance(value, (str, bool, int)) else str(value)
    for field in obj._meta.many_to_many:
        data[field.name] = [str(o.pk) for o in field.value_from_object(obj)]
    return data


def hostile_body(world, ident) -> dict:
    """One body for every form in the walk: the right team's ids wherever a form takes
    an id, and the object's own fields on its admin change page."""
    patient, version = world.patient, world.link.version
    body = {
        "post": "yes", "_save": "Save", "confirm": "yes",
        "nhs_number": patient.nhs_number, "hospital_number": TEXT[:30],
        "given_name": TEXT, "family_name": TEXT, "date_of_birth": "1999-09-09",
        "mobile": "07700 900999", "email": "attacker@example.com",
        "patient": str(patient.pk), "version": str(version.pk), "form": str(world.form.pk),
        "care_team": str(world.team.pk), "organisation": str(world.organisation.pk),
        "channel": "sms", "days": "30", "name": TEXT, "title": TEXT,
        "appointment_date": "2030-01-01", "search": patient.nhs_number,
        "link": str(world.link.pk), "submission": str(world.submission.pk),
    }
    obj = walk._object_for(world, ident) if ident.startswith("admin:") else None
    if obj is not None and ident.endswith("_change"):
        body.update(_form_fields(obj))
    return body


def admin_actions(ident) -> list[str]:
    """The actions of the admin changelist `ident` (every action the site offers)."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if ident == f"admin:{opts.app_label}_{opts.model_name}_changelist":
            return [name for _, name, _ in model_admin._get_base_actions()]
    return []


def _changelist_object(world, ident):
    return walk._object_for(world, ident.replace("_changelist", "_change"))


def writes_for(world, ident, url):
    """(description, method, url, data, format) for every write to try on this URL."""
    if ident.startswith("api:"):
        # The API takes a form or a version, not both: the version is the sharper one.
        body = {k: v for k, v in hostile_body(world, ident).items() if k != "form"}
        return [(f"{m.upper()} {url}", m, url, body, "json")
                for m in ("post", "put", "patch", "delete")]
    if ident.endswith("_changelist") and ident.startswith("admin:"):
        obj = _changelist_object(world, ident)
        pk = str(getattr(obj, "pk", ""))
        return [(f"action {name} on {url}", "post", url,
                 {"action": name, "_selected_action": [pk], "index": "0", "post": "yes"},
                 None) for name in admin_actions(ident)] + [
            (f"POST {url}", "post", url, hostile_body(world, ident), None)]
    if ident == "clinic:lists":
        csv = io.BytesIO(
            f"nhs_number,appointment_date,clinic\n{world.patient.nhs_number},2030-01-01,"
            f"Knee\n".encode())
        csv.name = "list.csv"
        return [(f"POST {url}", "post", url, {**hostile_body(world, ident), "file": csv},
                 None)]
    return [(f"POST {url}", "post", url, hostile_body(world, ident), None)]


def _send(client, method, url, data, fmt):
    if fmt == "json":
        return getattr(client, method)(url, data, format="json")
    return getattr(client, method)(url, data)


def _leaked(world, response) -> list[str]:
    """The right team's patient data in the answer (the NHS number is left out: every
    body sends it)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    return [m for m in world.markers if m != world.patient.nhs_number and m in text]


def _clients(world, visitor, client):
    """(session client for pages, token client for the API) of the visitor."""
    team = world.other_team if visitor == "other_team" else world.foreign_team
    _, token = api_client_for(team, name=f"{visitor} system", registers_patients=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return verified(client, world.users[visitor]), api


@pytest.mark.parametrize("visitor", ["other_team", "other_organisation"])
def test_no_write_reaches_the_right_teams_data(client, visitor):
    world = _with_write_targets(build_world())
    pages, api = _clients(world, visitor, client)
    user = world.users[visitor]
    watch = {"visitor": user, "same_organisation": visitor == "other_team",
             "foreign_organisation": (world.other_organisation
                                      if visitor == "other_organisation" else None)}
    problems, tried = [], 0
    before = snapshot(**watch)
    for ident, route, pattern in walk.all_patterns():
        if walk.rule_for(ident) is None or ident in NOT_WALKED:
            continue  # unclassified ones are reported by the read walk
        url = url_for(world, ident, route, pattern)
        for what, method, target, data, fmt in writes_for(world, ident, url):
            response = _send(api if ident.startswith("api:") else pages, method, target,
                             data, fmt)
            tried += 1
            after = snapshot(**watch)
            changed = changes(before, after)
            if changed:
                problems.append(f"{ident} {what}: {response.status_code}, changed {changed}")
                before = after
            if response.status_code >= 500:
                problems.append(f"{ident} {what}: server error {response.status_code}")
            if leaked := _leaked(world, response):
                problems.append(f"{ident} {what}: {response.status_code} shows {leaked}")
    assert tried > 200
    # Still signed in with a verified second factor: the whole walk ran as the visitor.
    assert pages.get("/clinic/").status_code == 200
    assert not problems, f"{visitor}:\n" + "\n".join(problems)


def test_the_bodies_would_change_data_for_the_right_team(client):
    """The control: the walk's bodies, sent by the right team, do write."""
    world = _with_write_targets(build_world())
    _, token = api_client_for(world.team, name="Right system", registers_patients=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    pages = verified(client, world.users["right_team"])
    patterns = {ident: (route, pattern) for ident, route, pattern in walk.all_patterns()}
    for ident in ("api:patient-list", "api:link-list", "admin:patients_patient_change",
                  "clinic:revoke", "worklist:acknowledge"):
        route, pattern = patterns[ident]
        url = url_for(world, ident, route, pattern)
        before = snapshot()
        what, method, target, data, fmt = writes_for(world, ident, url)[0]
        response = _send(api if ident.startswith("api:") else pages, method, target, data,
                         fmt)
        assert changes(before, snapshot()), (
            f"{ident} {what}: {response.status_code} {response.content[:300]}")
    assert Patient.objects.get(pk=world.patient.pk).family_name == TEXT
