"""Scores, severity bands and flags: the staff-only reading of a set of answers."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .conditions import enable_when_holds
from .items import FlagRule, Item
from .values import is_empty, to_decimal


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str  # "urgent" or "routine"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class Evaluation:
    scores: dict[str, int | Decimal] = field(default_factory=dict)
    bands: dict[str, str] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return any(flag.severity == "urgent" for flag in self.flags)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: decimal scores become exact strings, as decimal answers are."""
        return {
            "scores": {
                key: value if isinstance(value, int) else format(value, "f")
                for key, value in self.scores.items()
            },
            "bands": dict(self.bands),
            "flags": [flag.as_dict() for flag in self.flags],
        }


def option_score(item: Item, value: Any) -> Decimal | None:
    """The summed score of the chosen option(s); None when nothing scored was chosen."""
    values = value if isinstance(value, list) else [value]
    scores = [
        option.score
        for v in values
        if isinstance(v, str)
        and (option := item.option(v)) is not None
        and option.score is not None
    ]
    return sum(scores, Decimal(0)) if scores else None


def numeric_value(item: Item, value: Any) -> Decimal | None:
    """An answer as a number for computed expressions."""
    if is_empty(value):
        return None
    if item.type == "boolean":
        return Decimal(1) if value else Decimal(0)
    if item.type in ("choice", "open-choice"):
        values = value if isinstance(value, list) else [value]
        numbers = [
            option.numeric
            for v in values
            if isinstance(v, str)
            and (option := item.option(v)) is not None
            and option.numeric is not None
        ]
        return sum(numbers, Decimal(0)) if numbers else None
    return to_decimal(value)


def compute_scores(
    items: Mapping[str, Item], enabled: set[str], answers: Mapping[str, Any]
) -> dict[str, int | Decimal]:
    """Values of enabled calculated items, in form order (later ones may use earlier ones)."""
    scores: dict[str, int | Decimal] = {}

    def resolve(link_id: str) -> Decimal | None:
        if link_id in scores:
            return Decimal(scores[link_id])
        if link_id not in enabled:
            return None
        return numeric_value(items[link_id], answers.get(link_id))

    for item in items.values():
        calculation = item.calculation
        if calculation is None or item.link_id not in enabled:
            continue
        if calculation.kind == "arithmetic":
            result = calculation.expression.evaluate(resolve)
        else:
            sources = calculation.link_ids or [
                link_id for link_id, source in items.items() if source.is_scored
            ]
            parts = [option_score(items[s], answers.get(s)) for s in sources if s in enabled]
            result = sum((p for p in parts if p is not None), Decimal(0))
        if result is not None:
            scores[item.link_id] = _typed(item, result)
    return scores


def _typed(item: Item, number: Decimal) -> int | Decimal:
    if item.type == "integer":
        return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if item.max_decimal_places is not None:
        return number.quantize(Decimal(1).scaleb(-item.max_decimal_places), rounding=ROUND_HALF_UP)
    return number


def compute_bands(items: Mapping[str, Item], values: Mapping[str, Any]) -> dict[str, str]:
    bands = {}
    for item in items.values():
        if not item.bands:
            continue
        number = to_decimal(values.get(item.link_id))
        if number is None:
            continue
        for band in item.bands:
            if band.contains(number):
                bands[item.link_id] = band.label
                break
    return bands


def raised_flags(
    rules: list[FlagRule],
    items: Mapping[str, Item],
    enabled: set[str],
    values: Mapping[str, Any],
) -> list[Flag]:
    return [
        Flag(rule.code, rule.severity, rule.message)
        for rule in rules
        if (rule.owner is None or rule.owner in enabled)
        and enable_when_holds(rule.when, items, values)
    ]
