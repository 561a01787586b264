"""Forms of the staff sign-in: the second-factor code and TOTP enrolment."""

from django import forms
from django_otp import devices_for_user
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


def _clean_code(value: str) -> str:
    return "".join(value.split()).lower()


class SecondFactorForm(forms.Form):
    """One box for a code from the authenticator app (6 digits) or a backup code.

    The device is chosen by the shape of the code, so a wrong guess is counted against
    that device only (django-otp's throttling: each failure doubles the wait).
    """

    code = forms.CharField(
        label="Code from your authenticator app, or a backup code", max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text",
                                      "spellcheck": "false", "autocapitalize": "none"}))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = None

    def clean_code(self):
        code = _clean_code(self.cleaned_data["code"])
        kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
        devices = [d for d in devices_for_user(self.user, confirmed=True) if isinstance(d, kind)]
        for device in devices:
            allowed, extra = device.verify_is_allowed()
            if not allowed:
                if extra.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
                    raise forms.ValidationError(
                        "Too many wrong codes. Wait a minute, then try again.")
                continue
            if device.verify_token(code):
                self.device = device
                return code
        raise forms.ValidationError("That code is not right. Check it and try again.")


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="The 6-digit code your authenticator app shows", max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    def __init__(self, device, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self):
        code = _clean_code(self.cleaned_data["code"])
        allowed, _extra = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes. Wait a minute, then try again.")
        if not (code.isdigit() and self.device.verify_token(code)):
            raise forms.ValidationError(
                "That code is not right. Check the time on your phone and try the newest code.")
        return code
