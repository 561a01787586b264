"""Writes to the record and the audit trail.

Keyword-only functions; each runs inside the caller's transaction (or its own), so an
action and its audit event commit or roll back together.
"""

from django.db import transaction

from patients import errors
from patients.models import AuditEvent, Patient, RecordEntry
from patients.nhs_number import normalise_nhs_number


class PatientNotVisible(errors.NotFound):
    """No patient with this NHS number that the caller's team can see.

    One answer whether the NHS number belongs to another team's patient, to another
    organisation's, or to no one: the caller learns nothing about other teams.
    """

    code = "patient_not_found"
    attr = "nhs_number"

    @classmethod
    def default_message(cls) -> str:
        return ("No patient with this NHS number is registered with your care team. "
                "Ask your organisation's administrator to add the patient to your team.")


class PatientRegisteredElsewhere(errors.Conflict):
    """A registering client asked to create a patient that another team already holds."""

    code = "patient_registered_elsewhere"
    attr = "nhs_number"

    @classmethod
    def default_message(cls) -> str:
        return ("This NHS number is registered with another care team of your "
                "organisation; nothing was changed. Ask your organisation's "
                "administrator to add the patient to your team.")


def actor_fields(by):
    """`by` is a staff user, or a label for a non-user actor ("patient", "system")."""
    if isinstance(by, str):
        return {"actor": None, "actor_label": by}
    return {"actor": by, "actor_label": by.get_username()}


# Joins the caller's transaction without a savepoint (two round trips fewer on every
# audited action, issue 12): the event and its action commit or roll back together, so
# a failed INSERT is meant to undo the caller's transaction, not be stepped over.
@transaction.atomic(savepoint=False)
def record_audit(*, by, action, organisation=None, patient=None, obj=None,
                 ip_address=None, detail=None) -> AuditEvent:
    if patient is not None and organisation is None:
        organisation = patient.organisation
    return AuditEvent.objects.create(
        **actor_fields(by),
        action=action,
        organisation=organisation,
        patient=patient,
        object_kind=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip_address,
        detail=detail or {},
    )


@transaction.atomic(savepoint=False)
def add_record_entries(*, entries: list[dict], by) -> list[RecordEntry]:
    """File documents into the record, one per source: one INSERT of the entries and
    one of their audit events (joining the caller's transaction, no savepoint).

    Callers hold a lock on their source rows and file only sources not yet filed, so
    no existence check is made: the unique (source kind, source id) refuses a second
    entry for a source, and that aborts the caller's whole transaction.
    """
    created = RecordEntry.objects.bulk_create([RecordEntry(**entry) for entry in entries])
    actor = actor_fields(by)
    AuditEvent.objects.bulk_create([
        AuditEvent(**actor, action=AuditEvent.Action.FILED,
                   # The patient is loaded with its organisation id: no query for it.
                   organisation_id=entry.patient.organisation_id, patient=entry.patient,
                   object_kind=entry._meta.label_lower, object_id=str(entry.pk),
                   detail={"source_kind": entry.source_kind,
                           "source_id": str(entry.source_id)})
        for entry in created])
    return created


# Demographic fields a calling system may set; the NHS number is the key, not a field.
PATIENT_FIELDS = ("given_name", "family_name", "date_of_birth", "hospital_number",
                  "mobile", "email")


