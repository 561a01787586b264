"""Field-level checks on the draft models, run when staff save in the admin
(Model.clean). Whole-form checks that need every item are in checks.py."""

import re

from django.core.exceptions import ValidationError

from forms_app.design import values as v
from forms_app.engine import item_rules as rules
from forms_app.engine.expressions import ExpressionError, parse_expression


def _limit_errors(item) -> dict[str, str]:
    errors = {}
    for name in ("min_value", "max_value"):
        text = getattr(item, name)
        if text:
            try:
                v.limit_value(item.type, text)
            except ValueError as error:
                errors[name] = str(error)
    return errors


# Draft fields that only a text question has (maxLength also an open choice's "Other").
# Each rule's name is its draft field.
_TEXT_ONLY = (rules.MIN_LENGTH, rules.MAX_LENGTH, rules.REGEX, rules.REGEX_MESSAGE)


def _text_only_errors(item) -> dict[str, str]:
    return {rule.name: "Only text questions have lengths and patterns."
            for rule in _TEXT_ONLY
            if getattr(item, rule.name) and not v.applies(rule, item.type)}


def _length_errors(item) -> dict[str, str]:
    if item.min_length and item.max_length and item.min_length > item.max_length:
        return {"min_length": "The minimum length is more than the maximum."}
    return {}


def _regex_errors(item) -> dict[str, str]:
    if item.regex:
        try:
            re.compile(item.regex)
        except re.error as error:
            return {"regex": f"This is not a valid regular expression: {error}."}
    return {}


def _kind_errors(item) -> dict[str, str]:
    """Settings that mean something only on some kinds of question."""
    errors = {}
    if item.max_decimal_places is not None and not v.applies(rules.PLACES, item.type):
        errors["max_decimal_places"] = "Only decimal numbers have decimal places."
    if item.not_in_future and not v.applies(rules.NOT_IN_FUTURE, item.type):
        errors["not_in_future"] = "Only dates can be kept out of the future."
    # A worked-out score may be a bare number (the SDC PHQ-9's total is a quantity with
    # no unit); a question the patient answers in a unit needs it.
    if item.type == "quantity" and not item.unit_code and not item.calculation:
        errors["unit_code"] = "A number with a unit needs its unit, e.g. kg."
    if item.control and not v.applies(rules.CONTROL, item.type):
        errors["control"] = "Only choice questions have radios or a drop-down."
    return errors


def _calculation_errors(item) -> dict[str, str]:
    if not item.calculation:
        if item.formula:
            return {"formula": "Choose 'Formula' as the calculation to use a formula."}
        return {}
    if not v.applies(rules.CALCULATED, item.type):
        return {"calculation": "Only whole or decimal numbers can be calculated."}
    if item.calculation == "formula":
        try:
            parse_expression(item.formula)
        except ExpressionError as error:
            return {"formula": f"The formula cannot be read: {error}."}
    return {}


def _initial_errors(item) -> dict[str, str]:
    if not item.initial:
        return {}
    if item.type in ("group", "display") or item.calculation:
        return {"initial": "Only questions the patient answers can be pre-filled."}
    if item.type in v.CHOICE_TYPES:  # options may not be saved yet
        return {}
    try:
        for text in v.initial_texts(item):  # one per line when it repeats
            v.initial_value(item, [], text)
    except ValueError as error:
        return {"initial": str(error)}
    return {}


def _observation_errors(item) -> dict[str, str]:
    errors: dict[str, str] = {}
    _check_observation(item, errors)
    return errors


def _required_errors(item) -> dict[str, str]:
    if item.required and item.type == "display":
        return {"required": "Text to read cannot be required (a required page or group "
                            "needs at least one of its questions answered)."}
    return {}


def _parent_errors(item) -> dict[str, str]:
    if item.parent_id is None:
        return {}
    parent = item.parent
    if parent.type == "display":
        # Under a question is FHIR's answer.item: kept so the response has the
        # Questionnaire's shape (e.g. "What are you allergic to?" under "Any allergies?").
        return {"parent": "Items can only sit in a page, a group or under a question."}
    if item.form_id and parent.form_id != item.form_id:
        return {"parent": "That page or group belongs to another form."}
    if item.pk is not None and parent.pk == item.pk:
        return {"parent": "An item cannot sit inside itself."}
    return {}


def _repeat_errors(item) -> dict[str, str]:
    errors = {}
    if item.repeats and (item.type not in v.REPEATABLE_TYPES or item.calculation):
        errors["repeats"] = ("Only groups and text, number and date questions the patient "
                             "answers can repeat (a choice repeats as 'Multiple choice').")
    if (item.min_occurs is not None or item.max_occurs is not None) and not item.repeats:
        errors["min_occurs"] = "Only an item that repeats has at least and at most."
    elif item.min_occurs is not None and item.max_occurs is not None \
            and item.min_occurs > item.max_occurs:
        errors["min_occurs"] = "'At least' is more than 'at most'."
    if item.max_occurs == 0:
        errors["max_occurs"] = "'At most' must be 1 or more."
    return errors


def clean_condition(condition, *, owner) -> None:
    if not condition.question_id:
        return
    question = condition.question
    if owner is not None and owner.form_id and question.form_id != owner.form_id:
        raise ValidationError({"question": "Choose a question from this form."})
    if question.type in ("group", "display") or (question.calculation and owner is not None):
        raise ValidationError({"question": "Choose a question the patient answers."})
    try:
        v.condition_answer(question, list(question.options.all()), condition.operator,
                           condition.answer)
    except ValueError as error:
        raise ValidationError({"answer": str(error)}) from None


def _check_observation(item, errors: dict) -> None:
    """An Observation needs a value and a code to say what it measures."""
    if not item.observation_extract:
        return
    if item.type in ("group", "display", "attachment"):
        errors["observation_extract"] = "Only questions with a value can be filed as " \
                                        "Observations."
    elif not item.code:
        errors["observation_extract"] = "An Observation needs the question's code " \
                                        "(e.g. LOINC 44261-6); add it below."


# In order: a later check's message for a field replaces an earlier one's (a pattern
# that does not compile says so, not only that it is on the wrong kind of question).
_ITEM_CHECKS = (
    _limit_errors, _text_only_errors, _length_errors, _regex_errors, _kind_errors,
    _calculation_errors, _initial_errors, _repeat_errors,
    _observation_errors, _required_errors, _parent_errors,
)


def clean_item(item) -> None:
    errors: dict[str, str] = {}
    for check in _ITEM_CHECKS:
        errors.update(check(item))
    if errors:
        raise ValidationError(errors)
