"""Pass one of compilation: walk the Questionnaire's items into Item objects.

Every problem is collected (not raised at the first) so staff see them all at once.
Conditions, calculations and flag rules need the whole item list, so rules.py reads
them in a second pass from the raw items kept here.
"""

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import extensions as ext
from .items import (
    ANSWERABLE_TYPES,
    DEFAULT_MAX_SIZE,
    STRUCTURAL_TYPES,
    UNSUPPORTED_TYPES,
    Band,
    Item,
    Option,
)
from .options import contained_value_sets, expand_value_set, parse_answer_options
from .values import to_date, to_datetime, to_decimal, to_time

HELP_CONTROLS = frozenset({"help", "flyover"})
MAX_LINK_ID_LENGTH = 255
_TEXT_TYPES = frozenset({"string", "text", "url"})
_NUMBER_TYPES = frozenset({"integer", "decimal", "quantity"})


@dataclass
class Walk:
    """What pass one produces."""

    items: dict[str, Item] = field(default_factory=dict)  # in pre-order
    raw: dict[str, dict] = field(default_factory=dict)
    top_level: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def walk_definition(definition: Any) -> Walk:
    walk = Walk()
    if not isinstance(definition, dict) or definition.get("resourceType") != "Questionnaire":
        walk.problems.append("The definition is not a FHIR Questionnaire (resourceType)")
        return walk
    raw_items = definition.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        walk.problems.append("The form has no items")
        return walk
    value_sets = contained_value_sets(definition)
    for raw in raw_items:
        link_id = _walk_item(
            walk, raw, value_sets, parent=None, ancestors=(), page_key=None, depth=0,
            scope=None,
        )
        if link_id is not None:
            walk.top_level.append(link_id)
    return walk


def _walk_item(walk, raw, value_sets, *, parent, ancestors, page_key, depth,
               scope) -> str | None:
    problems = walk.problems
    if not isinstance(raw, dict):
        problems.append(f"An item inside {parent or 'the form'} is not an object")
        return None
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not link_id.strip():
        problems.append(f"An item inside {parent or 'the form'} has no linkId")
        return None
    # "~" separates the parts of a repeated instance's field names (engine.repeats).
    if len(link_id) > MAX_LINK_ID_LENGTH or "\x00" in link_id or "~" in link_id:
        problems.append(f'Item "{link_id[:40]}": linkId is too long or has invalid characters')
        return None
    if link_id in walk.items or link_id in walk.raw:
        problems.append(f'Item "{link_id}": duplicate linkId')
        return None
    item_type = raw.get("type")
    if not isinstance(item_type, str):
        problems.append(f'Item "{link_id}": item type must be a string')
        return None
    if item_type in UNSUPPORTED_TYPES:
        problems.append(f'Item "{link_id}": the item type "{item_type}" is not supported')
        return None
    if item_type not in ANSWERABLE_TYPES and item_type not in STRUCTURAL_TYPES:
        problems.append(f'Item "{link_id}": unknown item type "{item_type}"')
        return None
    page_key = page_key or link_id
    walk.raw[link_id] = raw
    children, help_texts = _children_and_help(link_id, item_type, raw, problems)
    # SDC entryFormat ("nn kg", "DD/MM/YYYY") is the hint under the question.
    help_texts = [ext.extension_value(raw, ext.HELP_TEXT), *help_texts,
                  ext.extension_value(raw, ext.ENTRY_FORMAT)]

    # Reserve the position before the children so that order is a pre-order walk.
    order = len(walk.items)
    walk.items[link_id] = None  # type: ignore[assignment]
    child_ids = []
    child_scope = _child_scope(raw, link_id, item_type, children, scope, problems)
    for child in children:
        child_id = _walk_item(
            walk,
            child,
            value_sets,
            parent=link_id,
            ancestors=(*ancestors, link_id),
            page_key=page_key,
            depth=depth + (0 if parent is None and item_type == "group" else 1),
            scope=child_scope,
        )
        if child_id is not None:
            child_ids.append(child_id)
    walk.items[link_id] = _build_item(
        raw,
        link_id,
        item_type,
        value_sets,
        problems,
        parent=parent,
        ancestors=ancestors,
        page_key=page_key,
        order=order,
        depth=depth,
        children=tuple(child_ids),
        scope=scope,
        help_text="\n\n".join(t for t in help_texts if isinstance(t, str) and t.strip()),
    )
    return link_id


