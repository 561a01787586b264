"""SDC expressions on FHIRPath: scores, variables, conditions, initial values, constraints.

Each Questionnaire here is written the way published SDC forms write these features
(LHC-Forms' and the SDC guide's examples), not in a shape of our own.
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_app.engine import DefinitionError, compile_definition
from forms_app.engine.expressions import parse_expression, to_fhirpath
from forms_app.engine.fhirpath import compile_fhirpath

from .helpers import bound, errors, group, question, questionnaire

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"


def expression(kind: str, text: str) -> dict:
    return {"url": SDC + kind,
            "valueExpression": {"language": "text/fhirpath", "expression": text}}


def variable(name: str, text: str) -> dict:
    return {"url": "http://hl7.org/fhir/StructureDefinition/variable",
            "valueExpression": {"name": name, "language": "text/fhirpath", "expression": text}}


def weighted(link_id: str, *weights, **extra) -> dict:
    options = [{"valueCoding": {"system": "http://loinc.org", "code": f"LA{n}", "display": f"D{n}",
                                "extension": [{"url": WEIGHT, "valueDecimal": w}]}}
               for n, w in enumerate(weights)]
    return question(link_id, "choice", answerOption=options, **extra)


def total(link_id: str, text: str, **extra) -> dict:
    return question(link_id, "integer", readOnly=True,
                    extension=[expression("calculatedExpression", text)], **extra)


def test_answers_sum_of_ordinals_in_a_group():
    form = compile_definition(questionnaire(
        group("g", weighted("a", 0, 1, 2, 3), weighted("b", 0, 1, 2, 3)),
        total("t", "%resource.item.where(linkId='g').answers().sum(value.ordinal())"),
    ))
    assert form.evaluate({"a": "LA2", "b": "LA3"}).scores == {"t": 5}
    assert form.evaluate({"a": "LA2"}).scores == {"t": 2}


def test_total_only_when_every_item_is_answered():
    text = ("iif(%resource.repeat(item).where(linkId in ('a' | 'b')).answer.count() = 2, "
            "%resource.repeat(item).answer.value.ordinal().sum(), {})")
    form = compile_definition(questionnaire(
        group("g", weighted("a", 0, 1), weighted("b", 0, 1)), total("t", text)))
    assert form.evaluate({"a": "LA1"}).scores == {}
    assert form.evaluate({"a": "LA1", "b": "LA1"}).scores == {"t": 2}


def test_bmi_from_questionnaire_variables():
    form = compile_definition(questionnaire(
        group("body", question("weight", "decimal"), question("height", "decimal")),
        question("bmi", "decimal", readOnly=True,
                 extension=[expression("calculatedExpression",
                                       "(%w / (%h / 100).power(2)).round(1)")]),
        extension=[
            variable("w", "%resource.repeat(item).where(linkId='weight').answer.value"),
            variable("h", "%resource.repeat(item).where(linkId='height').answer.value"),
        ],
    ))
    assert form.evaluate({"weight": "72.5", "height": "180"}).scores == {"bmi": Decimal("22.4")}
    assert form.values({"weight": "72.5", "height": "180"})["bmi"] == "22.4"
    assert form.evaluate({"weight": "72.5"}).scores == {}
    assert form.evaluate({"weight": "72.5", "height": "0"}).scores == {}


def test_item_level_variable_and_context():
    form = compile_definition(questionnaire(
        group("g", weighted("a", 1, 5), weighted("b", 1, 5),
              extension=[variable("part", "%context.answers().value.ordinal().sum()")]),
        question("x", "integer", readOnly=True,
                 extension=[expression("calculatedExpression", "%resource.answers().count()")]),
    ))
    assert form.evaluate({"a": "LA1", "b": "LA0"}).scores == {"x": 2}


def test_a_groups_variables_start_from_that_group():
    """SDC (as CSIRO Smart Forms' BMI calculator writes it): variables on a group,
    ``item.where(linkId='height')``, read the group's own questions, and the BMI inside
    the group uses them. They were read from the response's top level, where these
    questions are not, so the BMI was silently never worked out."""
    form = compile_definition(questionnaire(
        group("body",
              question("height", "decimal"), question("weight", "decimal"),
              question("bmi", "decimal", readOnly=True, extension=[expression(
                  "calculatedExpression", "(%weight / ((%height / 100).power(2))).round(1)")]),
              extension=[variable("height", "item.where(linkId='height').answer.value"),
                         variable("weight", "item.where(linkId='weight').answer.value")]),
        # A top-level question of the same linkId elsewhere is not the group's.
        group("other", question("elsewhere", "decimal")),
    ))
    assert form.evaluate({"height": "180", "weight": "72.5"}).scores == {"bmi": Decimal("22.4")}
    assert form.values({"height": "180", "weight": "72.5"})["bmi"] == "22.4"
    assert form.evaluate({"weight": "72.5"}).scores == {}


def test_scores_from_contained_value_set_concepts():
    value_set = {
        "resourceType": "ValueSet", "id": "eyes", "status": "active",
        "compose": {"include": [{"system": "http://loinc.org", "concept": [
            {"code": f"LA{n}", "display": f"E{n}", "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                 "valueDecimal": n}]} for n in (1, 2, 3, 4)]}]},
    }
    form = compile_definition(questionnaire(
        group("g", question("eye", "choice", answerValueSet="#eyes")),
        total("gcs", "%resource.repeat(item).answer.value.weight().sum()"),
        contained=[value_set],
    ))
    assert form.evaluate({"eye": "LA3"}).scores == {"gcs": 3}


def test_enable_when_expression_shows_and_hides():
    form = compile_definition(questionnaire(
        group("p1", question("age", "integer")),
        group("p2", question("pregnant", "boolean", required=True, extension=[expression(
            "enableWhenExpression",
            "%resource.repeat(item).where(linkId='age').answer.value >= 12")])),
    ))
    assert "pregnant" in form.enabled_link_ids({"age": 30})
    assert "pregnant" not in form.enabled_link_ids({"age": 5})
    assert "p2" not in form.enabled_page_keys({"age": 5})
    # A hidden question's answer is discarded.
    assert form.prune({"age": 5, "pregnant": True}) == {"age": 5}


def _shown_if(link_id: str, earlier: str) -> dict:
    return question(link_id, "integer", extension=[expression(
        "enableWhenExpression",
        f"%resource.repeat(item).where(linkId='{earlier}').answer.value > 0")])


def test_enable_when_expressions_see_answers_kept_earlier_in_the_same_walk(monkeypatch):
    """One context serves the whole walk: each expression still sees every answer kept
    before it (a chain), and the response is rebuilt only after an answer was kept."""
    from forms_app.engine import evaluation

    form = compile_definition(questionnaire(group(
        "p", question("a", "integer"), _shown_if("b", "a"), _shown_if("c", "b"),
        _shown_if("d", "c"), _shown_if("e", "a"), _shown_if("f", "a"))))
    built = []
    real = evaluation.response_items
    monkeypatch.setattr(evaluation, "response_items",
                        lambda *args, **kwargs: built.append(1) or real(*args, **kwargs))
    assert form.prune({"a": 1, "b": 2, "c": 3, "d": 4}) == {"a": 1, "b": 2, "c": 3, "d": 4}
    # Built for b (sees a), c (sees b), d (sees c), e (sees d): e and f share one.
    assert len(built) == 4
    assert form.prune({"a": 1, "b": 0, "c": 3, "d": 4}) == {"a": 1, "b": 0}
    assert form.prune({"a": 0, "b": 2, "c": 3}) == {"a": 0}
    assert form.enabled_link_ids({"a": 1, "b": 2}) >= {"b", "c", "e", "f"}
    assert "d" not in form.enabled_link_ids({"a": 1, "b": 2})


def test_enable_when_expression_on_the_same_page_is_never_a_trap():
    form = compile_definition(questionnaire(group("p", question("smoke", "boolean", required=True),
        question("per-day", "integer", required=True, extension=[expression(
            "enableWhenExpression",
            "%resource.repeat(item).where(linkId='smoke').answer.value = true")]))))
    no = bound(form, "p", {"smoke": "no"}, answers={})
    assert no.is_valid(), errors(no)
    yes = bound(form, "p", {"smoke": "yes"}, answers={})
    assert "per-day" in errors(yes)
    assert bound(form, "p", {"smoke": "yes", "per-day": "10"}, answers={}).is_valid()


PATIENT = {"resourceType": "Patient", "birthDate": "1984-03-15",
           "name": [{"given": ["Sarah"], "family": "Jones"}]}


def test_initial_expression_from_the_launch_context():
    form = compile_definition(questionnaire(
        group("p",
              question("dob", "date",
                       extension=[expression("initialExpression", "%patient.birthDate")]),
              question("family", "string", extension=[
                  expression("initialExpression", "%patient.name.first().family")])),
        extension=[{"url": SDC + "launchContext", "extension": [
            {"url": "name", "valueCoding": {"code": "patient"}},
            {"url": "type", "valueCode": "Patient"}]}],
    ))
    initial = form.initial_for_page("p", {}, launch={"patient": PATIENT})
    assert initial["dob"] == "1984-03-15" and initial["family"] == "Jones"
    # What the patient typed wins; with no launch context nothing is made up.
    assert form.initial_for_page("p", {"family": "Smith"}, launch={"patient": PATIENT})[
        "family"] == "Smith"
    assert form.initial_for_page("p", {}) == {}


def constrained(text, human):
    return {"url": "http://hl7.org/fhir/StructureDefinition/targetConstraint", "extension": [
        {"url": "key", "valueId": "c1"}, {"url": "severity", "valueCode": "error"},
        {"url": "expression", "valueExpression": {"language": "text/fhirpath",
                                                   "expression": text}},
        {"url": "human", "valueString": human}]}


def test_target_constraint_gives_the_authors_message():
    postcode = r"answer.value.matches('^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$')"
    form = compile_definition(questionnaire(group("p", question(
        "postcode", "string", extension=[constrained(postcode, "Enter a real postcode")]))))
    wrong = bound(form, "p", {"postcode": "not a postcode"}, answers={})
    assert errors(wrong) == {"postcode": ["Enter a real postcode"]}
    assert bound(form, "p", {"postcode": "LS1 4AP"}, answers={}).is_valid()
    assert bound(form, "p", {"postcode": ""}, answers={}).is_valid()  # optional, unanswered


def test_target_constraint_across_questions():
    rule = "%resource.repeat(item).where(linkId='low').answer.value <= answer.value"
    form = compile_definition(questionnaire(group("p", question("low", "integer"),
        question("high", "integer", extension=[constrained(rule, "High must be at least low")]))))
    assert "high" in errors(bound(form, "p", {"low": "5", "high": "3"}, answers={}))
    assert bound(form, "p", {"low": "1", "high": "3"}, answers={}).is_valid()


@pytest.mark.parametrize("text", ["%resource.item.(", "1 +", "answers() answers()"])
def test_unreadable_fhirpath_is_refused_by_name(text):
    with pytest.raises(DefinitionError) as caught:
        compile_definition(questionnaire(group("g", weighted("a", 0, 1)), total("t", text)))
    assert any('Item "t": calculatedExpression cannot be read' in p
               for p in caught.value.problems)


def test_an_expression_that_fails_at_run_time_gives_no_value_never_a_crash():
    form = compile_definition(questionnaire(group("g", question("name", "string")),
                                            total("t", "%resource.answers().value + 1")))
    assert form.evaluate({"name": "Sal"}).scores == {}


NUMBERS = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False,
                      allow_infinity=False)
FORMULAS = [
    ("a + b * 2", lambda a, b: a + b * 2),
    ("(a - b) / 4", lambda a, b: (a - b) / 4),
    ("round(a * b, 1)", lambda a, b: (a * b).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP")),
    ("max(a, b) - min(a, b)", lambda a, b: max(a, b) - min(a, b)),
    ("abs(a) + b ^ 2", lambda a, b: abs(a) + b ** 2),
]


@settings(database=None, deadline=None, max_examples=60)
@given(a=NUMBERS, b=NUMBERS, formula=st.sampled_from(FORMULAS))
def test_designer_formulas_on_fhirpath_match_decimal_arithmetic(a, b, formula):
    text, oracle = formula
    fhirpath = to_fhirpath(parse_expression(text), lambda name: format({"a": a, "b": b}[name],
                                                                         "f"))
    assert compile_fhirpath(fhirpath).evaluate({}) == [oracle(a, b)]


@settings(database=None, deadline=None, max_examples=60)
@given(scores=st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_sdc_totals_agree_with_the_sum_of_chosen_weights(scores):
    form = compile_definition(questionnaire(
        group("g", *(weighted(f"q{n}", 0, 1, 2, 3) for n in range(3))),
        total("t", "%resource.repeat(item).answer.value.ordinal().sum()"),
    ))
    answers = {f"q{n}": f"LA{s}" for n, s in enumerate(scores)}
    assert form.evaluate(answers).scores == {"t": sum(scores)}
