import copy

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app.filing import validation
from forms_app.filing.destinations import PermanentFilingError


def response(**changes):
    resource = {
        "resourceType": "QuestionnaireResponse", "id": "a1", "status": "completed",
        "questionnaire": "https://forms.example/Questionnaire/x|1",
        "authored": "2026-12-01T10:00:00+00:00",
        "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                   "value": "9434765919"}, "display": "Sam Smith"},
        "item": [{"linkId": "p1", "text": "Page", "item": [
            {"linkId": "age", "text": "Age", "answer": [{"valueInteger": 42}]},
            {"linkId": "mood", "answer": [{"valueCoding": {
                "system": "http://loinc.org", "code": "LA6569-3", "display": "Several days"}}]},
            {"linkId": "notes", "answer": [{"valueString": "Fine"}]},
        ]}],
    }
    for path, value in changes.items():
        target = resource
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key) if key.isdigit() else key]
        target[int(last) if last.isdigit() else last] = value
    return resource


@pytest.fixture(autouse=True)
def no_known_shapes():
    validation._checks_by_shape.clear()
    yield
    validation._checks_by_shape.clear()


def full_validation_accepts(resource):
    try:
        QuestionnaireResponse.model_validate(copy.deepcopy(resource))
    except Exception:
        return False
    return True


# Values that only a check of the value itself can refuse (the shape is the same).
INVALID_VALUES = [
    {"authored": "last Tuesday"},
    {"status": " completed"},
    {"id": "not an id!"},
    {"item__0__item__0__answer__0__valueInteger": 2 ** 40},
    {"item__0__item__1__answer__0__valueCoding__code": "two  spaces"},
    {"item__0__item__2__answer__0__valueString": ""},
]


@pytest.mark.parametrize("change", INVALID_VALUES)
def test_an_invalid_value_is_refused_after_its_shape_was_seen_valid(change):
    validation.validated_response(response())
    assert response() and validation._checks_by_shape  # the shape is now known valid
    bad = response(**change)
    assert not full_validation_accepts(bad)
    with pytest.raises(PermanentFilingError, match="not valid FHIR"):
        validation.validated_response(bad)


@pytest.mark.parametrize("change", INVALID_VALUES)
def test_an_invalid_value_is_refused_the_first_time_too(change):
    with pytest.raises(PermanentFilingError, match="not valid FHIR"):
        validation.validated_response(response(**change))


def test_a_new_shape_is_validated_in_full():
    validation.validated_response(response())
    bad = response()
    bad["item"][0]["item"][0]["answer"][0]["valueDate"] = "2026-01-01"  # two value[x]
    assert not full_validation_accepts(bad)
    with pytest.raises(PermanentFilingError):
        validation.validated_response(bad)
    unknown = response()
    unknown["colour"] = "blue"
    with pytest.raises(PermanentFilingError):
        validation.validated_response(unknown)


def test_a_valid_response_of_a_known_shape_passes_and_names_no_answers():
    validation.validated_response(response())
    assert validation.validated_response(response(
        item__0__item__2__answer__0__valueString="Other words")) is not None
    with pytest.raises(PermanentFilingError) as refused:
        validation.validated_response(response(authored="secret answer"))
    assert "secret" not in str(refused.value)
    assert "(authored)" in str(refused.value)
