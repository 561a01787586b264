"""SDC answerExpression whose options come from the form itself (issue 11).

"Which medicines do you take?" on one page; "Which one causes you the most trouble?"
on the next offers the medicines named. The rules (forms_app/engine/answer_expressions):
options from the answers on earlier pages; strings become options with that text,
Codings keep system/code/display; none → the question does not apply (skipped, never
required); an answer no longer among the options is not kept, so it is asked again and
never filed; only form-internal expressions (no %patient, no x-fhir-query, no
resolve()) are honoured.
"""

import pytest

from forms_app.engine import DefinitionError, answer_expressions, compile_definition
from forms_app.engine.answer_expressions import (
    internal_variables,
    is_form_internal,
    options_from,
)
from forms_app.views.patient import validated_answers
from tests.corpus import load

from .helpers import bound, errors, group, question, questionnaire

ANSWER_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/" \
    "sdc-questionnaire-answerExpression"
MEDICINES = "%resource.repeat(item).where(linkId='medicines').answer.value"
SNOMED = "http://snomed.info/sct"


def answer_expression(text: str, language: str = "text/fhirpath") -> dict:
    return {"url": ANSWER_EXPRESSION,
            "valueExpression": {"language": language, "expression": text}}


def variable(name: str, text: str, language: str = "text/fhirpath") -> dict:
    return {"url": "http://hl7.org/fhir/StructureDefinition/variable",
            "valueExpression": {"name": name, "language": language, "expression": text}}


def medicines_form(*, trouble_required=True, **trouble_extra):
    return compile_definition(questionnaire(
        group("taking", question("medicines", "string", "Which medicines do you take?",
                                 repeats=True)),
        group("trouble", question("most-trouble", "choice",
                                  "Which one causes you the most trouble?",
                                  required=trouble_required,
                                  extension=[answer_expression(MEDICINES)], **trouble_extra),
              question("notes", "text", "Anything else?")),
    ))


def test_the_options_are_the_medicines_named_earlier():
    form = medicines_form()
    answers = {"medicines": ["Ramipril", "Metformin", "Ramipril", "  "]}
    field = form.form_class("trouble", answers=answers).base_fields["most-trouble"]
    # Named twice is offered once; a blank answer is no option.
    assert field.choices == [("Ramipril", "Ramipril"), ("Metformin", "Metformin")]
    assert field.required
    kept = form.prune({**answers, "most-trouble": "Metformin"})
    assert kept["most-trouble"] == "Metformin"
    (_, page) = form.response_items(kept)
    assert page["item"][0] == {"linkId": "most-trouble",
                               "text": "Which one causes you the most trouble?",
                               "answer": [{"valueString": "Metformin"}]}


def test_an_answer_that_is_not_one_of_the_options_is_refused_and_not_kept():
    form = medicines_form()
    answers = {"medicines": ["Ramipril"]}
    posted = bound(form, "trouble", {"most-trouble": "Aspirin"}, answers)
    assert not posted.is_valid()
    assert errors(posted) == {"most-trouble": ["Select an option from the list"]}
    # Nor kept if it reached the answers some other way (a forged or stale draft).
    assert "most-trouble" not in form.prune({**answers, "most-trouble": "Aspirin"})


def test_no_options_means_the_question_does_not_apply():
    """Nothing named earlier (an optional list left empty): the question is skipped,
    never required, and a page holding only it is no page at all."""
    form = medicines_form()
    assert "most-trouble" not in form.enabled_link_ids({})
    page = form.form_class("trouble", answers={})
    assert "most-trouble" not in page.base_fields
    assert page(data={}).is_valid()
    alone = compile_definition(questionnaire(
        group("taking", question("medicines", "string", repeats=True)),
        group("trouble", question("most-trouble", "choice", required=True,
                                  extension=[answer_expression(MEDICINES)])),
    ))
    assert alone.enabled_page_keys({}) == ["taking"]
    assert alone.enabled_page_keys({"medicines": ["Ramipril"]}) == ["taking", "trouble"]


def test_changing_an_earlier_answer_asks_the_question_again():
    form = medicines_form()
    # As the wizard keeps each page's data: named with the page's prefix.
    step_data = {"taking": {"taking-medicines~n": ["2"], "taking-medicines~0": ["Ramipril"],
                            "taking-medicines~1": ["Metformin"]},
                 "trouble": {"trouble-most-trouble": ["Metformin"]}}
    answers, bad = validated_answers(form, step_data)
    assert bad is None and answers["most-trouble"] == "Metformin"
    # Metformin stopped: the saved answer to "most trouble" is no longer an option.
    step_data["taking"] = {"taking-medicines~n": ["1"], "taking-medicines~0": ["Ramipril"]}
    answers, bad = validated_answers(form, step_data)
    assert bad == "trouble"
    stale = {"medicines": ["Ramipril"], "most-trouble": "Metformin"}
    assert "most-trouble" not in form.prune(stale)
    rows = [row for page in form.summary(stale) for row in page.rows]
    assert ("most-trouble", "Not answered") in [(r.link_id, r.answer) for r in rows]
    assert "Metformin" not in str(form.response_items(stale))


