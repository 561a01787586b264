"""Readers of the Questionnaire item rules that more than one side of the platform reads.

Each reader takes the raw (untrusted) JSON of one element and returns what it read,
in the engine's own types where it has one (``items.Band``), together with a list of
``Problem``: the link id, a message for staff, and whether what was lost changes the
form's clinical meaning (a score, condition, requirement, validation or repeat). The
importer turns problems into its report (``Plan.note``); publishing waits for clinical
ones to be fixed or accepted.

The messages are the import report's, so they speak of what was "left out". Nothing
here touches the database or the designer's models. Which item extensions there are,
and whether losing one is clinical, is declared once in item_rules (``BY_URL``).

Score bands, occurrences, units and the whole-number rules have one reader, in
item_rules, which the engine's parser calls strict and the importer not (here, or
directly): an upload is kept as far as it can be read, while a definition being
published must be right. A condition's answer[x] and enableBehavior are read by
engine.conditions for both. Answer options, contained ValueSets and the rest of
enableWhen are still read twice (here and in engine.options / engine.conditions): the
two sides accept different things there today (an option's code, kinds and score, a
ValueSet's includes, a condition checked against the question it names).
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import extensions as ext
from . import item_rules
from .conditions import BEHAVIORS, OPERATORS, answer_values
from .errors import ItemProblem
from .item_rules import is_int
from .items import SEVERITIES, Band
from .values import to_decimal

MAX_OPTION_CODE = 255
# Item extensions whose loss changes what the form means clinically: a check the answer
# must pass, a score or its bands, a calculation, a condition, a repeat's limits, a flag
# for the team, or an answer filed as an Observation. One of these the importer cannot
# use blocks publishing until staff fix or accept it; any other (a label, a display
# control) is cosmetic. The item rules say which of theirs are clinical; the others are
# an option's score or expressions the draft keeps as written.
CLINICAL_EXTENSIONS = frozenset(
    {url for url, rule in item_rules.BY_URL.items() if rule.clinical}
    | {ext.ORDINAL_VALUE, ext.ITEM_WEIGHT, ext.ENABLE_WHEN_EXPRESSION, ext.TARGET_CONSTRAINT})

# The calculatedExpressions the designer writes for its own kinds of total
# (export.SCORE_TOTAL_EXPRESSION, export.score_sum_expression, and the sum of terms it
# wrote before), read back into those kinds so that staff can go on editing them. Every
# other FHIRPath calculation is kept verbatim and evaluated as FHIRPath.
_SUM_ALL = re.compile(
    r"%resource\.(?:item|repeat\(item\))\.answer\.value\.(?:ordinal|weight)\(\)\.sum\(\)"
)
_SUM_OF = re.compile(
    r"%resource\.repeat\(item\)\.where\(linkIdin\((?P<ids>'[^']+'(?:\|'[^']+')*)\)\)"
    r"\.answer\.value\.(?:ordinal|weight)\(\)\.sum\(\)"
)
_TERM = re.compile(
    r"%resource(?:\.(?:item|repeat\(item\))|\.where\(linkId\s*=\s*'[^']+'\))*"
    r"\.where\(linkId\s*=\s*'(?P<link_id>[^']+)'\)\.answer\.value\.(?:ordinal|weight)\(\)"
)


# Something a reader could not keep: the engine's ItemProblem (link_id, message, and
# ``clinical``: losing it changes what the form means for the patient's care, so
# publishing waits until staff fix or accept it), so that the import report, the
# designer and the publish check read one kind of problem.
Problem = ItemProblem
Problems = list[Problem]


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def url_of(extension: Any) -> str | None:
    """An extension's url, or None when it has none a table could be keyed by."""
    url = extension.get("url") if isinstance(extension, dict) else None
    return url if isinstance(url, str) else None


def left_out(link_id: str | None, extension: Any, where: str = "") -> Problem:
    """An extension no reader could use: clinical when it is one of CLINICAL_EXTENSIONS.
    ``where`` names the part of the item it was on (e.g. an option)."""
    written = extension.get("url") if isinstance(extension, dict) else None
    lead = f"{where}the" if where else "The"
    return Problem(link_id, f"{lead} extension {written} is not supported and was left out.",
                   clinical=url_of(extension) in CLINICAL_EXTENSIONS)


# --- Scores ---------------------------------------------------------------------------

def read_band(link_id: str | None, extension: dict) -> tuple[Band | None, Problems]:
    """Our score-band extension, read by the engine's reader in the import's words."""
    return item_rules.read_band(link_id, extension, strict=False)


def option_score(extension: dict) -> Decimal | None:
    """ordinalValue / itemWeight as a Decimal, None when it is not one of them or its
    value is not a number (a string "x" in valueDecimal, say)."""
    kind, value = ext.value_of(extension)
    if url_of(extension) in ext.SCORE_URLS and kind in ("Decimal", "Integer"):
        return to_decimal(value)
    return None


