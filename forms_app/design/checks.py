"""What must hold before a draft is published, in words staff can act on.

The engine refuses any definition it cannot interpret exactly; these checks come first
and name the draft's problems in the designer's terms (questions, pages, options),
so that staff rarely see the engine's own wording. Whatever the engine still finds is
reworded to name the question the same way.
"""

import re

from django.core.exceptions import ValidationError

from forms_app.design import values as v
from forms_app.design.export import Draft, load_draft
from forms_app.design.validation import clean_item
from forms_app.engine import DefinitionError, compile_definition
from forms_app.engine import item_rules as rules
from forms_app.engine.answer_expressions import kept_expression
from forms_app.models import Item

_ENGINE_ITEM = re.compile(r'^Item "(?P<link_id>[^"]+)": ')


class Problem(str):
    """A problem in words, remembering the item or flag rule it is about (if any), so
    that the designer can link each problem to the page where it is fixed."""

    item_id: int | None
    rule_id: int | None
    clinical: bool  # an engine item rule's problem that changes clinical meaning

    def __new__(cls, message: str, *, item=None, rule=None, clinical=False):
        problem = super().__new__(cls, message)
        problem.item_id = getattr(item, "pk", None)
        problem.rule_id = getattr(rule, "pk", None)
        problem.clinical = clinical
        return problem


def about(item, message: str, *, clinical: bool = False) -> Problem:
    return Problem(f"{label(item)}: {message}", item=item, clinical=clinical)


def label(item) -> str:
    if item.type == Item.Type.GROUP:
        kind = "Page" if item.parent_id is None else "Group"
    elif item.type == Item.Type.DISPLAY:
        kind = "Text"
    elif item.calculation:
        kind = "Score"
    else:
        kind = "Question"
    text = " ".join(item.text.split())
    if len(text) > 50:
        text = text[:49] + "…"
    return f'{kind} "{item.link_id}" ({text})' if text else f'{kind} "{item.link_id}"'


def draft_problems(form, draft: Draft | None = None) -> list[str]:
    draft = draft or load_draft(form)
    problems: list[str] = []
    all_items = list(form.items.all())
    if not all_items:
        return [Problem("Add at least one question before publishing.")]
    order = {item.pk: index for index, item in enumerate(draft.items)}
    by_pk = {item.pk: item for item in draft.items}
    for item in all_items:
        if item.pk not in order:
            problems.append(about(item, "it sits in a group that is inside itself; "
                                        "choose another page or group for it."))
    problems += import_note_problems(form)
    problems += _link_id_problems(draft)
    for item in draft.items:
        problems += _item_problems(item, draft, order)
    problems += _flag_problems(draft, by_pk)
    problems += _reachability_problems(draft, order)
    return problems


def pending_clinical_notes(form) -> list[dict]:
    """Import notes that change clinical meaning and no one has accepted yet."""
    return [entry for entry in form.import_report or []
            if entry.get("clinical") and not entry.get("accepted_at")]


def import_note_problems(form) -> list[str]:
    return [
        f'Import note on {entry.get("item") or "the questionnaire"}: {entry.get("message")} '
        "This changes the form's clinical meaning: put it right, then accept the import "
        'notes ("Accept clinical import notes" in the forms list).'
        for entry in pending_clinical_notes(form)
    ]


def _link_id_problems(draft) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for item in draft.items:
        ids = [item.link_id]
        if item.help_text and item.type != Item.Type.DISPLAY:
            ids.append(f"{item.link_id}-help")  # the help text's own id in the document
        for link_id in ids:
            if link_id in seen:
                problems.append(about(item, f'the id "{link_id}" is also used by '
                                            f"{seen[link_id]}; every id in a form must be "
                                            "different."))
            else:
                seen[link_id] = label(item)
    return problems


def _placement_problems(item, draft, order) -> list[str]:
    if item.parent_id is not None and item.parent_id not in order:
        return ["its page or group belongs to another form."]
    return []


def _saving_problems(item, draft, order) -> list[str]:
    try:
        # What saving its own page would refuse: an item added from the outline has
        # only its words until staff open it (a quantity needs its unit, and so on).
        clean_item(item)
    except ValidationError as error:
        return [message[:1].lower() + message[1:]
                for messages in error.message_dict.values() for message in messages]
    return []


def _shape_problems(item, draft, order) -> list[str]:
    problems = []
    if not item.text.strip() and item.type != Item.Type.GROUP and not item.calculation:
        problems.append("it has no text; write the words patients will see.")
    if item.type == Item.Type.GROUP and not draft.children.get(item.pk):
        problems.append("this page or group has no questions; add some or delete it.")
    if item.type == Item.Type.DISPLAY and draft.children.get(item.pk):
        problems.append("text to read cannot contain other items; make it a group instead.")
    return problems


