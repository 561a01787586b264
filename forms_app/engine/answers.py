"""The stored answer shape per question type, and its readings.

Each type's rules live once, in ``ANSWER_TYPES``: whether a stored value fits the
question, the page form's initial, the words read back, the QuestionnaireResponse
answer, and how a FHIRPath result (calculated or initial) becomes a stored answer.

Answers are a flat ``{linkId: value}`` dict of JSON-safe values:

=============  ==============================================================
boolean        True / False
integer        int
decimal        str, exact as typed ("72.5")
quantity       {"value": "72.5", "unit": "kg"} (unit is the UCUM code)
date           "YYYY-MM-DD"
time           "HH:MM" or "HH:MM:SS"
dateTime       "YYYY-MM-DDTHH:MM:SS+HH:MM" (aware, in the active time zone)
string, text   str (uk-phone stored as "07700900982", nhs-number as 10 digits)
url            str
choice         the option's code (str); with repeats, a list of codes in option order
open-choice    a code or {"other": "free text"}; with repeats a list of codes and at
               most one {"other": ...}
attachment     {"id", "title", "contentType", "size", "hash"}: the stored file (see
               ``attachments``); its bytes are added only when the response is filed
=============  ==============================================================

Unanswered questions are None or absent.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from . import attachments
from .extensions import ITEM_WEIGHT
from .items import Item
from .values import (
    format_date,
    format_datetime,
    format_nhs,
    format_time,
    is_empty,
    to_date,
    to_datetime,
    to_decimal,
    to_time,
)
from .widgets import OTHER


def fits(item: Item, value: Any) -> bool:
    """Whether ``value`` is a well-formed answer to ``item`` (stale or forged ones are not)."""
    return _rule(item).fits(item, value)


def to_initial(item: Item, value: Any) -> Any:
    """A stored answer as the page's form expects it for ``initial=``."""
    if value is None:
        return None
    return _rule(item).initial(item, value)


def display(item: Item, value: Any) -> str:
    """The answer as words for the "check your answers" page."""
    if is_empty(value):
        return _("Not answered")
    if item.is_repeating_question and isinstance(value, list):
        return "\n".join(_rule(item).display(item, v) for v in value)
    return _rule(item).display(item, value)


def fhir_answers(item: Item, value: Any, *, scored: bool = False) -> list[dict]:
    """The QuestionnaireResponse ``answer`` list for a stored answer."""
    if is_empty(value):
        return []
    rule = _rule(item)
    if item.is_repeating_question and isinstance(value, list):
        # A repeating question is never a choice, so there is no option score to write.
        return [answer for v in value for answer in rule.fhir(item, v, False)]
    return rule.fhir(item, value, scored)


def from_fhirpath(item: Item, value: Any) -> Any:
    """One FHIRPath result (a calculatedExpression's or an initialExpression's) in the
    stored answer shape of ``item``; None if it cannot be an answer to it."""
    return _rule(item).from_fhirpath(item, value)


# Where a filed response's Attachment points before its bytes are put in (filing
# replaces it with ``data``): the stored file's id.
ATTACHMENT_URL_PREFIX = "urn:uuid:"


def attachment_resource(value: dict) -> dict:
    """A stored attachment answer as a FHIR Attachment, without its bytes."""
    return {"contentType": value["contentType"], "size": value["size"],
            "hash": value["hash"], "title": value["title"],
            "url": ATTACHMENT_URL_PREFIX + value["id"]}


# What the table's functions are handed: the question and one stored value (one
# instance's, for a repeating question), and for FHIR whether option scores are wanted.
Fits = Callable[[Item, Any], bool]
Initial = Callable[[Item, Any], Any]
Words = Callable[[Item, Any], str]
FhirAnswers = Callable[[Item, Any, bool], list[dict]]
FromFhirpath = Callable[[Item, Any], Any]


def _as_stored(item: Item, value: Any) -> Any:
    return value


def _as_text(item: Item, value: Any) -> str:
    return str(value)


def _text_from_fhirpath(item: Item, value: Any) -> str | None:
    # A date, time or string result is kept as its text; a structure or a bool is no
    # answer to a question typed as text.
    if isinstance(value, bool | dict | list) or value is None:
        return None
    return str(value)


@dataclass(frozen=True)
class AnswerType:
    """One question type's answer rules, in one place: whether a stored value fits the
    question, how the page's form is pre-filled with it, how the patient reads it back,
    how it is written as QuestionnaireResponse ``answer`` entries and how a FHIRPath
    result becomes one."""

    fits: Fits
    fhir: FhirAnswers
    display: Words = _as_text
    initial: Initial = _as_stored
    from_fhirpath: FromFhirpath = _text_from_fhirpath


