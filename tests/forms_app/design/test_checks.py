"""The checks before publishing: every problem named in the designer's words, nothing
published while any remains."""

import pytest
from django.core.exceptions import ValidationError

from forms_app import services
from forms_app.models import FormVersion, Item
from tests.factories.forms_app import (
    AnswerOptionFactory,
    FlagConditionFactory,
    FlagRuleFactory,
    FormFactory,
    ItemConditionFactory,
    ItemFactory,
    ScoreBandFactory,
)
from tests.factories.patients import UserFactory

pytestmark = pytest.mark.django_db


def problems_of(form) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        services.publish_form(form=form, by=UserFactory())
    assert not FormVersion.objects.filter(form=form).exists()
    return refused.value.messages


def choice(form, link_id, codes=("yes", "no"), **fields):
    item = ItemFactory(form=form, link_id=link_id, type=Item.Type.CHOICE, **fields)
    for n, code in enumerate(codes):
        AnswerOptionFactory(item=item, code=code, display=code.title(), score=n, position=n)
    return item


def test_an_empty_form_cannot_be_published():
    assert problems_of(FormFactory()) == ["Add at least one question before publishing."]


def test_condition_on_a_later_question_or_itself():
    form = FormFactory()
    first = ItemFactory(form=form, link_id="first", text="First?", position=0)
    second = ItemFactory(form=form, link_id="second", type=Item.Type.BOOLEAN, position=1)
    ItemConditionFactory(item=first, question=second, operator="=", answer="true")
    ItemConditionFactory(item=second, question=second, operator="exists", answer="true")
    problems = problems_of(form)
    assert ('Question "first" (First?): its condition on "second" refers to a question that '
            "comes later in the form (or to the item itself); conditions can only refer to "
            "earlier questions.") in problems
    assert any(p.startswith('Question "second"') and "item itself" in p for p in problems)


def test_condition_answers_must_fit_the_question():
    form = FormFactory()
    smoker = choice(form, "smoker", position=0)
    age = ItemFactory(form=form, link_id="age", type=Item.Type.INTEGER, position=1)
    name = ItemFactory(form=form, link_id="name", type=Item.Type.STRING, position=2)
    ItemConditionFactory(item=age, question=smoker, operator="=", answer="sometimes")
    ItemConditionFactory(item=name, question=age, operator=">", answer="old")
    problems = " ".join(problems_of(form))
    assert '"sometimes" is not one of its option codes (yes, no)' in problems
    assert '"old" is not a number' in problems


def test_choice_questions_need_options_and_others_must_not_have_them():
    form = FormFactory()
    ItemFactory(form=form, link_id="colour", type=Item.Type.CHOICE, text="Colour?")
    name = ItemFactory(form=form, link_id="name", type=Item.Type.STRING)
    AnswerOptionFactory(item=name, code="x")
    problems = problems_of(form)
    assert any('"colour"' in p and "needs answer options" in p for p in problems)
    assert any('"name"' in p and "only choice questions have answer options" in p
               for p in problems)


def test_duplicate_ids_including_the_generated_help_id():
    form = FormFactory()
    ItemFactory(form=form, link_id="pain", help_text="From 0 to 10", position=0)
    ItemFactory(form=form, link_id="pain-help", position=1)
    problems = problems_of(form)
    assert any('the id "pain-help" is also used by' in p for p in problems)


def test_every_page_must_be_reachable():
    form = FormFactory()
    gate = choice(form, "gate", position=0)
    hidden_page = ItemFactory(form=form, link_id="hidden", type=Item.Type.GROUP, position=1,
                              text="Hidden")
    inner = choice(form, "inner", parent=hidden_page)
    ItemConditionFactory(item=hidden_page, question=gate, operator="=", answer="yes")
    ItemConditionFactory(item=hidden_page, question=gate, operator="=", answer="no")
    later = ItemFactory(form=form, link_id="later", type=Item.Type.GROUP, position=2,
                        text="Later")
    ItemFactory(form=form, parent=later, link_id="q", text="Q")
    ItemConditionFactory(item=later, question=inner, operator="=", answer="yes")
    problems = problems_of(form)
    # The engine finds the contradiction; it is reworded to name the page.
    assert any(p.startswith('Page "hidden" (Hidden):') and "can never be met" in p
               for p in problems), problems


def test_a_page_resting_on_an_unreachable_page_is_named():
    form = FormFactory()
    choice(form, "gate", position=0)
    first = ItemFactory(form=form, link_id="p1", type=Item.Type.GROUP, position=1, text="P1")
    inner = choice(form, "inner", parent=first)
    # p1 can only be shown when "inner" (on p1 itself) is answered: never.
    ItemConditionFactory(item=first, question=inner, operator="exists", answer="true")
    second = ItemFactory(form=form, link_id="p2", type=Item.Type.GROUP, position=2, text="P2")
    ItemFactory(form=form, parent=second, link_id="q2", text="Q2")
    ItemConditionFactory(item=second, question=inner, operator="=", answer="yes")
    problems = problems_of(form)
    assert any('Page "p2" (P2): this page can never be shown' in p for p in problems), problems


def test_scores_bands_and_flags_are_checked():
    form = FormFactory()
    ItemFactory(form=form, link_id="total", type=Item.Type.STRING,
                        calculation=Item.Calculation.SCORE_SUM, position=1)
    name = ItemFactory(form=form, link_id="name", position=0)
    ScoreBandFactory(item=name, min_score=0, max_score=1)
    FlagRuleFactory(form=form, code="empty")
    FlagConditionFactory(rule__form=form, rule__code="bad", question=name, operator=">",
                         answer="1")
    problems = " ".join(problems_of(form))
    assert 'Score "total"' in problems and "only whole or decimal numbers" in problems
    assert "score bands need a whole or decimal number" in problems
    assert 'Flag rule "empty": add at least one condition.' in problems
    assert 'Flag rule "bad": its condition on "name": text answers can only be compared' \
        in problems


def test_a_valid_draft_publishes():
    form = FormFactory()
    page = ItemFactory(form=form, link_id="page", type=Item.Type.GROUP, text="Page")
    smoker = ItemFactory(form=form, parent=page, link_id="smoker", type=Item.Type.BOOLEAN,
                         position=0)
    per_day = ItemFactory(form=form, parent=page, link_id="per-day", type=Item.Type.INTEGER,
                          min_value="1", max_value="100", position=1)
    ItemConditionFactory(item=per_day, question=smoker, operator="=", answer="yes")
    version = services.publish_form(form=form, by=UserFactory())
    assert version.definition["item"][0]["item"][1]["enableWhen"] == [
        {"question": "smoker", "operator": "=", "answerBoolean": True}]
