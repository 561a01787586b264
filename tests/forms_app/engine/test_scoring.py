"""Scores, bands and flags, including the PHQ-9 and GAD-7 library forms."""

import json
from decimal import Decimal

import pytest

from forms_app.engine import compile_definition
from forms_app.engine.expressions import ExpressionError, parse_expression, to_fhirpath
from forms_app.engine.fhirpath import compile_fhirpath

from .helpers import choice, compiled, ext, group, library, question

NOT_AT_ALL, SEVERAL, MORE_THAN_HALF, NEARLY_EVERY = "LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"
SCORE = {NOT_AT_ALL: 0, SEVERAL: 1, MORE_THAN_HALF: 2, NEARLY_EVERY: 3}
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"


@pytest.fixture(scope="module")
def phq9():
    return compile_definition(library("phq9"))


@pytest.fixture(scope="module")
def gad7():
    return compile_definition(library("gad7"))


def phq9_answers(*codes):
    return {f"phq9-{n}": code for n, code in enumerate(codes, start=1)}


def test_phq9_shape(phq9):
    assert phq9.title == "Patient Health Questionnaire (PHQ-9)"
    assert len(phq9.pages) == 9  # one question per page; the total is not a page
    assert all(len(page.questions) == 1 and page.questions[0].required for page in phq9.pages)
    options = phq9.items["phq9-1"].options
    assert [(o.display, o.score) for o in options] == [
        ("Not at all", 0),
        ("Several days", 1),
        ("More than half the days", 2),
        ("Nearly every day", 3),
    ]


@pytest.mark.parametrize(
    ("codes", "total", "band"),
    [
        ([NOT_AT_ALL] * 9, 0, "Minimal"),
        ([SEVERAL] * 4 + [NOT_AT_ALL] * 5, 4, "Minimal"),
        ([SEVERAL] * 5 + [NOT_AT_ALL] * 4, 5, "Mild"),
        ([SEVERAL] * 9, 9, "Mild"),
        ([MORE_THAN_HALF] * 5 + [NOT_AT_ALL] * 4, 10, "Moderate"),
        ([MORE_THAN_HALF] * 7 + [NOT_AT_ALL] * 2, 14, "Moderate"),
        ([NEARLY_EVERY] * 5 + [NOT_AT_ALL] * 4, 15, "Moderately severe"),
        ([NEARLY_EVERY] * 6 + [SEVERAL] + [NOT_AT_ALL] * 2, 19, "Moderately severe"),
        ([NEARLY_EVERY] * 6 + [MORE_THAN_HALF] + [NOT_AT_ALL] * 2, 20, "Severe"),
        ([NEARLY_EVERY] * 9, 27, "Severe"),
    ],
)
def test_phq9_total_and_band(phq9, codes, total, band):
    evaluation = phq9.evaluate(phq9_answers(*codes))
    assert evaluation.scores == {"phq9-total": total}
    assert evaluation.bands == {"phq9-total": band}


@pytest.mark.parametrize("q9", [SEVERAL, MORE_THAN_HALF, NEARLY_EVERY])
def test_phq9_question_9_raises_urgent_flag(phq9, q9):
    evaluation = phq9.evaluate(phq9_answers(*[NOT_AT_ALL] * 8, q9))
    assert [(f.code, f.severity) for f in evaluation.flags] == [("phq9-item9-self-harm", "urgent")]
    assert evaluation.urgent
    assert evaluation.bands == {"phq9-total": "Minimal"}  # the flag does not depend on the total


def test_phq9_no_flag_when_question_9_is_not_at_all(phq9):
    evaluation = phq9.evaluate(phq9_answers(*[NEARLY_EVERY] * 8, NOT_AT_ALL))
    assert evaluation.flags == [] and not evaluation.urgent
    assert evaluation.as_dict() == {
        "scores": {"phq9-total": 24},
        "bands": {"phq9-total": "Severe"},
        "flags": [],
    }


def test_evaluation_is_json_serialisable(phq9):
    data = phq9.evaluate(phq9_answers(*[SEVERAL] * 9)).as_dict()
    assert json.loads(json.dumps(data))["flags"][0]["severity"] == "urgent"


def test_gad7(gad7):
    assert len(gad7.pages) == 7
    answers = {f"gad7-{n}": MORE_THAN_HALF for n in range(1, 8)}
    evaluation = gad7.evaluate(answers)
    assert evaluation.scores == {"gad7-total": 14}
    assert evaluation.bands == {"gad7-total": "Moderate"}
    assert evaluation.flags == []
    answers = {f"gad7-{n}": NEARLY_EVERY for n in range(1, 8)}
    assert gad7.evaluate(answers).bands == {"gad7-total": "Severe"}


def test_partial_answers_sum_what_is_answered(phq9):
    assert phq9.evaluate({"phq9-1": NEARLY_EVERY}).scores == {"phq9-total": 3}


def calculated(expression: str) -> dict:
    return {
        "url": CALCULATED,
        "valueExpression": {"language": "text/fhirpath", "expression": expression},
    }


