"""Form fields per question type, each returning the JSON-safe answer shape.

Every field checks raw input for NUL bytes and excessive length before parsing, so
hostile input gets a message, never an exception or a slow parse.
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import messages
from .items import Item
from .nhs_number import is_valid_nhs_number, normalise_nhs_number
from .values import (
    decimal_places,
    format_date,
    format_time,
    normalise_uk_phone,
    parse_number_text,
    parse_time_text,
    to_time,
)
from .widgets import OTHER, DatePartsWidget, DateTimePartsWidget, OpenChoiceWidget

DEFAULT_TEXT_LIMIT = 10_000
SHORT_INPUT_LIMIT = 100  # numbers, dates and times are never longer than this
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


def checked_text(item: Item, value, limit: int) -> str:
    """Raw input as stripped text, refusing NUL bytes and anything over ``limit``."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise ValidationError(messages.bad_character(item), code="null_characters_not_allowed")
    text = text.strip()
    if len(text) > limit:
        raise ValidationError(messages.too_long(item, limit), code="max_length")
    return text


def plain_number(number: Decimal) -> str:
    """ "72.5", never "7.25E+1"."""
    return format(number, "f")


# --- Rendering -----------------------------------------------------------------------
# Each field says which NHS.UK component renders it and with which parameters, in the
# shape of nhsuk-frontend-jinja's macros (jinja2/includes/fields.html calls them). The
# parameters are built here, in Python, so a page renders each field with one macro
# call and no template logic per widget (docs/adr/0012-jinja2-for-patient-pages.md).

# Input widths (characters) for numbers: the smallest NHS.UK width that fits the limit.
_WIDTHS = (2, 3, 4, 5, 10)
# Units written before the number rather than after it.
_PREFIX_UNITS = frozenset({"£", "$", "€"})
# Widget attrs that are parameters of the input macro rather than plain attributes.
_INPUT_PARAMS = ("inputmode", "autocomplete", "autocapitalize", "pattern")
# Written by the macros themselves, or never written: `required` (the server validates;
# the browser's own bubbles would pre-empt the NHS error summary), the unit (a suffix).
_NOT_ATTRIBUTES = frozenset(
    {"id", "name", "type", "value", "class", "required", "data-unit", "spellcheck", "rows",
     "cols", *_INPUT_PARAMS}
)


def _label(bound, page_heading: bool) -> dict:
    label = {"text": str(bound.label), "size": "l" if page_heading else "m",
             "isPageHeading": page_heading}
    item = getattr(bound.field, "item", None)
    if item is not None and not item.required and not item.in_required_group:
        # NHS.UK marks the optional questions, not the required ones. The mark is in the
        # page's language even where the question is not (an untranslated form's <div
        # lang="en"> on a Welsh page).
        label["html"] = format_html('{} <span class="app-optional" lang="{}">{}</span>',
                                    label.pop("text"), get_language() or "en", _("(optional)"))
    return label


def _common(bound, page_heading: bool, *, legend: bool) -> dict:
    params = {"name": bound.html_name}
    if bound.help_text:
        params["hint"] = {"text": str(bound.help_text)}
    if bound.errors:
        params["errorMessage"] = {"text": str(bound.errors[0])}
    if legend:
        params["fieldset"] = {"legend": _label(bound, page_heading)}
        params["idPrefix"] = bound.auto_id
    else:
        params["label"] = _label(bound, page_heading)
        params["id"] = bound.auto_id
    return params


def _attributes(attrs: dict) -> dict:
    return {
        name: value for name, value in attrs.items()
        if name not in _NOT_ATTRIBUTES and value is not None and value is not False
    }


def _input_params(bound, page_heading: bool, widget, value) -> dict:
    attrs = widget.attrs
    params = _common(bound, page_heading, legend=False)
    params["type"] = attrs.get("type") or getattr(widget, "input_type", "text")
    if value not in (None, ""):
        params["value"] = value
    for name in _INPUT_PARAMS:
        if attrs.get(name):
            params[name] = attrs[name]
    if "spellcheck" in attrs:
        params["spellcheck"] = str(attrs["spellcheck"]).lower() == "true"
    if attrs.get("class"):
        params["classes"] = attrs["class"]
    params["attributes"] = _attributes(attrs)
    return params


def _choice_items(bound, chosen, conditional, *, exclusive=frozenset(), choices=None):
    items = []
    for value, text in (bound.field.choices if choices is None else choices):
        value = str(value)
        item = {"value": value, "text": str(text), "checked": value in chosen}
        if value in exclusive:
            item["behaviour"] = "exclusive"
        if conditional and conditional.get(value):
            item["conditional"] = {"html": conditional[value]}
        items.append(item)
    return items


