"""Writes to the record and the audit trail.

Keyword-only functions; each runs inside the caller's transaction (or its own), so an
action and its audit event commit or roll back together.
"""

from django.db import transaction

from patients.models import AuditEvent, RecordEntry


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
                     summary, by, attachments=None) -> tuple[RecordEntry, bool]:
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
        attachments=attachments,
    )
    record_audit(by=by, action=AuditEvent.Action.FILED, patient=patient, obj=entry,
                 detail={"source_kind": source_kind, "source_id": str(source_id)})
    return entry, True
