"""The optional second step of the patient's identity check: a six-digit code.

Per form (Form.requires_one_time_code). After the date of birth matches, a code is sent
by text message or email to the contact on record; the patient enters it here. Wrong
codes count against the same lockout as wrong dates of birth. The verify view in
patient.py hands over to `start`; patient.py's verify_code view checks the code (it
needs the patient session, which lives there).
"""

from django import forms
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forms_app.delivery import services as delivery

SESSION_DOB_CHECKED = "patient_dob_checked"  # the date of birth matched; a code is due


def requires_code(link) -> bool:
    return link.version.form.requires_one_time_code


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Security code"), max_length=10,
                           widget=forms.TextInput(attrs={
                               "inputmode": "numeric", "autocomplete": "one-time-code",
                               "class": "nhsuk-input--width-10"}))

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("Enter the 6-digit code we sent you"))
        return code


def start(request, link, ip_address):
    """The date of birth matched: send a code and ask for it."""
    request.session[SESSION_DOB_CHECKED] = str(link.pk)
    sent = delivery.send_one_time_code(link_id=link.pk, ip_address=ip_address)
    if sent is None:
        return render(request, "forms_app/patient/no_code_contact.html", status=409)
    return redirect("patient:verify_code")
