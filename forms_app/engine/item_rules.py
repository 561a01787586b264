"""Each FHIR item rule once: the element or extension it lives in, how the engine reads
it (with the problems a file can have), and how it is written back.

The parser (parsing.py) builds an Item by running ``READ`` in order; the exporter
(forms_app.design.export) writes through ``Rule.extension`` and the rule's ``name`` (the
draft field); the designer's item checks (forms_app.design.validation) ask a rule which
item types it applies to; the importer (forms_app.design.importer) finds the rule of an
extension's URL in ``BY_URL`` and fills the draft field ``rule.name``, and codec classes
an extension it cannot use as clinical by the rule. So a rule's URL, value type, types,
field and clinical class are written down in one place.

Problems are ItemProblem: a string (what staff and the API have always seen) that
also carries the linkId, the message alone and whether the problem changes the form's
clinical meaning (a score, condition, requirement, validation or repeat), so that the
designer can link it to the question and the import report can class it.

Where the importer reads a rule too (score bands, occurrences, units, whole numbers),
it calls the reader here (``read_band``, ``read_occurs``, ``read_unit``,
``read_whole``) with ``strict=False``: the same rule, read as the importer always has
(it keeps what it can) and, where its report words differ, in its words.

To add a rule (say SDC choiceOrientation): a reader here returning the Item fields it
sets, a Rule for it in READ (after any rule whose fields it reads); a writer in
export._EXTENSION_WRITERS (or export._elements for an element) through the Rule; and,
when staff set it, a check in validation._ITEM_CHECKS asking ``v.applies(rule, type)``
and a reader in importer._Planner.READERS keyed by the Rule (an extension no reader
takes is reported on import). tests/pins proves that nothing else changed.
"""

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import extensions as ext
from .errors import ItemProblem
from .items import ANSWERABLE_TYPES, DEFAULT_MAX_SIZE, Band, Option
from .options import expand_value_set, parse_answer_options
from .values import to_date, to_datetime, to_decimal, to_time

CHOICE = frozenset({"choice", "open-choice"})
NUMBER_TYPES = frozenset({"integer", "decimal", "quantity"})
# A quantity too: the SDC implementation guide's PHQ-9 total is a quantity with no unit.
CALCULABLE = frozenset({"integer", "decimal", "quantity"})
# What an initial[x] must be for each item type (url also takes a valueString).
INITIAL_KINDS = {"boolean": "Boolean", "integer": "Integer", "decimal": "Decimal",
                 "quantity": "Quantity", "date": "Date", "dateTime": "DateTime",
                 "time": "Time", "string": "String", "text": "String", "url": "Uri"}


@dataclass
class Reading:
    """One item being read: its JSON, the fields read so far and where problems go."""

    raw: dict
    link_id: str
    item_type: str
    value_sets: dict
    problems: list
    fields: dict = field(default_factory=dict)
    clinical: bool = False  # of the rule being read

    def problem(self, message: str) -> None:
        self.problems.append(ItemProblem(self.link_id, message, self.clinical))

    def value(self, url: str) -> Any:
        return ext.extension_value(self.raw, url)

    def text(self, url: str) -> str:
        value = self.value(url)
        return value if isinstance(value, str) else ""

    @property
    def repeats(self) -> bool:
        return self.raw.get("repeats") is True


@dataclass(frozen=True)
class Rule:
    """An item rule: ``key`` is its extension URL (or the element's name), ``kind`` the
    value[x] it is written with, ``read`` gives the Item fields it sets. ``name`` is the
    field it fills, on the engine's Item and on the designer's draft item alike, so the
    importer and the exporter find the draft field through the rule."""

    name: str
    key: str
    read: Callable[[Reading], dict]
    kind: str | None = None
    clinical: bool = False
    # The FHIR item types it means something on (None: any); the designer checks it.
    types: frozenset | None = None

    def extension(self, value: Any, kind: str | None = None) -> dict:
        return {"url": self.key, f"value{kind or self.kind}": value}

    def applies_to(self, item_type: str) -> bool:
        return self.types is None or item_type in self.types


