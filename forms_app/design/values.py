"""Typed values as staff write them in the designer (plain text in one field) and as a
Questionnaire holds them (value[x] with a type suffix), both ways.

Every function here is total over the text it is given: it returns a value or raises
ValueError with a message fit for staff.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from forms_app.engine.item_rules import Rule
from forms_app.engine.values import to_decimal

FHIR_TYPE = {
    # draft type -> (FHIR item type, input-format extension value)
    "multiple-choice": ("choice", None),
    "email": ("string", "email"),
    "uk-phone": ("string", "uk-phone"),
    "nhs-number": ("string", "nhs-number"),
}
NUMBER_TYPES = frozenset({"integer", "decimal", "quantity"})
TEXT_TYPES = frozenset({"string", "text", "url", "email", "uk-phone", "nhs-number"})
CHOICE_TYPES = frozenset({"choice", "multiple-choice", "open-choice"})
# Draft types that can repeat (Item.repeats: "Add another"); a choice repeats as the
# "multiple-choice" type instead.
REPEATABLE_TYPES = TEXT_TYPES | NUMBER_TYPES | frozenset(
    {"group", "date", "dateTime", "time", "open-choice"})
ORDERING = frozenset({">", "<", ">=", "<="})
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?", re.ASCII)


def fhir_type(draft_type: str) -> tuple[str, str | None]:
    return FHIR_TYPE.get(draft_type, (draft_type, None))


def applies(rule: Rule, draft_type: str) -> bool:
    """Whether an item rule means something on a draft item of ``draft_type``: the rule
    says which FHIR types it applies to, so the designer and the export agree."""
    return rule.applies_to(fhir_type(draft_type)[0])


def json_number(number: Decimal) -> int | float:
    """A Decimal as JSON can carry it: a whole number as int, else float ("2.5")."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def number_value(number: Decimal) -> tuple[str, int | float]:
    if number == number.to_integral_value() and "." not in str(number):
        return "Integer", int(number)
    return "Decimal", json_number(number)


def parse_number(text: str) -> Decimal:
    number = to_decimal(text.strip()) if text.strip() else None
    if number is None:
        raise ValueError(f'"{text}" is not a number')
    return number


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'"{text}" is not true or false')


def parse_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'"{text}" is not a date like 2024-01-31') from None
    if len(text.strip()) != 10:
        raise ValueError(f'"{text}" is not a date like 2024-01-31')
    return text.strip()


def parse_datetime(text: str) -> str:
    value = text.strip()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f'"{text}" is not a date and time like 2024-01-31T09:00:00+00:00') \
            from None
    if moment.tzinfo is None:
        raise ValueError(f'"{text}" needs a time zone offset, e.g. +00:00')
    return value


def parse_time(text: str) -> str:
    match = _TIME.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
        raise ValueError(f'"{text}" is not a time like 09:30:00')
    return f"{match[1]}:{match[2]}:{match[3] or '00'}"


def limit_value(item_type: str, text: str) -> tuple[str, object]:
    """A min/max value for an item of ``item_type`` as (value[x] suffix, value)."""
    if item_type == "integer":
        number = parse_number(text)
        if number != number.to_integral_value():
            raise ValueError(f'"{text}" is not a whole number')
        return "Integer", int(number)
    if item_type in ("decimal", "quantity"):
        return "Decimal", json_number(parse_number(text))
    if item_type == "date":
        return "Date", parse_date(text)
    if item_type == "dateTime":
        return "DateTime", parse_datetime(text)
    if item_type == "time":
        return "Time", parse_time(text)
    raise ValueError("minimum and maximum values apply to numbers, dates and times only")


def initial_texts(item) -> list[str]:
    """The item's initial answers as typed: one per line for an item that repeats (a
    repeating question keeps every initial value), else the one text."""
    if not item.initial:
        return []
    if getattr(item, "repeats", False) and item.type not in CHOICE_TYPES:
        return [line.strip() for line in item.initial.splitlines() if line.strip()]
    return [item.initial]


