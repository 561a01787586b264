"""Pass two of compilation: conditions, calculations and flag rules.

These refer to other items by linkId, so they are read once every item is known.

Supported SDC calculatedExpression forms (FHIRPath, parsed by pattern, never run):

* ``%resource.item.answer.value.ordinal().sum()`` or
  ``%resource.repeat(item).answer.value.ordinal().sum()`` (``weight()`` may replace
  ``ordinal()``): the sum of the scores of every chosen option on enabled questions.
* A sum of terms ``<path>.where(linkId='q1').answer.value.ordinal()`` joined by ``+``,
  where ``<path>`` starts with ``%resource`` and is any chain of ``.item``,
  ``.repeat(item)`` and ``.where(linkId='...')`` steps; the last linkId in each term
  names the scored question.

Anything else is a DefinitionError: a score that silently does not appear is unsafe.
"""

import re
from dataclasses import replace
from typing import Any

from . import extensions as ext
from .conditions import parse_enable_when
from .expressions import ExpressionError, parse_expression
from .items import Calculation, FlagRule, Item
from .parsing import Walk

SEVERITIES = frozenset({"urgent", "routine"})
_SUM_ALL = re.compile(
    r"%resource\.(?:item|repeat\(item\))\.answer\.value\.(?:ordinal|weight)\(\)\.sum\(\)"
)
_TERM = re.compile(
    r"%resource(?:\.(?:item|repeat\(item\))|\.where\(linkId\s*=\s*'[^']+'\))*"
    r"\.where\(linkId\s*=\s*'(?P<link_id>[^']+)'\)\.answer\.value\.(?:ordinal|weight)\(\)"
)
_NUMERIC_TYPES = frozenset({"integer", "decimal", "quantity", "boolean"})


def apply_rules(walk: Walk, definition: dict) -> list[FlagRule]:
    items = walk.items
    for link_id, item in list(items.items()):
        raw = walk.raw[link_id]
        enable_when = parse_enable_when(
            link_id,
            raw.get("enableWhen"),
            raw.get("enableBehavior"),
            _earlier_answerable(items, item),
            walk.problems,
        )
        calculation = _calculation(item, raw, items, walk.problems)
        if enable_when or calculation:
            items[link_id] = replace(item, enable_when=enable_when, calculation=calculation)
    flag_rules = _flag_rules(None, definition, items, walk.problems)
    for link_id in items:
        flag_rules += _flag_rules(link_id, walk.raw[link_id], items, walk.problems)
    codes = [rule.code for rule in flag_rules]
    for code in {c for c in codes if codes.count(c) > 1}:
        walk.problems.append(f'Flag rule "{code}" is defined more than once')
    return flag_rules


def _earlier_answerable(items: dict[str, Item], owner: Item):
    def lookup(link_id: str) -> Item | None:
        target = items.get(link_id)
        if target is None:
            raise LookupError("which does not exist")
        if target.order >= owner.order:
            raise LookupError("which is not earlier in the form")
        if target.is_answerable and not target.is_question:
            raise LookupError("which the patient does not answer")
        return target

    return lookup


def _any_answerable(items: dict[str, Item]):
    def lookup(link_id: str) -> Item | None:
        if link_id not in items:
            raise LookupError("which does not exist")
        return items[link_id]

    return lookup


def _calculation(item: Item, raw: dict, items: dict[str, Item], problems) -> Calculation | None:
    def problem(message: str) -> None:
        problems.append(f'Item "{item.link_id}": {message}')

    computed = ext.extension_value(raw, ext.COMPUTED)
    if computed is not None:
        try:
            expression = parse_expression(computed)
        except ExpressionError as error:
            problem(f"the computed expression cannot be read: {error}")
            return None
        for name in expression.references:
            target = items.get(name)
            if target is None:
                problem(f'the computed expression refers to "{name}", which does not exist')
            elif target.read_only and target.order >= item.order:
                problem(f'the computed expression refers to "{name}", which is not earlier')
            elif target.type not in _NUMERIC_TYPES and not (
                target.type in ("choice", "open-choice")
                and any(option.numeric is not None for option in target.options)
            ):
                problem(f'the computed expression refers to "{name}", which has no number')
        return Calculation("arithmetic", expression=expression)

    value = ext.extension_value(raw, ext.CALCULATED_EXPRESSION)
    if value is None:
        return None
    expression = value.get("expression") if isinstance(value, dict) else None
    text = re.sub(r"\s+", "", expression) if isinstance(expression, str) else ""
    if _SUM_ALL.fullmatch(text):
        return Calculation("ordinal-sum")
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    terms = text.split("+") if text else []
    matches = [_TERM.fullmatch(term) for term in terms]
    if not matches or not all(matches):
        problem("calculatedExpression is not one of the supported sums of ordinal values")
        return None
    link_ids = tuple(match["link_id"] for match in matches if match)
    for link_id in link_ids:
        target = items.get(link_id)
        if target is None or not target.is_scored:
            problem(f'calculatedExpression refers to "{link_id}", which is not a scored question')
    return Calculation("ordinal-sum", link_ids=link_ids)


def _flag_rules(owner: str | None, element: dict, items, problems) -> list[FlagRule]:
    rules = []
    where = f'Item "{owner}"' if owner else "The form"
    for rule_ext in ext.extensions(element, ext.FLAG_RULE):
        code = ext.extension_value(rule_ext, "code")
        severity = ext.extension_value(rule_ext, "severity")
        message = ext.extension_value(rule_ext, "message")
        if not (
            isinstance(code, str)
            and code
            and isinstance(severity, str)
            and severity in SEVERITIES
            and isinstance(message, str)
            and message
        ):
            problems.append(
                f"{where}: a flag-rule needs a code, a severity "
                '("urgent" or "routine") and a message'
            )
            continue
        conditions = [_condition_dict(part) for part in ext.extensions(rule_ext, "condition")]
        if not conditions:
            problems.append(f'{where}: flag-rule "{code}" has no condition')
            continue
        enable_when = parse_enable_when(
            owner or code,
            conditions,
            ext.extension_value(rule_ext, "enableBehavior"),
            _any_answerable(items),
            problems,
            what=f'flag-rule "{code}"',
        )
        if enable_when is not None:
            rules.append(FlagRule(code, severity, message, enable_when, owner))
    return rules


def _condition_dict(part: dict) -> dict[str, Any]:
    """A flag-rule condition (question, operator, answer[x] parts) in enableWhen shape."""
    condition: dict[str, Any] = {
        "question": ext.extension_value(part, "question"),
        "operator": ext.extension_value(part, "operator"),
    }
    kind, value = ext.value_of(ext.extension(part, "answer"))
    if kind is not None:
        condition["answer" + kind] = value
    return condition