def is_int(value: Any) -> bool:
    """A JSON whole number (``True`` is an int to Python, never to FHIR)."""
    return isinstance(value, int) and not isinstance(value, bool)


HELP_CONTROLS = frozenset({"help", "flyover"})


def is_help_child(child: Any, parent_type: str) -> bool:
    """A display child with itemControl help/flyover is help for its parent; so is any
    display child of a question, which FHIR renders next to the question. The parser
    and the importer both split an item's children by this."""
    return (isinstance(child, dict) and child.get("type") == "display"
            and (parent_type != "group" or ext.item_control(child) in HELP_CONTROLS))


# --- Readers, one per rule ------------------------------------------------------------


def _orientation(value: Any) -> str | None:
    return value if value in ext.ORIENTATIONS else None


def _options(r: Reading) -> dict:
    if r.item_type not in CHOICE:
        return {"options": ()}
    options: list[Option] = []
    if r.raw.get("answerOption") is not None:
        options = parse_answer_options(r.link_id, r.raw["answerOption"], r.problems)
    elif r.raw.get("answerValueSet") is not None:
        options = expand_value_set(r.link_id, r.raw["answerValueSet"], r.value_sets,
                                   r.problems)
    # An answerExpression works its options out from the answers (answer_expressions).
    if not options and ext.extension(r.raw, ext.ANSWER_EXPRESSION) is None:
        r.problem(f"{r.item_type} question has no answer options")
    codes = [option.code for option in options]
    if len(set(codes)) != len(codes):
        r.problem("two answer options have the same code")
    if "__other__" in codes:
        r.problem('"__other__" is reserved and cannot be an option code')
    return {"options": tuple(options)}


# What the draft's occurrence columns hold (a PositiveSmallIntegerField).
MOST_OCCURS = 32767


def read_occurs(link_id: str | None, raw: dict, name: str, value: Any, *,
                strict: bool = True) -> tuple[int | None, list[ItemProblem]]:
    """questionnaire-minOccurs or -maxOccurs (``name`` "min_occurs" or "max_occurs"): a
    whole number on an item that repeats. The engine (``strict``) takes a maxOccurs of 1
    or more, of any size; the importer (words its note by the field) 0 to MOST_OCCURS."""
    least, most = ((1 if name == "max_occurs" else 0), None) if strict else (0, MOST_OCCURS)
    if raw.get("repeats") is not True:
        fault = "minOccurs and maxOccurs need an item that repeats"
    elif not is_int(value) or value < least or (most is not None and value > most):
        fault = "minOccurs and maxOccurs must be whole numbers (maxOccurs 1 or more)"
    else:
        return value, []
    if not strict:
        fault = (f"{name.replace('_', ' ')} was left out: it needs a whole number on an "
                 "item that repeats.")
    return None, [ItemProblem(link_id, fault, clinical=True)]


def _occurs_problems(r: Reading, low: Any, high: Any) -> list[ItemProblem]:
    # One problem for the pair: the first either has, else whether they disagree.
    for name, value in (("min_occurs", low), ("max_occurs", high)):
        problems = read_occurs(r.link_id, r.raw, name, value)[1] if value is not None else []
        if problems:
            return problems
    if low is not None and high is not None and low > high:
        return [ItemProblem(r.link_id, "minOccurs is more than maxOccurs", r.clinical)]
    return []


def _occurs(r: Reading) -> dict:
    """SDC minOccurs / maxOccurs of a repeating item; (0, None) when not given."""
    low, high = r.value(ext.MIN_OCCURS), r.value(ext.MAX_OCCURS)
    if low is None and high is None:
        return {"min_occurs": 0, "max_occurs": None}
    problems = _occurs_problems(r, low, high)
    if problems:
        r.problems += problems
        return {"min_occurs": 0, "max_occurs": None}
    return {"min_occurs": low or 0, "max_occurs": high}


def _calculated(r: Reading) -> dict:
    calculated = bool(ext.extension(r.raw, ext.CALCULATED_EXPRESSION)
                      or ext.extension(r.raw, ext.COMPUTED))
    if calculated and r.item_type not in CALCULABLE:
        r.problem("only integer, decimal and quantity items can be calculated")
    return {"read_only": r.raw.get("readOnly") is True or calculated}


