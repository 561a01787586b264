"""Where and when a patient is expected, for ward and clinic whiteboards.

Kept apart from Link so the core link model stays about the invitation itself: a
whiteboard in privacy mode shows the bed or the appointment time instead of a name.
"""

from django.db import models

from forms_app.models.core import Link


class Appointment(models.Model):
    """The appointment (clinic) or bed (ward) a link was issued for; optional."""

    link = models.OneToOneField(Link, on_delete=models.CASCADE, related_name="appointment")
    starts_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                     help_text="Appointment time, if there is one.")
    location = models.CharField(max_length=40, blank=True,
                                help_text="Bed, bay or room, e.g. 'Bay 2 bed 4'. "
                                          "Shown on screens in public view: no names.")

    class Meta:
        ordering = ["starts_at"]

    def __str__(self):
        return f"{self.location or 'Appointment'} {self.starts_at or ''}".strip()
