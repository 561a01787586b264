"""Forms the patient fills in around the questionnaire itself."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DateOfBirthForm(forms.Form):
    """The NHS.UK date input: three boxes, with one clear message for the whole date."""

    day = forms.CharField(max_length=2, required=False)
    month = forms.CharField(max_length=2, required=False)
    year = forms.CharField(max_length=4, required=False)

    def clean(self):
        cleaned = super().clean()
        parts = [cleaned.get(name, "").strip() for name in ("day", "month", "year")]
        if not all(parts):
            raise forms.ValidationError(_("Enter your date of birth"), code="required")
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise forms.ValidationError(
                _("Date of birth must be a real date, like 27 3 1986"), code="invalid")
        day, month, year = (int(part) for part in parts)
        try:
            date = datetime.date(year, month, day)
        except ValueError:
            raise forms.ValidationError(
                _("Date of birth must be a real date, like 27 3 1986"), code="invalid"
            ) from None
        # The trust's local date (TIME_ZONE), not the server clock's: a baby born today
        # in London is not "in the future" just after midnight in summer time.
        if year < 1900 or date > timezone.localdate():
            raise forms.ValidationError(
                _("Date of birth must be in the past"), code="out_of_range")
        cleaned["date_of_birth"] = date
        return cleaned
