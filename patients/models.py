import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.crypto import EncryptedJSONField
from patients.nhs_number import normalise_nhs_number
from patients.validators import validate_nhs_number


class OrganisationQuerySet(models.QuerySet):
    def administered_by(self, user):
        """Organisations the user administers (teams, forms, audit); never patient data.

        Platform superusers administer every organisation; see patients/access.py for the
        rule and why it gives them no patient data.
        """
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(administrators=user)

    def of_user(self, user):
        """Organisations the user works in: through a care team, or as an administrator."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(
            models.Q(care_teams__in=CareTeam.objects.of_user(user))
            | models.Q(pk__in=self.administered_by(user).values("pk"))
        ).distinct()


class Organisation(models.Model):
    """A trust (or another healthcare organisation) using the installation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    ods_code = models.CharField("ODS code", max_length=10, unique=True)
    # How a patient reaches the clinic: shown on every patient page that tells them to
    # contact it. A care team's own details win; the organisation's are the fallback.
    contact_phone = models.CharField("contact phone number", max_length=30, blank=True)
    contact_email = models.EmailField("contact email address", blank=True)
    contact_hours = models.CharField("when the phone is answered", max_length=200, blank=True,
                                     help_text="For example: Monday to Friday, 9am to 5pm")
    # Organisation administrators manage the organisation's care teams, forms and audit
    # trail; they see patient data only through care teams they are members of.
    administrators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                            related_name="administered_organisations")

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CareTeamQuerySet(models.QuerySet):
    def of_user(self, user):
        """The teams a staff user belongs to: the root of every scoping rule."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        return self.filter(members=user)


class CareTeam(models.Model):
    """An approved team of staff; only its members see its patients' answers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="care_teams")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                     related_name="care_teams")
    # How a patient reaches the clinic: shown on every patient page that tells them to
    # contact it. A care team's own details win; the organisation's are the fallback.
    contact_phone = models.CharField("contact phone number", max_length=30, blank=True)
    contact_email = models.EmailField("contact email address", blank=True)
    contact_hours = models.CharField("when the phone is answered", max_length=200, blank=True,
                                     help_text="For example: Monday to Friday, 9am to 5pm")

    objects = CareTeamQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"],
                                    name="care_team_name_unique_in_organisation"),
        ]

    def __str__(self):
        return f"{self.name} ({self.organisation.ods_code})"

    def contact_details(self) -> dict:
        """Who the patient should contact: the team's details, else its organisation's."""
        source = self if (self.contact_phone or self.contact_email) else self.organisation
        return {"name": self.name if source is self else self.organisation.name,
                "phone": source.contact_phone, "email": source.contact_email,
                "hours": source.contact_hours}


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user):
        teams = CareTeam.objects.of_user(user)
        return self.filter(care_teams__in=teams).distinct()


class Patient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="patients")
    care_teams = models.ManyToManyField(CareTeam, related_name="patients", blank=True)
    nhs_number = models.CharField("NHS number", max_length=10,
                                  validators=[validate_nhs_number])
    hospital_number = models.CharField(max_length=30, blank=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    mobile = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    # The patient asked not to be contacted this way: nothing is ever sent to it.
    sms_opt_out = models.BooleanField("no text messages", default=False)
    email_opt_out = models.BooleanField("no emails", default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "nhs_number"],
                                    name="patient_nhs_number_unique_in_organisation"),
        ]

    def __str__(self):
        return f"{self.given_name} {self.family_name}"

    def clean(self):
        self.nhs_number = normalise_nhs_number(self.nhs_number)

    @property
    def initials(self):
        return f"{self.given_name[:1]}{self.family_name[:1]}".upper()


class RecordEntryQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(patient__in=Patient.objects.visible_to(user))