def _value_as(key: str, convert: Callable[[Any], Any] = lambda value: value) -> FhirAnswers:
    """The FHIR answer of a type whose value[x] is the stored value itself, converted."""
    def answer(item: Item, value: Any, scored: bool) -> list[dict]:
        return [{key: convert(value)}]
    return answer


def _words(describe: Callable[[Any], str]) -> Words:
    """Display by the value alone (dates and times read the same on every question)."""
    return lambda item, value: describe(value)


def _is_text(item: Item, value: Any) -> bool:
    return isinstance(value, str) and value != ""


# Boolean: stored True / False; the form's radios are "yes" / "no".

def _fits_boolean(item: Item, value: Any) -> bool:
    return isinstance(value, bool)


def _boolean_initial(item: Item, value: Any) -> str:
    return "yes" if value else "no"


def _boolean_words(item: Item, value: Any) -> str:
    return _("Yes") if value else _("No")


def _boolean_from_fhirpath(item: Item, value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


# Numbers: an integer is an int (a bool is not one, though Python says it is); a
# decimal is kept as typed, so "72.50" is not rounded before a clinician sees it.

def _fits_integer(item: Item, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits_decimal(item: Item, value: Any) -> bool:
    return isinstance(value, str) and to_decimal(value) is not None


def _decimal_number(value: Any) -> float:
    return float(to_decimal(value))


def _fhirpath_number(value: Any) -> Decimal | None:
    if isinstance(value, dict):  # a Quantity
        value = value.get("value")
    number = to_decimal(value) if not isinstance(value, bool) else None
    # An infinite or NaN result (a division by zero) is no answer, not a stored "Infinity".
    return number if number is not None and number.is_finite() else None


def _integer_from_fhirpath(item: Item, value: Any) -> int | None:
    number = _fhirpath_number(value)
    return None if number is None else int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal_text(item: Item, number: Decimal) -> str:
    # A calculated decimal is rounded as the question allows a patient to type it.
    if item.max_decimal_places is not None:
        number = number.quantize(Decimal(1).scaleb(-item.max_decimal_places),
                                 rounding=ROUND_HALF_UP)
    return format(number, "f")


def _decimal_from_fhirpath(item: Item, value: Any) -> str | None:
    number = _fhirpath_number(value)
    return None if number is None else _decimal_text(item, number)


# Quantity: {"value": "72.5", "unit": "kg"}; the form's field holds only the number,
# the unit being the question's.

def _fits_quantity(item: Item, value: Any) -> bool:
    return isinstance(value, dict) and to_decimal(value.get("value")) is not None


def _quantity_initial(item: Item, value: Any) -> Any:
    return value.get("value")


def _quantity_words(item: Item, value: Any) -> str:
    unit = item.unit or {}
    return f"{value.get('value')} {unit.get('display') or value.get('unit') or ''}".strip()


def _quantity_fhir(item: Item, value: Any, scored: bool) -> list[dict]:
    unit = item.unit or {}
    quantity = {"value": float(to_decimal(value))}
    code = value.get("unit") if isinstance(value, dict) else None
    # Without a unit on the answer or the question there is no unit to write: a bare
    # number, not one with an invented code.
    if code or unit.get("code"):
        quantity["unit"] = unit.get("display") or code or unit["code"]
        quantity["system"] = unit.get("system") or "http://unitsofmeasure.org"
        quantity["code"] = code or unit["code"]
    return [{"valueQuantity": quantity}]


def _quantity_from_fhirpath(item: Item, value: Any) -> dict | None:
    # The stored unit is the question's code: a Quantity result's own unit is neither
    # kept nor converted.
    number = _fhirpath_number(value)
    if number is None:
        return None
    return {"value": _decimal_text(item, number), "unit": (item.unit or {}).get("code")}


# Dates and times: ISO text, checked by parsing (a forged "2024-02-30" does not fit).

def _fits_date(item: Item, value: Any) -> bool:
    # Exactly "YYYY-MM-DD": no time part, and no partial date the form never makes.
    return isinstance(value, str) and len(value) == 10 and to_date(value) is not None


def _fits_datetime(item: Item, value: Any) -> bool:
    return isinstance(value, str) and to_datetime(value) is not None


def _fits_time(item: Item, value: Any) -> bool:
    return isinstance(value, str) and to_time(value) is not None


# Text: a string question may carry input-format (only a string question can: see
# item_rules); an NHS number is stored as 10 digits and read back spaced 3-3-4.

def _string_words(item: Item, value: Any) -> str:
    return format_nhs(value) if item.input_format == "nhs-number" else str(value)


# Attachment: the stored file's description; its bytes go in only at filing.

def _fits_attachment(item: Item, value: Any) -> bool:
    return attachments.is_answer(value)


def _attachment_words(item: Item, value: Any) -> str:
    return attachments.describe(value) if isinstance(value, dict) else str(value)


def _attachment_fhir(item: Item, value: Any, scored: bool) -> list[dict]:
    return [{"valueAttachment": attachment_resource(value)}]


# Choices: an option's code; an open choice's own words are {"other": "..."}. With
# repeats the answer is a list of them, one FHIR answer each.

def _fits_choices(item: Item, value: Any) -> bool:
    if item.is_multiple:
        return isinstance(value, list) and bool(value) and all(_fits_choice(item, v) for v in value)
    return _fits_choice(item, value)


def _fits_choice(item: Item, value: Any) -> bool:
    if isinstance(value, str):
        return item.option(value) is not None
    return (
        item.type == "open-choice"
        and isinstance(value, dict)
        and isinstance(value.get("other"), str)
        and bool(value["other"])
    )


def _each_choice(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _open_choice_initial(item: Item, value: Any) -> list:
    # The open-choice widget is [code or OTHER, the other text].
    if item.is_multiple:
        codes = [OTHER if isinstance(v, dict) else v for v in value]
        other = next((v["other"] for v in value if isinstance(v, dict)), None)
        return [codes, other]
    return [OTHER, value["other"]] if isinstance(value, dict) else [value, None]


def _choices_words(item: Item, value: Any) -> str:
    return ", ".join(_choice_words(item, v) for v in _each_choice(value))


def _choice_words(item: Item, value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("other", ""))
    option = item.option(value)
    return option.display if option else str(value)


def _choices_fhir(item: Item, value: Any, scored: bool) -> list[dict]:
    return [_choice_fhir(item, v, scored) for v in _each_choice(value)]


def _choice_fhir(item: Item, value: Any, scored: bool) -> dict:
    if isinstance(value, dict):
        return {"valueString": value["other"]}
    option = item.option(value)
    if option is None:
        return {"valueString": str(value)}
    if option.kind == "Coding":
        coding = {"system": option.system, "code": option.code, "display": option.display}
        coding = {k: v for k, v in coding.items() if v}
        if scored and option.score is not None:
            coding["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": option.score}]
        return {"valueCoding": coding}
    if option.kind == "Integer":
        return {"valueInteger": option.raw}
    return {"value" + option.kind: option.raw}


def _choice_from_fhirpath(item: Item, value: Any) -> str | None:
    code = value.get("code") if isinstance(value, dict) else value  # a Coding, or a code
    return code if isinstance(code, str) and item.option(code) is not None else None


ANSWER_TYPES: dict[str, AnswerType] = {
    "boolean": AnswerType(fits=_fits_boolean, fhir=_value_as("valueBoolean", bool),
                          display=_boolean_words, initial=_boolean_initial,
                          from_fhirpath=_boolean_from_fhirpath),
    "integer": AnswerType(fits=_fits_integer, fhir=_value_as("valueInteger", int),
                          from_fhirpath=_integer_from_fhirpath),
    "decimal": AnswerType(fits=_fits_decimal, fhir=_value_as("valueDecimal", _decimal_number),
                          from_fhirpath=_decimal_from_fhirpath),
    "quantity": AnswerType(fits=_fits_quantity, fhir=_quantity_fhir,
                           display=_quantity_words, initial=_quantity_initial,
                           from_fhirpath=_quantity_from_fhirpath),
    "date": AnswerType(fits=_fits_date, fhir=_value_as("valueDate"),
                       display=_words(format_date)),
    "time": AnswerType(fits=_fits_time, fhir=_value_as("valueTime", to_time),
                       display=_words(format_time)),
    "dateTime": AnswerType(fits=_fits_datetime, fhir=_value_as("valueDateTime"),
                           display=_words(format_datetime)),
    "string": AnswerType(fits=_is_text, fhir=_value_as("valueString", str),
                         display=_string_words),
    "text": AnswerType(fits=_is_text, fhir=_value_as("valueString", str)),
    "url": AnswerType(fits=_is_text, fhir=_value_as("valueUri")),
    "choice": AnswerType(fits=_fits_choices, fhir=_choices_fhir, display=_choices_words,
                         from_fhirpath=_choice_from_fhirpath),
    "open-choice": AnswerType(fits=_fits_choices, fhir=_choices_fhir, display=_choices_words,
                              initial=_open_choice_initial, from_fhirpath=_choice_from_fhirpath),
    "attachment": AnswerType(fits=_fits_attachment, fhir=_attachment_fhir,
                             display=_attachment_words),
}

# Any other type (a group, display text, an unsupported FHIR type) takes no answer: a
# stored value for it never fits, and is read back and written only as text.
_NO_ANSWER = AnswerType(fits=lambda item, value: False, fhir=_value_as("valueString", str))


def _rule(item: Item) -> AnswerType:
    return ANSWER_TYPES.get(item.type, _NO_ANSWER)