def fits_input_format(value: Any, item_type: str) -> bool:
    """An input-format we check answers against, on a type it applies to (the importer
    asks this too, of the draft's type: "string" until an input-format is read)."""
    return (isinstance(value, str) and value in ext.INPUT_FORMATS
            and INPUT_FORMAT.applies_to(item_type))


def _input_format(r: Reading) -> dict:
    value = r.value(ext.INPUT_FORMAT)
    if value is None:
        return {"input_format": None}
    if not fits_input_format(value, r.item_type):
        r.problem(f'input-format "{value}" is unknown or not on a string question')
        return {"input_format": None}
    return {"input_format": value}


def _regex(r: Reading) -> dict:
    pattern = r.value(ext.REGEX)
    if pattern is None:
        return {"regex": None}
    try:
        return {"regex": re.compile(pattern)}
    except (re.error, TypeError):
        r.problem("the regex extension is not a valid regular expression")
        return {"regex": None}


# The whole-number rules, by field: the least each takes (a maxLength of 0 would refuse
# every answer) and the engine's words when a value is not one.
_WHOLE = {
    "max_length": (1, "maxLength must be a whole number of 1 or more"),
    "min_length": (0, "minLength must be a whole number"),
    "max_decimal_places": (0, "maxDecimalPlaces must be a whole number"),
}


def read_whole(link_id: str | None, name: str, value: Any, *, strict: bool = True
               ) -> tuple[int | None, list[ItemProblem]]:
    """A whole-number rule (``name`` its field): ``value`` when it is a whole number of
    its least or more, else None and a clinical problem (a check on the answer is lost).
    Not ``strict`` (the importer's minLength and maxDecimalPlaces), a JSON true still
    counts as 1, as it always has there; the importer words its own note."""
    least, message = _WHOLE[name]
    if value is None:
        return None, []
    if (is_int(value) if strict else isinstance(value, int)) and value >= least:
        return value, []
    return None, [ItemProblem(link_id, message, clinical=True)]


def _whole(r: Reading, name: str, value: Any) -> dict:
    kept, problems = read_whole(r.link_id, name, value)
    r.problems += problems
    return {name: kept}


def _max_length(r: Reading) -> dict:
    return _whole(r, "max_length", r.raw.get("maxLength"))


def _min_length(r: Reading) -> dict:
    return _whole(r, "min_length", r.value(ext.MIN_LENGTH))


def _lengths_agree(r: Reading) -> dict:
    low, high = r.fields["min_length"], r.fields["max_length"]
    if low and high and low > high:
        r.problem("minLength is more than maxLength")
    return {}


def _places(r: Reading) -> dict:
    return _whole(r, "max_decimal_places", r.value(ext.MAX_DECIMAL_PLACES))


def _as_datetime(kind: str, value: Any) -> Any:
    """A dateTime question's limit: a date counts from its midnight."""
    parsed = to_datetime(value) if kind == "DateTime" else to_date(value)
    if isinstance(parsed, dt.date) and not isinstance(parsed, dt.datetime):
        parsed = to_datetime(parsed.isoformat() + "T00:00:00")
    return parsed


# Per item type: the value[x] kinds its minValue/maxValue may have, and their reader.
_LIMIT_READERS = {
    **{t: (("Integer", "Decimal", "Quantity"), lambda kind, value: to_decimal(value))
       for t in NUMBER_TYPES},
    "date": (("Date",), lambda kind, value: to_date(value)),
    "dateTime": (("DateTime", "Date"), _as_datetime),
    "time": (("Time",), lambda kind, value: to_time(value)),
}


def _limit(r: Reading, url: str) -> Any:
    kind, value = ext.value_of(ext.extension(r.raw, url))
    if kind is None:
        return None
    kinds, reader = _LIMIT_READERS.get(r.item_type, ((), None))
    parsed = reader(kind, value) if kind in kinds else None
    if parsed is None or isinstance(value, bool):
        r.problem(f"{url.rsplit('/', 1)[-1]} value{kind} does not fit a {r.item_type} question")
    return parsed