def initial_value(item, options, text: str) -> tuple[str, object] | None:
    """The initial[x] of an item, or None for a choice (initialSelected on its option)."""
    item_type = item.type
    if item_type in CHOICE_TYPES:
        if not any(option.code == text for option in options):
            raise ValueError(f'"{text}" is not the code of one of its options')
        return None
    if item_type == "boolean":
        return "Boolean", parse_bool(text)
    if item_type == "quantity":
        quantity = {"value": json_number(parse_number(text))}
        if item.unit_code:
            quantity["code"] = item.unit_code
            quantity["unit"] = item.unit_display or item.unit_code
            if item.unit_system:
                quantity["system"] = item.unit_system
        return "Quantity", quantity
    if item_type in ("integer", "decimal", "date", "dateTime", "time"):
        return limit_value(item_type, text)
    if item_type in TEXT_TYPES:
        return "String", text
    raise ValueError("this kind of item cannot have an initial answer")


def _equality_only(operator: str, message: str) -> None:
    if operator not in ("=", "!="):
        raise ValueError(message)


def _boolean_answer(qtype, options, operator, text) -> tuple[str, object]:
    _equality_only(operator, "a yes/no question can only be compared with equals or not equals")
    return "Boolean", parse_bool(text)


def _option_answer(option) -> tuple[str, object]:
    if option.value_type == "string":
        return "String", option.code
    if option.value_type == "integer":
        return "Integer", int(option.code)
    coding = {"code": option.code}
    if option.system:
        coding = {"system": option.system, **coding}
    return "Coding", coding


def _choice_answer(qtype, options, operator, text) -> tuple[str, object]:
    if operator in ORDERING:
        return number_value(parse_number(text))
    option = next((o for o in options if o.code == text.strip()), None)
    if option is not None:
        return _option_answer(option)
    if qtype == "open-choice":
        return "String", text
    codes = ", ".join(o.code for o in options) or "none yet"
    raise ValueError(f'"{text}" is not one of its option codes ({codes})')


def _number_answer(qtype, options, operator, text) -> tuple[str, object]:
    number = parse_number(text)
    if qtype == "integer" and number == number.to_integral_value():
        return "Integer", int(number)
    return "Decimal", json_number(number)


def _date_time_answer(qtype, options, operator, text) -> tuple[str, object]:
    # Staff may compare a date and time question with a date alone (no "T").
    return ("DateTime", parse_datetime(text)) if "T" in text else ("Date", parse_date(text))


def _text_answer(qtype, options, operator, text) -> tuple[str, object]:
    _equality_only(operator, "text answers can only be compared with equals or not equals")
    return "String", text


# Per kind of question: its enableWhen answer[x] from the designer's text.
_CONDITION_ANSWERS = (
    (frozenset({"boolean"}), _boolean_answer),
    (CHOICE_TYPES, _choice_answer),
    (NUMBER_TYPES, _number_answer),
    (frozenset({"date"}), lambda qtype, options, operator, text: ("Date", parse_date(text))),
    (frozenset({"dateTime"}), _date_time_answer),
    (frozenset({"time"}), lambda qtype, options, operator, text: ("Time", parse_time(text))),
    (TEXT_TYPES, _text_answer),
)


def condition_answer(question, options, operator: str, text: str) -> tuple[str, object]:
    """An enableWhen/flag condition's answer[x] for ``question`` (a draft Item).

    ``options`` are the question's AnswerOptions. Raises ValueError for an answer that
    cannot apply to the question, so that staff see the problem when they save.
    """
    if operator == "exists":
        return "Boolean", parse_bool(text or "true")
    for types, answer in _CONDITION_ANSWERS:
        if question.type in types:
            return answer(question.type, options, operator, text)
    raise ValueError("conditions can only refer to questions")


def answer_text(kind: str, value) -> str:
    """The reverse of condition_answer: a FHIR answer[x] as the designer's text."""
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Coding":
        return str(value.get("code", "")) if isinstance(value, dict) else ""
    if kind == "Quantity":
        return decimal_text(value.get("value")) if isinstance(value, dict) else ""
    if kind in ("Integer", "Decimal"):
        return decimal_text(value)
    return "" if value is None else str(value)


def decimal_text(value) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = format(number, "f")
    return text