def _child_scope(raw, link_id, item_type, children, scope, problems) -> str | None:
    """The repeat scope of an item's children: a repeating group's instances hold the
    answers of everything inside it."""
    if raw.get("repeats") is not True:
        return scope
    if item_type != "group":
        if children:
            problems.append(f'Item "{link_id}": items under a repeating question are not '
                            "supported")
        return scope
    return link_id


def _children_and_help(link_id, item_type, raw, problems) -> tuple[list, list[str]]:
    """Split child items into real children and help text for this item.

    A display child with itemControl help/flyover is help for its parent; so is any
    display child of a question, which FHIR renders next to the question.
    """
    raw_children = raw.get("item") or []
    if not isinstance(raw_children, list):
        problems.append(f'Item "{link_id}": item must be a list')
        return [], []
    if item_type == "display" and raw_children:
        problems.append(f'Item "{link_id}": a display item cannot contain items')
        return [], []
    if item_type == "group" and not raw_children:
        problems.append(f'Item "{link_id}": group has no items')
    children, help_texts = [], []
    for child in raw_children:
        is_display = isinstance(child, dict) and child.get("type") == "display"
        if is_display and (ext.item_control(child) in HELP_CONTROLS or item_type != "group"):
            help_texts.append(child.get("text") or "")
        else:
            children.append(child)
    return children, help_texts


def _build_item(raw, link_id, item_type, value_sets, problems, **placement) -> Item:
    def problem(message: str) -> None:
        problems.append(f'Item "{link_id}": {message}')

    def text_ext(url: str) -> str:
        value = ext.extension_value(raw, url)
        return value if isinstance(value, str) else ""

    options: list[Option] = []
    if item_type in ("choice", "open-choice"):
        if raw.get("answerOption") is not None:
            options = parse_answer_options(link_id, raw["answerOption"], problems)
        elif raw.get("answerValueSet") is not None:
            options = expand_value_set(link_id, raw["answerValueSet"], value_sets, problems)
        if not options:
            problem(f"{item_type} question has no answer options")
        codes = [option.code for option in options]
        if len(set(codes)) != len(codes):
            problem("two answer options have the same code")
        if "__other__" in codes:
            problem('"__other__" is reserved and cannot be an option code')

    min_occurs, max_occurs = _occurs(raw, problem)

    calculated = bool(
        ext.extension(raw, ext.CALCULATED_EXPRESSION) or ext.extension(raw, ext.COMPUTED)
    )
    if calculated and item_type not in ("integer", "decimal"):
        problem("only integer and decimal items can be calculated")

    input_format = ext.extension_value(raw, ext.INPUT_FORMAT)
    if input_format is not None and (
        not isinstance(input_format, str)
        or input_format not in ext.INPUT_FORMATS
        or item_type != "string"
    ):
        problem(f'input-format "{input_format}" is unknown or not on a string question')
        input_format = None

    regex = None
    pattern = ext.extension_value(raw, ext.REGEX)
    if pattern is not None:
        try:
            regex = re.compile(pattern)
        except (re.error, TypeError):
            problem("the regex extension is not a valid regular expression")

    max_length = raw.get("maxLength")
    if max_length is not None and (not _is_int(max_length) or max_length < 1):
        problem("maxLength must be a whole number of 1 or more")
        max_length = None
    min_length = ext.extension_value(raw, ext.MIN_LENGTH)
    if min_length is not None and (not _is_int(min_length) or min_length < 0):
        problem("minLength must be a whole number")
        min_length = None
    if min_length and max_length and min_length > max_length:
        problem("minLength is more than maxLength")
    places = ext.extension_value(raw, ext.MAX_DECIMAL_PLACES)
    if places is not None and (not _is_int(places) or places < 0):
        problem("maxDecimalPlaces must be a whole number")
        places = None

    min_value = _limit(raw, ext.MIN_VALUE, item_type, problem)
    max_value = _limit(raw, ext.MAX_VALUE, item_type, problem)
    if min_value is not None and max_value is not None:
        try:
            if min_value > max_value:
                problem("minValue is more than maxValue")
        except TypeError:
            problem("minValue and maxValue are of different types")

    unit = ext.extension_value(raw, ext.UNIT)
    if unit is not None and not (
        isinstance(unit, dict) and isinstance(unit.get("code"), str) and unit["code"]
    ):
        problem("questionnaire-unit needs a valueCoding with a code")
        unit = None

    return Item(
        link_id=link_id,
        type=item_type,
        text=str(raw.get("text") or ""),
        prefix=str(raw.get("prefix") or ""),
        required=raw.get("required") is True and item_type in ANSWERABLE_TYPES,
        repeats=raw.get("repeats") is True,
        read_only=raw.get("readOnly") is True or calculated,
        hidden=ext.extension_value(raw, ext.HIDDEN) is True,
        options=tuple(options),
        control=ext.item_control(raw),
        input_format=input_format,
        max_length=max_length,
        min_length=min_length,
        min_value=min_value,
        max_value=max_value,
        max_decimal_places=places,
        regex=regex,
        regex_message=text_ext(ext.REGEX_MESSAGE),
        short_label=text_ext(ext.SHORT_LABEL),
        required_message=text_ext(ext.REQUIRED_MESSAGE),
        not_in_future=ext.extension_value(raw, ext.NOT_IN_FUTURE) is True,
        unit=dict(unit) if unit else None,
        other_label=text_ext(ext.OTHER_LABEL),
        bands=_bands(raw, item_type, problem),
        code=tuple(c for c in ext.as_list(raw.get("code")) if isinstance(c, dict)),
        initial=_initial(raw, item_type, options, unit),
        min_occurs=min_occurs,
        max_occurs=max_occurs,
        observation_extract=_observation_extract(raw, item_type, problem),
        **_attachment_limits(raw, item_type, problem),
        **placement,
    )


