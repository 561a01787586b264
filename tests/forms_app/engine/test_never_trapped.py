"""No sequence of answers leaves a patient on a page they cannot leave.

Walks random answer sequences through every page of every form of the corpus
(tests/corpus), as a patient without JavaScript would: answer what the page shows,
send it; if the answers reveal more questions, the page comes back with them shown
and the patient answers those too. Every page must then be accepted, and no error may
ever name a question the patient was not shown.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.engine import compile_definition
from tests.corpus import CASES, load

GOOD_TEXT = {"postcode": "LS1 4AP", "phone": "07700 900982", "email": "sal@example.com"}
FORMS = [case.name for case in CASES if case.blocked is None]
RUNS = settings(database=None, deadline=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow])


def _value(draw, item) -> dict:
    """Form data for one question, as a browser posts it (or {} for left blank)."""
    name = item.link_id
    if not item.required and draw(st.booleans()):
        return {}
    if item.type == "boolean":
        return {name: draw(st.sampled_from(["yes", "no"]))}
    if item.type in ("choice", "open-choice"):
        codes = [option.code for option in item.options]
        if item.is_multiple:
            return {name: [draw(st.sampled_from(codes))]}
        return {name: draw(st.sampled_from(codes))}
    if item.type == "integer":
        low = int(item.min_value) if item.min_value is not None else 0
        high = int(item.max_value) if item.max_value is not None else 120
        return {name: str(draw(st.integers(low, high)))}
    if item.type in ("decimal", "quantity"):
        return {name: str(draw(st.integers(1, 250)))}
    if item.type == "date":
        return {f"{name}_day": "1", f"{name}_month": "6", f"{name}_year": "1990"}
    if item.type == "url":
        return {name: "https://example.org/"}
    return {name: GOOD_TEXT.get(name, draw(st.sampled_from(["Sal", "Penicillin", "x y"])))}


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
        for _round in range(4):
            merged = {**answers, **form.prune(answers)}
            shown = [item for item in form.visible_items(page, {**merged, **_cleaned(
                form, page, answers, data)}) if item.is_question]
            for item in shown:
                if not any(key == item.link_id or key.startswith(item.link_id + "_")
                           for key in data):
                    data.update(_value(draw, item))
            bound = form.form_class(page, answers=answers)(data=data)
            if bound.is_valid():
                answers = form.prune({**answers, **bound.cleaned_data})
                break
            shown_ids = {item.link_id for item in form.visible_items(
                page, {**answers, **_cleaned(form, page, answers, data)})}
            wrong = set(bound.errors) - shown_ids
            assert not wrong, f"{page}: errors on questions not shown: {wrong}"
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