def _chosen(value) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return {str(value)}


class RendersComponent:
    """The NHS.UK component for a stock text, choice or number widget."""

    def nhsuk_component(self, bound, *, page_heading=False, conditional=None):
        """(macro name, parameters) for nhsuk-frontend-jinja: "input", "textarea",
        "radios", "checkboxes", "select", "dateInput" or "dateTimeInput" (ours: a
        date input and a time input in one fieldset).

        ``conditional`` maps an option's value to HTML revealed under it (the NHS.UK
        conditional reveal), for questions that depend on this one.
        """
        widget = self.widget
        if isinstance(widget, forms.Textarea):
            params = _common(bound, page_heading, legend=False)
            params.update(value=bound.value() or "", rows=widget.attrs.get("rows", 5),
                          attributes=_attributes(widget.attrs))
            return "textarea", params
        if isinstance(widget, forms.Select) and not isinstance(widget, forms.RadioSelect):
            return "select", self._nhsuk_select(bound, page_heading)
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            return self._nhsuk_choices(bound, page_heading, conditional)
        return "input", self._nhsuk_input(bound, page_heading)

    def nhsuk_error_target(self, bound) -> str:
        """The id the error summary links to: the input, or the first radio or box."""
        return bound.auto_id

    def _nhsuk_input(self, bound, page_heading):
        return _input_params(bound, page_heading, self.widget, bound.value())

    def _nhsuk_select(self, bound, page_heading):
        params = _common(bound, page_heading, legend=False)
        chosen = _chosen(bound.value())
        params["items"] = [
            {"value": str(value), "text": str(text), "selected": str(value) in chosen}
            for value, text in self.choices
        ]
        params["attributes"] = _attributes(self.widget.attrs)
        return params

    def _nhsuk_choices(self, bound, page_heading, conditional):
        multiple = isinstance(self.widget, forms.CheckboxSelectMultiple)
        params = _common(bound, page_heading, legend=True)
        item = getattr(self, "item", None)
        exclusive = frozenset(o.code for o in item.options if o.exclusive) if item else ()
        params["items"] = _choice_items(bound, _chosen(bound.value()), conditional,
                                        exclusive=exclusive)
        params["inline"] = _inline(item, multiple, conditional, params["items"])
        return ("checkboxes" if multiple else "radios"), params


def _inline(item: Item | None, multiple: bool, conditional, choices: list[dict]) -> bool:
    """Whether the radios or boxes sit side by side (nhsuk-radios--inline): as the
    author's choiceOrientation says, else two short answers (yes or no). Never when an
    answer reveals a question: NHS.UK conditional reveals are only for stacked options."""
    orientation = item.orientation if item is not None else None
    if conditional or orientation == "vertical":
        return False
    if orientation == "horizontal":
        return True
    return not multiple and len(choices) == 2 and all(len(c["text"]) <= 12 for c in choices)


def _number_width(item: Item) -> int:
    limits = [Decimal(v) for v in (item.min_value, item.max_value) if isinstance(v, int | Decimal)]
    digits = max((len(plain_number(abs(v))) + (v < 0) for v in limits), default=4)
    places = item.max_decimal_places or (0 if item.type == "integer" else 2)
    needed = digits + (places + 1 if places and item.type != "integer" else 0)
    return next((width for width in _WIDTHS if width >= needed), _WIDTHS[-1])


def _parts(bound, count: int) -> list:
    """A multi-part field's raw parts: posted data, or the initial answer decompressed."""
    value = bound.value()
    if not isinstance(value, list | tuple):
        value = bound.field.widget.decompress(value)
    return [*value, *([None] * count)][:count]


_DATE_PARTS = (("day", _("Day"), 2), ("month", _("Month"), 2), ("year", _("Year"), 4))


def _date_items(bound, parts, *, autocomplete="off") -> list[dict]:
    error = bool(bound.errors)
    return [
        {"id": f"{bound.auto_id}-{name}", "name": f"{bound.html_name}_{name}",
         "label": str(label), "value": "" if value is None else str(value), "width": width,
         "inputmode": "numeric", "autocomplete": autocomplete,
         "classes": "nhsuk-input--error" if error else ""}
        for (name, label, width), value in zip(_DATE_PARTS, parts, strict=False)
    ]


