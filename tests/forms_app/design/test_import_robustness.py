"""Never a server error for a bad upload: any corpus Questionnaire with one element
replaced by a value of the wrong JSON type (an object where a string belongs, a list, a
number, null) is either read into a plan with its report, or refused with the reason.
Before the shared codec, 185 of 3,171 such uploads raised TypeError or InvalidOperation
(an object as an extension url, item type, operator or contained id; a valueDecimal
that is not a number)."""

import copy
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.design.importer import ImportRefused, Plan, plan_questionnaire
from tests.corpus import QUESTIONNAIRES

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = {path.name: json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
           for path in sorted([*QUESTIONNAIRES.glob("*.json"), *FIXTURES.glob("*.json")])}
WRONG = st.sampled_from([{}, [], None, 1.5, "x", "", True, 0, -3, {"a": 1}, [1],
                         {"url": {"a": 1}}, Decimal("2.5"), "#vs"])


def _paths(value, path=()):
    if path:
        yield path
    children = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        yield from _paths(child, (*path, key))


PATHS = {name: list(_paths(source)) for name, source in SOURCES.items()}


@st.composite
def _mutations(draw):
    name = draw(st.sampled_from(sorted(SOURCES)))
    data = copy.deepcopy(SOURCES[name])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS[name]))
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = draw(WRONG)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this element
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_a_malformed_upload_is_planned_or_refused_never_an_error(data):
    try:
        plan = plan_questionnaire(data)
    except ImportRefused as refused:
        assert str(refused)
    else:
        assert isinstance(plan, Plan)
        assert all(isinstance(note["message"], str) for note in plan.report)