def _occurs(raw: dict, problem) -> tuple[int, int | None]:
    """(minOccurs, maxOccurs) of a repeating item; (0, None) when not given."""
    low = ext.extension_value(raw, ext.MIN_OCCURS)
    high = ext.extension_value(raw, ext.MAX_OCCURS)
    if low is None and high is None:
        return 0, None
    if raw.get("repeats") is not True:
        problem("minOccurs and maxOccurs need an item that repeats")
        return 0, None
    if (low is not None and (not _is_int(low) or low < 0)) or (
            high is not None and (not _is_int(high) or high < 1)):
        problem("minOccurs and maxOccurs must be whole numbers (maxOccurs 1 or more)")
        return 0, None
    if low is not None and high is not None and low > high:
        problem("minOccurs is more than maxOccurs")
        return 0, None
    return low or 0, high


def _attachment_limits(raw: dict, item_type: str, problem) -> dict:
    """An attachment's maxSize and mimeType extensions (the Item's defaults when absent)."""
    if item_type != "attachment":
        return {}
    limits: dict[str, Any] = {}
    size = ext.extension_value(raw, ext.MAX_SIZE)
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int | float | Decimal) or size < 1:
            problem("maxSize must be a positive number of bytes")
        else:
            # Never above the platform's own limit, whatever the form allows.
            limits["max_size"] = min(int(size), DEFAULT_MAX_SIZE)
    types = [ext.value_of(e)[1] for e in ext.extensions(raw, ext.MIME_TYPE)]
    if types:
        if not all(isinstance(t, str) and "/" in t for t in types):
            problem("mimeType must be a content type code, e.g. image/jpeg")
        else:
            limits["mime_types"] = tuple(t.lower() for t in types)
    return limits


def _observation_extract(raw: dict, item_type: str, problem) -> bool:
    """SDC observationExtract: true files the answer as an Observation with its code."""
    if ext.extension_value(raw, ext.OBSERVATION_EXTRACT) is not True:
        return False
    if item_type not in ANSWERABLE_TYPES or item_type == "attachment":
        problem("observationExtract is only for questions with a value")
        return False
    if not any(isinstance(c, dict) and c.get("code") for c in ext.as_list(raw.get("code"))):
        problem("observationExtract needs the item's code (e.g. LOINC) for the Observation")
        return False
    return True


