"""Appointments: where and when a patient is expected, for ward and clinic whiteboards.

An appointment belongs to a care team and a patient, usually set by the EHR (REST API,
idempotent by the EHR's own appointment id) or by a clinic list. Links point at the
appointment they were issued for, so several forms can be for one appointment, and a
whiteboard shows, sorts and filters its rows by appointment time and clinic session.
A whiteboard in privacy mode shows the bed or the time instead of a name.
"""

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import CareTeam, Patient


class AppointmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(care_team__in=CareTeam.objects.of_user(user))

    def next_for(self, *, care_team, patient, now=None):
        """The patient's next appointment with the team (from the start of today), if
        any: the one a link issued without naming an appointment is for."""
        today = timezone.localdate(now or timezone.now())
        start = datetime.datetime.combine(today, datetime.time.min,
                                          tzinfo=timezone.get_current_timezone())
        return (self.filter(care_team=care_team, patient=patient, starts_at__gte=start)
                .order_by("starts_at", "pk").first())


class Appointment(models.Model):
    """An appointment (clinic) or stay (ward) of one patient with one care team."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT,
                                  related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT,
                                related_name="appointments")
    # The EHR's id for the appointment: a second call with it updates, never duplicates.
    external_id = models.CharField(
        "EHR appointment id", max_length=100, blank=True,
        help_text="The appointment's id in the EHR; empty when set here.")
    starts_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                     help_text="Appointment time, if there is one.")
    clinic = models.CharField(
        "clinic or ward", max_length=100, blank=True,
        help_text="The clinic session or ward, e.g. 'Pre-assessment Tuesday AM' or "
                  "'Ward 7'. Whiteboards can be filtered to it.")
    location = models.CharField(max_length=40, blank=True,
                                help_text="Bed, bay or room, e.g. 'Bay 2 bed 4'. "
                                          "Shown on screens in public view: no names.")
    clinician = models.CharField(max_length=100, blank=True,
                                 help_text="Who the patient sees, e.g. 'Dr A Khan'.")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["care_team", "external_id"],
                                    condition=~Q(external_id=""),
                                    name="appointment_external_id_unique"),
        ]
        indexes = [
            # Whiteboards and the staff home: one team's appointments in a window.
            models.Index(fields=["care_team", "starts_at"], name="appointment_team_starts"),
        ]

    def __str__(self):
        when = timezone.localtime(self.starts_at).strftime("%d %b %Y %H:%M") \
            if self.starts_at else ""
        return " ".join(part for part in (self.clinic or "Appointment", when,
                                          self.location) if part)
