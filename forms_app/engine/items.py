"""The compiled, immutable shape of a definition: items, options, conditions, pages."""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ANSWERABLE_TYPES = frozenset(
    {
        "boolean",
        "decimal",
        "integer",
        "date",
        "dateTime",
        "time",
        "string",
        "text",
        "url",
        "choice",
        "open-choice",
        "quantity",
        "attachment",
    }
)
STRUCTURAL_TYPES = frozenset({"group", "display"})
# Valid FHIR types a patient cannot answer on a web form we render.
UNSUPPORTED_TYPES = frozenset({"reference", "question"})
# An attachment item with no maxSize / mimeType extension: a phone photo or a scan.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MIME_TYPES = ("image/jpeg", "image/png", "application/pdf")


@dataclass(frozen=True)
class Option:
    code: str  # what the answer stores: the Coding's code, the string, or str(integer)
    display: str
    kind: str  # the answerOption value[x]: "Coding", "String", "Integer", "Date" or "Time"
    system: str | None = None
    score: Decimal | None = None  # ordinalValue / itemWeight
    exclusive: bool = False
    raw: Any = None  # the original value (int for Integer options)

    @property
    def numeric(self) -> Decimal | None:
        """The number a ">"-style condition compares: the integer itself, else the score."""
        if self.kind == "Integer":
            return Decimal(self.raw)
        return self.score


@dataclass(frozen=True)
class Condition:
    question: str
    operator: str  # exists = != > < >= <=
    kind: str  # the enableWhen answer[x] suffix: "Boolean", "Coding", "Integer", ...
    answer: Any  # normalised: bool, str code, Decimal, date, datetime, "HH:MM:SS"


@dataclass(frozen=True)
class EnableWhen:
    conditions: tuple[Condition, ...]
    behavior: str = "all"  # or "any"

    @property
    def questions(self) -> frozenset[str]:
        return frozenset(c.question for c in self.conditions)


@dataclass(frozen=True)
class Band:
    label: str
    min: Decimal | None = None
    max: Decimal | None = None

    def contains(self, score: Decimal) -> bool:
        return (self.min is None or score >= self.min) and (self.max is None or score <= self.max)


# A tuple, not a set: ``severity in SEVERITIES`` must not fail on an unhashable value
# from an untrusted definition.
SEVERITIES = ("urgent", "routine")


@dataclass(frozen=True)
class FlagRule:
    code: str
    severity: str  # one of SEVERITIES
    message: str
    when: EnableWhen
    owner: str | None = None  # linkId of the item carrying the rule; None for the root


@dataclass(frozen=True)
class Calculation:
    """How a read-only score or computed item gets its value: a FHIRPath expression
    (a fhirpath.FhirPath) evaluated against the response so far. ``source`` says where
    it came from: "sdc" (calculatedExpression) or "designer" (our formula syntax,
    compiled to FHIRPath; ``formula`` keeps the staff's own text)."""

    expression: Any
    source: str = "sdc"
    formula: str = ""


@dataclass(frozen=True)
class Variable:
    """An SDC ``variable``: a named FHIRPath expression, %name in later expressions."""

    name: str
    expression: Any


@dataclass(frozen=True)
class Constraint:
    """An SDC targetConstraint on an item: ``expression`` must not be false."""

    key: str
    human: str
    expression: Any
    severity: str = "error"