def test_answers_on_the_same_page_are_not_options_yet():
    """The options are worked out from earlier pages: on the question's own page the
    patient has not sent the answers yet, and a list that changed while they typed
    would not be the list they read."""
    form = compile_definition(questionnaire(group(
        "page",
        question("medicines", "string", repeats=True),
        question("most-trouble", "choice", extension=[answer_expression(MEDICINES)]),
    )))
    assert "most-trouble" not in form.enabled_link_ids({"medicines": ["Ramipril"]})


def test_codings_keep_system_code_and_display():
    form = compile_definition(load("medicines-answer-expression"))
    answers = {"medicines": ["Ramipril"], "conditions": ["38341003", "44054006"],
               "most-trouble": "Ramipril", "worst-condition": "44054006"}
    field = form.form_class("trouble", answers=answers).base_fields["worst-condition"]
    assert field.choices == [("38341003", "High blood pressure"),
                             ("44054006", "Type 2 diabetes")]
    assert not field.required
    filed = [node for page in form.response_items(answers) for node in page["item"]]
    worst = next(node for node in filed if node["linkId"] == "worst-condition")
    assert worst["answer"] == [{"valueCoding": {"system": SNOMED, "code": "44054006",
                                                "display": "Type 2 diabetes"}}]
    summary = {row.link_id: row.answer for page in form.summary(answers) for row in page.rows}
    assert summary["worst-condition"] == "Type 2 diabetes"
    assert summary["most-trouble"] == "Ramipril"


def test_checkboxes_when_the_question_repeats():
    form = medicines_form(trouble_required=False, repeats=True)
    answers = {"medicines": ["Ramipril", "Metformin"]}
    posted = bound(form, "trouble", {"most-trouble": ["Metformin", "Ramipril"]}, answers)
    assert posted.is_valid(), errors(posted)
    # In the options' order, as for any multiple choice.
    assert posted.cleaned_data["most-trouble"] == ["Ramipril", "Metformin"]


def test_result_values_become_options():
    options = options_from(["Aspirin", " Aspirin ", "", 5, True, {"code": ""},
                            {"system": SNOMED, "code": "1", "display": "One", "id": "x"},
                            {"code": "2"}])
    assert [(o.code, o.display, o.kind, o.system) for o in options] == [
        ("Aspirin", "Aspirin", "String", None), ("5", "5", "Integer", None),
        ("1", "One", "Coding", SNOMED), ("2", "2", "Coding", None)]
    assert options[2].raw == {"system": SNOMED, "code": "1", "display": "One"}


@pytest.mark.parametrize(("text", "internal"), [
    (MEDICINES, True),
    ("%context.answer.value", True),
    ("%questionnaire.item.where(linkId='x').answerOption.value", True),
    ("%meds", True),  # a form variable that is form-internal itself
    ("%patient.extension.where(url='http://example.org/medication').value", False),
    ("%chained", False),  # a variable reading %patient through another
    ("%undeclared.name", False),
    ("%resource.item.answer.value.resolve()", False),
    ("%resource.item.answer.value.memberOf('http://example.org/vs')", False),
    ("not FHIRPath (", False),
])
def test_form_internal_is_decided_from_the_expression(text, internal):
    definition = questionnaire(
        question("x", "string"),
        extension=[variable("meds", MEDICINES), variable("record", "%patient.name"),
                   variable("chained", "%record.given")])
    assert is_form_internal(answer_expression(text), definition) is internal


def test_an_x_fhir_query_is_never_form_internal():
    query = answer_expression("MedicationStatement?patient={{%patient.id}}",
                              language="application/x-fhir-query")
    assert not is_form_internal(query, questionnaire(question("x", "string")))
    definition = questionnaire(question("x", "string", extension=[
        variable("meds", "MedicationStatement?patient=1", "application/x-fhir-query"),
        variable("names", "%meds.code")]))
    assert internal_variables([definition, definition["item"][0]]) == frozenset()


@pytest.mark.parametrize(("item", "message"), [
    (question("q", "choice", extension=[answer_expression("%patient.name.given")]),
     "reads from outside the form"),
    (question("q", "string", extension=[answer_expression(MEDICINES)]),
     "only choice questions"),
    (group("g", question("q", "choice", extension=[answer_expression(MEDICINES)]),
           repeats=True), "inside a repeating group"),
])
def test_an_answer_expression_the_engine_cannot_honour_is_refused(item, message):
    with pytest.raises(DefinitionError) as refused:
        compile_definition(questionnaire(question("medicines", "string", repeats=True),
                                         item))
    assert any(message in problem for problem in refused.value.problems), refused.value


def test_a_choice_with_neither_options_nor_an_answer_expression_is_still_refused():
    with pytest.raises(DefinitionError):
        compile_definition(questionnaire(question("q", "choice")))


