"""Forms on the clinic pages (staff, outside the admin)."""

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from forms_app.models import FormVersion, Link
from forms_app.models.delivery import Channel
from forms_app.selectors import current_versions_for
from patients.models import CareTeam
from patients.nhs_number import normalise_nhs_number
from patients.validators import validate_nhs_number

DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"]

def _date_input(**attrs):
    # A text box in NHS.UK style (a DateInput would render unstyled): dd/mm/yyyy.
    return forms.TextInput(attrs={"class": "nhsuk-input--width-10", "autocomplete": "off",
                                  **attrs})


class PatientSearchForm(forms.Form):
    """By NHS number, hospital number, or name and date of birth (posted, never in a URL)."""

    nhs_number = forms.CharField(label="NHS number", required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                               "autocomplete": "off"}))
    hospital_number = forms.CharField(required=False, max_length=30,
                                      widget=forms.TextInput(attrs={"autocomplete": "off"}))
    family_name = forms.CharField(label="Last name", required=False, max_length=100,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    date_of_birth = forms.DateField(
        required=False, input_formats=DATE_FORMATS, help_text="For example, 15/03/1984",
        widget=_date_input(),
        error_messages={"invalid": "Enter the date of birth as a real date, for example "
                                   "15/03/1984."})

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
    """The current version of each form the user's teams may issue (never a superseded
    or retired one)."""
    return current_versions_for(user)



def default_expiry_date():
    return timezone.localdate() + datetime.timedelta(days=settings.LINK_DEFAULT_DAYS)


def default_expiry_text() -> str:
    return default_expiry_date().strftime("%d/%m/%Y")


def end_of_day(date: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(23, 59)))


class ExpiryField(forms.DateField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Link works until")
        super().__init__(
            input_formats=DATE_FORMATS, widget=_date_input(),
            help_text="The last day the patient can use it, for example 31/12/2026",
            error_messages={
                "required": "Enter the last day the link works, for example 31/12/2026.",
                "invalid": "Enter the last day as a real date, for example 31/12/2026."},
            **kwargs)

    def clean(self, value):
        date = super().clean(value)
        if date is not None:
            if date < timezone.localdate():
                raise forms.ValidationError("Enter a last day that is today or later.")
            if date > timezone.localdate() + datetime.timedelta(days=365):
                raise forms.ValidationError("Enter a last day within a year from today.")
        return date


VERSION_ERRORS = {
    "required": "Select the form to send.",
    "invalid_choice": "Select a form from the list: that one can no longer be sent.",
}
TEAM_ERRORS = {
    "required": "Select the care team the form is for.",
    "invalid_choice": "Select one of your care teams from the list.",
}
CHANNEL_ERRORS = {
    "required": "Select how to give the patient the link.",
    "invalid_choice": "Select how to give the patient the link.",
}


def _version_label(version) -> str:
    return f"{version.title} (version {version.number})"


class IssueLinkForm(forms.Form):
    version = forms.ModelChoiceField(label="Form", queryset=FormVersion.objects.none(),
                                     empty_label=None, error_messages=VERSION_ERRORS)
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none(), empty_label=None,
                                       error_messages=TEAM_ERRORS)
    channel = forms.ChoiceField(label="How to give the patient the link",
                                choices=Link.Channel.choices, widget=forms.RadioSelect,
                                error_messages=CHANNEL_ERRORS)
    expires_on = ExpiryField()

    def __init__(self, *args, user, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = live_versions_for(user).filter(
            form__organisation=organisation)
        self.fields["version"].label_from_instance = _version_label
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user).filter(
            organisation=organisation)
        self.fields["expires_on"].initial = default_expiry_text


class ResendForm(forms.Form):
    channel = forms.ChoiceField(label="Send by", choices=Channel.choices,
                                widget=forms.RadioSelect, error_messages=CHANNEL_ERRORS)


class ExtendForm(forms.Form):
    expires_on = ExpiryField(label="New last day")


class ClinicListUploadForm(forms.Form):
    file = forms.FileField(label="Clinic list (CSV)",
                           help_text="Columns: nhs_number or hospital_number, "
                                     "appointment_date, clinic; optionally appointment_time, "
                                     "location, clinician, appointment_id",
                           error_messages={"required": "Choose the CSV file of the clinic "
                                                       "list.",
                                           "empty": "The file is empty: choose the CSV "
                                                    "file of the clinic list."})
    version = forms.ModelChoiceField(label="Form", queryset=FormVersion.objects.none(),
                                     empty_label=None, error_messages=VERSION_ERRORS)
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none(), empty_label=None,
                                       error_messages=TEAM_ERRORS)
    channel = forms.ChoiceField(label="Send by", choices=Channel.choices,
                                widget=forms.RadioSelect, error_messages=CHANNEL_ERRORS)
    expires_on = ExpiryField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = live_versions_for(user)
        self.fields["version"].label_from_instance = _version_label
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user)
        self.fields["expires_on"].initial = default_expiry_text

    def clean(self):
        cleaned = super().clean()
        version, team = cleaned.get("version"), cleaned.get("care_team")
        if version and team and version.form.organisation_id != team.organisation_id:
            raise forms.ValidationError("This form belongs to another organisation: choose "
                                        "a form of the care team's organisation.")
        return cleaned