def _initial(raw: dict, item_type: str, options: list[Option], unit) -> Any:
    """initial[x] (or initialSelected options) as a stored answer, or None: every one
    for a repeating question (a list), else the first.

    A pre-filled value only saves the patient typing, so one that does not fit the
    question is ignored rather than refused: the patient answers it as usual.
    """
    if item_type in ("choice", "open-choice"):
        raw_options = ext.as_list(raw.get("answerOption"))
        selected = {
            option.code
            for option, raw_option in zip(options, raw_options, strict=False)
            if isinstance(raw_option, dict) and raw_option.get("initialSelected") is True
        }
        codes = [option.code for option in options if option.code in selected]
        if not codes:
            return None
        return codes if raw.get("repeats") is True else codes[0]
    initials = [i for i in ext.as_list(raw.get("initial")) if isinstance(i, dict)]
    if raw.get("repeats") is True and item_type in ANSWERABLE_TYPES:
        values = [_one_initial(i, item_type, unit) for i in initials]
        return [value for value in values if value is not None] or None
    return _one_initial(initials[0], item_type, unit) if initials else None


def _one_initial(initial: dict, item_type: str, unit) -> Any:
    kind, value = ext.value_of(initial)
    expected = {"boolean": "Boolean", "integer": "Integer", "decimal": "Decimal",
                "quantity": "Quantity", "date": "Date", "dateTime": "DateTime",
                "time": "Time", "string": "String", "text": "String", "url": "Uri"}
    if kind != expected.get(item_type) and not (item_type == "url" and kind == "String"):
        return None
    if item_type == "boolean":
        return value if isinstance(value, bool) else None
    if item_type == "integer":
        return value if _is_int(value) else None
    if item_type in ("decimal", "quantity"):
        number = to_decimal(value)
        if number is None:
            return None
        if item_type == "decimal":
            return format(number, "f")
        return {"value": format(number, "f"), "unit": (unit or {}).get("code")}
    if item_type == "date":
        return value if isinstance(value, str) and to_date(value) and len(value) == 10 else None
    if item_type == "dateTime":
        return value if isinstance(value, str) and to_datetime(value) else None
    if item_type == "time":
        return to_time(value)
    return value if isinstance(value, str) and value.strip() else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _limit(raw: dict, url: str, item_type: str, problem) -> Any:
    kind, value = ext.value_of(ext.extension(raw, url))
    if kind is None:
        return None
    name = url.rsplit("/", 1)[-1]
    parsed: Any = None
    if item_type in _NUMBER_TYPES and kind in ("Integer", "Decimal", "Quantity"):
        parsed = to_decimal(value)
    elif item_type == "date" and kind == "Date":
        parsed = to_date(value)
    elif item_type == "dateTime" and kind in ("DateTime", "Date"):
        parsed = to_datetime(value) if kind == "DateTime" else to_date(value)
        if isinstance(parsed, dt.date) and not isinstance(parsed, dt.datetime):
            parsed = to_datetime(parsed.isoformat() + "T00:00:00")
    elif item_type == "time" and kind == "Time":
        parsed = to_time(value)
    if parsed is None or isinstance(value, bool):
        problem(f"{name} value{kind} does not fit a {item_type} question")
    return parsed


def _bands(raw: dict, item_type: str, problem) -> tuple[Band, ...]:
    bands = []
    for band_ext in ext.extensions(raw, ext.SCORE_BAND):
        label = ext.extension_value(band_ext, "label")
        low = ext.extension_value(band_ext, "min")
        high = ext.extension_value(band_ext, "max")
        low_n, high_n = to_decimal(low), to_decimal(high)
        if (
            not isinstance(label, str)
            or not label
            or (low is not None and low_n is None)
            or (high is not None and high_n is None)
        ):
            problem("a score-band needs a label and numeric min/max")
            continue
        if low_n is not None and high_n is not None and low_n > high_n:
            problem(f'score-band "{label}" has min more than max')
            continue
        bands.append(Band(label, low_n, high_n))
    if bands and item_type not in ("integer", "decimal", "quantity"):
        problem("score bands need an integer or decimal item")
    infinity = Decimal("Infinity")
    ordered = sorted(bands, key=lambda b: -infinity if b.min is None else b.min)
    for lower, upper in itertools.pairwise(ordered):
        if lower.max is None or upper.min is None or upper.min <= lower.max:
            problem(f'score-bands "{lower.label}" and "{upper.label}" overlap')
    return tuple(bands)
