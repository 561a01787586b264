"""Field-level checks on the draft models, run when staff save in the admin
(Model.clean). Whole-form checks that need every item are in checks.py."""

import re

from django.core.exceptions import ValidationError

from forms_app.design import values as v
from forms_app.engine.expressions import ExpressionError, parse_expression


def clean_item(item) -> None:
    errors: dict[str, str] = {}
    item_type = item.type
    answerable = item_type not in ("group", "display")
    for name in ("min_value", "max_value"):
        text = getattr(item, name)
        if text:
            try:
                v.limit_value(item_type, text)
            except ValueError as error:
                errors[name] = str(error)
    text_only = {
        "min_length": item.min_length, "max_length": item.max_length, "regex": item.regex,
        "regex_message": item.regex_message,
    }
    for name, value in text_only.items():
        if value and item_type not in v.TEXT_TYPES and not (
                name == "max_length" and item_type == "open-choice"):
            errors[name] = "Only text questions have lengths and patterns."
    if item.min_length and item.max_length and item.min_length > item.max_length:
        errors["min_length"] = "The minimum length is more than the maximum."
    if item.regex:
        try:
            re.compile(item.regex)
        except re.error as error:
            errors["regex"] = f"This is not a valid regular expression: {error}."
    if item.max_decimal_places is not None and item_type not in ("decimal", "quantity"):
        errors["max_decimal_places"] = "Only decimal numbers have decimal places."
    if item.not_in_future and item_type not in ("date", "dateTime"):
        errors["not_in_future"] = "Only dates can be kept out of the future."
    if item_type == "quantity" and not item.unit_code:
        errors["unit_code"] = "A number with a unit needs its unit, e.g. kg."
    if item.control and item_type not in v.CHOICE_TYPES:
        errors["control"] = "Only choice questions have radios or a drop-down."
    if item.calculation:
        if item_type not in ("integer", "decimal"):
            errors["calculation"] = "Only whole or decimal numbers can be calculated."
        elif item.calculation == "formula":
            try:
                parse_expression(item.formula)
            except ExpressionError as error:
                errors["formula"] = f"The formula cannot be read: {error}."
    elif item.formula:
        errors["formula"] = "Choose 'Formula' as the calculation to use a formula."
    if item.initial:
        if not answerable or item.calculation:
            errors["initial"] = "Only questions the patient answers can be pre-filled."
        elif item_type not in v.CHOICE_TYPES:  # options may not be saved yet
            try:
                for text in v.initial_texts(item):  # one per line when it repeats
                    v.initial_value(item, [], text)
            except ValueError as error:
                errors["initial"] = str(error)
    errors.update(_repeat_errors(item))
    _check_observation(item, errors)
    if item.required and not answerable:
        errors["required"] = "Pages, groups and text to read cannot be required."
    if item.parent_id is not None:
        parent = item.parent
        if parent.type == "display":
            # Under a question is FHIR's answer.item: kept so the response has the
            # Questionnaire's shape (e.g. "What are you allergic to?" under "Any allergies?").
            errors["parent"] = "Items can only sit in a page, a group or under a question."
        elif item.form_id and parent.form_id != item.form_id:
            errors["parent"] = "That page or group belongs to another form."
        elif item.pk is not None and parent.pk == item.pk:
            errors["parent"] = "An item cannot sit inside itself."
    if errors:
        raise ValidationError(errors)


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