def read_calculation(link_id: str | None, raw: dict, item_type: str, *,
                     calculable: frozenset) -> tuple["CalculationReading | None", Problems]:
    """Our computed formula or the SDC calculatedExpression of an item. A problem means
    the whole item is left out (the importer cannot show a calculated one of its type)."""
    computed = ext.extension_value(raw, ext.COMPUTED)
    expression = ext.extension_value(raw, ext.CALCULATED_EXPRESSION)
    if computed is None and expression is None:
        return None, []
    if item_type not in calculable:
        return None, [Problem(link_id, f"Left out: a calculated {item_type} item cannot be "
                                       "shown.", clinical=True)]
    if isinstance(computed, str) and item_type in ("integer", "decimal"):
        return CalculationReading("formula", formula=computed), []
    written = expression.get("expression") if isinstance(expression, dict) else None
    return CalculationReading.of_expression(re.sub(r"\s+", "", written)
                                     if isinstance(written, str) else ""), []


@dataclass(frozen=True)
class CalculationReading:
    """How a calculated item is kept: the designer's formula, its total of every score,
    its sum of named questions' scores, or any other FHIRPath kept verbatim."""

    kind: str  # "formula", "score-total", "score-sum" or "expression"
    formula: str = ""
    score_items: tuple[str, ...] = field(default=())

    @classmethod
    def of_expression(cls, expression: str) -> "CalculationReading":
        if _SUM_ALL.fullmatch(expression):
            return cls("score-total")
        if match := _SUM_OF.fullmatch(expression):
            return cls("score-sum", score_items=tuple(
                part.strip("'") for part in match["ids"].split("|")))
        body = expression[1:-1] if expression.startswith("(") and expression.endswith(")") \
            else expression
        terms = [_TERM.fullmatch(term) for term in body.split("+")] if body else []
        if terms and all(terms):
            return cls("score-sum", score_items=tuple(t["link_id"] for t in terms if t))
        return cls("expression")


# --- Conditions and flags --------------------------------------------------------------

Condition = tuple[Any, Any, str | None, Any]  # question, operator, answer kind, answer


def _fits(question: Any, operator: Any) -> bool:
    return isinstance(question, str) and isinstance(operator, str) and operator in OPERATORS


def read_enable_when(link_id: str | None, raw: dict
                     ) -> tuple[str | None, list[Condition], Problems]:
    """enableBehavior and the enableWhen conditions that can be kept (a reference
    answer cannot be compared here). A condition left out shows the item more often."""
    behavior = raw.get("enableBehavior")
    kept, problems = [], []
    for condition in ext.as_list(raw.get("enableWhen")):
        if not isinstance(condition, dict):
            continue
        question, operator = condition.get("question"), condition.get("operator")
        # The parser's reading of its answer[x]; the import keeps the first.
        kind, value = (answer_values(condition) or [(None, None)])[0]
        if not _fits(question, operator) or kind is None or kind == "Reference":
            problems.append(Problem(
                link_id, "A condition was left out (it names no question, has an unknown "
                         "operator or compares a reference): the item is shown more often "
                         "than the source intended; review it.", clinical=True))
            continue
        kept.append((question, operator, kind, value))
    return (behavior if behavior in BEHAVIORS else None), kept, problems


@dataclass(frozen=True)
class FlagRuleReading:
    code: str
    severity: str
    message: str
    behavior: str
    conditions: tuple[Condition, ...]


def read_flag_rule(link_id: str | None, extension: dict
                   ) -> tuple[FlagRuleReading | None, Problems]:
    """Our flag-rule extension: a code, a severity, a message and conditions."""
    code = ext.extension_value(extension, "code")
    severity = ext.extension_value(extension, "severity")
    message = ext.extension_value(extension, "message")
    behavior = ext.extension_value(extension, "enableBehavior") or "all"
    conditions = tuple(
        (ext.extension_value(part, "question"), ext.extension_value(part, "operator"),
         *ext.value_of(ext.extension(part, "answer")))
        for part in ext.extensions(extension, "condition"))
    if not (isinstance(code, str) and code and severity in SEVERITIES
            and isinstance(message, str) and message and behavior in BEHAVIORS
            and conditions and all(_fits(q, op) for q, op, _, _ in conditions)):
        return None, [Problem(link_id, f'The flag rule "{code}" was left out: it needs a '
                                       "code, a severity, a message and conditions.",
                              clinical=True)]
    return FlagRuleReading(code, severity, message, behavior, conditions), []


