"""Delivery of links by text message and email, clinic lists and one-time codes (issue 5)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from forms_app.delivery.messages import validate_template
from forms_app.models.core import FormVersion, Link
from patients.crypto import EncryptedJSONField
from patients.models import CareTeam, Organisation, Patient


class Channel(models.TextChoices):
    """The two channels a message can go by (a link may also be shown or printed)."""

    SMS = "sms", "Text message"
    EMAIL = "email", "Email"


class Purpose(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"
    ONE_TIME_CODE = "code", "One-time code"


class MessageTemplate(models.Model):
    """An organisation's wording for one kind of message on one channel.

    Placeholders in Notify's style: ((link)), ((form_title)), ((trust_name)),
    ((expires)), ((code)). The wording never carries an answer: only these are filled.
    Without a template of its own an organisation gets the defaults in
    forms_app.delivery.messages.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="message_templates")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Emails only.")
    body = models.TextField()

    class Meta:
        ordering = ["organisation__name", "purpose", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "purpose", "channel"],
                                    name="message_template_unique"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} by {self.get_channel_display().lower()}"

    def clean(self):
        validate_template(purpose=self.purpose, channel=self.channel,
                          subject=self.subject, body=self.body)


class LinkSecret(models.Model):
    """The link's token, encrypted, kept only while messages may still carry it.

    The token is looked up by its SHA-256 alone; this encrypted copy exists so that a
    delivery task, a resend or a reminder days later can put the link in the message.
    It is deleted once the link is submitted, revoked or expired (mark_closed_links).
    """

    link = models.OneToOneField(Link, on_delete=models.CASCADE, primary_key=True,
                                related_name="secret")
    token = EncryptedJSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Secret of link {str(self.link_id)[:8]}"


class DeliveryAttemptQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(patient__in=Patient.objects.visible_to(user))


class DeliveryAttempt(models.Model):
    """One message to a patient, and what became of it.

    `tries` counts the sends the task made (a failure retries with backoff); the final
    state is sent (accepted by the provider), delivered (the provider's receipt), failed
    (staff see it and may fall back to the other channel) or not sent (opted out, no
    contact details, or the link closed before it went).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        NOT_SENT = "not_sent", "Not sent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="deliveries")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Reminders are numbered from 1; unique per link, so a reminder is never sent twice.
    sequence = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    backend = models.CharField(max_length=20, blank=True)
    provider_id = models.CharField(max_length=100, blank=True, db_index=True)
    tries = models.PositiveSmallIntegerField(default=0)
    # An error class or provider status: never the message, never the address.
    last_error = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "sequence"], condition=models.Q(purpose="reminder"),
                name="delivery_reminder_once"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} by {self.get_channel_display().lower()}"


class OneTimeCode(models.Model):
    """A six-digit code for the identity check: stored hashed, single use, short-lived."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="one_time_codes")
    code_hash = models.CharField(max_length=128)
    # The code itself, encrypted, only until the delivery task has sent it.
    pending_code = EncryptedJSONField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    delivery = models.OneToOneField(DeliveryAttempt, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="one_time_code")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"One-time code for link {str(self.link_id)[:8]}"


class ClinicListQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(care_team__in=CareTeam.objects.of_user(user))


class ClinicList(models.Model):
    """An uploaded clinic list: previewed row by row, then issued to its valid rows."""

    class State(models.TextChoices):
        PREVIEW = "preview", "Checked, not issued"
        QUEUED = "queued", "Waiting to issue"
        ISSUING = "issuing", "Issuing"
        DONE = "done", "Issued"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    expires_at = models.DateTimeField()
    file_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PREVIEW)
    # Progress counts, updated as the task goes, for the progress page.
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    issued_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    # When issuing was last handed to the broker: a list still queued long after this
    # lost its task (broker down) and is published again (clinic_lists.requeue_stalled).
    queued_at = models.DateTimeField(null=True, blank=True)
    issue_started_at = models.DateTimeField(null=True, blank=True)
    issue_finished_at = models.DateTimeField(null=True, blank=True)

    objects = ClinicListQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"Clinic list {self.file_name or self.pk}"

    @property
    def percent_done(self) -> int:
        if not self.valid_rows:
            return 100
        return int(100 * (self.issued_rows + self.failed_rows) / self.valid_rows)


class ClinicListRow(models.Model):
    class Problem(models.TextChoices):
        NONE = "", "None"
        MISSING_IDENTIFIER = "missing_identifier", "No NHS number or hospital number"
        INVALID_NHS_NUMBER = "invalid_nhs_number", "Invalid NHS number"
        UNKNOWN_PATIENT = "unknown_patient", "Unknown patient"
        BAD_DATE = "bad_date", "Appointment date missing or not a real date"
        BAD_TIME = "bad_time", "Appointment time not a real time (use 24-hour, e.g. 09:30)"
        APPOINTMENT_ID_REUSED = "appointment_id_reused", "Appointment id used for another patient"
        NO_CONTACT = "no_contact", "No mobile number or email for this channel"
        OPTED_OUT = "opted_out", "Patient opted out of this channel"
        DUPLICATE = "duplicate", "Duplicate row"
        ISSUE_FAILED = "issue_failed", "Could not issue"

    id = models.BigAutoField(primary_key=True)
    clinic_list = models.ForeignKey(ClinicList, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    nhs_number = models.CharField(max_length=20, blank=True)
    hospital_number = models.CharField(max_length=30, blank=True)
    appointment_date = models.DateField(null=True, blank=True)
    clinic = models.CharField(max_length=100, blank=True)
    # The optional appointment columns: the row's appointment is made (or, with the
    # EHR's appointment id, updated) when its link is issued.
    appointment_time = models.TimeField(null=True, blank=True)
    location = models.CharField(max_length=40, blank=True)
    clinician = models.CharField(max_length=100, blank=True)
    appointment_id = models.CharField(max_length=100, blank=True)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    problem = models.CharField(max_length=30, choices=Problem.choices, blank=True)
    link = models.OneToOneField(Link, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="clinic_list_row")

    class Meta:
        ordering = ["row_number"]
        indexes = [models.Index(fields=["clinic_list", "problem", "row_number"],
                                name="clinic_list_row_todo")]

    def __str__(self):
        return f"Row {self.row_number}"
