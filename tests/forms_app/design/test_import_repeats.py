"""Repeats through import and export (issue 11, point 3): a repeating group with its
occurrence limits, and a repeating question with several initial values, read into the
draft with no clinical note and written back as they came."""

import pytest

from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.management.demo_data import ensure_demo

pytestmark = pytest.mark.django_db
MIN = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"
MAX = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"
SOURCE = {
    "resourceType": "Questionnaire", "title": "Names",
    "item": [{
        "linkId": "person", "type": "group", "text": "A person", "repeats": True,
        "extension": [{"url": MIN, "valueInteger": 1}, {"url": MAX, "valueInteger": 4}],
        "item": [
            {"linkId": "alias", "type": "string", "text": "Other names", "repeats": True,
             "initial": [{"valueString": "Sal"}, {"valueString": "Sally"}]},
            {"linkId": "born", "type": "date", "text": "Date of birth", "repeats": True},
        ]}],
}


def test_repeats_import_without_a_clinical_note_and_export_as_they_came():
    user, _, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=SOURCE, organisation=team.organisation, by=user)
    assert imported.report == []
    person = imported.form.items.get(link_id="person")
    assert (person.repeats, person.min_occurs, person.max_occurs) == (True, 1, 4)
    alias = imported.form.items.get(link_id="alias")
    assert alias.repeats and alias.initial == "Sal\nSally"
    exported = draft_to_questionnaire(imported.form, version_number=1)
    group = exported["item"][0]
    assert group["repeats"] is True
    assert {"url": MIN, "valueInteger": 1} in group["extension"]
    assert {"url": MAX, "valueInteger": 4} in group["extension"]
    alias_out, born_out = group["item"]
    assert alias_out["repeats"] is True and born_out["repeats"] is True
    assert alias_out["initial"] == [{"valueString": "Sal"}, {"valueString": "Sally"}]


def test_a_question_answered_once_keeps_only_its_first_initial_value_and_says_so():
    user, _, team, _ = ensure_demo()
    source = {**SOURCE, "item": [{**SOURCE["item"][0], "item": [
        {**SOURCE["item"][0]["item"][0], "repeats": False}]}]}
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user)
    assert imported.form.items.get(link_id="alias").initial == "Sal"
    assert [n["message"] for n in imported.report] == ["Only the first initial value was kept."]