def _min_value(r: Reading) -> dict:
    return {"min_value": _limit(r, ext.MIN_VALUE)}


def _max_value(r: Reading) -> dict:
    return {"max_value": _limit(r, ext.MAX_VALUE)}


def _values_agree(r: Reading) -> dict:
    low, high = r.fields["min_value"], r.fields["max_value"]
    if low is not None and high is not None:
        try:
            if low > high:
                r.problem("minValue is more than maxValue")
        except TypeError:
            r.problem("minValue and maxValue are of different types")
    return {}


def read_unit(link_id: str | None, value: Any, *, strict: bool = True
              ) -> tuple[dict | None, list[ItemProblem]]:
    """questionnaire-unit's valueCoding (a copy), None when absent or without a code.
    Not ``strict`` (the importer, which writes the code as text), any code but an empty
    one will do; the importer reports one it refuses as left out."""
    if value is None:
        return None, []
    code = value.get("code") if isinstance(value, dict) else None
    if (isinstance(code, str) and code) or (not strict and code):
        return dict(value), []
    return None, [ItemProblem(link_id, "questionnaire-unit needs a valueCoding with a code")]


def _unit(r: Reading) -> dict:
    unit, problems = read_unit(r.link_id, r.value(ext.UNIT))
    r.problems += problems
    return {"unit": unit}


_NOT_A_NUMBER = object()


def _band_limit(value: Any, strict: bool) -> Any:
    """A band's min or max: None when absent, else a Decimal, else _NOT_A_NUMBER. The
    engine reads a valueQuantity's number (to_decimal does); the importer has always
    refused one, its draft band holding a plain number."""
    if value is None:
        return None
    number = to_decimal(value) if strict or not isinstance(value, dict) else None
    return _NOT_A_NUMBER if number is None else number


def read_band(link_id: str | None, extension: dict, *, strict: bool = True
              ) -> tuple[Band | None, list[ItemProblem]]:
    """Our score-band extension: a label and optional numeric min and max. The engine
    (``strict``) also refuses a min above the max; the importer keeps that band as
    written and words its one problem as the import report does."""
    label = ext.extension_value(extension, "label")
    low, high = (_band_limit(ext.extension_value(extension, name), strict)
                 for name in ("min", "max"))
    if not isinstance(label, str) or not label or _NOT_A_NUMBER in (low, high):
        return None, [ItemProblem(
            link_id, "a score-band needs a label and numeric min/max" if strict
            else "A score band was left out: it needs a label and numbers.", clinical=True)]
    if strict and low is not None and high is not None and low > high:
        return None, [ItemProblem(link_id, f'score-band "{label}" has min more than max',
                                  clinical=True)]
    return Band(label, low, high), []


def _band(r: Reading, band_ext: dict) -> Band | None:
    band, problems = read_band(r.link_id, band_ext)
    r.problems += problems
    return band


def _bands(r: Reading) -> dict:
    bands = [band for band in (_band(r, e) for e in ext.extensions(r.raw, ext.SCORE_BAND))
             if band is not None]
    if bands and r.item_type not in NUMBER_TYPES:
        r.problem("score bands need an integer or decimal item")
    infinity = Decimal("Infinity")
    ordered = sorted(bands, key=lambda b: -infinity if b.min is None else b.min)
    for lower, upper in itertools.pairwise(ordered):
        if lower.max is None or upper.min is None or upper.min <= lower.max:
            r.problem(f'score-bands "{lower.label}" and "{upper.label}" overlap')
    return {"bands": tuple(bands)}


def _selected(r: Reading) -> Any:
    """initialSelected options as the stored answer: their codes (a list when it repeats)."""
    raw_options = ext.as_list(r.raw.get("answerOption"))
    options = r.fields["options"]
    selected = {option.code for option, raw_option in zip(options, raw_options, strict=False)
                if isinstance(raw_option, dict) and raw_option.get("initialSelected") is True}
    codes = [option.code for option in options if option.code in selected]
    if not codes:
        return None
    return codes if r.repeats else codes[0]


