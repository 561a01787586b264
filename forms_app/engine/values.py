"""Conversions between stored answers, Python values and readable text.

Stored answers are JSON-safe (see the package docstring); these helpers turn them
into comparable Python values and into the words a patient reads back.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dates import MONTHS

from .nhs_number import format_nhs_number

_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_INTEGER_TEXT = re.compile(r"[+-]?\d+", re.ASCII)
_TIME_TEXT = re.compile(
    r"(\d{1,2})(?:[:.](\d{2}))?(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.ASCII
)
_PHONE_TEXT = re.compile(r"0\d{9,10}", re.ASCII)


MAX_EXPONENT = 30


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def parse_number_text(text: str) -> Decimal | None:
    """A number as people type it ("1,200", " 72.5 ", "-3"); None if it is not one.

    Exponents, NaN and Infinity are refused: Decimal would accept them.
    """
    cleaned = text.replace(",", "").replace(" ", "")
    if not _DECIMAL_TEXT.fullmatch(cleaned):
        return None
    return Decimal(cleaned)


def is_whole_number_text(text: str) -> bool:
    return bool(_INTEGER_TEXT.fullmatch(text.replace(",", "").replace(" ", "")))


def decimal_places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_time_text(text: str) -> str | None:
    """ "14:30", "14.30", "2pm", "2:30 pm" -> "HH:MM" (or "HH:MM:SS"); None if not a time."""
    match = _TIME_TEXT.fullmatch(text.strip().lower())
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2] or 0), match[3]
    meridiem = match[4]
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    elif match[2] is None:
        return None  # a bare "14" is too ambiguous to accept
    if hour > 23 or minute > 59 or (second is not None and int(second) > 59):
        return None
    return f"{hour:02d}:{minute:02d}" + (f":{second}" if second is not None else "")


def normalise_uk_phone(text: str) -> str | None:
    """A UK number in national form ("07700900982"); None if it cannot be one."""
    digits = re.sub(r"[\s()-]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:].removeprefix("0")
    elif digits.startswith("0044"):
        digits = "0" + digits[4:].removeprefix("0")
    return digits if _PHONE_TEXT.fullmatch(digits) else None


# Stored answer -> comparable Python value.


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dict):  # a quantity
        value = value.get("value")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # NaN and Infinity compare oddly, and huge exponents make arithmetic slow.
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
        return None
    return number


def to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def to_time(value: Any) -> str | None:
    """ "HH:MM" or "HH:MM:SS" -> "HH:MM:SS", which compares correctly as text."""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    text = str(value)
    if re.fullmatch(r"\d{2}:\d{2}", text, re.ASCII):
        return text + ":00"
    if re.fullmatch(r"\d{2}:\d{2}:\d{2}", text, re.ASCII):
        return text
    return None


# Readable text for the "check your answers" page.


def format_date(value: Any) -> str:
    day = to_date(value)
    if day is None:
        return str(value)
    return f"{day.day} {MONTHS[day.month]} {day.year}"


def format_time(value: Any) -> str:
    text = to_time(value)
    if text is None:
        return str(value)
    return text[:5] if text.endswith(":00") else text


def format_datetime(value: Any) -> str:
    moment = to_datetime(value)
    if moment is None:
        return str(value)
    local = timezone.localtime(moment)
    return f"{format_date(local.date())}, {local.strftime('%H:%M')}"


def format_nhs(value: Any) -> str:
    return format_nhs_number(str(value))
