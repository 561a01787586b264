"""Repeating groups (nested) and repeating questions (issue 11, point 3: repeats were
flattened: one relative, one condition, one answer, only the first initial value)."""

from django.utils.datastructures import MultiValueDict
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app.engine import compile_definition
from forms_app.engine.repeats import ADD, REMOVE, changed_data

from .helpers import choice, errors, group, question, questionnaire, std_ext, when

CALCULATED = ("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
              "calculatedExpression")


def family(**relative_extra):
    return questionnaire(
        group(
            "relative",
            choice("relation", "mother", "father", "sister", text="Relationship",
                   required=True),
            question("alive", "boolean", text="Are they alive?"),
            question("cause", "string", text="What did they die of?", required=True,
                     enableWhen=[when("alive", "=", answerBoolean=False)]),
            group("condition",
                  question("condition-name", "string", text="Condition", required=True),
                  question("age", "integer", text="Age when diagnosed"),
                  text="A condition they had", repeats=True),
            text="A relative", repeats=True, **relative_extra),
        group("more", question("aliases", "string", text="Other names", repeats=True,
                               initial=[{"valueString": "Sal"}, {"valueString": "Sally"}]),
              question("relatives", "integer", text="Relatives", extension=[{
                  "url": CALCULATED,
                  "valueExpression": {"language": "text/fhirpath",
                                      "expression": "%resource.item.where(linkId = "
                                                    "'relative').count()"}}])),
    )


def post(form_class, data, prefix="relative"):
    form = form_class(data=MultiValueDict(
        {f"{prefix}-{k}": v if isinstance(v, list) else [v] for k, v in data.items()}),
        prefix=prefix)
    form.is_valid()
    return form


TWO_RELATIVES = {
    "relative~n": "2", "relative~0~relation": "mother", "relative~0~alive": "yes",
    "relative~0~condition~n": "2",
    "relative~0~condition~0~condition-name": "Diabetes", "relative~0~condition~0~age": "52",
    "relative~0~condition~1~condition-name": "Asthma",
    "relative~1~relation": "father", "relative~1~alive": "no",
    "relative~1~cause": "Stroke", "relative~1~condition~n": "1",
    "relative~1~condition~0~condition-name": "",
}
TWO_ANSWERS = [
    {"relation": "mother", "alive": True,
     "condition": [{"condition-name": "Diabetes", "age": 52}, {"condition-name": "Asthma"}]},
    {"relation": "father", "alive": False, "cause": "Stroke"},
]


def test_a_page_offers_one_instance_of_each_list_to_start_with():
    form = compile_definition(family()).form_class("relative", answers={})(prefix="relative")
    assert list(form.fields) == [
        "relative~0~relation", "relative~0~alive", "relative~0~cause",
        "relative~0~condition~0~condition-name", "relative~0~condition~0~age"]
    assert not any(field.required for field in form.fields.values())


def test_instances_nested_two_levels_become_lists_of_answers():
    compiled = compile_definition(family())
    form = post(compiled.form_class("relative", answers={}), TWO_RELATIVES)
    assert errors(form) == {}
    assert form.cleaned_data == {"relative": TWO_ANSWERS}
    assert compiled.prune(form.cleaned_data) == {"relative": TWO_ANSWERS}


def test_enable_when_reads_the_same_instance():
    """SDC: a condition on a sibling in a repeated group means that instance's answer:
    the first relative is alive (no cause asked), the second is not (cause required)."""
    compiled = compile_definition(family())
    data = {**TWO_RELATIVES, "relative~1~cause": "", "relative~0~cause": "Ignored"}
    form = post(compiled.form_class("relative", answers={}), data)
    assert list(errors(form)) == ["relative~1~cause"]
    assert "relative~0~cause" not in form.engine_enabled_names
    kept = compiled.prune({"relative": [{"relation": "mother", "alive": True,
                                         "cause": "Ignored"}]})
    assert kept == {"relative": [{"relation": "mother", "alive": True}]}


def test_required_questions_of_an_instance_are_required_but_a_blank_added_one_is_not():
    compiled = compile_definition(family())
    form_class = compiled.form_class("relative", answers={})
    missing = post(form_class, {"relative~n": "1", "relative~0~condition~n": "1",
                                "relative~0~condition~0~condition-name": "Gout"})
    assert list(errors(missing)) == ["relative~0~relation"]
    blank_second = post(form_class, {"relative~n": "2", "relative~0~relation": "sister",
                                     "relative~0~condition~n": "1",
                                     "relative~1~condition~n": "1"})
    assert errors(blank_second) == {}
    assert blank_second.cleaned_data["relative"] == [{"relation": "sister"}]


