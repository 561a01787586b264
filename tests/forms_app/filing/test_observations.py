"""SDC observationExtract: a PHQ-9 total filed as its LOINC-coded Observation, beside
the QuestionnaireResponse, exactly once, internally and to the external FHIR server."""

import pytest
from django.core.exceptions import ValidationError
from fhir.resources.R4B.observation import Observation

from forms_app import services
from forms_app.design.export import draft_to_questionnaire
from forms_app.filing.batch import file_batch
from forms_app.filing.destinations import OBSERVATION_SOURCE, SUBMISSION_SOURCE
from forms_app.models import Item, WorklistTask
from patients.models import RecordEntry
from tests.corpus import CASES
from tests.factories.forms_app import corpus_version, phq9_answers, submitted

pytestmark = pytest.mark.django_db
PHQ9 = next(case for case in CASES if case.name == "phq9-sdc")
TOTAL = "/44261-6"


@pytest.fixture
def phq9(clinic):
    user, team, _, _ = clinic
    version = corpus_version("phq9-sdc", organisation=team.organisation, by=user)
    return version.form, version


def _items(nodes):
    for node in nodes:
        yield node
        yield from _items(node.get("item", []))


def _submit(clinic, version):
    user, team, patient, _ = clinic
    return submitted(version, patient=patient, care_team=team, by=user,
                     answers=dict(PHQ9.pages[0][1]))


def test_the_import_keeps_the_switch_and_the_export_writes_it(phq9):
    form, _ = phq9
    assert form.items.get(link_id=TOTAL).observation_extract
    exported = draft_to_questionnaire(form, version_number=1)
    total = next(i for i in _items(exported["item"]) if i["linkId"] == TOTAL)
    assert {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                   "sdc-questionnaire-observationExtract", "valueBoolean": True} \
        in total["extension"]


def test_a_phq9_total_is_filed_as_its_loinc_observation_once(clinic, phq9):
    _, version = phq9
    submission = _submit(clinic, version)
    entry = services.file_submission(submission_id=submission.pk)
    services.file_submission(submission_id=submission.pk)  # a second run files nothing

    (observation,) = RecordEntry.objects.filter(source_kind=OBSERVATION_SOURCE)
    resource = observation.resource
    Observation.model_validate(resource)
    assert resource["code"]["coding"] == [{"system": "http://loinc.org", "code": "44261-6"}]
    assert resource["valueInteger"] == PHQ9.scores[TOTAL] == 11
    response = entry.resource
    assert resource["subject"] == response["subject"]
    assert resource["derivedFrom"][0]["identifier"] == response["identifier"]
    assert resource["effectiveDateTime"] == response["authored"]
    assert observation.patient_id == entry.patient_id
    assert RecordEntry.objects.filter(source_kind=SUBMISSION_SOURCE).count() == 1


def test_the_batch_path_files_observations_too(clinic, phq9):
    _, version = phq9
    first, second = _submit(clinic, version), _submit(clinic, version)
    result = file_batch(submission_ids=[first.pk, second.pk])
    assert sorted(result.filed) == sorted([first.pk, second.pk])
    derived = {entry.resource["derivedFrom"][0]["identifier"]["value"]
               for entry in RecordEntry.objects.filter(source_kind=OBSERVATION_SOURCE)}
    assert derived == {str(first.pk), str(second.pk)}


def test_the_external_server_gets_the_observation_once(clinic, phq9, fhir_destination):
    _, version = phq9
    submission = _submit(clinic, version)
    services.file_submission(submission_id=submission.pk)
    kinds = sorted(r["resourceType"] for r in fhir_destination.by_identifier.values())
    assert kinds == ["Observation", "QuestionnaireResponse"]
    # A retry after a lost reply creates nothing new (conditional create, both).
    submission.state = submission.State.SUBMITTED
    submission.save(update_fields=["state"])
    RecordEntry.objects.all().delete()
    WorklistTask.objects.all().delete()
    services.file_submission(submission_id=submission.pk)
    assert fhir_destination.creates == 2


def test_a_form_without_the_switch_files_no_observation(clinic):
    _, _, _, version = clinic  # the library PHQ-9
    user, team, patient, _ = clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    services.file_submission(submission_id=submission.pk)
    assert not RecordEntry.objects.filter(source_kind=OBSERVATION_SOURCE).exists()


def test_the_designer_switch_needs_a_code(phq9):
    form, _ = phq9
    item = form.items.get(link_id=TOTAL)
    item.code = ""
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert "observation_extract" in refused.value.message_dict
    display = Item(form=form, link_id="words", type="display", text="Hi",
                   observation_extract=True, code="1")
    with pytest.raises(ValidationError):
        display.full_clean()
