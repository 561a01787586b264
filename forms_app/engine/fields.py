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


class EngineFieldMixin:
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


class YesNoField(EngineFieldMixin, forms.TypedChoiceField):
    def __init__(self, item: Item, **kwargs):
        super().__init__(
            item,
            choices=[("yes", _("Yes")), ("no", _("No"))],
            coerce=lambda value: value == "yes",
            empty_value=None,
            widget=forms.RadioSelect,
            **kwargs,
        )


class SingleChoiceField(EngineFieldMixin, forms.ChoiceField):
    def clean(self, value):
        return super().clean(value) or None


class MultipleChoiceAnswerField(EngineFieldMixin, forms.MultipleChoiceField):
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


class OpenChoiceField(EngineFieldMixin, forms.Field):
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


class DateAnswerField(EngineFieldMixin, forms.Field):
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


class DateTimeAnswerField(EngineFieldMixin, forms.Field):
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
