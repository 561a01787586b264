"""SDC extras at import: an answerExpression (computed answer options) is refused
clearly, with a clinical note that blocks publishing until staff list the options or
accept it; entryFormat is kept and shown as the question's hint."""

import pytest
from django.core.exceptions import ValidationError

from forms_app import services
from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.engine import compile_definition
from forms_app.management.demo_data import ensure_demo

pytestmark = pytest.mark.django_db
SOURCE = {
    "resourceType": "Questionnaire", "status": "active", "title": "Medicines",
    "item": [{
        "linkId": "drug", "type": "choice", "text": "Which medicine?",
        "answerOption": [{"valueString": "Other"}],
        "extension": [{
            "url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                   "sdc-questionnaire-answerExpression",
            "valueExpression": {"language": "text/fhirpath",
                                "expression": "%medicines.name"}}],
    }],
}


def test_answer_expression_is_a_clinical_note_that_blocks_publishing():
    user, _, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=SOURCE, organisation=team.organisation, by=user)
    (note,) = [n for n in imported.report if n.get("clinical")]
    assert note["item"] == "drug" and "answerExpression" in note["message"]
    with pytest.raises(ValidationError):
        services.publish_form(form=imported.form, by=user)


ENTRY_FORMAT = "http://hl7.org/fhir/StructureDefinition/entryFormat"
WEIGHT = {"resourceType": "Questionnaire", "status": "active", "title": "Weight",
          "item": [{"linkId": "weight", "type": "decimal", "text": "Your weight",
                    "extension": [{"url": ENTRY_FORMAT, "valueString": "nn.n kg"}]}]}


def test_entry_format_is_the_hint_and_survives_import_and_export():
    assert compile_definition(WEIGHT).items["weight"].help_text == "nn.n kg"
    user, _, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=WEIGHT, organisation=team.organisation, by=user)
    assert not [n for n in imported.report if "entryFormat" in n["message"]]
    exported = draft_to_questionnaire(imported.form, version_number=1)
    assert {"url": ENTRY_FORMAT, "valueString": "nn.n kg"} in exported["item"][0]["extension"]
    assert compile_definition(exported).items["weight"].help_text == "nn.n kg"
