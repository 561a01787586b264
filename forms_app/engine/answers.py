"""The stored answer shape per question type, and its three readings.

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
    kind = item.type
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "decimal":
        return isinstance(value, str) and to_decimal(value) is not None
    if kind == "quantity":
        return isinstance(value, dict) and to_decimal(value.get("value")) is not None
    if kind == "date":
        return isinstance(value, str) and len(value) == 10 and to_date(value) is not None
    if kind == "dateTime":
        return isinstance(value, str) and to_datetime(value) is not None
    if kind == "time":
        return isinstance(value, str) and to_time(value) is not None
    if kind in ("string", "text", "url"):
        return isinstance(value, str) and value != ""
    if kind == "attachment":
        return attachments.is_answer(value)
    if kind in ("choice", "open-choice"):
        if item.is_multiple:
            return (
                isinstance(value, list)
                and bool(value)
                and all(_fits_choice(item, v) for v in value)
            )
        return _fits_choice(item, value)
    return False


def _fits_choice(item: Item, value: Any) -> bool:
    if isinstance(value, str):
        return item.option(value) is not None
    return (
        item.type == "open-choice"
        and isinstance(value, dict)
        and isinstance(value.get("other"), str)
        and bool(value["other"])
    )


def to_initial(item: Item, value: Any) -> Any:
    """A stored answer as the page's form expects it for ``initial=``."""
    if value is None:
        return None
    if item.type == "boolean":
        return "yes" if value else "no"
    if item.type == "quantity":
        return value.get("value")
    if item.type == "open-choice":
        if item.is_multiple:
            codes = [OTHER if isinstance(v, dict) else v for v in value]
            other = next((v["other"] for v in value if isinstance(v, dict)), None)
            return [codes, other]
        return [OTHER, value["other"]] if isinstance(value, dict) else [value, None]
    return value


def display(item: Item, value: Any) -> str:
    """The answer as words for the "check your answers" page."""
    if is_empty(value):
        return _("Not answered")
    if item.is_repeating_question and isinstance(value, list):
        return "\n".join(_display_one(item, v) for v in value)
    return _display_one(item, value)


def _display_one(item: Item, value: Any) -> str:
    kind = item.type
    if kind == "boolean":
        return _("Yes") if value else _("No")
    if kind in ("choice", "open-choice"):
        values = value if isinstance(value, list) else [value]
        return ", ".join(_choice_display(item, v) for v in values)
    if kind == "date":
        return format_date(value)
    if kind == "time":
        return format_time(value)
    if kind == "dateTime":
        return format_datetime(value)
    if kind == "quantity":
        unit = item.unit or {}
        return f"{value.get('value')} {unit.get('display') or value.get('unit') or ''}".strip()
    if item.input_format == "nhs-number":
        return format_nhs(value)
    if kind == "attachment" and isinstance(value, dict):
        return attachments.describe(value)
    return str(value)


def _choice_display(item: Item, value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("other", ""))
    option = item.option(value)
    return option.display if option else str(value)


def fhir_answers(item: Item, value: Any, *, scored: bool = False) -> list[dict]:
    """The QuestionnaireResponse ``answer`` list for a stored answer."""
    if is_empty(value):
        return []
    if item.is_repeating_question and isinstance(value, list):
        return [answer for v in value for answer in _fhir_one(item, v)]
    return _fhir_one(item, value, scored)


def _fhir_one(item: Item, value: Any, scored: bool = False) -> list[dict]:
    kind = item.type
    if kind in ("choice", "open-choice"):
        values = value if isinstance(value, list) else [value]
        return [_fhir_choice(item, v, scored) for v in values]
    if kind == "boolean":
        return [{"valueBoolean": bool(value)}]
    if kind == "integer":
        return [{"valueInteger": int(value)}]
    if kind == "decimal":
        return [{"valueDecimal": float(to_decimal(value))}]
    if kind == "quantity":
        unit = item.unit or {}
        quantity = {"value": float(to_decimal(value))}
        code = value.get("unit") if isinstance(value, dict) else None
        if code or unit.get("code"):
            quantity["unit"] = unit.get("display") or code or unit["code"]
            quantity["system"] = unit.get("system") or "http://unitsofmeasure.org"
            quantity["code"] = code or unit["code"]
        return [{"valueQuantity": quantity}]
    if kind == "date":
        return [{"valueDate": value}]
    if kind == "time":
        return [{"valueTime": to_time(value)}]
    if kind == "dateTime":
        return [{"valueDateTime": value}]
    if kind == "url":
        return [{"valueUri": value}]
    if kind == "attachment":
        return [{"valueAttachment": attachment_resource(value)}]
    return [{"valueString": str(value)}]


def _fhir_choice(item: Item, value: Any, scored: bool = False) -> dict:
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


# Where a filed response's Attachment points before its bytes are put in (filing
# replaces it with ``data``): the stored file's id.
ATTACHMENT_URL_PREFIX = "urn:uuid:"


def attachment_resource(value: dict) -> dict:
    """A stored attachment answer as a FHIR Attachment, without its bytes."""
    return {"contentType": value["contentType"], "size": value["size"],
            "hash": value["hash"], "title": value["title"],
            "url": ATTACHMENT_URL_PREFIX + value["id"]}
