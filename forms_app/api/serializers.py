"""What goes in and out of the API. Validation happens here, at the boundary; the
scoped lookups use the request user's visible_to querysets and nothing else."""

import datetime

from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from forms_app.models import Appointment, Form, FormVersion, Link, LinkStatus, Submission
from patients.models import Patient
from patients.nhs_number import is_valid_nhs_number, normalise_nhs_number

# A link may be valid for at most a year: long enough for any clinic, and it keeps
# absurd dates out of the database.
MAX_LINK_DAYS = 366

mobile_validator = RegexValidator(
    r"^\+?[0-9][0-9 ]{6,18}$", "Enter a phone number: digits and spaces, optionally "
    "starting with +.")


def _field_max(model, name):
    return model._meta.get_field(name).max_length


# --- Patients ---------------------------------------------------------------------

class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "nhs_number", "hospital_number", "given_name", "family_name",
                  "date_of_birth", "mobile", "email", "created_at"]
        read_only_fields = fields


class PatientUpsertSerializer(serializers.Serializer):
    """Create or update by NHS number. Names and date of birth are required; the
    optional fields, when left out, keep what the record already holds."""

    nhs_number = serializers.CharField(max_length=20, help_text=(
        "10 digits with a valid Modulus 11 check digit; spaces and hyphens are ignored."))
    given_name = serializers.CharField(max_length=_field_max(Patient, "given_name"))
    family_name = serializers.CharField(max_length=_field_max(Patient, "family_name"))
    date_of_birth = serializers.DateField()
    hospital_number = serializers.CharField(
        max_length=_field_max(Patient, "hospital_number"), required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=_field_max(Patient, "mobile"), required=False,
                                   allow_blank=True, validators=[mobile_validator])
    email = serializers.EmailField(max_length=_field_max(Patient, "email"), required=False,
                                   allow_blank=True)

    def validate_nhs_number(self, value):
        value = normalise_nhs_number(value)
        if not is_valid_nhs_number(value):
            raise serializers.ValidationError(
                "Enter a valid 10-digit NHS number (the check digit does not match).",
                code="invalid_nhs_number")
        return value

    def validate_date_of_birth(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("The date of birth is in the future.",
                                              code="future")
        if value.year < 1880:
            raise serializers.ValidationError("The date of birth is too long ago.",
                                              code="too_old")
        return value


# --- Forms ------------------------------------------------------------------------

class FormVersionSerializer(serializers.ModelSerializer):
    is_live = serializers.BooleanField(read_only=True)

    class Meta:
        model = FormVersion
        fields = ["id", "number", "title", "published_at", "retired_at", "is_live"]
        read_only_fields = fields


class FormSerializer(serializers.ModelSerializer):
    versions = FormVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Form
        fields = ["id", "title", "description", "versions"]
        read_only_fields = fields


# --- Links ------------------------------------------------------------------------

class LinkSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=LinkStatus.choices, read_only=True,
                                     help_text="Where the link is, from issued to filed.")
    form = serializers.UUIDField(source="version.form_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    submission = serializers.SerializerMethodField()
    appointment = serializers.SerializerMethodField(
        help_text="The EHR's id of the appointment the link is for, if any.")

    class Meta:
        model = Link
        fields = ["id", "status", "patient", "form", "version", "version_number", "channel",
                  "issued_at", "expires_at", "revoked_at", "delivered_at",
                  "first_opened_at", "submission", "appointment"]
        read_only_fields = fields

    def get_submission(self, link) -> str | None:
        submission = getattr(link, "submission", None)
        return str(submission.pk) if submission is not None else None

    def get_appointment(self, link) -> str | None:
        appointment = link.appointment
        return (appointment.external_id or None) if appointment is not None else None


class IssuedLinkSerializer(LinkSerializer):
    url = serializers.URLField(
        read_only=True, allow_null=True,
        help_text="The patient's link. Returned only by the call that created it; null "
                  "when a retried call with the same Idempotency-Key replays it.")

    class Meta(LinkSerializer.Meta):
        fields = [*LinkSerializer.Meta.fields, "url"]
        read_only_fields = fields


class LinkCreateSerializer(serializers.Serializer):
    patient = serializers.UUIDField(help_text="A patient of your care team.")
    form = serializers.UUIDField(
        required=False, help_text="Issue the form's latest live version. Give this or "
                                  "`version`.")
    version = serializers.UUIDField(required=False,
                                    help_text="Issue this exact published version.")
    channel = serializers.ChoiceField(choices=Link.Channel.choices,
                                      default=Link.Channel.SCREEN)
    expires_at = serializers.DateTimeField(
        required=False, help_text="Defaults to the platform's link lifetime; at most a "
                                  "year ahead.")
    appointment = serializers.CharField(
        required=False, max_length=_field_max(Appointment, "external_id"),
        help_text="The EHR's id of the patient's appointment (set with POST "
                  "/appointments/) this form is for. Left out: the patient's next "
                  "appointment with your team, if any.")

    def validate_patient(self, value):
        user = self.context["request"].user
        patient = Patient.objects.visible_to(user).filter(pk=value).first()
        if patient is None:
            raise serializers.ValidationError("Unknown patient.", code="unknown")
        return patient

    def validate_expires_at(self, value):
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("The expiry must be in the future.",
                                              code="past")
        if value > now + datetime.timedelta(days=MAX_LINK_DAYS):
            raise serializers.ValidationError("The expiry must be within a year.",
                                              code="too_far")
        return value

    def validate(self, attrs):
        user = self.context["request"].user
        forms = Form.objects.visible_to(user)
        form_id, version_id = attrs.pop("form", None), attrs.pop("version", None)
        if (form_id is None) == (version_id is None):
            raise serializers.ValidationError(
                {"form": "Give either a form or a version, not both."
                 if form_id else "Give a form or a version."}, code="required")
        if version_id is not None:
            version = (FormVersion.objects.filter(form__in=forms, pk=version_id)
                       .select_related("form").first())
            if version is None:
                raise serializers.ValidationError({"version": "Unknown form version."},
                                                  code="unknown")
            if not version.is_live:
                raise serializers.ValidationError(
                    {"version": "This version has been retired; issue the current one."},
                    code="retired")
        else:
            form = forms.filter(pk=form_id).first()
            if form is None:
                raise serializers.ValidationError({"form": "Unknown form."}, code="unknown")
            version = (form.versions.filter(retired_at__isnull=True)
                       .select_related("form").order_by("-number").first())
            if version is None:
                raise serializers.ValidationError(
                    {"form": "This form has no published version."}, code="unpublished")
        attrs["version"] = version
        patient = attrs["patient"]
        channel = attrs["channel"]
        if channel == Link.Channel.SMS and not patient.mobile:
            raise serializers.ValidationError(
                {"channel": "The patient has no mobile number for a text message."},
                code="no_contact")
        if channel == Link.Channel.EMAIL and not patient.email:
            raise serializers.ValidationError(
                {"channel": "The patient has no email address."}, code="no_contact")
        if "appointment" in attrs:
            appointment = Appointment.objects.visible_to(user).filter(
                external_id=attrs["appointment"], patient=patient).first()
            if appointment is None:
                raise serializers.ValidationError(
                    {"appointment": "No appointment with this id for this patient: set it "
                                    "with POST /appointments/ first."}, code="unknown")
            attrs["appointment"] = appointment
        return attrs


class LinkFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=LinkStatus.choices, required=False)


