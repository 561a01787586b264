"""No sequence of answers leaves a patient on a page they cannot leave.

Walks random answer sequences through every page of every form of the corpus
(tests/corpus), as a patient without JavaScript would: answer what the page shows,
send it; if the answers reveal more questions, the page comes back with them shown
and the patient answers those too. Every page must then be accepted, and no error may
ever name a question the patient was not shown. A question whose options an
answerExpression works out offers what the earlier answers give (none: it is
skipped).

Repeats are walked too: a random number of instances of each repeating group or
question (nested ones included), each answered as shown, where an instance's own
answers (enableWhen, enableWhenExpression) decide what else it asks.
"""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.engine import compile_definition
from forms_app.views.patient import validated_answers
from tests.corpus import CASES, load

GOOD_TEXT = {"postcode": "LS1 4AP", "phone": "07700 900982", "email": "sal@example.com"}
# Numbers that meet a targetConstraint between two answers (cancer found no later than
# the age at death), as a patient corrects them once told.
GOOD_RANGE = {"age-at-death": (60, 120), "cancer-age": (0, 59)}
FORMS = [case.name for case in CASES if case.blocked is None]
RUNS = settings(database=None, deadline=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow])


def _value(draw, item, name=None, form=None, answers=None, *, must=False) -> dict:
    """Form data for one question, as a browser posts it (or {} for left blank); with
    ``must``, always an answer (the page said its group needs one)."""
    name = name or item.link_id
    if not (item.required or must) and draw(st.booleans()):
        return {}
    if item.type == "boolean":
        return {name: draw(st.sampled_from(["yes", "no"]))}
    if item.type in ("choice", "open-choice"):
        if item.answer_expression is not None:  # shown only when it has options
            item = form.with_answer_options(item, answers)
        codes = [option.code for option in item.options]
        if item.is_multiple:
            return {name: [draw(st.sampled_from(codes))]}
        return {name: draw(st.sampled_from(codes))}
    if item.type == "integer":
        low = int(item.min_value) if item.min_value is not None else 0
        high = int(item.max_value) if item.max_value is not None else 120
        low, high = GOOD_RANGE.get(item.link_id, (low, high))
        return {name: str(draw(st.integers(low, high)))}
    if item.type in ("decimal", "quantity"):
        return {name: str(draw(st.integers(1, 250)))}
    if item.type == "date":
        return {f"{name}_day": "1", f"{name}_month": "6", f"{name}_year": "1990"}
    if item.type == "url":
        return {name: "https://example.org/"}
    return {name: GOOD_TEXT.get(item.link_id,
                                draw(st.sampled_from(["Sal", "Penicillin", "x y"])))}


def _instance_fields(node, shown: set[str]):
    """(item, field name) of each question the page shows in ``node``'s instances:
    ``shown`` names those the instances' answers enabled when last sent."""
    for instance in node.instances:
        for kind, *rest in instance.members:
            if kind == "repeat":
                yield from _instance_fields(rest[0], shown)
            elif kind == "field" and rest[1] in shown:
                yield rest


def _fill_repeats(draw, form, page, answers, data, shown: set[str]) -> None:
    """Instance counts first (each list once, within its limits), then the questions
    the instances show, the way a patient adds relatives then answers for each."""
    for _round in range(3):
        bound = form.form_class(page, answers=answers)(data=data)
        added = False
        for node in _nodes(bound.engine_layout if hasattr(bound, "engine_layout") else ()):
            if node.count_name not in data:
                data[node.count_name] = str(draw(st.integers(max(node.minimum, 1),
                                                             min(node.limit, 3))))
                added = True
        if not added:
            break
    bound = form.form_class(page, answers=answers)(data=data)
    for node in getattr(bound, "engine_layout", ()):
        for item, name in _instance_fields(node, shown):
            if not any(key == name or key.startswith(name + "_") for key in data):
                data.update(_value(draw, item, name))


def _nodes(layout):
    for node in layout:
        yield node
        for instance in node.instances:
            yield from _nodes([rest[0] for kind, *rest in instance.members if kind == "repeat"])


def _blank_enabled(form, page, answers) -> set[str]:
    """The instance fields a page shows before anything is sent (a blank instance)."""
    bound = form.form_class(page, answers=answers)(data={})
    found = set()

    def walk(node):
        enabled = form.walk_instance(node.item.link_id, {}, {})[0] \
            if node.item.is_repeating_group else {node.item.link_id}
        for instance in node.instances:
            for kind, *rest in instance.members:
                if kind == "repeat":
                    walk(rest[0])
                elif kind == "field" and rest[0].link_id in enabled:
                    found.add(rest[1])

    for node in getattr(bound, "engine_layout", ()):
        walk(node)
    return found


