"""Summary, initial values, QuestionnaireResponse items, and FHIR validation."""

import json

import pytest

from forms_app.engine import SummaryPage, SummaryRow, compile_definition

from .helpers import bound, choice, coding, compiled, ext, group, library, question, std_ext, when

UNIT = std_ext(
    "questionnaire-unit",
    valueCoding={"system": "http://unitsofmeasure.org", "code": "kg", "display": "kg"},
)


def every_type_form():
    return compiled(
        group(
            "about",
            question("name", "string", text="Name"),
            question(
                "nhs",
                "string",
                text="NHS number",
                extension=[ext("input-format", valueCode="nhs-number")],
            ),
            question("dob", "date", text="Date of birth"),
            question("smoke", "boolean", text="Do you smoke?"),
            text="About you",
        ),
        group(
            "body",
            question("age", "integer", text="Age"),
            question("height", "decimal", text="Height"),
            question("weight", "quantity", text="Weight", extension=[UNIT]),
            question("wake", "time", text="Wake time"),
            question("seen", "dateTime", text="Last seen"),
            text="Your body",
        ),
        group(
            "choices",
            choice("colour", "red", "green", text="Colour"),
            choice("pets", "cat", "dog", repeats=True, text="Pets"),
            question(
                "drink",
                "open-choice",
                text="Drink",
                answerOption=[{"valueString": "Tea"}, {"valueString": "Coffee"}],
            ),
            question(
                "count",
                "choice",
                text="Count",
                answerOption=[{"valueInteger": 1}, {"valueInteger": 2}],
            ),
            question("note", "text", text="Anything else?"),
            question(
                "why", "string", text="Why?", enableWhen=[when("smoke", "=", answerBoolean=True)]
            ),
            text="Choices",
        ),
        url="https://example.org/Questionnaire/every-type",
    )


ANSWERS = {
    "name": "Ada",
    "nhs": "9434765919",
    "dob": "1990-03-03",
    "smoke": False,
    "age": 34,
    "height": "180.5",
    "weight": {"value": "72.5", "unit": "kg"},
    "wake": "07:30",
    "seen": "2024-07-01T14:30:00+01:00",
    "colour": "green",
    "pets": ["cat", "dog"],
    "drink": {"other": "Mate"},
    "count": "2",
    "why": "stale answer to a hidden question",
}


def test_summary_rows_are_readable():
    summary = every_type_form().summary(ANSWERS)
    assert [page.key for page in summary] == ["about", "body", "choices"]
    assert summary[0] == SummaryPage(
        "about",
        "About you",
        [
            SummaryRow("name", "Name", "Ada"),
            SummaryRow("nhs", "NHS number", "943 476 5919"),
            SummaryRow("dob", "Date of birth", "3 March 1990"),
            SummaryRow("smoke", "Do you smoke?", "No"),
        ],
    )
    assert [row.answer for row in summary[1].rows] == [
        "34",
        "180.5",
        "72.5 kg",
        "07:30",
        "1 July 2024, 14:30",
    ]
    assert [(row.link_id, row.answer) for row in summary[2].rows] == [
        ("colour", "Green"),
        ("pets", "Cat, Dog"),
        ("drink", "Mate"),
        ("count", "2"),
        ("note", "Not answered"),
    ]  # "why" is hidden: not shown at all


def test_response_items_nested_and_typed():
    items = every_type_form().response_items(ANSWERS)
    assert [item["linkId"] for item in items] == ["about", "body", "choices"]
    by_id = {child["linkId"]: child["answer"] for group_ in items for child in group_["item"]}
    assert by_id == {
        "name": [{"valueString": "Ada"}],
        "nhs": [{"valueString": "9434765919"}],
        "dob": [{"valueDate": "1990-03-03"}],
        "smoke": [{"valueBoolean": False}],
        "age": [{"valueInteger": 34}],
        "height": [{"valueDecimal": 180.5}],
        "weight": [
            {
                "valueQuantity": {
                    "value": 72.5,
                    "unit": "kg",
                    "system": "http://unitsofmeasure.org",
                    "code": "kg",
                }
            }
        ],
        "wake": [{"valueTime": "07:30:00"}],
        "seen": [{"valueDateTime": "2024-07-01T14:30:00+01:00"}],
        "colour": [
            {"valueCoding": {"system": "http://example.org", "code": "green", "display": "Green"}}
        ],
        "pets": [
            {"valueCoding": {"system": "http://example.org", "code": "cat", "display": "Cat"}},
            {"valueCoding": {"system": "http://example.org", "code": "dog", "display": "Dog"}},
        ],
        "drink": [{"valueString": "Mate"}],
        "count": [{"valueInteger": 2}],
    }
    assert items[0]["text"] == "About you"
    json.dumps(items)  # JSON-safe as it stands


