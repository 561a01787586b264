"""Answer options: answerOption lists and contained ValueSets, with their scores."""

from decimal import Decimal
from typing import Any

from . import extensions as ext
from .errors import ItemProblem
from .items import Option
from .values import format_date, format_time, to_decimal


def _refuse(problems: list, link_id: str, message: str) -> None:
    # An item's answers carry its scores: losing one changes clinical meaning.
    problems.append(ItemProblem(link_id, message, True))


def _score(*elements: Any) -> Decimal | None:
    for element in elements:
        if not isinstance(element, dict):
            continue
        for url in ext.SCORE_URLS:
            value = ext.extension_value(element, url)
            if value is not None and not isinstance(value, bool):
                return to_decimal(value)
    return None


def _coding_option(coding: dict, *carriers: Any) -> Option | None:
    code = coding.get("code")
    if not isinstance(code, str) or not code:
        return None
    return Option(
        code=code,
        display=str(coding.get("display") or code),
        kind="Coding",
        system=coding.get("system") or None,
        score=_score(*carriers, coding),
        exclusive=any(
            isinstance(c, dict) and ext.extension_value(c, ext.OPTION_EXCLUSIVE) is True
            for c in carriers
        ),
        raw=coding,
    )


def parse_answer_options(link_id: str, raw_options: Any, problems: list[str]) -> list[Option]:
    if not isinstance(raw_options, list):
        _refuse(problems, link_id, "answerOption must be a list")
        return []
    options = []
    for raw in raw_options:
        option = _parse_answer_option(raw)
        if option is None:
            problems.append(ItemProblem(
                link_id, "an answer option needs a valueCoding with a code, a valueString, "
                "valueInteger, valueDate or valueTime", True))
            continue
        options.append(option)
    return options


def _parse_answer_option(raw: Any) -> Option | None:
    if not isinstance(raw, dict):
        return None
    exclusive = ext.extension_value(raw, ext.OPTION_EXCLUSIVE) is True
    if isinstance(raw.get("valueCoding"), dict):
        return _coding_option(raw["valueCoding"], raw)
    if isinstance(raw.get("valueString"), str) and raw["valueString"].strip():
        text = raw["valueString"]
        return Option(text, text, "String", score=_score(raw), exclusive=exclusive, raw=text)
    value = raw.get("valueInteger")
    if isinstance(value, int) and not isinstance(value, bool):
        return Option(
            str(value), str(value), "Integer", score=_score(raw), exclusive=exclusive, raw=value
        )
    for kind, formatter in (("Date", format_date), ("Time", format_time)):
        value = raw.get("value" + kind)
        if isinstance(value, str) and value:
            return Option(
                value, formatter(value), kind, score=_score(raw), exclusive=exclusive, raw=value
            )
    return None


def expand_value_set(
    link_id: str, reference: Any, contained: dict[str, dict], problems: list[str]
) -> list[Option]:
    """Options from a contained ValueSet ("#id"): its expansion, else its enumerated compose."""
    if not isinstance(reference, str) or not reference.startswith("#"):
        problems.append(ItemProblem(
            link_id, 'answerValueSet must refer to a contained ValueSet ("#id")', True))
        return []
    value_set = contained.get(reference[1:])
    if value_set is None:
        _refuse(problems, link_id, f'answerValueSet "{reference}" is not contained')
        return []
    expansion = value_set.get("expansion")
    if isinstance(expansion, dict) and isinstance(expansion.get("contains"), list):
        return _from_codings(link_id, reference, expansion["contains"], None, problems)
    options: list[Option] = []
    compose = value_set.get("compose") if isinstance(value_set.get("compose"), dict) else {}
    for include in ext.as_list(compose.get("include")):
        concepts = include.get("concept") if isinstance(include, dict) else None
        if not isinstance(concepts, list) or include.get("filter") or include.get("valueSet"):
            problems.append(ItemProblem(
                link_id, f'ValueSet "{reference}" must list its concepts or have an expansion',
                True))
            return []
        options += _from_codings(link_id, reference, concepts, include.get("system"), problems)
    if compose.get("exclude"):
        _refuse(problems, link_id, f'ValueSet "{reference}" uses exclude, not supported')
    return options


def _from_codings(link_id, reference, entries, system, problems) -> list[Option]:
    options = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        coding = {
            "system": entry.get("system", system),
            "code": entry.get("code"),
            "display": entry.get("display"),
        }
        option = _coding_option(coding, entry)
        if option is None:
            _refuse(problems, link_id, f'ValueSet "{reference}" has a concept with no code')
            continue
        options.append(option)
    return options


def contained_value_sets(definition: dict) -> dict[str, dict]:
    return {
        resource["id"]: resource
        for resource in ext.as_list(definition.get("contained"))
        if isinstance(resource, dict)
        and resource.get("resourceType") == "ValueSet"
        and isinstance(resource.get("id"), str)
    }