@transaction.atomic
def upsert_patient(*, care_team, nhs_number: str, data: dict, by,
                   may_create: bool = False) -> tuple[Patient, bool]:
    """Update the team's patient with this NHS number, or create one new to the
    organisation when `may_create`; never touch a patient the team cannot see.

    `by` is the acting user (an API client's service user, a member of `care_team`
    only), and `Patient.objects.visible_to(by)` is the one rule for what it may update.
    A patient of the organisation that the team cannot see is refused and left exactly
    as it was: overwriting it would hand another team's patient (their date of birth,
    the number their texts go to) to whoever knows an NHS number, and NHS numbers are
    not secret. Without `may_create` that refusal is the same as for an NHS number no
    one holds (`PatientNotVisible`), so the answer reveals nothing; a registering
    client (`may_create`, e.g. the trust's patient-administration feed) is told
    `PatientRegisteredElsewhere` instead, as it must be to create anyone at all.
    Only the fields given are changed. The caller has validated the values; the model
    is checked again.
    """
    organisation = care_team.organisation
    nhs_number = normalise_nhs_number(nhs_number)
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown patient fields: {sorted(unknown)}")
    patient = (Patient.objects.select_for_update()
               .filter(organisation=organisation, nhs_number=nhs_number).first())
    if patient is not None and not Patient.objects.visible_to(by).filter(
            pk=patient.pk, care_teams=care_team).exists():
        if may_create:
            raise PatientRegisteredElsewhere()
        raise PatientNotVisible()
    if patient is None and not may_create:
        raise PatientNotVisible()
    created = patient is None
    if created:
        patient = Patient(organisation=organisation, nhs_number=nhs_number, **data)
        patient.full_clean()
        patient.save()
        patient.care_teams.add(care_team)
        changed = sorted(data)
    else:
        changed = sorted(name for name, value in data.items()
                         if getattr(patient, name) != value)
        for name in changed:
            setattr(patient, name, data[name])
        if changed:
            patient.full_clean()
            patient.save(update_fields=changed)
    if created or changed:
        # Field names only: the values are patient data and stay out of the trail.
        record_audit(by=by, patient=patient, obj=patient,
                     action=(AuditEvent.Action.PATIENT_CREATED if created
                             else AuditEvent.Action.PATIENT_UPDATED),
                     detail={"fields": changed, "care_team": str(care_team.pk)})
    return patient, created


# --- Staff accounts: sessions and second factors ------------------------------------

BACKUP_CODE_COUNT = 10


def user_organisation(user):
    """The organisation a staff user works in (staff belong to one), for the audit."""
    from patients.models import Organisation

    return Organisation.objects.of_user(user).order_by("pk").first()


@transaction.atomic
def end_user_sessions(*, user, by, reason: str, ip_address=None) -> int:
    """End every session of `user` on every device, now (logout, deactivation, reset)."""
    from importlib import import_module

    from django.conf import settings

    from patients.models import StaffSession

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(StaffSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    StaffSession.objects.filter(user=user).delete()
    record_audit(by=by, action=AuditEvent.Action.SESSIONS_ENDED,
                 organisation=user_organisation(user), obj=user, ip_address=ip_address,
                 detail={"reason": reason, "sessions": len(keys)})
    return len(keys)


@transaction.atomic
def new_backup_codes(*, user) -> list[str]:
    """Replace the user's single-use backup codes; the codes are shown to them once."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes",
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@transaction.atomic
def confirm_enrolment(*, user, device, ip_address=None) -> list[str]:
    """The user proved their authenticator app works: confirm it, issue backup codes."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_backup_codes(user=user)
    record_audit(by=user, action=AuditEvent.Action.SECOND_FACTOR_ENROLLED,
                 organisation=user_organisation(user), obj=user, ip_address=ip_address,
                 detail={"device": "totp"})
    return codes


@transaction.atomic
def reset_second_factor_devices(*, user, by, ip_address=None) -> int:
    """Remove every second-factor device of `user` and end their sessions: at their
    next login they enrol again (a lost phone, a leaver's replacement)."""
    from django_otp import devices_for_user

    removed = 0
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
        removed += 1
    record_audit(by=by, action=AuditEvent.Action.DEVICES_RESET,
                 organisation=user_organisation(user), obj=user, ip_address=ip_address,
                 detail={"devices": removed})
    end_user_sessions(user=user, by=by, reason="devices reset", ip_address=ip_address)
    return removed


def forget_expired_staff_sessions(*, now) -> int:
    """Drop the session index rows of sessions past their absolute lifetime (their
    sessions are dead anyway); run by the periodic retention task."""
    import datetime

    from django.conf import settings

    from patients.models import StaffSession

    cutoff = now - datetime.timedelta(seconds=settings.STAFF_SESSION_MAX_SECONDS)
    deleted, _ = StaffSession.objects.filter(started_at__lt=cutoff).delete()
    return deleted
