"""Forms on the clinic pages (staff, outside the admin)."""

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from forms_app.models import FormVersion, Link
from forms_app.models.delivery import Channel
from patients.models import CareTeam
from patients.nhs_number import normalise_nhs_number
from patients.validators import validate_nhs_number

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"]


class PatientSearchForm(forms.Form):
    """By NHS number, hospital number, or name and date of birth (posted, never in a URL)."""

    nhs_number = forms.CharField(label="NHS number", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                               "autocomplete": "off"}))
    hospital_number = forms.CharField(required=False, max_length=30,
                                      widget=forms.TextInput(attrs={"autocomplete": "off"}))
    family_name = forms.CharField(label="Last name", required=False, max_length=100,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    date_of_birth = forms.DateField(required=False, input_formats=DATE_FORMATS,
                                    help_text="For example, 15/03/1984")

    def clean_nhs_number(self):
        value = self.cleaned_data["nhs_number"]
        if value:
            value = normalise_nhs_number(value)
            validate_nhs_number(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        by_name = cleaned.get("family_name") or cleaned.get("date_of_birth")
        if not (cleaned.get("nhs_number") or cleaned.get("hospital_number") or by_name):
            raise forms.ValidationError(
                "Enter an NHS number, a hospital number, or a last name and date of birth.")
        if by_name and not (cleaned.get("family_name") and cleaned.get("date_of_birth")):
            raise forms.ValidationError("Enter both the last name and the date of birth.")
        return cleaned


def live_versions_for(user):
    """The current published version of each form the user's teams may issue."""
    from forms_app.models import Form

    forms_qs = Form.objects.visible_to(user)
    return (FormVersion.objects.filter(form__in=forms_qs, retired_at__isnull=True)
            .select_related("form").order_by("title", "-number"))


def default_expiry_date():
    return timezone.localdate() + datetime.timedelta(days=settings.LINK_DEFAULT_DAYS)


def end_of_day(date: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(23, 59)))


class ExpiryField(forms.DateField):
    def __init__(self, **kwargs):
        super().__init__(input_formats=DATE_FORMATS, label="Link works until",
                         help_text="The last day the patient can use it, e.g. 31/12/2026",
                         **kwargs)

    def clean(self, value):
        date = super().clean(value)
        if date is not None:
            if date < timezone.localdate():
                raise forms.ValidationError("The date must be today or later.")
            if date > timezone.localdate() + datetime.timedelta(days=365):
                raise forms.ValidationError("The date must be within a year.")
        return date


class IssueLinkForm(forms.Form):
    version = forms.ModelChoiceField(label="Form", queryset=FormVersion.objects.none(),
                                     empty_label=None)
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none(), empty_label=None)
    channel = forms.ChoiceField(label="How to give the patient the link",
                                choices=Link.Channel.choices, widget=forms.RadioSelect)
    expires_on = ExpiryField()

    def __init__(self, *args, user, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = live_versions_for(user).filter(
            form__organisation=organisation)
        self.fields["version"].label_from_instance = lambda v: f"{v.title} (version {v.number})"
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user).filter(
            organisation=organisation)
        self.fields["expires_on"].initial = default_expiry_date


class ResendForm(forms.Form):
    channel = forms.ChoiceField(label="Send by", choices=Channel.choices,
                                widget=forms.RadioSelect)


class ExtendForm(forms.Form):
    expires_on = ExpiryField()


class ClinicListUploadForm(forms.Form):
    file = forms.FileField(label="Clinic list (CSV)",
                           help_text="Columns: nhs_number or hospital_number, "
                                     "appointment_date, clinic")
    version = forms.ModelChoiceField(label="Form", queryset=FormVersion.objects.none(),
                                     empty_label=None)
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none(), empty_label=None)
    channel = forms.ChoiceField(label="Send by", choices=Channel.choices,
                                widget=forms.RadioSelect)
    expires_on = ExpiryField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = live_versions_for(user)
        self.fields["version"].label_from_instance = lambda v: f"{v.title} (version {v.number})"
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user)
        self.fields["expires_on"].initial = default_expiry_date

    def clean(self):
        cleaned = super().clean()
        version, team = cleaned.get("version"), cleaned.get("care_team")
        if version and team and version.form.organisation_id != team.organisation_id:
            raise forms.ValidationError("This form belongs to another organisation.")
        return cleaned
