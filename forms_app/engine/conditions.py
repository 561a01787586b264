"""enableWhen: parsing conditions against the items they name, and evaluating them.

Semantics (FHIR R4, made precise where the specification leaves room):

* A question with no answer satisfies no condition except ``exists false``.
* For a question with several answers (multiple choice), ``=`` and the ordering
  operators hold when *any* answer satisfies them, and ``!=`` holds when *no*
  answer equals the value ("option X was not ticked").
* Choice answers compare by code (answerCoding, answerString). A numeric value
  (answerInteger/answerDecimal) against a choice compares the chosen option's number:
  the integer for valueInteger options, otherwise its score (ordinalValue/itemWeight),
  so "phq9-9 > 0" means "any answer other than the zero-scored one".
* A question that is itself hidden counts as unanswered: callers evaluate conditions
  against pruned answers, walking the form in order.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .items import Condition, EnableWhen, Item
from .values import is_empty, to_date, to_datetime, to_decimal, to_time

OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})
EQUALITY = frozenset({"=", "!="})
ANSWER_KINDS = (
    "Boolean",
    "Decimal",
    "Integer",
    "Date",
    "DateTime",
    "Time",
    "String",
    "Coding",
    "Quantity",
    "Reference",
)
_NUMERIC_KINDS = frozenset({"Integer", "Decimal"})
BEHAVIORS = ("all", "any")


def answer_values(condition: dict) -> list[tuple[str, Any]]:
    """A condition's answer[x] as (kind, value) pairs, in the order written: the parser
    wants exactly one, the importer (codec.read_enable_when) keeps the first."""
    return [(key[6:], value) for key, value in condition.items()
            if key.startswith("answer") and key[6:] in ANSWER_KINDS]


def parse_enable_when(
    owner: str,
    raw_conditions: Any,
    behavior: Any,
    lookup: Callable[[str], Item | None],
    problems: list[str],
    *,
    what: str = "enableWhen",
) -> EnableWhen | None:
    """Parse ``raw_conditions`` (the enableWhen list) for item ``owner``.

    ``lookup`` returns the item a condition may refer to, or raises LookupError with
    the reason it may not (unknown, or not earlier in the form).
    """
    if not raw_conditions:
        return None
    if not isinstance(raw_conditions, list):
        problems.append(f'Item "{owner}": {what} must be a list')
        return None
    if behavior is None and len(raw_conditions) > 1:
        problems.append(
            f'Item "{owner}": {what} has more than one condition but no enableBehavior '
            '("all" or "any")'
        )
        return None
    if behavior not in (None, *BEHAVIORS):
        problems.append(f'Item "{owner}": enableBehavior must be "all" or "any"')
        return None
    conditions = []
    for raw in raw_conditions:
        condition = _parse_condition(owner, raw, lookup, problems, what)
        if condition is not None:
            conditions.append(condition)
    if len(conditions) != len(raw_conditions):
        return None
    result = EnableWhen(tuple(conditions), behavior or "all")
    if result.behavior == "all" and _contradicts(result, lookup):
        problems.append(
            f'Item "{owner}": {what} can never be met (it requires different answers to '
            "the same question), so this item is not reachable"
        )
        return None
    return result


def _parse_condition(owner, raw, lookup, problems, what) -> Condition | None:
    def problem(message: str) -> None:
        problems.append(f'Item "{owner}": {what} {message}')

    if not isinstance(raw, dict):
        problem("condition must be an object")
        return None
    question_id, operator = raw.get("question"), raw.get("operator")
    if not isinstance(question_id, str) or not question_id:
        problem("condition has no question")
        return None
    try:
        question = lookup(question_id)
    except LookupError as reason:
        problem(f'refers to question "{question_id}" {reason}')
        return None
    if question is None or not question.is_answerable:
        problem(f'refers to "{question_id}", which is not a question')
        return None
    if not isinstance(operator, str) or operator not in OPERATORS:
        problem(f'has unknown operator "{operator}"')
        return None
    answers = answer_values(raw)
    if len(answers) != 1:
        problem(f'condition on "{question_id}" needs exactly one answer[x] value')
        return None
    kind, value = answers[0]
    try:
        normalised = _normalise(question, operator, kind, value)
    except ValueError as reason:
        problem(f'condition on "{question_id}": {reason}')
        return None
    return Condition(question_id, operator, kind, normalised)


def _normalise(question: Item, operator: str, kind: str, value: Any) -> Any:
    """Check the answer[x] fits the question and return it in comparable form."""
    if operator == "exists":
        if kind != "Boolean" or not isinstance(value, bool):
            raise ValueError('"exists" needs answerBoolean')
        return value
    if kind == "Boolean":
        if question.type != "boolean" or operator not in EQUALITY or not isinstance(value, bool):
            raise ValueError("answerBoolean needs a yes/no question and = or !=")
        return value
    return _comparison(question).expected(question, operator, kind, value)


def _cannot_compare(question: Item, kind: str) -> ValueError:
    return ValueError(f"answer{kind} cannot be compared with a {question.type} question")


def _expected_number(question: Item, operator: str, kind: str, value: Any) -> Any:
    if kind == "Quantity" and question.type == "quantity" and isinstance(value, dict):
        value = value.get("value")
    elif kind not in _NUMERIC_KINDS:
        raise ValueError(f"a number question needs answerInteger or answerDecimal, not {kind}")
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"{value!r} is not a number")
    return number


def _expected_parsed(parse, what: str, length: int | None = None):
    """The answer[x] of a date, dateTime or time question, read by `parse`; `length`
    when the text must be exactly that long."""
    def expected(question: Item, operator: str, kind: str, value: Any) -> Any:
        parsed = parse(value)
        if parsed is None or (length is not None and len(str(value)) != length):
            raise ValueError(f"{value!r} is not a {what}")
        return parsed
    return expected


# A date only: to_date would also read the day out of a dateTime's text.
_expected_date = _expected_parsed(to_date, "date (YYYY-MM-DD)", length=10)
_expected_datetime = _expected_parsed(to_datetime, "dateTime")
_expected_time = _expected_parsed(to_time, "time (HH:MM:SS)")


def _expected_text(question: Item, operator: str, kind: str, value: Any) -> Any:
    # Text has no order a clinician could mean ("less than 'smoker'"), only equality.
    if operator not in EQUALITY or not isinstance(value, str):
        raise ValueError("text answers can only be compared with = or !=")
    return value


def _normalise_choice(question: Item, operator: str, kind: str, value: Any) -> Any:
    if kind in _NUMERIC_KINDS:
        if not any(option.numeric is not None for option in question.options):
            raise ValueError("its options have no numbers or scores to compare")
        number = to_decimal(value)
        if number is None:
            raise ValueError(f"{value!r} is not a number")
        return number
    if kind not in ("Coding", "String"):
        raise ValueError(f"answer{kind} cannot be compared with a choice question")
    if operator not in EQUALITY:
        raise ValueError("coded answers can only be compared with = or !=")
    code = value.get("code") if kind == "Coding" and isinstance(value, dict) else value
    if not isinstance(code, str):
        raise ValueError("the answer has no code")
    # An answerExpression's options are known only from the answers (any may come).
    listed = question.answer_expression is None
    if listed and question.option(code) is None and not (
            question.type == "open-choice" and kind == "String"):
        raise ValueError(f'"{code}" is not one of its options, so this item is not reachable')
    return code


# How a condition's answer[x] is read: (question, operator, answer kind, value) -> the
# comparable value, or ValueError saying why the condition cannot be kept.
Expected = Callable[[Item, str, str, Any], Any]
# How a stored answer is read to compare with it: (question, condition, one stored value)
# -> the comparable value, or None when that answer cannot satisfy the condition.
Stored = Callable[[Item, Condition, Any], Any]


def _by_kind(**readers: Expected) -> Expected:
    """A question type that takes only the answer[x] kinds named, each read its own way."""
    def expected(question: Item, operator: str, kind: str, value: Any) -> Any:
        read = readers.get(kind)
        if read is None:
            raise _cannot_compare(question, kind)
        return read(question, operator, kind, value)
    return expected


def _stored_as_is(question: Item, condition: Condition, value: Any) -> Any:
    return value


def _stored_choice(question: Item, condition: Condition, value: Any) -> Any:
    if isinstance(value, dict):  # an "other, please specify" answer
        return value.get("other") if condition.kind == "String" else None
    if condition.kind in _NUMERIC_KINDS:
        option = question.option(str(value))
        return option.numeric if option else None
    return str(value)


def _stored_number(question: Item, condition: Condition, value: Any) -> Any:
    return to_decimal(value)


def _stored_date(question: Item, condition: Condition, value: Any) -> Any:
    return to_date(value)


def _stored_datetime(question: Item, condition: Condition, value: Any) -> Any:
    # An answerDate on a dateTime question compares the day it happened.
    moment = to_datetime(value)
    return moment.date() if moment and condition.kind == "Date" else moment


def _stored_time(question: Item, condition: Condition, value: Any) -> Any:
    return to_time(value)


@dataclass(frozen=True)
class Comparison:
    """How conditions on one question type compare: the condition's answer[x], checked
    and read once when the form is compiled, and each stored answer, read to compare
    with it whenever the condition is evaluated."""

    expected: Expected
    stored: Stored = _stored_as_is


_NUMBER = Comparison(_expected_number, _stored_number)
_CHOICE = Comparison(_normalise_choice, _stored_choice)
_TEXT = Comparison(_by_kind(String=_expected_text))

COMPARISONS: dict[str, Comparison] = {
    # A yes/no question takes only answerBoolean (and exists), read before the table.
    "boolean": Comparison(_by_kind()),
    "integer": _NUMBER,
    "decimal": _NUMBER,
    "quantity": _NUMBER,
    "date": Comparison(_by_kind(Date=_expected_date), _stored_date),
    "dateTime": Comparison(_by_kind(Date=_expected_date, DateTime=_expected_datetime),
                           _stored_datetime),
    "time": Comparison(_by_kind(Time=_expected_time), _stored_time),
    "string": _TEXT,
    "text": _TEXT,
    "url": _TEXT,
    "choice": _CHOICE,
    "open-choice": _CHOICE,
}
# An attachment (or any other type) can only be asked whether it exists.
_NOT_COMPARED = Comparison(_by_kind())


def _comparison(question: Item) -> Comparison:
    return COMPARISONS.get(question.type, _NOT_COMPARED)


def _contradicts(enable_when: EnableWhen, lookup: Callable[[str], Item | None]) -> bool:
    """Two "=" conditions on one single-answer question with different values. (A
    question that takes several answers can have both: "ticked B and ticked C".)"""
    wanted: dict[str, Any] = {}
    for condition in enable_when.conditions:
        if condition.operator != "=" or lookup(condition.question).is_multiple:
            continue
        previous = wanted.setdefault(condition.question, condition.answer)
        if previous != condition.answer:
            return True
    return False


def _comparable(question: Item, condition: Condition, value: Any) -> Any:
    return _comparison(question).stored(question, condition, value)


def _compare(left: Any, operator: str, right: Any) -> bool:
    try:
        if operator == "=":
            return left == right
        if operator == ">":
            return left > right
        if operator == "<":
            return left < right
        if operator == ">=":
            return left >= right
        if operator == "<=":
            return left <= right
    except TypeError:
        return False
    return False


def condition_holds(condition: Condition, question: Item, value: Any) -> bool:
    if condition.operator == "exists":
        return (not is_empty(value)) is condition.answer
    if is_empty(value):
        return False
    values = value if isinstance(value, list) else [value]
    candidates = [_comparable(question, condition, v) for v in values]
    candidates = [c for c in candidates if c is not None]
    if condition.operator == "!=":
        return all(c != condition.answer for c in candidates)
    return any(_compare(c, condition.operator, condition.answer) for c in candidates)


def enable_when_holds(
    enable_when: EnableWhen | None, items: Mapping[str, Item], answers: Mapping[str, Any]
) -> bool:
    if enable_when is None:
        return True
    results = (
        condition_holds(c, items[c.question], answers.get(c.question))
        for c in enable_when.conditions
    )
    return all(results) if enable_when.behavior == "all" else any(results)
