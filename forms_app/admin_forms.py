"""Forms behind the admin's custom pages."""

import datetime

from django import forms
from django.utils import timezone

from forms_app.models import Link
from patients.models import CareTeam, Patient


class IssueLinkForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=Patient.objects.none())
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none())
    channel = forms.ChoiceField(choices=Link.Channel.choices, initial=Link.Channel.SCREEN)
    expires_in_days = forms.IntegerField(min_value=1, max_value=90, initial=14)

    def __init__(self, *args, user, version, **kwargs):
        super().__init__(*args, **kwargs)
        organisation = version.form.organisation
        self.fields["patient"].queryset = Patient.objects.visible_to(user).filter(
            organisation=organisation)
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user).filter(
            organisation=organisation)

    def expires_at(self):
        return timezone.now() + datetime.timedelta(days=self.cleaned_data["expires_in_days"])


class PublishForm(forms.Form):
    change_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=2000, help_text="What changed in this version.")
