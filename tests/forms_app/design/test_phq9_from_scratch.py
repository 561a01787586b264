"""Done when: a clinician can build PHQ-9 from scratch and get the same scores, bands
and flags as the shipped one. Built here through the draft models (what the admin
saves), published, and compared with forms_app/library/phq9.json on many answer sets."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_app import services
from forms_app.design.services import library_questionnaire
from forms_app.engine import compile_definition
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Item,
    ScoreBand,
)
from tests.factories.forms_app import FormFactory
from tests.factories.patients import UserFactory

pytestmark = pytest.mark.django_db

QUESTIONS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
]
ANSWERS = [("LA6568-5", "Not at all"), ("LA6569-3", "Several days"),
           ("LA6570-1", "More than half the days"), ("LA6571-9", "Nearly every day")]
BANDS = [(0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"),
         (15, 19, "Moderately severe"), (20, 27, "Severe")]


def build_phq9_from_scratch():
    form = FormFactory(title="PHQ-9 (built by hand)")
    for number, text in enumerate(QUESTIONS, start=1):
        page = Item.objects.create(
            form=form, link_id=f"phq9-page-{number}", type=Item.Type.GROUP, position=number,
            text="Over the last 2 weeks, how often have you been bothered by the following "
                 "problem?")
        question = Item.objects.create(form=form, parent=page, link_id=f"phq9-{number}",
                                       type=Item.Type.CHOICE, text=text, required=True,
                                       prefix=f"{number}.")
        AnswerOption.objects.bulk_create(
            AnswerOption(item=question, position=score, system="http://loinc.org", code=code,
                         display=display, score=score)
            for score, (code, display) in enumerate(ANSWERS))
    total = Item.objects.create(form=form, link_id="phq9-total", type=Item.Type.INTEGER,
                                text="PHQ-9 total score", position=10,
                                calculation=Item.Calculation.SCORE_TOTAL)
    ScoreBand.objects.bulk_create(ScoreBand(item=total, min_score=low, max_score=high,
                                            label=label, position=n)
                                  for n, (low, high, label) in enumerate(BANDS))
    rule = FlagRule.objects.create(form=form, code="phq9-item9-self-harm",
                                   severity=FlagRule.Severity.URGENT,
                                   message="Question 9 answered above 0: review today.")
    FlagCondition.objects.create(rule=rule, question=form.items.get(link_id="phq9-9"),
                                 operator=">", answer="0")
    return form


def test_phq9_built_from_scratch_scores_like_the_shipped_one():
    form = build_phq9_from_scratch()
    version = services.publish_form(form=form, by=UserFactory())
    scratch = compile_definition(version.definition)
    shipped = compile_definition(library_questionnaire("phq9"))
    assert scratch.page_keys == shipped.page_keys

    def flags(evaluation):
        return [(flag.code, flag.severity) for flag in evaluation.flags]

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
    def same(choices):
        answers = {f"phq9-{n}": ANSWERS[c][0] for n, c in enumerate(choices, start=1)}
        mine, theirs = scratch.evaluate(answers), shipped.evaluate(answers)
        assert mine.scores == theirs.scores == {"phq9-total": sum(choices)}
        assert mine.bands == theirs.bands
        assert flags(mine) == flags(theirs)
        assert bool(mine.flags) == (choices[8] > 0)

    same()
    # The extremes, named: 27 is severe with the urgent flag; 4 is minimal and unflagged.
    worst = scratch.evaluate({f"phq9-{n}": "LA6571-9" for n in range(1, 10)})
    assert worst.bands == {"phq9-total": "Severe"} and worst.urgent
