import pytest

from forms_app.engine import DefinitionError, compile_definition

from .helpers import BASE as BASE_URL
from .helpers import choice, ext, group, question, questionnaire, std_ext, when


def problems(*items, **extra) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        compile_definition(questionnaire(*items, **extra))
    return caught.value.problems


def test_not_a_questionnaire():
    with pytest.raises(DefinitionError):
        compile_definition({"resourceType": "Patient"})
    with pytest.raises(DefinitionError):
        compile_definition(["nope"])


def test_no_items():
    assert problems() == ["The form has no items"]


def test_unknown_type_names_the_item():
    assert problems(question("q1", "colour")) == ['Item "q1": unknown item type "colour"']


def test_unsupported_type():
    assert "not supported" in problems(question("q1", "reference"))[0]


def test_choice_without_options():
    expected = ['Item "q1": choice question has no answer options']
    assert problems(question("q1", "choice")) == expected


def test_duplicate_link_id():
    found = problems(group("p1", question("q1", "string"), question("q1", "integer")))
    assert found == ['Item "q1": duplicate linkId']


def test_missing_link_id():
    assert "no linkId" in problems({"type": "string", "text": "Name"})[0]


def test_enable_when_on_later_question():
    found = problems(
        question("q1", "string", enableWhen=[when("q2", "exists", answerBoolean=True)]),
        question("q2", "string"),
    )
    assert found == [
        'Item "q1": enableWhen refers to question "q2" which is not earlier in the form'
    ]


def test_enable_when_on_unknown_question():
    found = problems(
        question("q1", "string", enableWhen=[when("zz", "exists", answerBoolean=True)])
    )
    assert 'refers to question "zz" which does not exist' in found[0]


def test_enable_when_on_own_child_is_not_earlier():
    found = problems(
        group("p1", question("q1", "boolean"), enableWhen=[when("q1", "=", answerBoolean=True)])
    )
    assert "not earlier" in found[0]


def test_enable_when_type_mismatch_and_bad_operator():
    found = problems(
        question("q1", "boolean"),
        question("q2", "string", enableWhen=[when("q1", "=", answerInteger=3)]),
        question("q3", "string", enableWhen=[when("q1", "~", answerBoolean=True)]),
        question("q4", "string", enableWhen=[when("q1", ">", answerBoolean=True)]),
    )
    assert [p.split(":")[0] for p in found] == ['Item "q2"', 'Item "q3"', 'Item "q4"']


def test_unreachable_pages():
    found = problems(
        choice("q1", "a", "b"),
        group(
            "p2",
            question("q2", "string"),
            enableWhen=[when("q1", "=", answerCoding={"code": "zzz"})],
        ),
        group(
            "p3",
            question("q3", "string"),
            enableBehavior="all",
            enableWhen=[
                when("q1", "=", answerCoding={"code": "a"}),
                when("q1", "=", answerCoding={"code": "b"}),
            ],
        ),
    )
    assert len(found) == 2
    assert all("not reachable" in problem for problem in found)
    assert found[0].startswith('Item "p2"') and found[1].startswith('Item "p3"')


def test_several_conditions_need_enable_behavior():
    found = problems(
        question("q1", "boolean"),
        question(
            "q2",
            "string",
            enableWhen=[
                when("q1", "exists", answerBoolean=True),
                when("q1", "=", answerBoolean=True),
            ],
        ),
    )
    assert "enableBehavior" in found[0]


def test_condition_on_a_display_item():
    found = problems(
        question("d1", "display"),
        question("q2", "string", enableWhen=[when("d1", "exists", answerBoolean=True)]),
    )
    assert "not a question" in found[0]


def test_validation_extension_problems():
    found = problems(
        question(
            "q1",
            "integer",
            extension=[std_ext("minValue", valueInteger=10), std_ext("maxValue", valueInteger=1)],
        ),
        question("q2", "string", extension=[std_ext("regex", valueString="(")]),
        question("q3", "string", maxLength=0),
        question("q4", "text", extension=[ext("input-format", valueCode="email")]),
        question("q5", "string", extension=[ext("input-format", valueCode="postcode")]),
        question("q6", "date", extension=[std_ext("minValue", valueInteger=3)]),
    )
    assert [p.split(":")[0] for p in found] == [f'Item "q{n}"' for n in range(1, 7)]


def band(low, high):
    return ext(
        "score-band",
        extension=[
            {"url": "min", "valueInteger": low},
            {"url": "max", "valueInteger": high},
            {"url": "label", "valueString": f"{low}-{high}"},
        ],
    )


def test_bands_and_flags_problems():
    found = problems(
        choice("q1", "a", "b", scores=[0, 1]),
        question("t", "integer", extension=[band(0, 5), band(5, 9)]),
        extension=[
            ext(
                "flag-rule",
                extension=[
                    {"url": "code", "valueCode": "x"},
                    {"url": "severity", "valueCode": "whenever"},
                    {"url": "message", "valueString": "m"},
                ],
            )
        ],
    )
    assert any("overlap" in p for p in found)
    assert any("flag-rule" in p for p in found)


def _calculated(expression, language="text/fhirpath"):
    return question(
        "t",
        "integer",
        readOnly=True,
        extension=[
            {
                "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                "sdc-questionnaire-calculatedExpression",
                "valueExpression": {"language": language, "expression": expression},
            }
        ],
    )


def test_calculated_expression_in_another_language_is_refused():
    found = problems(choice("q1", "a", "b", scores=[0, 1]), _calculated("1 + 1", "text/cql"))
    assert found == [
        'Item "t": calculatedExpression is written in "text/cql"; only FHIRPath '
        "(text/fhirpath) is supported"
    ]


