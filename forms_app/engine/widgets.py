"""Widgets the NHS.UK templates render by BoundField.widget_type.

``DatePartsWidget`` -> "dateparts", ``DateTimePartsWidget`` -> "datetimeparts",
``OpenChoiceWidget`` -> "openchoice"; everything else is a stock Django widget.
"""

from django import forms
from django.utils import timezone

from .values import to_date, to_datetime

OTHER = "__other__"


def _part(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "numeric", **attrs})


class DatePartsWidget(forms.MultiWidget):
    """Day, month and year boxes (the NHS.UK date input); subfields <name>_day etc."""

    def __init__(self, attrs=None):
        super().__init__(
            {"day": _part(), "month": _part(), "year": _part()},
            attrs,
        )

    def decompress(self, value):
        day = to_date(value) if value else None
        if day is None:
            return [None, None, None]
        return [str(day.day), str(day.month), str(day.year)]


class DateTimePartsWidget(forms.MultiWidget):
    """Day, month and year boxes plus a time box ("14:30"); subfields <name>_day ... _time."""

    def __init__(self, attrs=None):
        super().__init__(
            {"day": _part(), "month": _part(), "year": _part(), "time": forms.TextInput()},
            attrs,
        )

    def decompress(self, value):
        moment = to_datetime(value) if value else None
        if moment is None:
            return [None, None, None, None]
        local = timezone.localtime(moment)
        return [str(local.day), str(local.month), str(local.year), local.strftime("%H:%M")]


class OpenChoiceWidget(forms.MultiWidget):
    """Radios (or checkboxes) with an "Other" option and a text box for its details.

    The choice subwidget keeps the field's own name; the text box is <name>_other.
    The "Other" option's value is ``__other__``.
    """

    def __init__(self, choices, multiple=False, attrs=None):
        choice_widget = (forms.CheckboxSelectMultiple if multiple else forms.RadioSelect)(
            choices=choices
        )
        self.multiple = multiple
        super().__init__({"": choice_widget, "other": forms.TextInput()}, attrs)

    @property
    def choices(self):
        return self.widgets[0].choices

    def decompress(self, value):
        if self.multiple:
            codes, other = [], None
            for entry in value or ():
                if isinstance(entry, dict):
                    codes.append(OTHER)
                    other = entry.get("other")
                else:
                    codes.append(entry)
            return [codes, other]
        if isinstance(value, dict):
            return [OTHER, value.get("other")]
        return [value, None]
