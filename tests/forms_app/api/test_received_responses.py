"""A completed QuestionnaireResponse from an EHR: checked against its version, its score
recomputed (a sent total that disagrees is a discrepancy, never trusted), filed once."""

import copy
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from fhir.resources.R4B.operationoutcome import OperationOutcome

from forms_app.engine import compile_definition
from forms_app.models import Link, Submission
from forms_app.received import check_answers
from forms_app.selectors import compiled_version
from patients.models import RecordEntry
from tests.corpus import CASES, load
from tests.factories.forms_app import corpus_version
from tests.forms_app.api.conftest import api_for

pytestmark = pytest.mark.django_db
PHQ9 = next(case for case in CASES if case.name == "phq9-sdc")
TOTAL = "/44261-6"


@pytest.fixture
def phq9(world):
    return corpus_version("phq9-sdc", organisation=world.team.organisation, by=world.user)


def _response(version, patient, *, total=None, identifier="ehr-0001", answers=None):
    compiled = compiled_version(version)
    items = compiled.response_items(dict(answers or PHQ9.pages[0][1]))
    if total is not None:
        for node in _nodes(items):
            if node["linkId"] == TOTAL:
                node["answer"] = [{"valueInteger": total}]
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "identifier": {"system": "https://ehr.example.nhs.uk/qr", "value": identifier},
            "questionnaire": "http://loinc.org/q/44249-1|2.72",
            "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                       "value": patient.nhs_number}},
            "authored": "2026-12-01T10:00:00+00:00", "item": items}


def _nodes(items):
    for node in items:
        yield node
        yield from _nodes(node.get("item", []))


def _post(api, version, document):
    return api.post(reverse("api:form-version-responses", kwargs={"pk": version.pk}),
                    document, format="json")


def test_a_stored_total_that_disagrees_is_a_discrepancy_and_the_engine_wins(
        world, phq9, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.api, phq9, _response(phq9, world.patient, total=13))
    assert response.status_code == 201, response.json()
    assert response.json()["discrepancies"] == [{"linkId": TOTAL, "sent": 13,
                                                 "computed": 11}]
    submission = Submission.objects.get(pk=response.json()["submission"])
    assert submission.state == Submission.State.FILED
    assert submission.evaluation["scores"][TOTAL] == 11
    assert submission.evaluation["discrepancies"][0]["sent"] == 13
    filed = RecordEntry.objects.get(source_id=submission.pk).resource
    total = next(node for node in _nodes(filed["item"]) if node["linkId"] == TOTAL)
    assert total["answer"] == [{"valueInteger": 11}]


def test_the_same_identifier_again_files_nothing(world, phq9):
    document = _response(phq9, world.patient)
    first = _post(world.api, phq9, document)
    again = _post(world.api, phq9, document)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["submission"] == again.json()["submission"]
    assert first.json()["discrepancies"] == []
    assert Submission.objects.filter(link__version=phq9).count() == 1


def test_bad_input_is_a_400_operation_outcome_and_nothing_is_written(world, phq9):
    document = _response(phq9, world.patient)
    first = next(node for node in _nodes(document["item"]) if node["linkId"] == "/44250-9")
    first["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA-nope"}}]
    document["item"][0]["item"] = [node for node in document["item"][0]["item"]
                                   if node["linkId"] != "/44255-8"]
    document["item"].append({"linkId": "made-up", "answer": [{"valueString": "x"}]})
    links = Link.objects.count()
    response = _post(world.api, phq9, document)
    assert response.status_code == 400
    outcome = response.json()
    OperationOutcome.model_validate(outcome)
    problems = [issue["diagnostics"] for issue in outcome["issue"]]
    assert any(p.startswith("/44250-9: the answer is not") for p in problems), problems
    assert any(p.startswith("made-up: no such item") for p in problems), problems
    assert Link.objects.count() == links and not Submission.objects.filter(
        link__version=phq9).exists()


@pytest.mark.parametrize("change", [
    {"resourceType": "Patient"}, {"status": "in-progress"}, {"identifier": None},
    {"subject": {"display": "Someone"}}, {"item": "nonsense"},
])
def test_a_malformed_response_is_refused_with_its_problem(world, phq9, change):
    document = {**_response(phq9, world.patient), **change}
    response = _post(world.api, phq9, document)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_another_teams_client_cannot_file_for_this_teams_patient(world, phq9):
    response = _post(world.other_team_api, phq9, _response(phq9, world.patient))
    assert response.status_code == 400
    assert "not a patient of your care team" in json.dumps(response.json())
    assert _post(world.other_org_api, phq9, _response(phq9, world.patient)).status_code == 404


def test_conditions_are_checked_both_ways():
    compiled = compiled_version_of("smoking-same-page")
    assert check_answers(compiled, {"smoke": False, "per-day": 10}) == [
        "per-day: answered, but its conditions hide it"]
    assert "per-day: required, but not answered" in check_answers(
        compiled, {"smoke": True, "quit": False})


def compiled_version_of(name):
    return compile_definition(load(name))


def test_a_required_group_with_nothing_answered_is_reported():
    compiled = compile_definition(load("gp-registration-controls"))
    answers = {"country-of-birth": "PL", "general-health": "LA8969-3", "smoke": False,
               "conditions": ["195967001"]}
    assert check_answers(compiled, answers) == [
        "contact: required group, but none of its questions answered"]
    assert check_answers(compiled, {**answers, "email": "sal@example.com"}) == []


def test_the_command_files_a_file_and_prints_discrepancies(world, phq9, tmp_path, capsys):
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(_response(phq9, world.patient, total=20, identifier="f-1")))
    call_command("receive_response", str(path), form_version=str(phq9.pk), team=str(world.team.pk))
    out = capsys.readouterr().out
    assert "Filed as" in out and f"{TOTAL} was sent as 20; the answers give 11" in out
    bad = copy.deepcopy(_response(phq9, world.patient, identifier="f-2"))
    bad["status"] = "amended"
    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError, match="only a completed response"):
        call_command("receive_response", str(path), form_version=str(phq9.pk),
                     team=str(world.team.pk))


def test_the_api_token_is_needed(world, phq9):
    assert _post(api_for("wrong"), phq9, _response(phq9, world.patient)).status_code == 401