def test_calculated_expression_that_is_not_fhirpath_is_refused():
    found = problems(choice("q1", "a", "b", scores=[0, 1]), _calculated("iif(%a > 1, 2"))
    assert len(found) == 1 and found[0].startswith(
        'Item "t": calculatedExpression cannot be read: it is not valid FHIRPath')


def test_computed_expression_problems():
    found = problems(
        question("w", "decimal"),
        question("bmi", "decimal", extension=[ext("computed", valueString="w / (h")]),
        question("x", "decimal", extension=[ext("computed", valueString="w * nothing")]),
        question("y", "decimal", extension=[ext("computed", valueString="__import__('os')")]),
    )
    assert [p.split(":")[0] for p in found] == ['Item "bmi"', 'Item "x"', 'Item "y"']


def test_expressions_inside_a_repeating_group_compile_but_not_on_the_repeat_itself():
    """Inside an instance an expression is evaluated per instance (evaluation); on the
    repeat itself only a variable has a meaning, and a designer formula would add up
    every instance, so those are refused rather than applied differently."""
    def calculated(link_id, text="1 + 1"):
        return question(link_id, "integer", extension=[{
            "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
                   "calculatedExpression",
            "valueExpression": {"language": "text/fhirpath", "expression": text}}])
    compiled = compile_definition(questionnaire(
        group("g", question("q", "string"), calculated("total"), repeats=True)))
    assert compiled.items["total"].calculation is not None
    on_repeat = question("alias", "string", repeats=True, extension=[{
        "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
               "enableWhenExpression",
        "valueExpression": {"language": "text/fhirpath", "expression": "true"}}])
    assert "only a variable" in problems(group("p", question("q", "string"), on_repeat))[0]
    formula = question("f", "integer", extension=[ext("computed", valueString="1 + 1")])
    assert "formula inside a repeating group" in problems(
        group("g", question("q", "string"), formula, repeats=True))[0]


def test_tilde_in_a_link_id_is_refused_as_it_names_repeated_fields():
    assert "invalid characters" in problems(question("a~0", "string"))[0]


def test_occurrence_limits_need_a_repeating_item_in_order():
    def occurs(low, high):
        return [{"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs",
                 "valueInteger": low},
                {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs",
                 "valueInteger": high}]
    assert "need an item that repeats" in problems(
        question("q", "string", extension=occurs(1, 2)))[0]
    assert "more than maxOccurs" in problems(
        question("q", "string", repeats=True, extension=occurs(3, 2)))[0]


def test_all_problems_reported_at_once():
    found = problems(question("a", "colour"), question("b", "choice"), question("b", "string"))
    assert len(found) == 3


def test_harmless_unsupported_things_are_accepted():
    compile_definition(
        questionnaire(
            question(
                "q1",
                "string",
                extension=[{"url": "http://example.org/whatever", "valueString": "x"}],
                initial=[{"valueString": "hi"}],
            ),
            question("d1", "display", text="Thank you", required=True),
            meta={"profile": ["http://example.org"]},
        )
    )


MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"


@pytest.mark.parametrize(
    "definition",
    [
        {"item": [{"linkId": "a", "type": "string", "extension": 5}]},
        {"item": [{"linkId": "a", "type": ["string"]}]},
        {"item": [{"linkId": "a", "type": "choice", "answerValueSet": "#v"}], "contained": 5},
        {
            "item": [{"linkId": "a", "type": "choice", "answerValueSet": "#v"}],
            "contained": [{"resourceType": "ValueSet", "id": "v", "compose": {"include": 3}}],
        },
        {"item": [{"linkId": "a", "type": "string", "code": 5}]},
        {
            "item": [
                {
                    "linkId": "a",
                    "type": "string",
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
                            "valueCodeableConcept": {"coding": 7},
                        }
                    ],
                }
            ]
        },
        {
            "item": [
                {
                    "linkId": "a",
                    "type": "decimal",
                    "extension": [{"url": MIN_VALUE, "valueDecimal": "NaN"}],
                }
            ]
        },
        {
            "item": [
                {
                    "linkId": "a",
                    "type": "decimal",
                    "extension": [{"url": MIN_VALUE, "valueDecimal": "1e999999"}],
                }
            ]
        },
        {
            "item": [
                {
                    "linkId": "a",
                    "type": "string",
                    "extension": [{"url": BASE_URL + "input-format", "valueCode": ["email"]}],
                }
            ]
        },
        {
            "item": [
                {"linkId": "a", "type": "boolean"},
                {
                    "linkId": "b",
                    "type": "string",
                    "enableWhen": [{"question": "a", "operator": ["="], "answerBoolean": True}],
                },
            ]
        },
        {
            "item": [{"linkId": "a", "type": "boolean"}],
            "extension": [
                {
                    "url": BASE_URL + "flag-rule",
                    "extension": [
                        {"url": "code", "valueCode": "x"},
                        {"url": "severity", "valueCode": ["urgent"]},
                        {"url": "message", "valueString": "m"},
                    ],
                }
            ],
        },
    ],
)
def test_malformed_json_is_a_definition_error_or_ignored_never_a_crash(definition):
    try:
        compiled_form = compile_definition({"resourceType": "Questionnaire", **definition})
    except DefinitionError:
        return
    # Only harmless junk (a malformed extension list or code) is ignored.
    assert compiled_form.page_keys == ["a"]
    assert compiled_form.form_class("a")(data={"a": "x"}).is_valid()
