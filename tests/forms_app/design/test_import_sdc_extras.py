"""SDC extras at import: an answerExpression that reads from outside the form (computed
answer options from the patient's record) is refused clearly, with a clinical note that
blocks publishing until staff list the options or accept it; one that reads only the
form's own answers is kept, evaluated and shown read-only in the designer; entryFormat
is kept and shown as the question's hint."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from forms_app import services
from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.engine import compile_definition
from forms_app.management.demo_data import ensure_demo
from tests.forms_app.design.admin_helpers import errors_of, post_change

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


FORM_INTERNAL = "%resource.repeat(item).where(linkId='medicines').answer.value"
MEDICINES = {
    "resourceType": "Questionnaire", "status": "active", "title": "Medicines",
    "item": [
        {"linkId": "taking", "type": "group", "text": "What you take", "item": [
            {"linkId": "medicines", "type": "string", "repeats": True,
             "text": "Which medicines do you take?"}]},
        {"linkId": "trouble", "type": "group", "text": "Side effects", "item": [
            {"linkId": "most-trouble", "type": "choice",
             "text": "Which one causes you the most trouble?",
             "extension": [{"url": SOURCE["item"][0]["extension"][0]["url"],
                            "valueExpression": {"language": "text/fhirpath",
                                                "expression": FORM_INTERNAL}}]}]},
    ],
}


def test_a_form_internal_answer_expression_is_kept_and_publishes():
    """Its options come from the form's own answers, which the engine works out: no
    note, nothing to list, kept verbatim through export."""
    user, _, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=MEDICINES, organisation=team.organisation, by=user)
    # No note at all about the question: not about the expression, nor about having no
    # options listed.
    assert not [n for n in imported.report if n.get("item") == "most-trouble"], \
        imported.report
    item = imported.form.items.get(link_id="most-trouble")
    assert not item.options.exists()
    assert [e["valueExpression"]["expression"] for e in item.fhir_extensions] == \
        [FORM_INTERNAL]
    exported = draft_to_questionnaire(imported.form, version_number=1)
    (trouble,) = exported["item"][1]["item"]
    assert "answerOption" not in trouble
    assert trouble["extension"] == MEDICINES["item"][1]["item"][0]["extension"]
    version = services.publish_form(form=imported.form, by=user)
    assert compile_definition(version.definition).items["most-trouble"].answer_expression


def test_the_designer_shows_the_answer_expression_read_only(otp_login, client):
    user, _, team, _ = ensure_demo()
    otp_login(client, user)
    imported = design_services.import_questionnaire(
        data=MEDICINES, organisation=team.organisation, by=user)
    item = imported.form.items.get(link_id="most-trouble")
    url = reverse("admin:forms_app_item_change", args=[item.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Answer options worked out from earlier answers" in html
    assert f"<code>{escape(FORM_INTERNAL)}</code>" in html
    # Read-only: no box to type it in, and no option rows to fill that it would ignore.
    assert 'name="answer_options_from"' not in html
    assert not [f for f in page.context["inline_admin_formsets"]
                if f.formset.prefix == "options"]
    # Saving the item's page keeps it.
    saved = post_change(client, url, {"text": "Which one troubles you most?"})
    assert saved.status_code == 302, errors_of(saved)
    item.refresh_from_db()
    assert item.fhir_extensions[0]["valueExpression"]["expression"] == FORM_INTERNAL


def test_the_staff_preview_offers_the_medicines_named(otp_login, client):
    user, _, team, _ = ensure_demo()
    otp_login(client, user)
    imported = design_services.import_questionnaire(
        data=MEDICINES, organisation=team.organisation, by=user)
    url = reverse("admin:forms_app_form_preview", args=[imported.form.pk])
    sent = client.post(url, {"preview_step": "taking", "taking-medicines~n": "2",
                             "taking-medicines~0": "Ramipril",
                             "taking-medicines~1": "Metformin"})
    assert sent.status_code == 302 and "step=trouble" in sent.url
    html = client.get(url + "?step=trouble").content.decode()
    assert 'value="Ramipril"' in html and 'value="Metformin"' in html


def test_a_list_of_permitted_answers_on_a_non_choice_question_blocks_publishing():
    """R4 (and LHC-Forms' test forms) let an integer, string, date or time question list
    the answers it permits. Dropped with a note that did not count as clinical, the form
    published asking for any number where the author allowed only 12, 34 or 56."""
    user, _, team, _ = ensure_demo()
    source = {"resourceType": "Questionnaire", "status": "active", "title": "Doses",
              "item": [{"linkId": "dose", "type": "integer", "text": "Dose (mg)",
                        "answerOption": [{"valueInteger": n} for n in (12, 34, 56)]}]}
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    (note,) = [n for n in imported.report if n.get("clinical")]
    assert note["item"] == "dose" and "answerOption" in note["message"]
    with pytest.raises(ValidationError):
        services.publish_form(form=imported.form, by=user)


@pytest.mark.parametrize("key", ["required", "repeats"])
def test_required_or_repeats_written_as_text_blocks_publishing(key):
    """LHC-Forms' enableWhen test form has "repeats": "true" (text, not JSON's true).
    It was read as false with no note, so a question that takes several answers (or a
    required one) was published taking one answer (or optional)."""
    user, _, team, _ = ensure_demo()
    source = {"resourceType": "Questionnaire", "status": "active", "title": "Symptoms",
              "item": [{"linkId": "symptoms", "type": "choice", "text": "Which?", key: "true",
                        "answerOption": [{"valueCoding": {"code": c}} for c in "ab"]}]}
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    (note,) = [n for n in imported.report if n.get("clinical")]
    assert note["item"] == "symptoms" and key in note["message"]
    with pytest.raises(ValidationError):
        services.publish_form(form=imported.form, by=user)


def test_a_contained_resource_read_by_an_expression_is_a_clinical_note():
    """LHC-Forms' sIRB protocol form prefills from %questionnaire.contained[0] (a
    contained QuestionnaireResponse). Left out with a note saying it was unused (and
    named "None"), the prefill would silently be empty."""
    user, _, team, _ = ensure_demo()
    source = {"resourceType": "Questionnaire", "status": "active", "title": "Study",
              "contained": [{"resourceType": "QuestionnaireResponse", "status": "completed"}],
              "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/variable",
                             "valueExpression": {"name": "earlier", "language": "text/fhirpath",
                                                 "expression": "%questionnaire.contained[0]"}}],
              "item": [{"linkId": "sponsor", "type": "string", "text": "Sponsor"}]}
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    (note,) = [n for n in imported.report if n.get("clinical")]
    assert "QuestionnaireResponse with no id" in note["message"]
    with pytest.raises(ValidationError):
        services.publish_form(form=imported.form, by=user)
    del source["extension"]
    again = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    assert not [n for n in again.report if n.get("clinical")]
    assert any("with no id is not used" in n["message"] for n in again.report)
