"""Writes to the record and the audit trail.

Keyword-only functions; each runs inside the caller's transaction (or its own), so an
action and its audit event commit or roll back together.
"""

from django.db import transaction

from patients.models import AuditEvent, Patient, RecordEntry
from patients.nhs_number import normalise_nhs_number


def actor_fields(by):
    """`by` is a staff user, or a label for a non-user actor ("patient", "system")."""
    if isinstance(by, str):
        return {"actor": None, "actor_label": by}
    return {"actor": by, "actor_label": by.get_username()}


@transaction.atomic
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


@transaction.atomic
def add_record_entry(*, patient, source_kind, source_id, resource_type, resource,
                     summary, by) -> tuple[RecordEntry, bool]:
    """File a document into the record, once per source.

    Callers hold a lock on their source row, so the existence check and the insert do
    not race; the unique constraint is the backstop if they ever do.
    """
    existing = RecordEntry.objects.filter(source_kind=source_kind, source_id=source_id).first()
    if existing is not None:
        return existing, False
    entry = RecordEntry.objects.create(
        patient=patient,
        source_kind=source_kind,
        source_id=source_id,
        resource_type=resource_type,
        resource=resource,
        summary=summary,
    )
    record_audit(by=by, action=AuditEvent.Action.FILED, patient=patient, obj=entry,
                 detail={"source_kind": source_kind, "source_id": str(source_id)})
    return entry, True


# Demographic fields a calling system may set; the NHS number is the key, not a field.
PATIENT_FIELDS = ("given_name", "family_name", "date_of_birth", "hospital_number",
                  "mobile", "email")


@transaction.atomic
def upsert_patient(*, care_team, nhs_number: str, data: dict, by) -> tuple[Patient, bool]:
    """Create or update the patient with this NHS number in the team's organisation,
    and make them a patient of the team.

    Demographics belong to the organisation (one patient per NHS number per
    organisation), so a system registering a patient that another team already knows
    updates that one record rather than creating a duplicate. Only the fields given
    are changed. The caller has validated the values; the model is checked again.
    """
    organisation = care_team.organisation
    nhs_number = normalise_nhs_number(nhs_number)
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown patient fields: {sorted(unknown)}")
    patient = (Patient.objects.select_for_update()
               .filter(organisation=organisation, nhs_number=nhs_number).first())
    created = patient is None
    if created:
        patient = Patient(organisation=organisation, nhs_number=nhs_number, **data)
        patient.full_clean()
        patient.save()
        changed = sorted(data)
    else:
        changed = sorted(name for name, value in data.items()
                         if getattr(patient, name) != value)
        for name in changed:
            setattr(patient, name, data[name])
        if changed:
            patient.full_clean()
            patient.save(update_fields=changed)
    patient.care_teams.add(care_team)
    if created or changed:
        # Field names only: the values are patient data and stay out of the trail.
        record_audit(by=by, patient=patient, obj=patient,
                     action=(AuditEvent.Action.PATIENT_CREATED if created
                             else AuditEvent.Action.PATIENT_UPDATED),
                     detail={"fields": changed, "care_team": str(care_team.pk)})
    return patient, created