def test_later_expressions_read_a_worked_out_coding_as_a_coding():
    """%resource holds a worked-out option's Coding as the filed response will, so a
    later enableWhenExpression can ask for its code."""
    definition = load("medicines-answer-expression")
    definition["item"][1]["item"].append(question(
        "diabetes-clinic", "boolean", "Would you like to see the diabetes nurse?",
        extension=[{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                           "sdc-questionnaire-enableWhenExpression",
                    "valueExpression": {"language": "text/fhirpath", "expression":
                                        "%resource.repeat(item).where(linkId="
                                        "'worst-condition').answer.value.code = '44054006'"}}]))
    form = compile_definition(definition)
    answers = {"medicines": ["Metformin"], "conditions": ["38341003", "44054006"]}
    assert "diabetes-clinic" in form.enabled_link_ids({**answers,
                                                       "worst-condition": "44054006"})
    assert "diabetes-clinic" not in form.enabled_link_ids({**answers,
                                                           "worst-condition": "38341003"})


def test_a_variable_out_of_the_questions_scope_is_refused_not_silently_empty():
    """A variable declared on another item is not visible to the question: its options
    would always be empty, the question always skipped; refused when published."""
    with pytest.raises(DefinitionError) as refused:
        compile_definition(questionnaire(
            question("medicines", "string", repeats=True,
                     extension=[variable("meds", MEDICINES)]),
            question("q", "choice", extension=[answer_expression("%meds")])))
    assert any("variable it cannot see" in p for p in refused.value.problems)
    seen = compile_definition(questionnaire(
        group("taking", question("medicines", "string", repeats=True)),
        group("trouble", question("q", "choice", extension=[answer_expression("%meds")]),
              extension=[variable("meds", MEDICINES)]),
    ))
    assert [o.code for o in seen.with_answer_options(
        seen.items["q"], {"medicines": ["Ramipril"]}).options] == ["Ramipril"]
    root = compile_definition(questionnaire(
        group("taking", question("medicines", "string", repeats=True)),
        group("trouble", question("q", "choice", extension=[answer_expression(
            "%rootResource.repeat(item).where(linkId='medicines').answer.value")]))))
    assert root.with_answer_options(root.items["q"], {"medicines": ["Ramipril"]})


def test_a_condition_can_name_an_option_the_expression_may_give():
    """"If Warfarin troubles you most, when was your last INR test?": the code cannot
    be checked against a list that does not exist until the patient answers."""
    form = compile_definition(questionnaire(
        group("taking", question("medicines", "string", repeats=True)),
        group("trouble",
              question("most-trouble", "choice", extension=[answer_expression(MEDICINES)]),
              question("inr", "date", "When was your last INR test?", enableWhen=[
                  {"question": "most-trouble", "operator": "=",
                   "answerCoding": {"code": "Warfarin"}}])),
    ))
    assert "inr" in form.enabled_link_ids({"medicines": ["Warfarin"],
                                           "most-trouble": "Warfarin"})
    assert "inr" not in form.enabled_link_ids({"medicines": ["Warfarin", "Ramipril"],
                                               "most-trouble": "Ramipril"})


def test_worked_out_options_are_kept_briefly_and_never_by_the_answers_themselves(
        monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(answer_expressions.time, "monotonic", lambda: clock[0])
    cache = answer_expressions.OptionsCache()
    calls = []

    def work_out():
        calls.append(1)
        return "options"

    earlier = {"medicines": ["Warfarin"]}
    assert cache.get("q", earlier, work_out) == cache.get("q", earlier, work_out)
    assert len(calls) == 1
    assert "Warfarin" not in repr(cache._entries.keys())
    clock[0] += answer_expressions.CACHE_SECONDS
    cache.get("q", earlier, work_out)
    assert len(calls) == 2
    for n in range(answer_expressions.CACHE_SIZE + 1):
        cache.get("q", {"medicines": [str(n)]}, work_out)
    assert len(cache._entries) <= answer_expressions.CACHE_SIZE


def test_open_choice_offers_the_worked_out_options_and_other():
    definition = questionnaire(
        group("taking", question("medicines", "string", repeats=True)),
        group("trouble", question("most-trouble", "open-choice", required=True,
                                  extension=[answer_expression(MEDICINES)])))
    form = compile_definition(definition)
    answers = {"medicines": ["Ramipril"]}
    chosen = bound(form, "trouble", {"most-trouble": "Ramipril"}, answers)
    assert chosen.is_valid(), errors(chosen)
    other = bound(form, "trouble", {"most-trouble": "__other__",
                                    "most-trouble_other": "Something else"}, answers)
    assert other.is_valid(), errors(other)
    assert form.prune({**answers, **other.cleaned_data})["most-trouble"] == \
        {"other": "Something else"}


@pytest.mark.django_db  # Django's own end-of-request receivers close connections
def test_worked_out_options_do_not_outlive_the_request():
    from django.core.signals import request_finished

    cache = answer_expressions.OptionsCache()
    cache.get("q", {"medicines": ["Warfarin"]}, lambda: ["Warfarin"])
    assert cache._entries
    request_finished.send(sender=None)
    assert cache._entries == {}
