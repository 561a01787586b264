"""Writes for whiteboards: where and when a patient is expected."""

import datetime

from django.db import transaction

from forms_app.models import Appointment, Link
from forms_app.services import ServiceError
from patients.models import AuditEvent
from patients.services import record_audit


@transaction.atomic
def set_appointment(*, link: Link, by, starts_at: datetime.datetime | None = None,
                    location: str = "") -> Appointment:
    """Record (or change) the appointment time and bed or room a link is for."""
    if starts_at is not None and starts_at.tzinfo is None:
        raise ServiceError("The appointment time needs a time zone.")
    location = (location or "").strip()
    if len(location) > Appointment._meta.get_field("location").max_length:
        raise ServiceError("The bed or room is too long (40 characters at most).")
    appointment, _ = Appointment.objects.update_or_create(
        link=link, defaults={"starts_at": starts_at, "location": location})
    record_audit(by=by, action=AuditEvent.Action.APPOINTMENT_SET, patient=link.patient,
                 obj=appointment,
                 detail={"link": str(link.pk),
                         "starts_at": starts_at.isoformat() if starts_at else None})
    return appointment