def test_min_and_max_occurs_bound_the_instances():
    occurs = [std_ext("questionnaire-minOccurs", valueInteger=2),
              std_ext("questionnaire-maxOccurs", valueInteger=3)]
    compiled = compile_definition(family(extension=occurs))
    form_class = compiled.form_class("relative", answers={})
    assert form_class(prefix="relative").engine_layout[0].instances.__len__() == 2
    many = post(form_class, {"relative~n": "40"})
    assert len(many.engine_layout[0].instances) == 3
    one = post(form_class, {"relative~n": "2", "relative~0~relation": "mother",
                            "relative~0~condition~n": "1", "relative~1~condition~n": "1"})
    assert list(errors(one)) == ["relative~1~relation"]


def test_repeating_question_keeps_every_initial_value_and_answer():
    compiled = compile_definition(family())
    assert compiled.items["aliases"].initial == ["Sal", "Sally"]
    form_class = compiled.form_class("more", answers={})
    unbound = form_class(prefix="more")
    assert [unbound[name].value() for name in ("aliases~0", "aliases~1")] == ["Sal", "Sally"]
    form = post(form_class, {"aliases~n": "3", "aliases~0": "Sal", "aliases~1": "",
                             "aliases~2": "Sally Ann"}, prefix="more")
    assert form.cleaned_data == {"aliases": ["Sal", "Sally Ann"]}
    items = compiled.response_items({"aliases": ["Sal", "Sally Ann"]})
    assert items[0]["item"][0]["answer"] == [{"valueString": "Sal"},
                                             {"valueString": "Sally Ann"}]


def test_response_has_one_item_per_instance_and_fhirpath_counts_them():
    compiled = compile_definition(family())
    answers = {"relative": TWO_ANSWERS, "aliases": ["Sal"]}
    items = compiled.response_items(answers)
    relatives = [item for item in items if item["linkId"] == "relative"]
    assert len(relatives) == 2
    # The same linkId once per instance, the conditions nested in their relative.
    assert [[c["linkId"] for c in r["item"]] for r in relatives] == [
        ["relation", "alive", "condition", "condition"], ["relation", "alive", "cause"]]
    assert relatives[0]["item"][3]["item"] == [
        {"linkId": "condition-name", "text": "Condition",
         "answer": [{"valueString": "Asthma"}]}]
    QuestionnaireResponse.model_validate(
        {"resourceType": "QuestionnaireResponse", "status": "completed", "item": items})
    assert compiled.values(answers)["relatives"] == 2
    assert compiled.evaluate(answers).scores == {"relatives": 2}


def test_check_answers_has_a_group_per_instance():
    compiled = compile_definition(family())
    page = compiled.summary({"relative": TWO_ANSWERS})[0]
    assert [group.title for group in page.groups] == [
        "Relative 1", "Relative 1, condition they had 1", "Relative 1, condition they had 2",
        "Relative 2"]
    assert [(row.question, row.answer) for row in page.groups[3].rows] == [
        ("Relationship", "Father"), ("Are they alive?", "No"),
        ("What did they die of?", "Stroke")]


def test_forged_answers_are_pruned_to_the_shape():
    compiled = compile_definition(family())
    assert compiled.prune({"relative": "mother", "aliases": "Sal"}) == {}
    assert compiled.prune({"relative": [{"relation": "uncle"}, "x", {}],
                           "aliases": ["", 3, "Sal"]}) == {"aliases": ["Sal"]}


def test_add_and_remove_rewrite_the_posted_instances():
    data = MultiValueDict({"p-relative~n": ["3"], "p-relative~0~relation": ["mother"],
                           "p-relative~1~relation": ["father"],
                           "p-relative~1~when_day": ["1"],
                           "p-relative~2~relation": ["sister"],
                           "p-relative~2~condition~n": ["1"],
                           "p-relative~10x": ["kept"]})
    added = changed_data(data, "p", ADD, "relative~2~condition")
    assert added["p-relative~2~condition~n"] == "2" and added["p-relative~n"] == "3"
    removed = changed_data(data, "p", REMOVE, "relative~1")
    assert removed["p-relative~n"] == "2"
    assert removed["p-relative~1~relation"] == "sister"
    assert removed["p-relative~1~condition~n"] == "1"
    assert "p-relative~1~when_day" not in removed and "p-relative~2~relation" not in removed
    assert removed["p-relative~10x"] == "kept"
    for bad in ("", "relative~", "~0", "a b", None, "x" * 2000):
        assert changed_data(data, "p", REMOVE, bad) is None
