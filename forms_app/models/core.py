import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.crypto import EncryptedJSONField
from patients.models import CareTeam, Organisation, Patient


class FormQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Forms of the organisations the user works in (a care team or as an
        organisation administrator)."""
        return self.filter(organisation__in=Organisation.objects.of_user(user))


def parse_reminder_days(value: str) -> list[int]:
    """'3,6' -> [3, 6]; raises ValueError on anything else."""
    days = [int(part) for part in value.replace(" ", "").split(",") if part]
    if any(day < 1 or day > 365 for day in days) or days != sorted(set(days)):
        raise ValueError(value)
    return days


def reminder_days_validator(value):
    try:
        parse_reminder_days(value)
    except ValueError:
        raise ValidationError(
            "Enter whole days between 1 and 365, in increasing order, separated by commas, "
            "e.g. 3,6.") from None


class Form(models.Model):
    """A questionnaire as staff design it: a working draft plus its published versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="forms")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to patients before page one.")
    code_system = models.CharField("code system", max_length=200, blank=True,
                                   help_text="e.g. http://loinc.org")
    code = models.CharField(max_length=64, blank=True,
                            help_text="A code for the whole questionnaire, e.g. LOINC 44249-1.")
    code_display = models.CharField("code display", max_length=500, blank=True)
    # Patient-facing text in other languages: {"cy": {"title": ..., "description": ...}}.
    # Items and options carry their own (forms_app.design.translations).
    translations = models.JSONField(default=dict, blank=True, editable=False)
    # What an import could not represent, by item: kept so that staff can always see it.
    # Entries marked "clinical" block publishing until accepted (accept_import_notes).
    import_report = models.JSONField(default=list, blank=True, editable=False)
    # The instrument an import came from (its canonical url, version, identifiers and
    # copyright): exported again and named in each QuestionnaireResponse.
    source_url = models.CharField("source canonical URL", max_length=500, blank=True)
    source_version = models.CharField(max_length=100, blank=True)
    source_identifier = models.JSONField(default=list, blank=True)
    copyright = models.TextField(blank=True)
    # Form-level SDC extensions kept verbatim from an import (variables, launch
    # context), evaluated by the engine and exported as they came.
    fhir_extensions = models.JSONField(default=list, blank=True)
    # Delivery (issue 5): when to chase a link not yet submitted, and whether the
    # identity check also needs a one-time code sent to the contact on record.
    reminder_days = models.CharField(
        max_length=50, blank=True, validators=[reminder_days_validator],
        help_text="Days after issue to remind the patient, e.g. '3,6'. Empty: no reminders.")
    requires_one_time_code = models.BooleanField(
        "one-time code", default=False,
        help_text="After the date of birth, the patient must enter a six-digit code sent "
                  "to the mobile or email on record.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FormQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    @property
    def reminder_schedule(self) -> list[int]:
        try:
            return parse_reminder_days(self.reminder_days)
        except ValueError:
            return []

    @property
    def latest_version(self):
        return self.versions.order_by("-number").first()


# Imported Questionnaires use ids like "1.2" or "/29463-7" (LOINC-based); keep them as
# they are so that answers filed back to other systems carry the ids they know.
link_id_validator = RegexValidator(
    r"^[A-Za-z0-9/][A-Za-z0-9._/-]{0,63}$",
    "Use letters, digits, dots, slashes, hyphens and underscores only.",
)


class Item(models.Model):
    """One question, display text or group in a form's draft.

    A top-level group is a page; a top-level question is a page of its own. Everything
    here maps onto the FHIR Questionnaire the engine reads (forms_app.design.export).
    """

    class Type(models.TextChoices):
        GROUP = "group", "Page or group"
        DISPLAY = "display", "Text to read (no answer)"
        STRING = "string", "Short text"
        TEXT = "text", "Long text"
        INTEGER = "integer", "Whole number"
        DECIMAL = "decimal", "Decimal number"
        QUANTITY = "quantity", "Number with a unit"
        DATE = "date", "Date"
        TIME = "time", "Time"
        DATETIME = "dateTime", "Date and time"
        BOOLEAN = "boolean", "Yes or no"
        CHOICE = "choice", "Single choice"
        MULTIPLE_CHOICE = "multiple-choice", "Multiple choice"
        OPEN_CHOICE = "open-choice", "Single choice or 'Other, please specify'"
        EMAIL = "email", "Email address"
        UK_PHONE = "uk-phone", "UK phone number"
        NHS_NUMBER = "nhs-number", "NHS number"
        URL = "url", "Web address"
        ATTACHMENT = "attachment", "A file (a photo or a document)"

    class Control(models.TextChoices):
        DEFAULT = "", "Automatic (radios; a drop-down for more than 20 options)"
        RADIO = "radio-button", "Radio buttons"
        DROP_DOWN = "drop-down", "Drop-down list"
        AUTOCOMPLETE = "autocomplete", "A long list the patient types into (autocomplete)"

    class Behavior(models.TextChoices):
        ALL = "all", "All conditions are met"
        ANY = "any", "Any condition is met"

    class Calculation(models.TextChoices):
        NONE = "", "None: the patient answers it"
        SCORE_TOTAL = "score-total", "Total of every chosen option's score in the form"
        SCORE_SUM = "score-sum", "Sum of the chosen options' scores of the questions below"
        FORMULA = "formula", "Formula (see below)"
        EXPRESSION = "expression", "FHIRPath calculatedExpression (imported)"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="items")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children",
                               limit_choices_to={"type": "group"},
                               help_text="The page or group this item sits in; "
                                         "empty for a page of its own.")
    position = models.PositiveIntegerField(default=0)
    link_id = models.CharField("question id", max_length=64, validators=[link_id_validator],
                               help_text="A short id, unique in the form, e.g. 'smoker'.")
    prefix = models.CharField(max_length=20, blank=True, help_text="e.g. '1.' or '(a)'.")
    text = models.TextField()
    help_text = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    required = models.BooleanField(default=False)
    control = models.CharField("choice control", max_length=20, choices=Control.choices,
                               blank=True, default=Control.DEFAULT)
    enable_behavior = models.CharField(
        "show when", max_length=3, choices=Behavior.choices, default=Behavior.ALL,
        help_text="With several conditions: whether all or any must be met.")
    # Validation.
    min_value = models.CharField(
        max_length=40, blank=True,
        help_text="Numbers: 0 or 2.5; dates: 2020-01-31; date and time: "
                  "2020-01-31T09:00:00+00:00; times: 09:00:00.")
    max_value = models.CharField(max_length=40, blank=True, help_text="As the minimum.")
    min_length = models.PositiveIntegerField(null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    regex = models.CharField("pattern", max_length=500, blank=True,
                             help_text="A regular expression the whole answer must match.")
    regex_message = models.CharField("pattern message", max_length=300, blank=True,
                                     help_text="Shown when the pattern does not match, e.g. "
                                               "'Enter a hospital number like RX123456'.")
    max_decimal_places = models.PositiveSmallIntegerField(null=True, blank=True)
    not_in_future = models.BooleanField(default=False, help_text="Dates and dates with times.")
    unit_code = models.CharField(max_length=50, blank=True,
                                 help_text="Quantity unit code (UCUM), e.g. kg.")
    unit_display = models.CharField(max_length=100, blank=True, help_text="e.g. kilograms.")
    unit_system = models.CharField(max_length=200, blank=True,
                                   help_text="Unit system; usually http://unitsofmeasure.org.")
    # Wording of messages.
    short_label = models.CharField(
        max_length=200, blank=True,
        help_text="The answer's name mid-sentence in error messages, e.g. 'your weight'.")
    required_message = models.CharField(
        max_length=300, blank=True,
        help_text="The whole message for a missing answer, e.g. 'Select whether you smoke'.")
    other_label = models.CharField(max_length=100, blank=True,
                                   help_text="Open choice: the label of the 'Other' option.")
    initial = models.CharField(
        "initial answer", max_length=500, blank=True,
        help_text="Pre-filled answer: text, a number, a date, 'true'/'false', an option code "
                  "(one per line for a question that repeats).")
    # Scores and computed values (integer or decimal items; never shown to patients).
    calculation = models.CharField(max_length=20, choices=Calculation.choices, blank=True,
                                   default=Calculation.NONE)
    score_items = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="+",
        verbose_name="questions summed",
        help_text="For 'sum of the questions below': the scored questions to add up.")
    formula = models.CharField(
        max_length=1000, blank=True,
        help_text="Arithmetic over other questions' ids, e.g. "
                  "round(weight / (height / 100) ^ 2, 1); write ids with hyphens in "
                  "braces: {phq9-1}. Functions: round, min, max, abs.")
    # Repeats (FHIR repeats): a group the patient fills in once per relative, say, or a
    # question with several answers, each added with "Add another".
    repeats = models.BooleanField(
        default=False, help_text="Groups and text, number and date questions: the patient "
                                 "can add as many as they need ('Add another').")
    min_occurs = models.PositiveSmallIntegerField(
        "at least", null=True, blank=True, help_text="Repeats: the fewest the patient gives.")
    max_occurs = models.PositiveSmallIntegerField(
        "at most", null=True, blank=True, help_text="Repeats: the most the patient can add.")
    # Never shown to patients (questionnaire-hidden), e.g. a total used only by flags.
    hidden = models.BooleanField(default=False)
    # SDC expression extensions kept verbatim from an import (calculatedExpression,
    # enableWhenExpression, initialExpression, variable, targetConstraint): FHIRPath
    # the engine evaluates, exported as they came.
    fhir_extensions = models.JSONField(default=list, blank=True)
    # SDC observationExtract: the answer is also filed as an Observation with this
    # item's code, e.g. a PHQ-9 total as LOINC 44261-6.
    observation_extract = models.BooleanField(
        "file as an Observation", default=False,
        help_text="Also file the answer as a FHIR Observation coded with the code below "
                  "(e.g. LOINC), so it reaches the record as a result, not only a response.")
    # A code for the question itself, e.g. LOINC.
    code_system = models.CharField("code system", max_length=200, blank=True)
    code = models.CharField(max_length=64, blank=True)
    code_display = models.CharField("code display", max_length=500, blank=True)
    # {"cy": {"text": ..., "help_text": ..., "required_message": ...}}: see
    # forms_app.design.translations.
    translations = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "link_id"], name="item_link_id_unique"),
        ]

    def __str__(self):
        return f"{self.link_id}: {self.text[:60]}"

    @property
    def has_options(self):
        return self.type in {self.Type.CHOICE, self.Type.MULTIPLE_CHOICE,
                             self.Type.OPEN_CHOICE}

    @property
    def is_answerable(self):
        return self.type not in {self.Type.GROUP, self.Type.DISPLAY}

    def clean(self):
        from forms_app.design.validation import clean_item

        clean_item(self)


