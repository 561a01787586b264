"""enableWhen operators, page visibility, pruning and conditional requiredness."""

import pytest

from .helpers import bound, choice, compiled, errors, group, question, when


def visible(form, answers, link_id="target") -> bool:
    return form.is_enabled(link_id, answers)


def gated(source: dict, *conditions, behavior=None):
    extra = {"enableBehavior": behavior} if behavior else {}
    return compiled(source, question("target", "string", enableWhen=list(conditions), **extra))


@pytest.mark.parametrize(
    ("operator", "answer", "expected"),
    [
        ("=", 5, True),
        ("=", 6, False),
        ("!=", 6, True),
        ("!=", 5, False),
        (">", 4, True),
        (">", 5, False),
        ("<", 6, True),
        ("<", 5, False),
        (">=", 5, True),
        (">=", 6, False),
        ("<=", 5, True),
        ("<=", 4, False),
    ],
)
def test_numeric_operators(operator, answer, expected):
    form = gated(question("n", "integer"), when("n", operator, answerInteger=answer))
    assert visible(form, {"n": 5}) is expected
    assert visible(form, {}) is False  # no answer satisfies no comparison


def test_decimal_and_quantity_compare_values():
    form = gated(question("w", "decimal"), when("w", ">", answerDecimal=72.4))
    assert visible(form, {"w": "72.5"}) and not visible(form, {"w": "72.4"})
    form = gated(question("q", "quantity"), when("q", ">=", answerQuantity={"value": 100}))
    assert visible(form, {"q": {"value": "100", "unit": "kg"}})


def test_exists():
    form = gated(question("s", "string"), when("s", "exists", answerBoolean=True))
    assert visible(form, {"s": "x"}) and not visible(form, {}) and not visible(form, {"s": None})
    form = gated(question("s", "string"), when("s", "exists", answerBoolean=False))
    assert visible(form, {}) and not visible(form, {"s": "x"})


def test_boolean_and_string_equality():
    form = gated(question("b", "boolean"), when("b", "=", answerBoolean=False))
    assert visible(form, {"b": False}) and not visible(form, {"b": True})
    form = gated(question("s", "string"), when("s", "!=", answerString="no"))
    assert visible(form, {"s": "yes"}) and not visible(form, {"s": "no"})


def test_dates_compare_as_dates():
    form = gated(question("d", "date"), when("d", "<", answerDate="2000-01-01"))
    assert visible(form, {"d": "1999-12-31"}) and not visible(form, {"d": "2000-01-01"})
    form = gated(question("t", "time"), when("t", ">=", answerTime="12:00:00"))
    assert visible(form, {"t": "12:00"}) and not visible(form, {"t": "11:59"})
    form = gated(
        question("m", "dateTime"), when("m", ">", answerDateTime="2024-01-01T00:00:00+00:00")
    )
    assert visible(form, {"m": "2024-01-01T00:00:01+00:00"})
    assert not visible(form, {"m": "2024-01-01T00:30:00+01:00"})


def test_choice_compares_codes():
    form = gated(choice("c", "a", "b"), when("c", "=", answerCoding={"system": "x", "code": "b"}))
    assert visible(form, {"c": "b"}) and not visible(form, {"c": "a"})
    form = gated(choice("c", "a", "b"), when("c", "!=", answerCoding={"code": "b"}))
    assert visible(form, {"c": "a"}) and not visible(form, {"c": "b"})


def test_multiple_choice_any_and_none_semantics():
    many = choice("c", "a", "b", "c", repeats=True)
    form = gated(many, when("c", "=", answerCoding={"code": "b"}))
    assert visible(form, {"c": ["a", "b"]}) and not visible(form, {"c": ["a", "c"]})
    form = gated(many, when("c", "!=", answerCoding={"code": "b"}))
    assert visible(form, {"c": ["a", "c"]}) and not visible(form, {"c": ["a", "b"]})


def test_ticked_b_and_ticked_c_is_a_condition_that_can_be_met():
    """LHC-Forms' enableWhen test form: "all" of "= B" and "= C" on a question that
    takes several answers asks when both are ticked. It was refused as never met (as
    it would be for a question with one answer), so the form could not be published."""
    many = choice("c", "a", "b", "c", repeats=True)
    form = gated(many, when("c", "=", answerCoding={"code": "b"}),
                 when("c", "=", answerCoding={"code": "c"}), behavior="all")
    assert visible(form, {"c": ["b", "c"]}) and visible(form, {"c": ["a", "b", "c"]})
    assert not visible(form, {"c": ["b"]}) and not visible(form, {"c": ["a", "c"]})


def test_choice_numeric_comparison_uses_scores():
    scored = choice("c", "none", "some", "lots", scores=[0, 1, 2])
    form = gated(scored, when("c", ">", answerInteger=0))
    assert visible(form, {"c": "some"}) and not visible(form, {"c": "none"})


