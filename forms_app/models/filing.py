"""Escalation of flagged answers: a task on the care team's worklist."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from forms_app.models.core import Submission
from patients.models import CareTeam, Patient


class WorklistTaskQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(care_team__in=CareTeam.objects.of_user(user))

    def open(self):
        return self.filter(acknowledged_at__isnull=True)


class WorklistTask(models.Model):
    """A submission whose answers raised an urgent flag, waiting for a clinician.

    Created in the filing transaction (so a filed urgent form always has one), and
    unique per submission (so filing twice escalates once).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.OneToOneField(Submission, on_delete=models.PROTECT,
                                      related_name="worklist_task")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT,
                                  related_name="worklist_tasks")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT,
                                related_name="worklist_tasks")
    # The flags that raised it (code, severity, message for staff), as the engine gave them.
    flags = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the team was emailed; the notifier sweeps tasks still without it.
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")

    objects = WorklistTaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["care_team", "acknowledged_at"], name="worklist_team_open"),
        ]

    def __str__(self):
        return f"Worklist task for {self.submission}"

    @property
    def is_acknowledged(self):
        return self.acknowledged_at is not None
