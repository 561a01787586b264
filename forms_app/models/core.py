import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.crypto import EncryptedJSONField
from patients.models import CareTeam, Organisation, Patient


class FormQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Forms of the organisations the user's care teams belong to."""
        teams = CareTeam.objects.of_user(user)
        return self.filter(organisation__care_teams__in=teams).distinct()


class Form(models.Model):
    """A questionnaire as staff design it: a working draft plus its published versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="forms")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to patients before page one.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FormQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    @property
    def latest_version(self):
        return self.versions.order_by("-number").first()


link_id_validator = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
    "Start with a letter; use letters, digits, hyphens and underscores only.",
)


class Item(models.Model):
    """One question, display text or group in a form's draft.

    A top-level group is a page; a top-level question is a page of its own.
    """

    class Type(models.TextChoices):
        GROUP = "group", "Page or group"
        DISPLAY = "display", "Text to read (no answer)"
        STRING = "string", "Short text"
        TEXT = "text", "Long text"
        INTEGER = "integer", "Whole number"
        DECIMAL = "decimal", "Decimal number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes or no"
        CHOICE = "choice", "Single choice"
        MULTIPLE_CHOICE = "multiple-choice", "Multiple choice"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children",
                               limit_choices_to={"type": "group"},
                               help_text="The page or group this item sits in; "
                                         "empty for a page of its own.")
    position = models.PositiveIntegerField(default=0)
    link_id = models.CharField("question id", max_length=64, validators=[link_id_validator],
                               help_text="A short id, unique in the form, e.g. 'smoker'.")
    text = models.TextField()
    help_text = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    required = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "link_id"], name="item_link_id_unique"),
        ]

    def __str__(self):
        return f"{self.link_id}: {self.text[:60]}"

    @property
    def has_options(self):
        return self.type in {self.Type.CHOICE, self.Type.MULTIPLE_CHOICE}


class AnswerOption(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    system = models.CharField(max_length=200, blank=True,
                              help_text="Code system URI, e.g. http://loinc.org")
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=500)
    score = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="answer_option_code_unique"),
        ]

    def __str__(self):
        return self.display


class FormVersion(models.Model):
    """A published, immutable snapshot of a form: a FHIR R4 Questionnaire."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    definition = models.JSONField()
    change_note = models.TextField(blank=True)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.PROTECT, related_name="+")
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["form__title", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["form", "number"], name="form_version_unique"),
        ]

    def __str__(self):
        return f"{self.title} v{self.number}"

    def save(self, *args, **kwargs):
        # Retiring is the only change a published version may take.
        if not self._state.adding and set(kwargs.get("update_fields") or ()) != {"retired_at"}:
            raise PermissionError("A published form version is immutable")
        super().save(*args, **kwargs)

    @property
    def is_live(self):
        return self.retired_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LinkStatus(models.TextChoices):
    """Where a link is on its way from issue to the record, as staff see it."""

    ISSUED = "issued", "Issued"
    DELIVERED = "delivered", "Delivered"
    OPENED = "opened", "Opened"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    FILED = "filed", "Filed"
    FAILED = "failed", "Filing failed"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class LinkQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(care_team__in=CareTeam.objects.of_user(user))

    def with_status(self, now=None):
        """Annotate `status`, the same rule as Link.status_at, computed in the database
        so that lists and counts take one query."""
        now = now or timezone.now()
        state = models.F("submission__state")
        return self.annotate(status=models.Case(
            models.When(revoked_at__isnull=False, then=models.Value(LinkStatus.REVOKED)),
            models.When(submission__state="submitted", then=models.Value(LinkStatus.SUBMITTED)),
            models.When(submission__state="filed", then=models.Value(LinkStatus.FILED)),
            models.When(submission__state="failed", then=models.Value(LinkStatus.FAILED)),
            models.When(expires_at__lte=now, then=models.Value(LinkStatus.EXPIRED)),
            models.When(submission__isnull=False, then=models.Value(LinkStatus.IN_PROGRESS)),
            models.When(first_opened_at__isnull=False, then=models.Value(LinkStatus.OPENED)),
            models.When(delivered_at__isnull=False, then=models.Value(LinkStatus.DELIVERED)),
            default=models.Value(LinkStatus.ISSUED),
            output_field=models.CharField(),
        ), submission_state=state)


class Link(models.Model):
    """A one-time invitation for one patient to fill in one form version.

    Only the SHA-256 of the token is stored: a database dump does not yield usable links.
    """

    class Channel(models.TextChoices):
        SCREEN = "screen", _("Shown on screen")
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="links")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="form_links")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="links")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SCREEN)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set by the delivery backend once the SMS or email provider reports delivery.
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The first time the link itself was followed (before the identity check).
    first_opened_at = models.DateTimeField(null=True, blank=True)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = LinkQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return f"Link {str(self.id)[:8]} for {self.version}"

    @staticmethod
    def new_token() -> str:
        # 32 random bytes: unguessable, and short enough for a text message.
        return secrets.token_urlsafe(32)

    def status_at(self, now) -> str:
        """The same rule as LinkQuerySet.with_status, for one link in hand."""
        if self.revoked_at is not None:
            return LinkStatus.REVOKED
        try:
            submission = self.submission
        except Submission.DoesNotExist:
            submission = None
        if submission is not None and submission.state != Submission.State.IN_PROGRESS:
            return LinkStatus(submission.state)
        if now >= self.expires_at:
            return LinkStatus.EXPIRED
        if submission is not None:
            return LinkStatus.IN_PROGRESS
        if self.first_opened_at is not None:
            return LinkStatus.OPENED
        if self.delivered_at is not None:
            return LinkStatus.DELIVERED
        return LinkStatus.ISSUED

    def is_open_at(self, now) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def is_locked_at(self, now) -> bool:
        return self.locked_until is not None and now < self.locked_until


_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(link__care_team__in=CareTeam.objects.of_user(user))


class Submission(models.Model):
    """A patient's answers to one link: a draft while they fill it in, then the outbox
    from which the filing task files it into the record."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        FILED = "filed", "Filed"
        FAILED = "failed", "Filing failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    link = models.OneToOneField(Link, on_delete=models.PROTECT, related_name="submission")
    reference = models.CharField(max_length=9, unique=True, default=new_reference,
                                 editable=False)
    state = models.CharField(max_length=20, choices=State.choices,
                             default=State.IN_PROGRESS, db_index=True)
    # The wizard's own state (raw page data, current page), so a patient can resume on
    # another device; and the cleaned answers so far, which drive the conditions.
    wizard_state = EncryptedJSONField(null=True, blank=True)
    draft_answers = EncryptedJSONField(null=True, blank=True)
    answers = EncryptedJSONField(null=True, blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    filed_at = models.DateTimeField(null=True, blank=True)
    filing_attempts = models.PositiveIntegerField(default=0)
    # When the sweeper last re-enqueued it, so a backlog is not re-enqueued every sweep.
    filing_swept_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The sweeper's query: submitted but not yet filed, oldest first.
            models.Index(fields=["state", "submitted_at"], name="submission_state_submitted"),
        ]

    def __str__(self):
        return f"Submission {self.reference}"

    @property
    def is_submitted(self):
        return self.state != self.State.IN_PROGRESS