def _initial(r: Reading) -> dict:
    """initial[x] (or initialSelected options) as a stored answer, or None: every one
    for a repeating question (a list), else the first.

    A pre-filled value only saves the patient typing, so one that does not fit the
    question is ignored rather than refused: the patient answers it as usual.
    """
    if r.item_type in CHOICE:
        return {"initial": _selected(r)}
    initials = [i for i in ext.as_list(r.raw.get("initial")) if isinstance(i, dict)]
    unit = r.fields["unit"]
    if r.repeats and r.item_type in ANSWERABLE_TYPES:
        values = [one_initial(i, r.item_type, unit) for i in initials]
        return {"initial": [value for value in values if value is not None] or None}
    return {"initial": one_initial(initials[0], r.item_type, unit) if initials else None}


def _number_initial(value: Any, item_type: str, unit) -> Any:
    number = to_decimal(value)
    if number is None:
        return None
    if item_type == "decimal":
        return format(number, "f")
    return {"value": format(number, "f"), "unit": (unit or {}).get("code")}


# Per item type: the stored answer of a fitting initial value, or None.
_INITIAL_READERS: dict[str, Callable[[Any, str, Any], Any]] = {
    "boolean": lambda value, t, u: value if isinstance(value, bool) else None,
    "integer": lambda value, t, u: value if is_int(value) else None,
    "decimal": _number_initial,
    "quantity": _number_initial,
    "date": lambda value, t, u: (value if isinstance(value, str) and to_date(value)
                                 and len(value) == 10 else None),
    "dateTime": lambda value, t, u: value if isinstance(value, str) and to_datetime(value)
    else None,
    "time": lambda value, t, u: to_time(value),
}


def _text_initial(value: Any, item_type: str, unit) -> Any:
    return value if isinstance(value, str) and value.strip() else None


def one_initial(initial: dict, item_type: str, unit) -> Any:
    kind, value = ext.value_of(initial)
    if kind != INITIAL_KINDS.get(item_type) and not (item_type == "url" and kind == "String"):
        return None
    return _INITIAL_READERS.get(item_type, _text_initial)(value, item_type, unit)


def _observation_extract(r: Reading) -> dict:
    """SDC observationExtract: true files the answer as an Observation with its code."""
    if r.value(ext.OBSERVATION_EXTRACT) is not True:
        return {"observation_extract": False}
    if r.item_type not in ANSWERABLE_TYPES or r.item_type == "attachment":
        r.problem("observationExtract is only for questions with a value")
        return {"observation_extract": False}
    if not any(isinstance(c, dict) and c.get("code") for c in ext.as_list(r.raw.get("code"))):
        r.problem("observationExtract needs the item's code (e.g. LOINC) for the Observation")
        return {"observation_extract": False}
    return {"observation_extract": True}


def _max_size(r: Reading) -> dict:
    """An attachment's maxSize (the Item's default when absent)."""
    if r.item_type != "attachment":
        return {}
    size = r.value(ext.MAX_SIZE)
    if size is None:
        return {}
    if isinstance(size, bool) or not isinstance(size, int | float | Decimal) or size < 1:
        r.problem("maxSize must be a positive number of bytes")
        return {}
    # Never above the platform's own limit, whatever the form allows.
    return {"max_size": min(int(size), DEFAULT_MAX_SIZE)}


def _mime_types(r: Reading) -> dict:
    if r.item_type != "attachment":
        return {}
    types = [ext.value_of(e)[1] for e in ext.extensions(r.raw, ext.MIME_TYPE)]
    if not types:
        return {}
    if not all(isinstance(t, str) and "/" in t for t in types):
        r.problem("mimeType must be a content type code, e.g. image/jpeg")
        return {}
    return {"mime_types": tuple(t.lower() for t in types)}


def _element(name: str, element: str, convert: Callable[[Reading, Any], Any]) -> Callable:
    return lambda r: {name: convert(r, r.raw.get(element))}


def _text_extension(name: str, url: str) -> Callable:
    return lambda r: {name: r.text(url)}


