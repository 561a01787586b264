"""The optional second step of the patient's identity check: a six-digit code.

Per form (Form.requires_one_time_code). After the date of birth matches, a code is sent
by text message or email to the contact on record; the patient enters it here. Wrong
codes count against the same lockout as wrong dates of birth. The verify view in
patient.py hands over to `start` and this module does the rest.
"""

from django import forms
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from forms_app import services
from forms_app.delivery import services as delivery
from patients.client_ip import client_ip

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


@never_cache
@require_http_methods(["GET", "POST"])
def verify_code(request):
    # Imported here: patient.py imports this module for the hand-over.
    from forms_app.views.patient import (
        SESSION_LINK,
        SESSION_VERIFIED,
        _link_invalid,
        _session_link,
    )

    link = _session_link(request, SESSION_LINK)
    if link is None or request.session.get(SESSION_DOB_CHECKED) != str(link.pk):
        return _link_invalid(request) if link is None else redirect("patient:verify")
    if request.method == "POST" and request.POST.get("send_again"):
        return start(request, link, client_ip(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        outcome = delivery.verify_one_time_code(link_id=link.pk, code=form.cleaned_data["code"],
                                                ip_address=client_ip(request))
        if outcome == services.IdentityCheck.VERIFIED:
            request.session.pop(SESSION_DOB_CHECKED, None)
            request.session.cycle_key()
            request.session[SESSION_VERIFIED] = str(link.pk)
            return redirect("patient:answer")
        if outcome == services.IdentityCheck.LOCKED:
            request.session.pop(SESSION_DOB_CHECKED, None)
            return render(request, "forms_app/patient/locked.html", status=429)
        form.add_error("code", _("The code is not right, or it has expired. Check it, or "
                                 "ask for a new code."))
    channel = (link.one_time_codes.values_list("channel", flat=True).first() or "sms")
    return render(request, "forms_app/patient/verify_code.html",
                  {"form": form, "channel": channel},
                  status=400 if form.errors else 200)
