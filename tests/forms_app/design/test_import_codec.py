"""The importer reads items through the shared codec (forms_app.engine.codec): malformed
parts of an upload become notes in the import report (never a server error), and a note
that loses a score, a band or a check on the answer is clinical, so publishing waits."""

import json

import pytest
from django.core.exceptions import ValidationError

from forms_app import services
from forms_app.design import services as design_services
from forms_app.design.importer import ImportRefused, parse_upload, plan_questionnaire
from forms_app.engine import extensions as ext
from forms_app.management.demo_data import ensure_demo


def _form(*items, **root) -> dict:
    return {"resourceType": "Questionnaire", "title": "Clinic",
            "item": list(items), **root}


def _report(data: dict) -> list[dict]:
    return plan_questionnaire(data).report


SMOKE = {"linkId": "smoke", "type": "boolean", "text": "Do you smoke?"}


# --- Malformed parts: reported, not a server error (each raised TypeError before) ------

def test_an_object_as_an_extension_url_is_reported():
    item = {"linkId": "a", "type": "string", "text": "A",
            "extension": [{"url": {"an": "object"}, "valueString": "x"}]}
    assert _report(_form(item)) == [{
        "item": "a", "message": "The extension {'an': 'object'} is not supported and was "
                                "left out."}]


def test_an_object_as_a_form_extension_url_is_reported():
    report = _report(_form(SMOKE, extension=[{"url": {"an": "object"}}]))
    assert {"item": "", "message": "The extension {'an': 'object'} is not supported and "
                                   "was left out."} in report


def test_an_object_as_an_item_type_refuses_the_upload_with_its_reason():
    upload = json.dumps(_form({"linkId": "a", "type": {"an": "object"}})).encode()
    with pytest.raises(ImportRefused, match="a type that FHIR R4 does not define"):
        parse_upload(upload)


def test_an_object_as_a_condition_operator_is_a_clinical_note():
    item = {"linkId": "a-day", "type": "integer", "text": "How many a day?",
            "enableWhen": [{"question": "smoke", "operator": {"an": "object"},
                            "answerBoolean": True}]}
    plan = plan_questionnaire(_form(SMOKE, item))
    assert plan.items[1].conditions == []
    (note,) = plan.report
    assert note["item"] == "a-day" and note["clinical"] is True


def test_an_input_format_that_is_not_a_code_is_a_clinical_note():
    item = {"linkId": "email", "type": "string", "text": "Email",
            "extension": [{"url": ext.INPUT_FORMAT, "valueCoding": {"code": "email"}}]}
    plan = plan_questionnaire(_form(item))
    assert plan.items[0].fields["type"] == "string"
    assert plan.report == [{"item": "email", "clinical": True, "message":
                            f"The extension {ext.INPUT_FORMAT} is not supported and was "
                            "left out."}]


def test_a_contained_resource_with_an_object_as_id_is_reported():
    report = _report(_form(SMOKE, contained=[{"resourceType": "ValueSet",
                                              "id": {"an": "object"}}]))
    assert {"item": "", "message": "The contained ValueSet \"{'an': 'object'}\" is not used "
                                   "by any question and was left out."} in report


def test_an_ordinal_value_that_is_not_a_number_is_a_clinical_note():
    item = {"linkId": "q1", "type": "choice", "text": "Little interest?", "answerOption": [
        {"valueCoding": {"code": "0", "display": "Not at all"}, "extension": [
            {"url": ext.ORDINAL_VALUE, "valueDecimal": "none"}]}]}
    plan = plan_questionnaire(_form(item))
    assert plan.items[0].options[0]["score"] is None
    assert plan.report == [{"item": "q1", "clinical": True, "message":
                            f'Option "0": the extension {ext.ORDINAL_VALUE} is not '
                            "supported and was left out."}]


# --- Which notes are clinical ------------------------------------------------------------

@pytest.mark.parametrize(("item", "clinical"), [
    # A check on the answer lost.
    ({"type": "string", "extension": [{"url": ext.MIN_LENGTH, "valueString": "3"}]}, True),
    ({"type": "string", "extension": [{"url": ext.REGEX, "valueInteger": 3}]}, True),
    ({"type": "date", "extension": [{"url": ext.NOT_IN_FUTURE, "valueString": "yes"}]},
     True),
    ({"type": "boolean", "maxLength": 10}, True),
    # A band of the score lost.
    ({"type": "integer", "extension": [{"url": ext.SCORE_BAND, "extension": [
        {"url": "min", "valueInteger": 1}]}]}, True),
    # Words or display only.
    ({"type": "string", "extension": [{"url": ext.SHORT_LABEL, "valueInteger": 3}]}, False),
    ({"type": "string", "extension": [{"url": "http://example.org/colour"}]}, False),
])
def test_the_class_of_each_note(item, clinical):
    (note,) = _report(_form({"linkId": "q", "text": "Question", **item}))
    assert note.get("clinical", False) is clinical, note


@pytest.mark.django_db
def test_a_lost_score_band_blocks_publishing_until_accepted():
    user, _, team, _ = ensure_demo()
    source = _form({"linkId": "total", "type": "integer", "text": "Total", "extension": [
        {"url": ext.SCORE_BAND, "extension": [{"url": "label", "valueString": "Severe"},
                                              {"url": "min", "valueString": "twenty"}]}]})
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    (note,) = [n for n in imported.report if n.get("clinical")]
    assert note["item"] == "total" and "score band" in note["message"]
    with pytest.raises(ValidationError):
        services.publish_form(form=imported.form, by=user)