@dataclass(frozen=True, eq=False)
class Item:
    link_id: str
    type: str
    text: str = ""
    prefix: str = ""
    required: bool = False
    repeats: bool = False
    read_only: bool = False
    hidden: bool = False  # never shown to the patient (questionnaire-hidden)
    # Inside a required group (engine.groups): not marked "(optional)", since the group
    # needs one of its questions answered.
    in_required_group: bool = False
    help_text: str = ""
    enable_when: EnableWhen | None = None
    parent: str | None = None
    ancestors: tuple[str, ...] = ()  # enclosing items' linkIds, outermost first
    children: tuple[str, ...] = ()
    page_key: str | None = None
    order: int = 0  # position in a pre-order walk of the definition
    depth: int = 0  # 0 for items directly on the page
    options: tuple[Option, ...] = ()
    control: str | None = None  # itemControl code
    # SDC choiceOrientation: "horizontal" (side by side) or "vertical"; None: ours to pick.
    orientation: str | None = None
    input_format: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    max_decimal_places: int | None = None
    regex: re.Pattern | None = None
    regex_message: str = ""
    short_label: str = ""
    required_message: str = ""
    not_in_future: bool = False
    unit: dict | None = None  # {"system", "code", "display"}
    other_label: str = ""
    calculation: Calculation | None = None
    enable_expression: Any = None  # SDC enableWhenExpression (a fhirpath.FhirPath)
    initial_expression: Any = None  # SDC initialExpression
    # SDC answerExpression: the options, worked out from earlier answers (see
    # answer_expressions); ``options`` is empty until then.
    answer_expression: Any = None
    variables: tuple[Variable, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    bands: tuple[Band, ...] = ()
    code: tuple[dict, ...] = field(default=())  # item.code Codings, echoed nowhere yet
    initial: Any = None  # a pre-filled answer, in the stored answer shape (see answers)
    # Repeats: the nearest enclosing repeating group (whose instances hold this item's
    # answers), and a repeating item's occurrence limits (SDC minOccurs / maxOccurs).
    scope: str | None = None
    min_occurs: int = 0
    max_occurs: int | None = None
    # attachment: the largest file (bytes) and the content types accepted (SDC maxSize,
    # mimeType), or the defaults above.
    max_size: int = DEFAULT_MAX_SIZE
    mime_types: tuple[str, ...] = DEFAULT_MIME_TYPES
    # SDC observationExtract: file the answer as an Observation coded with ``code``.
    observation_extract: bool = False

    @property
    def is_answerable(self) -> bool:
        return self.type in ANSWERABLE_TYPES

    @property
    def is_question(self) -> bool:
        """A question the patient answers on a page."""
        return self.is_answerable and not self.hidden and not self.read_only

    @property
    def is_repeating_group(self) -> bool:
        return self.repeats and self.type == "group"

    @property
    def is_repeating_question(self) -> bool:
        """Several answers, each its own box (choices repeat as checkboxes instead)."""
        return self.repeats and self.is_question and self.type not in ("choice", "open-choice")

    @property
    def is_repeat_root(self) -> bool:
        """Answered as a list of instances: "Add another" on the page."""
        return self.is_repeating_group or self.is_repeating_question

    @property
    def in_repeat(self) -> bool:
        """Answered in a repeat's instances: a repeat itself, or anything inside one."""
        return self.scope is not None or self.is_repeat_root

    @property
    def is_multiple(self) -> bool:
        return self.repeats and self.type in ("choice", "open-choice")

    @property
    def is_scored(self) -> bool:
        return any(option.score is not None for option in self.options)

    def option(self, code: str) -> Option | None:
        for option in self.options:
            if option.code == code:
                return option
        return None


# The name the callers' brief uses for a page's question objects.
Question = Item


@dataclass(frozen=True, eq=False)
class Page:
    key: str
    title: str
    items: tuple[Item, ...]  # everything rendered on the page, in order, groups and displays too
    enable_when: EnableWhen | None = None
    # Calculated items the author shows (not questionnaire-hidden): read-only results
    # worked out from the answers, read back on "check your answers" (e.g. a BMI).
    results: tuple[Item, ...] = ()

    @property
    def questions(self) -> list[Item]:
        """The page's questions answered once (fields named by linkId); repeats apart."""
        return [item for item in self.items
                if item.is_question and item.scope is None and not item.is_repeat_root]

    @property
    def repeat_roots(self) -> list[Item]:
        """The outermost repeating groups and questions on the page (see ``repeats``)."""
        return [item for item in self.items if item.scope is None and item.is_repeat_root]
