"""FHIR Questionnaire import and export: round trips that keep everything, exports that
validate as FHIR (fhir.resources R4B), and reports that name whatever is left out."""

import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from forms_app import services
from forms_app.design import services as design_services
from forms_app.design.importer import parse_upload
from forms_app.engine import compile_definition
from forms_app.models import FlagRule, Form, Item
from tests.factories.patients import OrganisationFactory, UserFactory
from tests.forms_app.design.questionnaires import canonical, every_feature, fixture

pytestmark = pytest.mark.django_db

METADATA_ONLY = "Not kept, as a new draft has its own"


@pytest.fixture
def organisation():
    return OrganisationFactory()


@pytest.fixture
def user():
    return UserFactory()


def import_(data, organisation):
    return design_services.import_questionnaire(data=data, organisation=organisation,
                                                by="system")


def round_trip(source, organisation, user):
    """Import, publish (export), import the export: both drafts and their reports."""
    first = import_(source, organisation)
    version = services.publish_form(form=first.form, by=user)
    Questionnaire.model_validate(version.definition)  # a valid FHIR R4(B) Questionnaire
    second = import_(json.loads(json.dumps(version.definition)), organisation)
    return first, version, second


def notes(report):
    return [entry for entry in report if not entry["message"].startswith(METADATA_ONLY)]


@pytest.mark.parametrize("name", ["phq9", "gad7"])
def test_shipped_forms_round_trip_and_score_the_same(name, organisation, user):
    source = design_services.library_questionnaire(name)
    first, version, second = round_trip(source, organisation, user)
    assert notes(first.report) == [] and notes(second.report) == []
    assert canonical(first.form) == canonical(second.form)
    shipped, exported = compile_definition(source), compile_definition(version.definition)
    scored = [item for item in shipped.items.values() if item.is_scored]
    for index in range(4):
        answers = {item.link_id: item.options[(index + n) % 4].code
                   for n, item in enumerate(scored)}
        assert exported.evaluate(answers) == shipped.evaluate(answers)


def test_every_feature_round_trips(organisation, user):
    first, version, second = round_trip(every_feature(), organisation, user)
    assert notes(first.report) == [], first.report
    assert notes(second.report) == []
    assert canonical(first.form) == canonical(second.form)
    form = first.form
    assert {item.link_id: item.type for item in form.items.all()} | {} == {
        item.link_id: item.type for item in second.form.items.all()}
    types = set(form.items.values_list("type", flat=True))
    assert types == {choice for choice, _ in Item.Type.choices}
    assert FlagRule.objects.filter(form=form).count() == 2
    compiled = compile_definition(version.definition)
    answers = {"height": 180, "weight": "81.0", "smoker": True, "low": "LA6571-9",
               "worry": "LA6569-3", "dob": "1980-05-01", "wake": "07:00"}
    evaluation = compiled.evaluate(answers)
    assert evaluation.scores["score"] == 4 and evaluation.bands["score"] == "High"
    assert str(evaluation.scores["bmi"]) == "25.0"
    assert evaluation.bands["bmi"] == "Not underweight"
    assert {flag.code for flag in evaluation.flags} == {"high-score", "very-low"}
    # The copy action goes through the same translation and keeps everything.
    copy = design_services.copy_form(form=form, by=user)
    assert copy.import_report == []
    copied = canonical(copy)
    assert copied.pop("title") == "Copy of Every feature"
    assert copied.pop("name") == "CopyOfEveryFeature"
    assert copied == {k: v for k, v in canonical(form).items() if k not in ("title", "name")}


def accounted_for(source_items, form, report):
    """Every source linkId is an item of the draft, help text of one, or in the report."""
    kept = set(form.items.values_list("link_id", flat=True))
    help_texts = " ".join(form.items.values_list("help_text", flat=True))
    reported = {entry["item"] for entry in report}
    missing = []
    stack = list(source_items)
    while stack:
        item = stack.pop()
        stack += item.get("item", [])
        link_id = item["linkId"]
        if link_id in kept or link_id in reported:
            continue
        if item["type"] == "display" and item.get("text", "") in help_texts:
            continue
        missing.append(link_id)
    return missing


EXPECTED_NOTES = {
    "hl7-f201-lifelines.json": [],
    "hl7-3141-cancer.json": [
        ("1.1", "http://hl7.org/fhir/ValueSet/yesnodontknow, which is not in the file"),
    ],
    "hl7-gcs.json": [("1.2", "It has no text: its code's display was used")],
    "lhc-phq9.json": [
        ("/44249-1/note", '"_text" is not supported'),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_NOTES))
def test_public_examples_import_with_a_report_by_item(name, organisation, user):
    source = fixture(name)
    imported = import_(parse_upload(json.dumps(source).encode()), organisation)
    report = notes(imported.report)
    for item, words in EXPECTED_NOTES[name]:
        assert any(entry["item"] == item and words in entry["message"] for entry in report), (
            item, words, report)
    if not EXPECTED_NOTES[name]:
        assert report == []
    assert accounted_for(source["item"], imported.form, imported.report) == []
    assert imported.form.import_report == imported.report
    # The draft exports as valid FHIR, and reads back the same.
    document = canonical(imported.form)
    Questionnaire.model_validate({**document, "id": "x"})
    again = import_(json.loads(json.dumps(document)), organisation)
    assert canonical(again.form) == document


def test_gcs_scores_come_from_the_contained_value_sets(organisation, user):
    imported = import_(fixture("hl7-gcs.json"), organisation)
    motor = imported.form.items.get(link_id="1.2")
    assert [int(o.score) for o in motor.options.all()] == [1, 2, 3, 4, 5, 6]
    assert motor.code == "9268-4"


def test_lifelines_publishes_as_is(organisation, user):
    imported = import_(fixture("hl7-f201-lifelines.json"), organisation)
    version = services.publish_form(form=imported.form, by=user)
    assert compile_definition(version.definition).page_keys == ["1", "2", "3"]


def test_cancer_example_needs_options_before_publishing(organisation, user):
    imported = import_(fixture("hl7-3141-cancer.json"), organisation)
    with pytest.raises(Exception) as refused:
        services.publish_form(form=imported.form, by=user)
    assert "needs answer options" in str(refused.value)
    assert Form.objects.filter(pk=imported.form.pk).get().versions.count() == 0