def _true_extension(name: str, url: str) -> Callable:
    return lambda r: {name: r.value(url) is True}


def _string(r: Reading, value: Any) -> str:
    return str(value or "")


def _true(r: Reading, value: Any) -> bool:
    return value is True


# --- The table ------------------------------------------------------------------------
# clinical: a problem with the rule changes what the form means for the patient's care (a
# check on the answer, a score or its bands, a calculation, a requirement, a repeat, an
# answer filed as an Observation); the import report classes its notes the same way.

TEXT_TYPES = frozenset({"string", "text", "url"})

OPTIONS = Rule("options", "answerOption", _options, clinical=True, types=CHOICE)
OCCURS = Rule("min_occurs", ext.MIN_OCCURS, _occurs, "Integer", clinical=True)
MAX_OCCURS = Rule("max_occurs", ext.MAX_OCCURS, _occurs, "Integer", clinical=True)
CALCULATED = Rule("calculated", ext.CALCULATED_EXPRESSION, _calculated, clinical=True,
                  types=CALCULABLE)
INPUT_FORMAT = Rule("input_format", ext.INPUT_FORMAT, _input_format, "Code", clinical=True,
                    types=frozenset({"string"}))
REGEX = Rule("regex", ext.REGEX, _regex, "String", clinical=True, types=TEXT_TYPES)
MAX_LENGTH = Rule("max_length", "maxLength", _max_length, clinical=True,
                  types=TEXT_TYPES | {"open-choice"})
MIN_LENGTH = Rule("min_length", ext.MIN_LENGTH, _min_length, "Integer", clinical=True,
                  types=TEXT_TYPES)
LENGTHS = Rule("lengths", "maxLength", _lengths_agree, clinical=True)
PLACES = Rule("max_decimal_places", ext.MAX_DECIMAL_PLACES, _places, "Integer",
              clinical=True, types=frozenset({"decimal", "quantity"}))
MIN_VALUE = Rule("min_value", ext.MIN_VALUE, _min_value, clinical=True,
                 types=frozenset(_LIMIT_READERS))
MAX_VALUE = Rule("max_value", ext.MAX_VALUE, _max_value, clinical=True,
                 types=frozenset(_LIMIT_READERS))
VALUES = Rule("values", ext.MAX_VALUE, _values_agree, clinical=True)
UNIT = Rule("unit", ext.UNIT, _unit, "Coding", types=frozenset({"quantity"}))
BANDS = Rule("bands", ext.SCORE_BAND, _bands, clinical=True, types=CALCULABLE)
INITIAL = Rule("initial", "initial", _initial)
OBSERVATION_EXTRACT = Rule("observation_extract", ext.OBSERVATION_EXTRACT,
                           _observation_extract, "Boolean", clinical=True)
MAX_SIZE = Rule("max_size", ext.MAX_SIZE, _max_size, "Decimal", types=frozenset({"attachment"}))
MIME_TYPES = Rule("mime_types", ext.MIME_TYPE, _mime_types, "Code",
                  types=frozenset({"attachment"}))
TEXT = Rule("text", "text", _element("text", "text", _string))
PREFIX = Rule("prefix", "prefix", _element("prefix", "prefix", _string))
# A question must be answered; a group must have one of its questions answered
# (engine.groups); text to read cannot be required.
REQUIRED = Rule("required", "required", lambda r: {
    "required": r.raw.get("required") is True
    and (r.item_type in ANSWERABLE_TYPES or r.item_type == "group")},
    clinical=True)
REPEATS = Rule("repeats", "repeats", _element("repeats", "repeats", _true), clinical=True)
HIDDEN = Rule("hidden", ext.HIDDEN, _true_extension("hidden", ext.HIDDEN), "Boolean")
CONTROL = Rule("control", ext.ITEM_CONTROL, lambda r: {"control": ext.item_control(r.raw)},
               "CodeableConcept", types=CHOICE)