class RecordEntry(models.Model):
    """One document filed into a patient's record.

    The record does not know what produced an entry: the source is named generically
    (a kind and an id, unique together), which makes filing idempotent without this
    lower layer importing the forms app.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT,
                                related_name="record_entries")
    source_kind = models.CharField(max_length=50)
    source_id = models.UUIDField()
    resource_type = models.CharField(max_length=50)
    resource = EncryptedJSONField()
    # Documents filed with the resource (e.g. a readable PDF), encrypted like it: a
    # list of FHIR Attachment objects ({"contentType", "title", "data" (base64), ...}).
    attachments = EncryptedJSONField(null=True, blank=True)
    # Scores and flags stay in plain JSON so that worklists and whiteboards can query them.
    summary = models.JSONField(default=dict, blank=True)
    filed_at = models.DateTimeField(default=timezone.now)

    objects = RecordEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "record entries"
        ordering = ["-filed_at"]
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "source_id"],
                                    name="record_entry_unique_per_source"),
        ]
        indexes = [
            # Entries still waiting for their document (a PDF rendered after filing):
            # the sweeper's query, a small index however large the record grows.
            models.Index(fields=["source_kind", "filed_at"],
                         condition=models.Q(attachments__isnull=True),
                         name="record_entry_document_pending"),
        ]

    def __str__(self):
        return f"{self.resource_type} filed {self.filed_at:%Y-%m-%d %H:%M}"


class AuditEvent(models.Model):
    """Append-only trail of who did what to which patient's data, and when.

    Written by services in the same transaction as the action they record.
    """

    class Action(models.TextChoices):
        LINK_ISSUED = "link.issued"
        LINK_REVOKED = "link.revoked"
        IDENTITY_VERIFIED = "identity.verified"
        IDENTITY_FAILED = "identity.failed"
        LINK_LOCKED = "link.locked"
        LINK_UNLOCKED = "link.unlocked"
        # The form was taken over by a newer device after its identity check.
        DEVICE_TAKEN_OVER = "submission.device_taken_over"
        SUBMITTED = "submission.submitted"
        FILED = "submission.filed"
        FILING_FAILED = "submission.filing_failed"
        ANSWERS_VIEWED = "answers.viewed"
        RECORD_VIEWED = "record.viewed"
        FORM_PUBLISHED = "form.published"
        FORM_RETIRED = "form.retired"
        FORM_COPIED = "form.copied"
        FORM_IMPORTED = "form.imported"
        # Clinic pages and delivery (issue 5).
        LINK_RESENT = "link.resent"
        LINK_EXTENDED = "link.extended"
        LINK_REMINDED = "link.reminded"
        MESSAGE_FAILED = "message.failed"
        CLINIC_LIST_UPLOADED = "clinic_list.uploaded"
        CLINIC_LIST_ISSUED = "clinic_list.issued"
        CODE_SENT = "identity.code_sent"
        # The REST API (forms_app.api): patients registered by a system, API clients.
        PATIENT_CREATED = "patient.created"
        PATIENT_UPDATED = "patient.updated"
        API_CLIENT_CREATED = "api_client.created"
        API_CLIENT_TOKEN_ROTATED = "api_client.token_rotated"  # noqa: S105
        API_CLIENT_DEACTIVATED = "api_client.deactivated"
        APPOINTMENT_SET = "appointment.set"
        FORM_CHANGED = "form.changed"
        ANSWERS_EXPORTED = "answers.exported"
        RECORD_DOWNLOADED = "record.downloaded"
        LOGIN = "auth.login"
        LOGIN_FAILED = "auth.login_failed"
        LOGOUT = "auth.logout"
        SECOND_FACTOR_VERIFIED = "auth.otp_verified"
        SECOND_FACTOR_ENROLLED = "auth.otp_enrolled"
        DEVICES_RESET = "auth.devices_reset"
        SESSIONS_ENDED = "auth.sessions_ended"
        AUDIT_EXPORTED = "audit.exported"
        RETENTION_APPLIED = "retention.applied"
        KEYS_ROTATED = "encryption.rotated"
        # Filing and escalation (forms_app.filing)
        FILING_REQUESTED = "submission.filing_requested"
        FILED_EXTERNALLY = "submission.filed_external"
        ANSWERS_DOWNLOADED = "answers.downloaded"
        WORKLIST_TASK_CREATED = "worklist.created"
        WORKLIST_NOTIFIED = "worklist.notified"
        WORKLIST_ACKNOWLEDGED = "worklist.acknowledged"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    # Who acted when it was not a staff user: "patient", "system".
    actor_label = models.CharField(max_length=50)
    # No `choices` on the column: each new kind of event would otherwise need a migration.
    action = models.CharField(max_length=40)
    organisation = models.ForeignKey(Organisation, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    object_kind = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only")


class StaffSession(models.Model):
    """Which sessions belong to which staff user, so that logging out or deactivating a
    user ends every one of their sessions at once, whatever device they are on."""

    session_key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user"], name="staff_session_user")]

    def __str__(self):
        return f"Session of user {self.user_id} since {self.started_at:%Y-%m-%d %H:%M}"


class EncryptionCanary(models.Model):
    """A known value stored encrypted, so that a wrong FIELD_ENCRYPTION_KEYS fails at
    start-up (the "encryption" system check) rather than at a patient's first page."""

    VALUE = {"canary": "patient-forms"}

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = EncryptedJSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return "Encryption canary"