class RendersDate:
    """A date (NHS.UK date input) or a date and time (the date input and a time box)."""

    def nhsuk_error_target(self, bound) -> str:
        return f"{bound.auto_id}-day"

    def nhsuk_component(self, bound, *, page_heading=False, conditional=None):
        with_time = isinstance(self.widget, DateTimePartsWidget)
        parts = _parts(bound, 4 if with_time else 3)
        params = _common(bound, page_heading, legend=True)
        params.pop("idPrefix")
        params.update(id=bound.auto_id, items=_date_items(bound, parts))
        params["fieldset"]["role"] = "group"
        if not with_time:
            return "dateInput", params
        # One fieldset around both (jinja2/includes/fields.html): the date input inside
        # it has no fieldset, hint or error message of its own.
        date = {"id": bound.auto_id, "items": params.pop("items"),
                "formGroup": {"classes": "nhsuk-u-margin-bottom-4"}}
        params.update(date=date, legend=params.pop("fieldset")["legend"])
        params["time"] = {
            "id": f"{bound.auto_id}-time", "name": f"{bound.html_name}_time",
            "label": {"text": str(_("Time"))},
            "hint": {"text": str(_("Use the 24-hour clock, for example 14:30"))},
            "value": parts[3] or "", "width": 5, "spellcheck": False, "autocomplete": "off",
            "formGroup": {"classes": "app-time-input"},
            "classes": "nhsuk-input--error" if bound.errors else "",
        }
        return "dateTimeInput", params


class RendersOpenChoice:
    """Radios (or checkboxes) whose "Other" option reveals a text box for the details."""

    def nhsuk_component(self, bound, *, page_heading=False, conditional=None):
        multiple = self.widget.multiple
        chosen_part, other = _parts(bound, 2)
        params = _common(bound, page_heading, legend=True)
        params["items"] = _choice_items(bound, _chosen(chosen_part), conditional,
                                        choices=self.widget.choices)
        params["other"] = {
            "id": f"{bound.auto_id}-other", "name": f"{bound.html_name}_other",
            "label": {"text": str(_("If other, give details"))}, "value": other or "",
            "classes": "nhsuk-input--error" if bound.errors else "",
        }
        return ("checkboxes" if multiple else "radios"), params


class EngineFieldMixin(RendersComponent):
    def __init__(self, item: Item, **kwargs):
        self.item = item
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", messages.required(item))
        kwargs["error_messages"].setdefault("invalid_choice", messages.INVALID_CHOICE)
        super().__init__(**kwargs)


class TextAnswerField(EngineFieldMixin, forms.CharField):
    def __init__(self, item: Item, **kwargs):
        self.limit = min(item.max_length or DEFAULT_TEXT_LIMIT, DEFAULT_TEXT_LIMIT)
        super().__init__(item, strip=True, empty_value=None, **kwargs)

    def to_python(self, value):
        return checked_text(self.item, value, self.limit) or None

    def clean(self, value):
        text = super().clean(value)
        if text is None:
            return None
        item = self.item
        if item.min_length and len(text) < item.min_length:
            raise ValidationError(messages.too_short(item, item.min_length), code="min_length")
        if item.regex is not None and not item.regex.fullmatch(text):
            raise ValidationError(messages.bad_format(item), code="invalid")
        return self._formatted(text)

    def _formatted(self, text: str) -> str:
        item_format = self.item.input_format
        if item_format == "email":
            EmailValidator(message=messages.EMAIL)(text)
        elif item_format == "uk-phone":
            phone = normalise_uk_phone(text)
            if phone is None:
                raise ValidationError(messages.UK_PHONE, code="invalid")
            return phone
        elif item_format == "nhs-number":
            digits = normalise_nhs_number(text)
            if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
                raise ValidationError(messages.NHS_NUMBER_LENGTH, code="invalid")
            if not is_valid_nhs_number(digits):
                raise ValidationError(messages.NHS_NUMBER_INVALID, code="invalid")
            return digits
        elif self.item.type == "url":
            URLValidator(schemes=["http", "https"], message=messages.URL)(text)
        return text


