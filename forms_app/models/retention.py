"""How long a form's answers are kept in this platform after they are filed."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from forms_app.models.core import Form


class RetentionPolicy(models.Model):
    """Per form: days to keep answers after filing, and drafts after their link closed.

    A form without a policy uses RETENTION_DAYS_AFTER_FILING and RETENTION_DRAFT_DAYS.
    """

    form = models.OneToOneField(Form, on_delete=models.CASCADE, primary_key=True,
                                related_name="retention")
    days_after_filing = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
        help_text="Days the answers stay here after they are filed into the record.")
    draft_days = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(3650)],
        help_text="Days an unfinished draft stays after its link expired or was revoked.")

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self):
        return f"Retention for {self.form}"

    @staticmethod
    def defaults():
        return settings.RETENTION_DAYS_AFTER_FILING, settings.RETENTION_DRAFT_DAYS