# --- Appointments -----------------------------------------------------------------

class AppointmentSerializer(serializers.ModelSerializer):
    appointment_id = serializers.CharField(source="external_id", read_only=True,
                                           help_text="The EHR's id of the appointment.")

    class Meta:
        model = Appointment
        fields = ["id", "appointment_id", "patient", "starts_at", "clinic", "location",
                  "clinician", "updated_at"]
        read_only_fields = fields


class AppointmentUpsertSerializer(serializers.Serializer):
    """Create or update by the EHR's appointment id: the same id twice updates."""

    appointment_id = serializers.CharField(
        max_length=_field_max(Appointment, "external_id"),
        help_text="The EHR's id of the appointment, unique in your team.")
    patient = serializers.UUIDField(help_text="A patient of your care team.")
    starts_at = serializers.DateTimeField(
        allow_null=True, help_text="When the appointment starts, with a time zone "
                                   "(ISO 8601); null for a ward stay without a time.")
    clinic = serializers.CharField(max_length=_field_max(Appointment, "clinic"),
                                   required=False, allow_blank=True, default="",
                                   help_text="The clinic session or ward.")
    location = serializers.CharField(max_length=_field_max(Appointment, "location"),
                                     required=False, allow_blank=True, default="",
                                     help_text="Bed, bay or room: shown on public screens, "
                                               "so never a name.")
    clinician = serializers.CharField(max_length=_field_max(Appointment, "clinician"),
                                      required=False, allow_blank=True, default="")

    def validate_patient(self, value):
        patient = Patient.objects.visible_to(self.context["request"].user).filter(
            pk=value).first()
        if patient is None:
            raise serializers.ValidationError("Unknown patient.", code="unknown")
        return patient

    def validate_starts_at(self, value):
        if value is not None and abs(value - timezone.now()) > datetime.timedelta(
                days=MAX_LINK_DAYS * 2):
            raise serializers.ValidationError("The time must be within two years of today.",
                                              code="out_of_range")
        return value


class AppointmentFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    appointment_id = serializers.CharField(required=False, max_length=100)


# --- Submissions ------------------------------------------------------------------

class SubmissionSerializer(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="link.patient_id", read_only=True)
    form = serializers.UUIDField(source="link.version.form_id", read_only=True)
    version = serializers.UUIDField(source="link.version_id", read_only=True)

    class Meta:
        model = Submission
        fields = ["id", "link", "patient", "form", "version", "state", "reference",
                  "started_at", "submitted_at", "filed_at"]
        read_only_fields = fields


class SubmissionDetailSerializer(SubmissionSerializer):
    evaluation = serializers.JSONField(
        read_only=True, help_text="Scores, severity bands and flags, once submitted.")

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "evaluation"]
        read_only_fields = fields


class SubmissionFilterSerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    link = serializers.UUIDField(required=False)
    state = serializers.ChoiceField(choices=Submission.State.choices, required=False)


# --- Errors (documentation only) ---------------------------------------------------
# Errors come from drf-standardized-errors' handler in one shape:
# {"type": "validation_error" | "client_error", "errors": [{code, detail, attr}]},
# where attr names the field (or header) at fault. These describe the few status codes
# that the package does not document by itself.

class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ValidationErrorResponseSerializer(serializers.Serializer):
    """400: the request was refused; each error names its field (or header) in attr,
    or null for the request as a whole (e.g. a body that is not JSON)."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    errors = ErrorSerializer(many=True)


class ConflictErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["client_error"])
    errors = ErrorSerializer(many=True)


class IdempotencyErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["validation_error"])
    errors = ErrorSerializer(many=True)