class NumberAnswerField(EngineFieldMixin, forms.Field):
    """integer -> int, decimal -> exact str, quantity -> {"value": str, "unit": code}."""

    def _nhsuk_input(self, bound, page_heading):
        params = super()._nhsuk_input(bound, page_heading)
        params["width"] = _number_width(self.item)
        unit = self.widget.attrs.get("data-unit")
        if unit:
            params["prefix" if unit in _PREFIX_UNITS else "suffix"] = unit
        return params

    def to_python(self, value):
        text = checked_text(self.item, value, SHORT_INPUT_LIMIT)
        if not text:
            return None
        number = parse_number_text(text)
        if number is None:
            raise ValidationError(messages.not_a_number(self.item), code="invalid")
        if self.item.type == "integer" and number != number.to_integral_value():
            raise ValidationError(messages.not_whole(self.item), code="invalid")
        return number

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        item = self.item
        if item.min_value is not None and value < item.min_value:
            raise ValidationError(
                messages.at_least(item, plain_number(item.min_value)), code="min_value"
            )
        if item.max_value is not None and value > item.max_value:
            raise ValidationError(
                messages.at_most(item, plain_number(item.max_value)), code="max_value"
            )
        places = item.max_decimal_places
        if places is not None and decimal_places(value) > places:
            raise ValidationError(messages.too_many_places(item, places), code="invalid")

    def clean(self, value):
        number = super().clean(value)
        if number is None:
            return None
        if self.item.type == "integer":
            return int(number)
        text = plain_number(number)
        if self.item.type == "quantity":
            return {"value": text, "unit": (self.item.unit or {}).get("code")}
        return text


class SharedChoices:
    """A choice field whose copies share its choices.

    Django builds every form from deep copies of its class's fields, and a ChoiceField
    deep-copies its list of choices each time: an engine page's options, copied option
    by option on every request. An engine field's choices are set once, when its page's
    form class is built, and only ever replaced, never changed in place, so a copy can
    share them (the widget still gets its own shallow copy, as Django gives it)."""

    def __deepcopy__(self, memo):
        result = forms.Field.__deepcopy__(self, memo)
        result._choices = self._choices
        return result


class YesNoField(SharedChoices, EngineFieldMixin, forms.TypedChoiceField):
    def __init__(self, item: Item, **kwargs):
        super().__init__(
            item,
            choices=[("yes", _("Yes")), ("no", _("No"))],
            coerce=lambda value: value == "yes",
            empty_value=None,
            widget=forms.RadioSelect,
            **kwargs,
        )


class SingleChoiceField(SharedChoices, EngineFieldMixin, forms.ChoiceField):
    def clean(self, value):
        return super().clean(value) or None


class MultipleChoiceAnswerField(SharedChoices, EngineFieldMixin, forms.MultipleChoiceField):
    def __init__(self, item: Item, **kwargs):
        kwargs.setdefault("error_messages", {})["invalid_list"] = messages.INVALID_CHOICE
        super().__init__(item, **kwargs)

    def clean(self, value):
        chosen = set(super().clean(value) or ())
        codes = [option.code for option in self.item.options if option.code in chosen]
        _check_exclusive(self.item, codes)
        return codes or None


def _check_exclusive(item: Item, codes: list[str]) -> None:
    if len(codes) < 2:
        return
    for code in codes:
        option = item.option(code) if code != OTHER else None
        if option is not None and option.exclusive:
            raise ValidationError(messages.exclusive(option.display), code="exclusive")


class OpenChoiceField(RendersOpenChoice, EngineFieldMixin, forms.Field):
    """code, or {"other": text}; with repeats a list of codes and at most one such dict."""

    def __init__(self, item: Item, choices, **kwargs):
        self.codes = {option.code for option in item.options}
        kwargs["widget"] = OpenChoiceWidget(choices, multiple=item.is_multiple)
        super().__init__(item, **kwargs)

    def to_python(self, value):
        if not isinstance(value, list | tuple):
            value = self.widget.decompress(value)
        chosen = value[0] if value else None
        other = checked_text(
            self.item,
            value[1] if len(value) > 1 else None,
            min(self.item.max_length or DEFAULT_TEXT_LIMIT, DEFAULT_TEXT_LIMIT),
        )
        if self.item.is_multiple:
            return self._multiple(chosen, other)
        if chosen in (None, ""):
            # Without JavaScript the details box is always visible: typing in it is a choice.
            return {"other": other} if other else None
        if chosen == OTHER:
            if not other:
                raise ValidationError(messages.other_missing(self.item), code="required")
            return {"other": other}
        if not isinstance(chosen, str) or chosen not in self.codes:
            raise ValidationError(messages.INVALID_CHOICE, code="invalid_choice")
        return chosen

    def _multiple(self, chosen, other: str):
        chosen = [chosen] if isinstance(chosen, str) else list(chosen or ())
        if any(not isinstance(c, str) or (c not in self.codes and c != OTHER) for c in chosen):
            raise ValidationError(messages.INVALID_CHOICE, code="invalid_choice")
        codes = [option.code for option in self.item.options if option.code in chosen]
        _check_exclusive(self.item, [*codes, *([OTHER] if OTHER in chosen or other else [])])
        if OTHER in chosen and not other:
            raise ValidationError(messages.other_missing(self.item), code="required")
        answer = [*codes, *([{"other": other}] if other else [])]
        return answer or None


