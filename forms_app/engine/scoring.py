"""Scores, severity bands and flags: the staff-only reading of a set of answers."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .conditions import enable_when_holds
from .items import FlagRule, Item
from .values import to_decimal


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