def test_response_items_omit_empty_groups_and_nest_question_children():
    form = compiled(
        group("g1", question("a", "string")),
        question("parent", "boolean", item=[question("child", "string")]),
    )
    assert form.response_items({"parent": True, "child": "x"}) == [
        {
            "linkId": "parent",
            "text": "Question parent",
            "answer": [
                {
                    "valueBoolean": True,
                    "item": [
                        {
                            "linkId": "child",
                            "text": "Question child",
                            "answer": [{"valueString": "x"}],
                        }
                    ],
                }
            ],
        }
    ]


def test_response_items_include_calculated_scores():
    phq9 = compile_definition(library("phq9"))
    answers = {f"phq9-{n}": "LA6569-3" for n in range(1, 10)}
    items = phq9.response_items(answers)
    assert items[-1] == {
        "linkId": "phq9-total",
        "text": "PHQ-9 total score",
        "answer": [{"valueInteger": 9}],
    }


def test_initial_for_page_round_trips_through_the_form():
    form = every_type_form()
    for page_key in form.page_keys:
        initial = form.initial_for_page(page_key, ANSWERS)
        page_form = form.form_class(page_key, answers=ANSWERS)(initial=initial)
        # Re-submitting what the form renders gives the stored answers back.
        data = {}
        for bound_field in page_form:
            widget, value = bound_field.field.widget, bound_field.value()
            if hasattr(widget, "widgets"):
                value = value if isinstance(value, list) else widget.decompress(value)
                for suffix, part in zip(widget.widgets_names, value, strict=True):
                    if part is not None:
                        data[bound_field.html_name + suffix] = part
            elif value is not None:
                data[bound_field.html_name] = value
        resubmitted = bound(form, page_key, data, answers=ANSWERS)
        assert resubmitted.is_valid(), resubmitted.errors
        expected = {k: ANSWERS.get(k) for k in resubmitted.cleaned_data}
        assert "why" not in expected  # hidden by the answer "No" to smoking
        assert resubmitted.cleaned_data == expected


def test_initial_values_per_type():
    form = every_type_form()
    assert form.initial_for_page("about", ANSWERS) == {
        "name": "Ada",
        "nhs": "9434765919",
        "dob": "1990-03-03",
        "smoke": "no",
    }
    assert form.initial_for_page("choices", ANSWERS)["drink"] == ["__other__", "Mate"]
    assert form.initial_for_page("body", ANSWERS)["weight"] == "72.5"


fhir = pytest.importorskip("fhir.resources.R4B.questionnaireresponse")


def test_response_validates_as_fhir_r4b():
    resource = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://example.org/Questionnaire/every-type",
        "item": every_type_form().response_items(ANSWERS),
    }
    model = fhir.QuestionnaireResponse.model_validate(resource)
    assert model.item[0].item[0].answer[0].valueString == "Ada"


@pytest.mark.parametrize("name", ["phq9", "gad7"])
def test_library_questionnaires_validate_as_fhir_r4b(name):
    from fhir.resources.R4B.questionnaire import Questionnaire

    definition = library(name)
    model = Questionnaire.model_validate(definition)
    assert model.status == "active"
    compiled_form = compile_definition(definition)
    answers = {q.link_id: q.options[1].code for page in compiled_form.pages for q in page.questions}
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": definition["url"],
        "item": compiled_form.response_items(answers),
    }
    fhir.QuestionnaireResponse.model_validate(response)


def test_options_are_checked_for_display_text():
    form = compiled(question("c", "choice", answerOption=[coding("a", "Apple")]))
    assert form.summary({"c": "a"})[0].rows[0].answer == "Apple"