def parse_date_parts(item: Item, parts) -> dt.date | None:
    day, month, year = (checked_text(item, part, SHORT_INPUT_LIMIT) for part in parts[:3])
    if not (day or month or year):
        return None
    missing = [name for name, part in (("day", day), ("month", month), ("year", year)) if not part]
    if missing:
        raise ValidationError(
            messages.date_missing_parts(item, " and ".join(missing)), code="incomplete"
        )
    month = str(_MONTHS.get(month.lower(), month))
    if not all(part.isascii() and part.isdigit() for part in (day, month, year)):
        raise ValidationError(messages.not_real_date(item), code="invalid")
    if len(year) != 4:
        raise ValidationError(messages.YEAR_DIGITS, code="invalid")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(messages.not_real_date(item), code="invalid") from None


class DateAnswerField(RendersDate, EngineFieldMixin, forms.Field):
    widget = DatePartsWidget

    def to_python(self, value):
        if not isinstance(value, list | tuple):
            value = self.widget.decompress(value)
        return parse_date_parts(self.item, list(value) + [None] * 3)

    def validate(self, value):
        super().validate(value)
        if value is not None:
            _check_date_limits(self.item, value, timezone.localdate())

    def clean(self, value):
        day = super().clean(value)
        return day.isoformat() if day else None


def _check_date_limits(item: Item, day: dt.date, today: dt.date) -> None:
    if item.not_in_future and day > today:
        raise ValidationError(messages.date_in_future(item), code="max_value")
    low = item.min_value.date() if isinstance(item.min_value, dt.datetime) else item.min_value
    high = item.max_value.date() if isinstance(item.max_value, dt.datetime) else item.max_value
    if low is not None and day < low:
        raise ValidationError(messages.date_before(item, format_date(low)), code="min_value")
    if high is not None and day > high:
        raise ValidationError(messages.date_after(item, format_date(high)), code="max_value")


class TimeAnswerField(EngineFieldMixin, forms.Field):
    def _nhsuk_input(self, bound, page_heading):
        return {**super()._nhsuk_input(bound, page_heading), "width": 5, "spellcheck": False}

    def to_python(self, value):
        text = checked_text(self.item, value, SHORT_INPUT_LIMIT)
        if not text:
            return None
        time = parse_time_text(text)
        if time is None:
            raise ValidationError(messages.not_real_time(self.item), code="invalid")
        return time

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        item, comparable = self.item, to_time(value)
        if item.min_value is not None and comparable < item.min_value:
            raise ValidationError(
                messages.at_least(item, format_time(item.min_value)), code="min_value"
            )
        if item.max_value is not None and comparable > item.max_value:
            raise ValidationError(
                messages.at_most(item, format_time(item.max_value)), code="max_value"
            )


class DateTimeAnswerField(RendersDate, EngineFieldMixin, forms.Field):
    """An aware ISO dateTime with seconds and offset, as FHIR requires."""

    widget = DateTimePartsWidget

    def to_python(self, value):
        if not isinstance(value, list | tuple):
            value = self.widget.decompress(value)
        value = list(value) + [None] * 4
        day = parse_date_parts(self.item, value)
        time_text = checked_text(self.item, value[3], SHORT_INPUT_LIMIT)
        if day is None and not time_text:
            return None
        if day is None:
            raise ValidationError(messages.date_missing_parts(self.item, "date"), code="invalid")
        if not time_text:
            raise ValidationError(messages.time_missing(self.item), code="incomplete")
        time = parse_time_text(time_text)
        if time is None:
            raise ValidationError(messages.not_real_time(self.item), code="invalid")
        naive = dt.datetime.combine(day, dt.time.fromisoformat(time))
        return timezone.make_aware(naive, timezone.get_current_timezone())

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        item = self.item
        if item.not_in_future and value > timezone.now():
            raise ValidationError(messages.date_in_future(item), code="max_value")
        if item.min_value is not None and value < item.min_value:
            raise ValidationError(
                messages.date_before(item, format_date(item.min_value)), code="min_value"
            )
        if item.max_value is not None and value > item.max_value:
            raise ValidationError(
                messages.date_after(item, format_date(item.max_value)), code="max_value"
            )

    def clean(self, value):
        moment = super().clean(value)
        return moment.isoformat(timespec="seconds") if moment else None