# SDC choiceOrientation: an unknown value only changes the look, so it is ignored. The
# designer keeps it in the item's fhir_extensions (design.item_extensions), written as
# it came.
ORIENTATION = Rule("orientation", ext.CHOICE_ORIENTATION, lambda r: {
    "orientation": _orientation(ext.extension_value(r.raw, ext.CHOICE_ORIENTATION))},
    "Code", types=CHOICE | {"boolean"})
REGEX_MESSAGE = Rule("regex_message", ext.REGEX_MESSAGE,
                     _text_extension("regex_message", ext.REGEX_MESSAGE), "String",
                     types=TEXT_TYPES)
SHORT_LABEL = Rule("short_label", ext.SHORT_LABEL,
                   _text_extension("short_label", ext.SHORT_LABEL), "String")
REQUIRED_MESSAGE = Rule("required_message", ext.REQUIRED_MESSAGE,
                        _text_extension("required_message", ext.REQUIRED_MESSAGE), "String")
OTHER_LABEL = Rule("other_label", ext.OTHER_LABEL,
                   _text_extension("other_label", ext.OTHER_LABEL), "String")
NOT_IN_FUTURE = Rule("not_in_future", ext.NOT_IN_FUTURE,
                     _true_extension("not_in_future", ext.NOT_IN_FUTURE), "Boolean",
                     clinical=True, types=frozenset({"date", "dateTime"}))
CODE = Rule("code", "code", lambda r: {"code": tuple(
    c for c in ext.as_list(r.raw.get("code")) if isinstance(c, dict))})

# Not in READ, but declared here so that every item extension, and whether losing it is
# clinical, is written down once (BY_URL). Read by another rule: maxOccurs with minOccurs
# (OCCURS), our computed formula with calculatedExpression (CALCULATED). Read elsewhere:
# help text with the item's display children (parsing._children_and_help), flag rules
# with the form's (rules._flag_rules), the answerExpression by answer_expressions.
COMPUTED = Rule("formula", ext.COMPUTED, lambda r: {}, "String", clinical=True,
                types=CALCULABLE)
HELP_TEXT = Rule("help_text", ext.HELP_TEXT, lambda r: {}, "String")
FLAG_RULE = Rule("flag_rules", ext.FLAG_RULE, lambda r: {}, clinical=True)
ANSWER_EXPRESSION = Rule("answer_expression", ext.ANSWER_EXPRESSION, lambda r: {},
                         "Expression", clinical=True, types=CHOICE)

# In the order the parser reads them: its problems come out in this order, and a rule
# reading another's field (lengths, values, initial) comes after it.
READ: tuple[Rule, ...] = (
    OPTIONS, OCCURS, CALCULATED, INPUT_FORMAT, REGEX, MAX_LENGTH, MIN_LENGTH, LENGTHS,
    PLACES, MIN_VALUE, MAX_VALUE, VALUES, UNIT, TEXT, PREFIX, REQUIRED, REPEATS, HIDDEN,
    CONTROL, ORIENTATION, REGEX_MESSAGE, SHORT_LABEL, REQUIRED_MESSAGE, NOT_IN_FUTURE, OTHER_LABEL,
    BANDS, CODE, INITIAL, OBSERVATION_EXTRACT, MAX_SIZE, MIME_TYPES,
)


def _by_url(declared: tuple[Rule, ...]) -> dict[str, Rule]:
    # The first rule of a URL declares it: VALUES only checks what MAX_VALUE read.
    return {rule.key: rule for rule in reversed(declared) if "://" in rule.key}


# Every item extension a rule declares, by URL: the importer's reader of an extension is
# found through its rule, and one it cannot use is clinical as the rule says.
BY_URL: dict[str, Rule] = _by_url(
    (*READ, MAX_OCCURS, COMPUTED, HELP_TEXT, FLAG_RULE, ANSWER_EXPRESSION))


def read_item(raw: dict, link_id: str, item_type: str, value_sets: dict,
              problems: list) -> dict:
    """The Item fields of ``raw``, every rule read in turn; problems appended."""
    reading = Reading(raw, link_id, item_type, value_sets, problems)
    for rule in READ:
        reading.clinical = rule.clinical
        reading.fields.update(rule.read(reading))
    return reading.fields