def test_calculated_expression_sum_of_named_items():
    form = compiled(
        choice("a", "x", "y", scores=[1, 5]),
        choice("b", "x", "y", scores=[10, 50]),
        choice("c", "x", "y", scores=[100, 500]),
        question(
            "ab",
            "integer",
            readOnly=True,
            extension=[
                calculated(
                    "%resource.item.where(linkId='a').answer.value.ordinal() + "
                    "%resource.repeat(item).where(linkId = 'b').answer.value.weight()"
                )
            ],
        ),
        question(
            "all",
            "integer",
            readOnly=True,
            extension=[calculated("%resource.item.answer.value.ordinal().sum()")],
        ),
    )
    assert form.page_keys == ["a", "b", "c"]
    assert form.evaluate({"a": "y", "b": "x", "c": "y"}).scores == {"ab": 15, "all": 515}


def test_scores_of_hidden_questions_do_not_count():
    form = compiled(
        question("gate", "boolean"),
        choice(
            "a",
            "x",
            "y",
            scores=[1, 5],
            enableWhen=[{"question": "gate", "operator": "=", "answerBoolean": True}],
        ),
        choice("b", "x", "y", scores=[10, 50]),
        question(
            "t",
            "integer",
            extension=[calculated("%resource.repeat(item).answer.value.ordinal().sum()")],
        ),
    )
    assert form.evaluate({"gate": False, "a": "y", "b": "y"}).scores == {"t": 50}
    assert form.evaluate({"gate": True, "a": "y", "b": "y"}).scores == {"t": 55}


def bmi_form():
    def band(low, high, label):
        parts = [{"url": "label", "valueString": label}]
        if low is not None:
            parts.append({"url": "min", "valueDecimal": low})
        if high is not None:
            parts.append({"url": "max", "valueDecimal": high})
        return ext("score-band", extension=parts)

    return compiled(
        group("body", question("height", "decimal"), question("weight", "decimal")),
        question(
            "bmi",
            "decimal",
            extension=[
                ext("computed", valueString="round(weight / (height / 100) ^ 2, 1)"),
                band(None, 18.4, "Underweight"),
                band(18.5, 24.9, "Healthy weight"),
                band(25, 29.9, "Overweight"),
                band(30, None, "Obese"),
            ],
        ),
        extension=[
            ext(
                "flag-rule",
                extension=[
                    {"url": "code", "valueCode": "bmi-high"},
                    {"url": "severity", "valueCode": "routine"},
                    {"url": "message", "valueString": "BMI 40 or over"},
                    {
                        "url": "condition",
                        "extension": [
                            {"url": "question", "valueString": "bmi"},
                            {"url": "operator", "valueCode": ">="},
                            {"url": "answer", "valueDecimal": 40},
                        ],
                    },
                ],
            )
        ],
    )


def test_computed_bmi_band_and_score_flag():
    form = bmi_form()
    evaluation = form.evaluate({"height": "180", "weight": "72.5"})
    assert evaluation.scores == {"bmi": Decimal("22.4")}
    assert evaluation.bands == {"bmi": "Healthy weight"}
    assert evaluation.as_dict()["scores"] == {"bmi": "22.4"}
    heavy = form.evaluate({"height": "150", "weight": "95"})
    assert heavy.scores["bmi"] == Decimal("42.2") and heavy.bands["bmi"] == "Obese"
    assert [f.code for f in heavy.flags] == ["bmi-high"]
    assert form.evaluate({"height": "180"}).scores == {}  # no weight, no BMI
    assert form.evaluate({"height": "0", "weight": "70"}).scores == {}  # no division by zero


@pytest.mark.parametrize(
    ("text", "values", "result"),
    [
        ("1 + 2 * 3", {}, "7"),
        ("(1 + 2) * 3", {}, "9"),
        ("-2 ^ 2", {}, "-4"),
        ("2 ^ 3 ^ 2", {}, "512"),
        ("{phq9-1} + x_2", {"phq9-1": 2, "x_2": 3}, "5"),
        ("round(10 / 3, 2)", {}, "3.33"),
        ("round(2.5)", {}, "3"),
        ("max(1, a, 3) - min(4, 5) + abs(-1)", {"a": 7}, "4"),
        ("a / 0", {"a": 1}, None),
        ("a + b", {"a": 1}, None),
        ("2 ^ -2", {}, "0.25"),
    ],
)
def test_expressions(text, values, result):
    # The designer's formulas run as FHIRPath: the one evaluator.
    expression = parse_expression(text)
    fhirpath = to_fhirpath(expression, lambda name: str(values[name]) if name in values else "{}")
    found = compile_fhirpath(fhirpath).evaluate({})
    assert found == ([] if result is None else [Decimal(result)])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1 +",
        "(1",
        "1 2",
        "os.system('x')",
        "__import__()",
        "a[0]",
        "lambda: 1",
        "pow(2, 3)",
        "1 ; 2",
        "'text'",
        "(" * 100 + "1" + ")" * 100,
        "1 +" * 600 + "1",
        "2 ^ 0.5",
        "10 ^ 11",
    ],
)
def test_bad_expressions_are_refused(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)