def read_occurs(link_id: str | None, raw: dict, name: str, value: Any
                ) -> tuple[int | None, Problems]:
    """questionnaire-minOccurs / -maxOccurs, read by the engine's reader in the import's
    words (0 to what the draft holds)."""
    return item_rules.read_occurs(link_id, raw, name, value, strict=False)


# --- Answer options ----------------------------------------------------------------------

@dataclass
class OptionReading:
    """One answerOption (or ValueSet concept): its value, score and flags."""

    value_type: str  # "coding", "string" or "integer"
    code: str
    display: str
    system: str = ""
    coding: dict | None = None  # the valueCoding, for its "_display" translations
    score: Decimal | None = None
    exclusive: bool = False
    selected: bool = False


def _option_value(link_id, option: dict, index: int) -> tuple[OptionReading | None, Problems]:
    coding = option.get("valueCoding")
    if isinstance(coding, dict) and coding.get("code"):
        code = str(coding["code"])
        return OptionReading("coding", code[:MAX_OPTION_CODE],
                             (text(coding.get("display")) or code)[:500],
                             text(coding.get("system"))[:200], coding=coding), []
    written = option.get("valueString")
    if isinstance(written, str) and written.strip():
        if len(written) > MAX_OPTION_CODE:
            return None, [Problem(link_id, f"Answer option {index + 1} is longer than 255 "
                                           "characters; left out.")]
        return OptionReading("string", written, written), []
    if is_int(option.get("valueInteger")):
        number = str(option["valueInteger"])
        return OptionReading("integer", number, number), []
    kinds = [k for k in option if k.startswith("value")] or ["no value"]
    return None, [Problem(link_id, f"Answer option {index + 1} ({kinds[0]}) is not "
                                   "supported; left out. Options must be codings, text or "
                                   "whole numbers.")]


def _option_marks(link_id, reading: OptionReading, carriers: list[dict]) -> Problems:
    """The option's score and exclusive flag, from the option and its coding."""
    problems = []
    for carrier in carriers:
        for extension in ext.as_list(carrier.get("extension")):
            url = url_of(extension)
            value = ext.value_of(extension)[1] if url else None
            score = option_score(extension) if url else None
            if score is not None:
                reading.score = score
            elif url == ext.OPTION_EXCLUSIVE and isinstance(value, bool):
                reading.exclusive = value
            else:
                # A score that cannot be read is a clinical loss (CLINICAL_EXTENSIONS).
                problems.append(left_out(link_id, extension, f'Option "{reading.code}": '))
    return problems


def read_option(link_id: str | None, option: Any, index: int
                ) -> tuple[OptionReading | None, Problems]:
    """An answerOption: a coding, text or whole number, with ordinalValue / itemWeight,
    optionExclusive and initialSelected."""
    if not isinstance(option, dict):
        return None, [Problem(link_id, f"Answer option {index + 1} is not an object; "
                                       "left out.")]
    reading, problems = _option_value(link_id, option, index)
    if reading is None:
        return None, problems
    reading.selected = option.get("initialSelected") is True
    carriers = [option] + ([reading.coding] if reading.coding is not None else [])
    return reading, _option_marks(link_id, reading, carriers)


def _included(link_id, reference: str, compose: dict) -> tuple[list[tuple[Any, Any]], Problems]:
    entries, problems = [], []
    for include in ext.as_list(compose.get("include")):
        if not isinstance(include, dict) or include.get("filter") \
                or include.get("valueSet") or not include.get("concept"):
            problems.append(Problem(link_id, f'Its value set "{reference}" includes codes by '
                                             "rule or from another value set; only listed "
                                             "codes were kept."))
            continue
        entries += [(c, include.get("system")) for c in ext.as_list(include["concept"])]
    if compose.get("exclude"):
        problems.append(Problem(link_id, f'Its value set "{reference}" excludes codes; the '
                                         "exclusions were left out."))
    return entries, problems


def value_set_codings(link_id: str | None, reference: str, value_set: dict
                      ) -> tuple[list[dict], Problems]:
    """A contained ValueSet's codes as valueCodings (with their extensions, e.g.
    ordinalValue): its expansion, else the concepts its compose lists."""
    expansion = value_set.get("expansion")
    if isinstance(expansion, dict) and isinstance(expansion.get("contains"), list):
        entries, problems = [(entry, None) for entry in expansion["contains"]], []
    else:
        compose = value_set.get("compose")
        entries, problems = _included(link_id, reference,
                                      compose if isinstance(compose, dict) else {})
    codings = []
    for entry, system in entries:
        if not isinstance(entry, dict) or not entry.get("code"):
            continue
        coding = {"code": entry["code"], "display": entry.get("display"),
                  "system": entry.get("system", system), "extension": entry.get("extension")}
        codings.append({key: value for key, value in coding.items() if value is not None})
    return codings, problems