def _option_problems(item, draft, order) -> list[str]:
    options = list(item.options.all())
    # An answerExpression works its options out from the patient's answers.
    if item.has_options and not options and kept_expression(item.fhir_extensions) is None:
        return ["a choice question needs answer options; add them on the question's page."]
    if options and not item.has_options:
        return [f"only choice questions have answer options, and this is "
                f'"{item.get_type_display()}"; delete the options or change the type.']
    return []


def _score_problems(item, draft, order) -> list[str]:
    problems = _calculation_problems(item) if item.calculation else []
    if list(item.bands.all()) and not v.applies(rules.BANDS, item.type):
        problems.append("score bands need a whole or decimal number, usually a calculated "
                        "score.")
    return problems


def _item_problems(item, draft, order) -> list[str]:
    problems = [about(item, message)
                for check in (_placement_problems, _saving_problems, _shape_problems,
                              _option_problems)
                for message in check(item, draft, order)]
    problems += _condition_problems(item, order)
    problems += [about(item, message) for message in _score_problems(item, draft, order)]
    return problems


def _condition_problems(item, order) -> list[str]:
    problems = []
    for condition in item.conditions.all():
        question = condition.question
        where = f'its condition on "{question.link_id}"'
        if question.form_id != item.form_id or question.pk not in order:
            problems.append(about(item, f"{where} refers to a question in another form."))
            continue
        if order[question.pk] >= order[item.pk]:
            problems.append(about(item, f"{where} refers to a question that comes later in "
                                        "the form (or to the item itself); conditions can "
                                        "only refer to earlier questions."))
            continue
        if not question.is_answerable or question.calculation:
            problems.append(about(item, f"{where} refers to something the patient does not "
                                        "answer; choose a question."))
            continue
        try:
            v.condition_answer(question, list(question.options.all()), condition.operator,
                               condition.answer)
        except ValueError as error:
            problems.append(about(item, f"{where}: {error}."))
    return problems


def _calculation_problems(item) -> list[str]:
    if item.type not in rules.CALCULABLE:
        return ["only numbers (whole, decimal or with a unit) can be calculated; "
                "change its type."]
    if item.calculation == Item.Calculation.FORMULA and not item.formula.strip():
        return ["write its formula, or choose another calculation."]
    if item.calculation == Item.Calculation.SCORE_SUM:
        chosen = list(item.score_items.all())
        if not chosen:
            return ["choose the questions whose scores it adds up."]
        unscored = [i.link_id for i in chosen
                    if not any(o.score is not None for o in i.options.all())]
        if unscored:
            return [f"it adds up {', '.join(unscored)}, which have no option scores."]
    return []


def _flag_problems(draft, by_pk) -> list[str]:
    problems = []
    for rule in draft.flag_rules:
        where = f'Flag rule "{rule.code}"'

        def problem(message, rule=rule, where=where):
            problems.append(Problem(f"{where}: {message}", rule=rule))

        conditions = list(rule.conditions.all())
        if not conditions:
            problem("add at least one condition.")
        for condition in conditions:
            question = condition.question
            if question.pk not in by_pk:
                problem(f'"{question.link_id}" is not in this form.')
                continue
            if not question.is_answerable:
                problem(f'"{question.link_id}" has no answer to test.')
                continue
            try:
                v.condition_answer(question, list(question.options.all()),
                                   condition.operator, condition.answer)
            except ValueError as error:
                problem(f'its condition on "{question.link_id}": {error}.')
    return problems


def _reachability_problems(draft, order) -> list[str]:
    """Every page (and item) must be reachable: its conditions must rest on items that
    can themselves be shown. Contradictory conditions are found by the engine."""
    reachable: set[int] = set()
    problems = []
    for item in draft.items:
        if item.parent_id is not None and item.parent_id not in reachable:
            continue  # its page already reported
        conditions = [c for c in item.conditions.all() if c.question_id in order]
        met = [c.question_id in reachable for c in conditions]
        if conditions and not (any(met) if item.enable_behavior == "any" else all(met)):
            if item.parent_id is None:
                problems.append(about(item, "this page can never be shown, because its "
                                            "conditions depend on questions that are never "
                                            "shown."))
            continue
        reachable.add(item.pk)
    return problems


def reworded(problem: str, items_by_link_id: dict) -> Problem:
    link_id = getattr(problem, "link_id", None)
    if link_id in items_by_link_id:  # an item rule's problem (ItemProblem) names its item
        return about(items_by_link_id[link_id], problem.message, clinical=problem.clinical)
    match = _ENGINE_ITEM.match(problem)
    if match and match["link_id"] in items_by_link_id:
        return about(items_by_link_id[match["link_id"]], problem[match.end():])
    return Problem(problem)


def publish_problems(form, definition: dict, draft: Draft | None = None) -> list[str]:
    """Everything that stops this draft being published; empty when it can be."""
    draft = draft or load_draft(form)
    problems = draft_problems(form, draft)
    if problems:
        # The engine would mostly repeat these in its own terms; fix these first.
        return problems
    try:
        compile_definition(definition)
    except DefinitionError as error:
        items = {item.link_id: item for item in draft.items}
        return [reworded(problem, items) for problem in error.problems]
    return []