def test_open_choice_other_text():
    item = question("o", "open-choice", answerOption=[{"valueString": "Tea"}])
    form = gated(item, when("o", "=", answerString="Mate"))
    assert visible(form, {"o": {"other": "Mate"}}) and not visible(form, {"o": "Tea"})


def test_enable_behavior_all_and_any():
    source = group("p1", question("x", "integer"), question("y", "integer"))
    both = [when("x", ">", answerInteger=1), when("y", ">", answerInteger=1)]
    form_all = gated(source, *both, behavior="all")
    form_any = gated(source, *both, behavior="any")
    assert visible(form_all, {"x": 2, "y": 2}) and not visible(form_all, {"x": 2, "y": 0})
    assert visible(form_any, {"x": 2, "y": 0}) and not visible(form_any, {"x": 0, "y": 0})


def smoking_form():
    return compiled(
        group("p1", question("smoke", "boolean", required=True)),
        group(
            "p2",
            question("per-day", "integer", required=True),
            enableWhen=[when("smoke", "=", answerBoolean=True)],
        ),
        group(
            "p3",
            question("quit", "boolean", required=True),
            question(
                "quit-date",
                "date",
                required=True,
                enableWhen=[when("quit", "=", answerBoolean=True)],
            ),
            question("why", "text", enableWhen=[when("per-day", ">", answerInteger=10)]),
        ),
    )


def test_pages_and_enabled_pages():
    form = smoking_form()
    assert form.page_keys == ["p1", "p2", "p3"]
    assert [q.link_id for q in form.page("p3").questions] == ["quit", "quit-date", "why"]
    assert form.enabled_page_keys({}) == ["p1", "p3"]
    assert form.enabled_page_keys({"smoke": True}) == ["p1", "p2", "p3"]


def test_prune_drops_hidden_cascades_and_unknown_keys():
    form = smoking_form()
    answers = {
        "smoke": False,
        "per-day": 20,
        "quit": False,
        "quit-date": "2020-01-01",
        "why": "stress",
        "nonsense": 1,
        "quit-date-bad": None,
    }
    # per-day is hidden, so "why" (which depends on it) is hidden too.
    assert form.prune(answers) == {"smoke": False, "quit": False}
    assert form.prune({"smoke": True, "per-day": 20, "why": "stress"}) == {
        "smoke": True,
        "per-day": 20,
        "why": "stress",
    }


def test_prune_drops_malformed_answers():
    form = smoking_form()
    assert form.prune({"smoke": "yes", "quit": None}) == {}
    assert form.prune({"smoke": True, "per-day": "20"}) == {"smoke": True}


def test_hidden_question_on_an_earlier_page_is_left_out_of_the_form():
    form = smoking_form()
    page = form.form_class("p3", answers={"smoke": False})
    assert list(page.base_fields) == ["quit", "quit-date"]
    page = form.form_class("p3", answers={"smoke": True, "per-day": 11})
    assert list(page.base_fields) == ["quit", "quit-date", "why"]


def test_question_hidden_on_the_same_page_is_not_required():
    form = smoking_form()
    submitted = bound(form, "p3", {"quit": "no"}, answers={"smoke": False})
    assert submitted.is_valid(), submitted.errors
    assert submitted.cleaned_data == {"quit": False, "quit-date": None}
    submitted = bound(form, "p3", {"quit": "yes"}, answers={"smoke": False})
    assert errors(submitted) == {"quit-date": ["Enter question quit-date"]}


def test_answers_to_hidden_question_are_discarded_even_if_invalid():
    form = smoking_form()
    data = {"quit": "no", "quit-date_day": "99", "quit-date_month": "x", "quit-date_year": "1"}
    submitted = bound(form, "p3", data, answers={})
    assert submitted.is_valid()
    assert submitted.cleaned_data["quit-date"] is None


def test_form_class_without_answers_has_every_question():
    form = smoking_form()
    page = form.form_class("p3")
    assert list(page.base_fields) == ["quit", "quit-date", "why"]
    assert bound(form, "p3", {"quit": "no"}).is_valid()


def test_conditions_on_groups_inside_a_page():
    form = compiled(
        group(
            "p1",
            question("pregnant", "boolean"),
            group(
                "pregnancy",
                question("due", "date", required=True),
                enableWhen=[when("pregnant", "=", answerBoolean=True)],
            ),
        )
    )
    assert bound(form, "p1", {"pregnant": "no"}, answers={}).is_valid()
    assert list(errors(bound(form, "p1", {"pregnant": "yes"}, answers={}))) == ["due"]
    assert form.prune({"pregnant": False, "due": "2025-01-01"}) == {"pregnant": False}


def test_page_with_nothing_visible_is_skipped():
    form = compiled(
        question("a", "boolean"),
        group("p2", question("b", "string", enableWhen=[when("a", "=", answerBoolean=True)])),
    )
    assert form.enabled_page_keys({"a": False}) == ["a"]
    assert form.enabled_page_keys({"a": True}) == ["a", "p2"]
