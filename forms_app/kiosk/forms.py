"""The staff form that starts a kiosk session, limited to the staff member's care teams."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.forms import OTPAuthenticationForm

from forms_app.models import Form
from patients.models import CareTeam, Patient
from patients.nhs_number import normalise_nhs_number


class StartKioskForm(forms.Form):
    nhs_number = forms.CharField(
        label=_("Patient's NHS number"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                      "spellcheck": "false", "class": "nhsuk-input--width-10"}),
        error_messages={"required": _("Enter the patient's NHS number")})
    form = forms.ModelChoiceField(
        label=_("Form"), queryset=Form.objects.none(), empty_label=_("Select a form"),
        error_messages={"required": _("Select a form"),
                        "invalid_choice": _("Select a form")})
    care_team = forms.ModelChoiceField(
        label=_("Care team"), queryset=CareTeam.objects.none(), empty_label=None,
        error_messages={"required": _("Select a care team"),
                        "invalid_choice": _("Select a care team")})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["form"].queryset = (
            Form.objects.visible_to(user).filter(versions__retired_at__isnull=True).distinct())
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user)

    def clean_nhs_number(self):
        digits = normalise_nhs_number(self.cleaned_data["nhs_number"])
        patient = Patient.objects.visible_to(self.user).filter(nhs_number=digits).first()
        if patient is None:
            # The same words whether the patient does not exist or is another team's.
            raise forms.ValidationError(
                _("No patient of your care teams has that NHS number"), code="not_found")
        self.cleaned_data["patient"] = patient
        return digits

    def clean(self):
        cleaned = super().clean()
        form = cleaned.get("form")
        if form is not None:
            version = form.versions.filter(retired_at__isnull=True).order_by("-number").first()
            if version is None:
                self.add_error("form", _("That form has no published version"))
            cleaned["version"] = version
        return cleaned


class UnlockForm(OTPAuthenticationForm):
    """Password and a one-time code, with the right phone keyboards and autofill."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})
        token = self.fields["otp_token"]
        token.label = _("Security code")
        token.help_text = _("From your authenticator app, or one of your backup codes")
        token.widget.attrs.update({"autocomplete": "one-time-code", "spellcheck": "false",
                                   "autocapitalize": "none"})

    def _chosen_device(self, user):
        # django-otp wants the device named; with only one, there is nothing to choose.
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device