def _walk(draw, form):
    answers: dict = {}
    visited = []
    while True:
        remaining = [k for k in form.enabled_page_keys(answers) if k not in visited]
        if not remaining:
            return answers
        page = remaining[0]
        visited.append(page)
        data: dict = {}
        in_instances = _blank_enabled(form, page, answers)
        must: set[str] = set()  # questions of a required group the page said to answer
        for _round in range(5):
            merged = {**answers, **form.prune(answers)}
            shown = [item for item in form.visible_items(page, {**merged, **_cleaned(
                form, page, answers, data)}) if item.is_question and not item.in_repeat]
            for item in shown:
                if not any(key == item.link_id or key.startswith(item.link_id + "_")
                           for key in data):
                    data.update(_value(draw, item, form=form, answers=answers,
                                       must=item.link_id in must))
            _fill_repeats(draw, form, page, answers, data, in_instances)
            bound = form.form_class(page, answers=answers)(data=data)
            if bound.is_valid():
                answers = form.prune({**answers, **bound.cleaned_data})
                break
            shown_ids = {item.link_id for item in form.visible_items(
                page, {**answers, **_cleaned(form, page, answers, data)})}
            # In an instance, what its answers enable is shown: in their conditional
            # reveal, or the page comes back with it (views), as on the page itself.
            in_instances |= bound.engine_enabled_names or set()
            wrong = set(bound.errors) - shown_ids - in_instances - {NON_FIELD_ERRORS}
            assert not wrong, f"{page}: errors on questions not shown: {wrong}"
            # A required group's error names a group the patient sees, with a question
            # in it they can answer.
            assert set(bound.engine_group_errors) <= shown_ids | {page}
            for questions in bound.engine_group_shown.values():
                assert questions and {q.link_id for q in questions} <= shown_ids
                must |= {q.link_id for q in questions}
        else:
            pytest.fail(f"trapped on page {page!r} with {data}: {bound.errors}")


def _cleaned(form, page, answers, data) -> dict:
    """The answers this page's data gives so far (valid fields only)."""
    bound = form.form_class(page, answers=answers)(data=data)
    bound.is_valid()
    return {k: v for k, v in getattr(bound, "cleaned_data", {}).items() if v is not None}


@pytest.mark.parametrize("name", FORMS)
def test_no_answers_trap_the_patient(name):
    form = compile_definition(load(name))

    @RUNS
    @given(st.data())
    def walk(data):
        answers = _walk(data.draw, form)
        form.evaluate(answers)  # and every complete set of answers can be scored

    walk()


# "Which medicines do you take?" is required: at least one is named.
NAMES = st.lists(st.sampled_from(["Ramipril", "Metformin", "Warfarin", " ", "ramipril"]),
                 min_size=1, max_size=4).filter(lambda names: any(n.strip() for n in names))


@RUNS
@given(first=NAMES, then=NAMES, data=st.data())
def test_changing_the_answers_options_come_from_never_traps(first, then, data):
    """The medicines named, a choice among them, then the medicines changed: the later
    page either still holds or is asked again, and can always be answered (or has
    nothing to answer when no medicine is left to choose)."""
    form = compile_definition(load("medicines-answer-expression"))

    def taking(names):
        return {"taking-medicines~n": [str(len(names))],
                **{f"taking-medicines~{n}": [name] for n, name in enumerate(names)}}

    def trouble(answers):
        page = form.form_class("trouble", answers=answers)
        field = page.base_fields.get("most-trouble")
        if field is None:
            return {}
        return {"trouble-most-trouble": [data.draw(st.sampled_from(
            [code for code, _ in field.choices]))]}

    answers, bad = validated_answers(form, {"taking": taking(first)})
    step_data = {"taking": taking(first), "trouble": trouble(answers)}
    answers, bad = validated_answers(form, step_data)
    assert bad is None, (first, step_data)
    step_data["taking"] = taking(then)
    answers, bad = validated_answers(form, step_data)
    if bad is not None:
        assert bad == "trouble"
        step_data["trouble"] = trouble(answers)
        answers, bad = validated_answers(form, step_data)
    assert bad is None, (then, step_data)
    assert answers.get("most-trouble") in {None, *(n.strip() for n in then)}