class AnswerOption(models.Model):
    class ValueType(models.TextChoices):
        CODING = "coding", "Coded (system, code, display)"
        STRING = "string", "Plain text (the display)"
        INTEGER = "integer", "Whole number (the code)"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    value_type = models.CharField(max_length=10, choices=ValueType.choices,
                                  default=ValueType.CODING)
    system = models.CharField(max_length=200, blank=True,
                              help_text="Code system URI, e.g. http://loinc.org")
    code = models.CharField(max_length=255)
    display = models.CharField(max_length=500)
    score = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True,
                                help_text="Adds to totals (FHIR ordinalValue).")
    exclusive = models.BooleanField(
        default=False, help_text="Multiple choice: ticking this clears the others "
                                 "(e.g. 'None of these').")
    translations = models.JSONField(default=dict, blank=True, editable=False)  # {"cy": {"display"}}

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="answer_option_code_unique"),
        ]

    def __str__(self):
        return self.display

    def clean(self):
        if self.value_type == self.ValueType.STRING:
            if len(self.display) > 255:
                raise ValidationError({"display": "A plain-text option is at most 255 "
                                                  "characters."})
            self.code = self.display
        if self.value_type == self.ValueType.INTEGER:
            try:
                int(self.code)
            except (TypeError, ValueError):
                raise ValidationError({"code": "A whole-number option's code is the number."}) \
                    from None


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
        LETTER = "letter", _("Printed letter")

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
    # Locks since the patient last got through or the clinic unlocked it: each lock is
    # twice as long as the one before (services.lock_minutes).
    lockouts = models.PositiveSmallIntegerField(default=0)
    # The appointment this link is for (whiteboards show and sort by it); optional.
    appointment = models.ForeignKey("forms_app.Appointment", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="links")

    objects = LinkQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            # Whiteboards: one team's links issued in a window (today, or a range).
            models.Index(fields=["care_team", "issued_at"], name="link_team_issued"),
        ]

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
    # The one device (patient session) that may carry on with the draft: the newest to
    # pass the identity check. Another session's next request is told the form moved.
    device = models.CharField(max_length=64, blank=True, editable=False)
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
