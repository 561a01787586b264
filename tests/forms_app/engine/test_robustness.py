"""Hostile or broken input: a DefinitionError or a form error, never another exception."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.engine import DefinitionError, compile_definition

from .helpers import library
from .test_outputs import every_type_form

FUZZ = settings(
    database=None, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
KEYS = [
    "linkId",
    "type",
    "text",
    "item",
    "required",
    "repeats",
    "answerOption",
    "valueCoding",
    "valueString",
    "valueInteger",
    "code",
    "system",
    "display",
    "enableWhen",
    "question",
    "operator",
    "answerBoolean",
    "answerCoding",
    "answerInteger",
    "enableBehavior",
    "extension",
    "url",
    "valueDecimal",
    "valueCode",
    "answerValueSet",
    "maxLength",
    "contained",
    "readOnly",
    "valueExpression",
    "expression",
    "coding",
]
TYPES = [
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "choice",
    "open-choice",
    "quantity",
    "url",
    "attachment",
    "x",
]
URLS = [
    "http://hl7.org/fhir/StructureDefinition/minValue",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
    "https://fhir.patient-forms.nhs.uk/StructureDefinition/computed",
    "https://fhir.patient-forms.nhs.uk/StructureDefinition/score-band",
    "https://fhir.patient-forms.nhs.uk/StructureDefinition/flag-rule",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.sampled_from(TYPES + URLS + ["q1", "q2", "=", ">", "exists", "#vs"]),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(json_values)
def test_garbage_definitions_raise_definition_error(items):
    try:
        compiled_form = compile_definition({"resourceType": "Questionnaire", "item": items})
    except DefinitionError:
        return
    # Whatever compiled must also be usable.
    for page_key in compiled_form.page_keys:
        compiled_form.form_class(page_key)(data={}).is_valid()
    compiled_form.evaluate({})
    compiled_form.response_items({})


EVERY_TYPE = every_type_form()
post_values = st.one_of(
    st.text(max_size=30), st.sampled_from(["\x00", "x" * 20_000, "31", "__other__", "yes", "2"])
)


@FUZZ
@given(
    st.sampled_from(EVERY_TYPE.page_keys),
    st.dictionaries(
        st.sampled_from(
            [
                *sorted(EVERY_TYPE.items),
                "dob_day",
                "dob_month",
                "dob_year",
                "seen_day",
                "seen_month",
                "seen_year",
                "seen_time",
                "drink_other",
            ]
        ),
        post_values,
    ),
    st.dictionaries(st.sampled_from(sorted(EVERY_TYPE.items)), json_values, max_size=4),
)
def test_any_posted_data_gives_errors_not_exceptions(page_key, data, stored):
    form = EVERY_TYPE.form_class(page_key, answers=stored)(data=data)
    form.is_valid()
    EVERY_TYPE.summary(stored)
    EVERY_TYPE.evaluate(stored)
    EVERY_TYPE.response_items(stored)
    EVERY_TYPE.initial_for_page(page_key, stored)


@pytest.mark.parametrize("name", ["phq9", "gad7"])
def test_library_definitions_are_not_modified_by_compiling(name):
    definition = library(name)
    snapshot = repr(definition)
    compile_definition(definition)
    assert repr(definition) == snapshot
