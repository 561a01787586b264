"""FHIRPath inside repeating groups (issue 11: each repetition evaluated on its own).

SDC: an item's expressions inside a repeating group see ``%context`` as that item in
the same instance, and a variable on the group is evaluated once per instance. So a
per-relative score, a per-row subtotal, a question enabled by an expression over the
relative's own answers and a targetConstraint comparing two of that relative's answers
all read their own instance, never the first one or all of them at once.
"""

from django.utils.datastructures import MultiValueDict
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app.engine import compile_definition
from tests.corpus import load

from .helpers import group, question, questionnaire

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
MOTHER = {"relation": "MTH", "living": False, "age-at-death": 61, "had-cancer": True,
          "cancer-type": "254837009", "cancer-age": 45, "genetic-test": False}
FATHER = {"relation": "FTH", "living": True, "had-cancer": True, "cancer-type": "399068003",
          "cancer-age": 67, "genetic-test": True}
SISTER = {"relation": "SIS", "living": True, "had-cancer": False, "cancer-age": 30}


def family():
    return compile_definition(load("family-cancer-per-relative"))


def fhirpath(text):
    return {"language": "text/fhirpath", "expression": text}


def test_each_relative_gets_their_own_points_and_the_total_adds_them():
    values = family().values({"relative": [MOTHER, FATHER, SISTER]})
    relatives = values["relative"]
    assert [r.get("points") for r in relatives] == [6, 2, None]
    assert values["family-score"] == 8
    evaluation = family().evaluate({"relative": [MOTHER, FATHER, SISTER]})
    assert evaluation.scores == {"family-score": 8}
    assert evaluation.bands == {"family-score": "Below the referral threshold"}


def test_an_enable_when_expression_reads_its_own_relative():
    kept = family().prune({"relative": [MOTHER, FATHER, SISTER]})["relative"]
    # Found at 45: asked about a genetic test; found at 67: not, so that answer goes.
    assert kept[0]["genetic-test"] is False
    assert "genetic-test" not in kept[1]
    # No cancer: the age it was found is hidden for this relative only.
    assert "cancer-age" not in kept[2]


def test_the_filed_response_has_each_relatives_value_in_their_own_item():
    items = family().response_items({"relative": [MOTHER, FATHER]})
    QuestionnaireResponse.model_validate(
        {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items})
    points = [[node["answer"][0]["valueInteger"] for node in relative["item"]
               if node["linkId"] == "points"] for relative in items
              if relative["linkId"] == "relative"]
    assert points == [[6], [2]]
    assert items[-1] == {"linkId": "family-score", "text": "Family history score",
                         "answer": [{"valueInteger": 8}]}


def test_check_answers_shows_each_relatives_points_as_worked_out():
    page = family().summary({"relative": [MOTHER, FATHER]})[0]
    first, second = page.groups
    assert first.title == "Close relative 1" and second.title == "Close relative 2"
    assert [(r.answer, r.calculated) for r in first.rows if r.link_id == "points"] == \
        [("6", True)]
    assert [(r.answer, r.calculated) for r in second.rows if r.link_id == "points"] == \
        [("2", True)]


def _page(data):
    form_class = family().form_class("relative", answers={})
    form = form_class(data=MultiValueDict(
        {f"relative-{k}": [v] for k, v in data.items()}), prefix="relative")
    form.is_valid()
    return form


def test_a_target_constraint_names_the_question_of_the_instance_that_breaks_it():
    form = _page({"relative~n": "2",
                  "relative~0~relation": "MTH", "relative~0~living": "yes",
                  "relative~0~had-cancer": "yes", "relative~0~cancer-type": "254837009",
                  "relative~0~cancer-age": "70",
                  "relative~1~relation": "FTH", "relative~1~living": "no",
                  "relative~1~age-at-death": "58", "relative~1~had-cancer": "yes",
                  "relative~1~cancer-type": "363406005", "relative~1~cancer-age": "60"})
    # The mother is alive, so 70 is fine; the father died at 58, so 60 cannot be.
    assert list(form.errors) == ["relative~1~cancer-age"]
    assert form.errors["relative~1~cancer-age"] == [
        "The age their cancer was found must be the same as or less than the age they died"]


def test_a_question_its_instance_hides_is_neither_required_nor_kept():
    form = _page({"relative~n": "2",
                  "relative~0~relation": "MTH", "relative~0~living": "yes",
                  "relative~0~had-cancer": "no", "relative~0~cancer-age": "not a number",
                  "relative~1~relation": "FTH", "relative~1~living": "no",
                  "relative~1~had-cancer": "no"})
    # The mother's hidden age is ignored, even invalid; the father's age at death is
    # required in his instance only.
    assert list(form.errors) == ["relative~1~age-at-death"]
    form = _page({"relative~n": "1", "relative~0~relation": "MTH", "relative~0~living": "yes",
                  "relative~0~had-cancer": "no", "relative~0~cancer-age": "40"})
    assert form.is_valid()
    assert form.cleaned_data["relative"] == [
        {"relation": "MTH", "living": True, "had-cancer": False}]


def order():
    line = group("line",
                 question("qty", "integer", text="How many"),
                 question("price", "decimal", text="Price each"),
                 question("subtotal", "decimal", text="Line total", readOnly=True,
                          extension=[{"url": SDC + "calculatedExpression",
                                      "valueExpression": fhirpath("%qty * %price")}]),
                 text="A line", repeats=True,
                 extension=[
                     {"url": "http://hl7.org/fhir/StructureDefinition/variable",
                      "valueExpression": {**fhirpath("item.where(linkId='qty').answer.value"),
                                          "name": "qty"}},
                     {"url": "http://hl7.org/fhir/StructureDefinition/variable",
                      "valueExpression": {
                          **fhirpath("item.where(linkId='price').answer.value"),
                          "name": "price"}}])
    return compile_definition(questionnaire(
        group("order",
              question("ward", "string", text="Ward"),
              line,
              question("order-total", "decimal", text="Order total", readOnly=True,
                       extension=[{"url": SDC + "calculatedExpression",
                                   "valueExpression": fhirpath(
                                       "%lines.item.where(linkId='subtotal')"
                                       ".answer.value.sum()")}]),
              text="An order", repeats=True,
              # The order's own lines, read once per order (a variable on the group).
              extension=[{"url": "http://hl7.org/fhir/StructureDefinition/variable",
                          "valueExpression": {**fhirpath("item.where(linkId='line')"),
                                              "name": "lines"}}])))


def test_nested_instances_each_have_their_own_subtotal_and_total():
    answers = {"order": [
        {"ward": "A", "line": [{"qty": 2, "price": "1.50"}, {"qty": 1, "price": "4"}]},
        {"ward": "B", "line": [{"qty": 3, "price": "2"}]},
    ]}
    values = order().values(answers)["order"]
    assert [line["subtotal"] for line in values[0]["line"]] == ["3.0", "4.0"]
    assert [line["subtotal"] for line in values[1]["line"]] == ["6.0"]
    assert [o["order-total"] for o in values] == ["7.0", "6.0"]
