"""Writes for whiteboards: where and when a patient is expected (appointments).

An appointment is set by the EHR (REST API, idempotent by its own appointment id), by
a clinic list, or for one link; every change is audited in the same transaction.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from forms_app.models import Appointment, Link
from forms_app.services import ServiceError
from patients.models import AuditEvent
from patients.services import record_audit

_TEXT_FIELDS = ("clinic", "location", "clinician", "external_id")


@dataclass(frozen=True)
class AppointmentDetails:
    """What an appointment says, checked once for every caller."""

    starts_at: datetime.datetime | None = None
    clinic: str = ""
    location: str = ""
    clinician: str = ""
    external_id: str = ""

    def cleaned(self) -> "AppointmentDetails":
        if self.starts_at is not None and self.starts_at.tzinfo is None:
            raise ServiceError("The appointment time needs a time zone.")
        values = {name: (getattr(self, name) or "").strip() for name in _TEXT_FIELDS}
        for name, value in values.items():
            limit = Appointment._meta.get_field(name).max_length
            if len(value) > limit:
                label = Appointment._meta.get_field(name).verbose_name
                raise ServiceError(f"The {label} is too long ({limit} characters at most).")
        return AppointmentDetails(starts_at=self.starts_at, **values)


def _audit(appointment, *, by, created):
    record_audit(by=by, action=AuditEvent.Action.APPOINTMENT_SET, patient=appointment.patient,
                 obj=appointment,
                 detail={"created": created, "external_id": appointment.external_id,
                         "starts_at": (appointment.starts_at.isoformat()
                                       if appointment.starts_at else None)})


def _apply(appointment, details: AppointmentDetails) -> None:
    appointment.starts_at = details.starts_at
    for name in ("clinic", "location", "clinician"):
        setattr(appointment, name, getattr(details, name))
    appointment.updated_at = timezone.now()


@transaction.atomic
def upsert_appointment(*, care_team, patient, by,
                       details: AppointmentDetails) -> tuple[Appointment, bool]:
    """Create the appointment, or update the one with the same EHR id in this team.

    Returns (appointment, created). An EHR id already used for another patient of the
    team is refused: the EHR's ids name one appointment each.
    """
    details = details.cleaned()
    if patient.organisation_id != care_team.organisation_id:
        raise ServiceError("The patient and the care team belong to different organisations.")
    existing = None
    if details.external_id:
        existing = (Appointment.objects.select_for_update()
                    .filter(care_team=care_team, external_id=details.external_id).first())
    created = existing is None
    if created:
        appointment = Appointment(care_team=care_team, patient=patient,
                                  external_id=details.external_id)
        _apply(appointment, details)
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError:
            # A concurrent call with the same EHR id won the insert: update that one.
            created = False
            existing = Appointment.objects.select_for_update().get(
                care_team=care_team, external_id=details.external_id)
    if not created:
        if existing.patient_id != patient.pk:
            raise ServiceError("This appointment id is already used for another patient.")
        appointment = existing
        _apply(appointment, details)
        appointment.save()
    patient.care_teams.add(care_team)
    _audit(appointment, by=by, created=created)
    return appointment, created


@transaction.atomic
def set_appointment(*, link: Link, by, starts_at: datetime.datetime | None = None,
                    location: str = "", clinic: str = "", clinician: str = "") -> Appointment:
    """Record (or change) the appointment a single link is for."""
    details = AppointmentDetails(starts_at=starts_at, location=location, clinic=clinic,
                                 clinician=clinician).cleaned()
    link = (Link.objects.select_for_update(of=("self",))  # the appointment may be null
            .select_related("appointment", "patient").get(pk=link.pk))
    appointment = link.appointment
    created = appointment is None
    if created:
        appointment = Appointment(care_team_id=link.care_team_id, patient=link.patient)
    _apply(appointment, details)
    appointment.save()
    if created:
        Link.objects.filter(pk=link.pk).update(appointment=appointment)
    _audit(appointment, by=by, created=created)
    return appointment

