"""A completed response from elsewhere with repeating groups and attachments (issue 11):
each instance read, checked and recomputed on its own, a per-instance value that
disagrees reported with the instance it is in, and a sent file checked as a patient's
upload is, stored encrypted, and filed as an Attachment."""

import base64
import copy
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from forms_app.models import Submission, SubmissionFile
from forms_app.received import check_answers
from forms_app.selectors import compiled_version
from patients.models import RecordEntry
from tests.corpus import JPEG
from tests.factories.forms_app import corpus_version

pytestmark = pytest.mark.django_db
MOTHER = {"relation": "MTH", "living": False, "age-at-death": 61, "had-cancer": True,
          "cancer-type": "254837009", "cancer-age": 38, "genetic-test": False}
FATHER = {"relation": "FTH", "living": True, "had-cancer": False}
SISTER = {"relation": "SIS", "living": True, "had-cancer": True, "cancer-type": "363406005",
          "cancer-age": 47, "genetic-test": True}


def _document(version, patient, items, identifier="ehr-rep-1"):
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "identifier": {"system": "https://ehr.example.nhs.uk/qr", "value": identifier},
            "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                       "value": patient.nhs_number}},
            "item": items}


def _post(world, version, document):
    return world.api.post(reverse("api:form-version-responses", kwargs={"pk": version.pk}),
                          document, format="json")


def _problems(response) -> list[str]:
    assert response.status_code == 400, response.json()
    return [issue["diagnostics"] for issue in response.json()["issue"]]


@pytest.fixture
def family(world):
    return corpus_version("family-cancer-per-relative", organisation=world.team.organisation,
                          by=world.user)


def _relative_items(version, *relatives):
    return compiled_version(version).response_items({"relative": list(relatives)})


def _set(items, relative: int, link_id: str, answer):
    nodes = [node for node in items if node["linkId"] == "relative"][relative]["item"]
    found = [node for node in nodes if node["linkId"] == link_id]
    if found:
        found[0]["answer"] = [answer]
    else:
        nodes.append({"linkId": link_id, "answer": [answer]})


def test_each_relative_is_recomputed_and_a_disagreeing_one_is_named(
        world, family, django_capture_on_commit_callbacks):
    items = _relative_items(family, MOTHER, FATHER, SISTER)
    _set(items, 0, "points", {"valueInteger": 11})  # found at 38: the scoring gives 8
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world, family, _document(family, world.patient, items))
    assert response.status_code == 201, response.json()
    assert response.json()["discrepancies"] == [
        {"linkId": "points", "sent": 11, "computed": 8, "path": "relative[1]/points"}]
    submission = Submission.objects.get(pk=response.json()["submission"])
    assert submission.state == Submission.State.FILED
    assert [r["relation"] for r in submission.answers["relative"]] == ["MTH", "FTH", "SIS"]
    assert submission.evaluation["scores"] == {"family-score": 14}
    assert [f["code"] for f in submission.evaluation["flags"]] == ["genetics-referral"]
    filed = RecordEntry.objects.get(source_id=submission.pk).resource
    points = [[n["answer"][0]["valueInteger"] for n in r["item"] if n["linkId"] == "points"]
              for r in filed["item"] if r["linkId"] == "relative"]
    assert points == [[8], [], [6]]  # the engine's, one per relative, none for no cancer


def test_each_instance_is_checked_on_its_own(world, family):
    items = _relative_items(family, MOTHER, FATHER, SISTER)
    _set(items, 1, "cancer-age", {"valueInteger": 30})  # the father had no cancer
    _set(items, 0, "cancer-age", {"valueInteger": 70})  # after she died at 61
    del [n for n in items if n["linkId"] == "relative"][2]["item"][0]  # sister: relation
    problems = _problems(_post(world, family, _document(family, world.patient, items)))
    assert "relative[2]/cancer-age: answered, but its conditions hide it" in problems
    assert ("relative[1]/cancer-age: The age their cancer was found must be the same as "
            "or less than the age they died") in problems
    assert "relative[3]/relation: required, but not answered" in problems
    assert not Submission.objects.filter(link__version=family).exists()


def test_more_instances_than_max_occurs_are_refused(world, family):
    items = _relative_items(family, FATHER) * 11  # the engine itself keeps at most 10
    assert "relative: more than 10 instances" in _problems(
        _post(world, family, _document(family, world.patient, items)))


def test_an_item_out_of_its_instance_is_refused(world, family):
    items = _relative_items(family, FATHER)
    items.append({"linkId": "relation", "answer": [{"valueCoding": {"code": "MTH"}}]})
    assert "relation: not where the form version puts it" in _problems(
        _post(world, family, _document(family, world.patient, items)))


def test_nested_instances_are_filed_as_sent(world):
    version = corpus_version("family-history-repeats", organisation=world.team.organisation,
                             by=world.user)
    answers = {"relative": [
        {"relation": "Mother", "condition": [
            {"condition-name": "Type 2 diabetes", "age-at-diagnosis": 52},
            {"condition-name": "High blood pressure"}]},
        {"relation": "Brother", "condition": [{"condition-name": "Asthma"}]}]}
    items = compiled_version(version).response_items(answers)
    response = _post(world, version, _document(version, world.patient, items))
    assert response.status_code == 201, response.json()
    assert Submission.objects.get(pk=response.json()["submission"]).answers == answers
    # A nested instance missing its required condition is named by its path.
    broken = copy.deepcopy(items)
    broken[0]["item"][1]["item"] = [{"linkId": "age-at-diagnosis",
                                     "answer": [{"valueInteger": 52}]}]
    assert "relative[1]/condition[1]/condition-name: required, but not answered" in \
        _problems(_post(world, version, _document(version, world.patient, broken, "n-2")))


def test_check_answers_reads_instances():
    from forms_app.engine import compile_definition
    from tests.corpus import load

    compiled = compile_definition(load("family-cancer-per-relative"))
    assert check_answers(compiled, {"relative": [MOTHER]}) == []
    assert check_answers(compiled, {"relative": [{**FATHER, "living": False}]}) == [
        "relative[1]/age-at-death: required, but not answered"]


@pytest.fixture
def wound(world):
    return corpus_version("wound-photo-attachment", organisation=world.team.organisation,
                          by=world.user)


def _photo(attachment):
    return [{"linkId": "wound", "item": [
        {"linkId": "healing", "answer": [{"valueString": "Better"}]},
        {"linkId": "photo", "answer": [{"valueAttachment": attachment}]}]}]


def test_a_sent_photo_is_checked_stored_encrypted_and_filed(
        world, wound, django_capture_on_commit_callbacks):
    data = base64.b64encode(JPEG).decode()
    items = _photo({"contentType": "image/jpeg", "data": data, "title": "../wound.jpg",
                    "size": len(JPEG)})
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world, wound, _document(wound, world.patient, items))
    assert response.status_code == 201, response.json()
    submission = Submission.objects.get(pk=response.json()["submission"])
    answer = submission.answers["photo"]
    assert answer["title"] == "wound.jpg" and answer["contentType"] == "image/jpeg"
    stored = SubmissionFile.objects.get(pk=answer["id"], submission=submission)
    assert bytes(stored.content) == JPEG
    with connection.cursor() as cursor:  # encrypted at rest: not the bytes sent
        cursor.execute("SELECT content FROM forms_app_submissionfile WHERE id = %s",
                       [stored.pk])
        assert JPEG not in bytes(cursor.fetchone()[0])
    filed = RecordEntry.objects.get(source_id=submission.pk).resource
    photo = next(node for node in filed["item"][0]["item"] if node["linkId"] == "photo")
    assert base64.b64decode(photo["answer"][0]["valueAttachment"]["data"]) == JPEG


@pytest.mark.parametrize(("attachment", "problem"), [
    ({"contentType": "image/jpeg", "url": "https://ehr.example/photo/1"}, "carry its data"),
    ({"contentType": "image/jpeg", "data": "not base64!"}, "not base64"),
    ({"contentType": "image/png", "data": base64.b64encode(b"%PDF-1.4 x").decode()},
     "not of a type the question accepts"),
    ({"contentType": "image/png", "data": base64.b64encode(JPEG).decode()},
     "not the image/png it says"),
    ({"contentType": "image/jpeg", "data": base64.b64encode(JPEG).decode(), "size": 3},
     "size does not match"),
])
def test_a_sent_file_that_does_not_fit_is_refused(world, wound, attachment, problem):
    problems = _problems(_post(world, wound, _document(wound, world.patient,
                                                       _photo(attachment))))
    assert any(p.startswith("photo: ") and problem in p for p in problems), problems
    assert not SubmissionFile.objects.exists()


def test_the_command_names_the_instance_of_a_discrepancy(world, family, tmp_path, capsys):
    items = _relative_items(family, MOTHER, SISTER)
    _set(items, 1, "points", {"valueInteger": 2})  # the sister's, found at 47: 6
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(_document(family, world.patient, items, "cmd-1")))
    call_command("receive_response", str(path), form_version=str(family.pk),
                 team=str(world.team.pk))
    out = capsys.readouterr().out
    assert "Filed as" in out
    assert "relative[2]/points was sent as 2; the answers give 6" in out


def test_a_photo_in_each_instance_is_stored_on_its_own(world):
    """Two wounds, a photo each: two files, each answer naming its own."""
    from tests.factories.forms_app import version_from_definition

    definition = {"resourceType": "Questionnaire", "status": "active", "title": "Wounds",
                  "item": [{"linkId": "wound", "type": "group", "text": "A wound",
                            "repeats": True, "item": [
                                {"linkId": "site", "type": "string", "text": "Where is it?"},
                                {"linkId": "photo", "type": "attachment",
                                 "text": "A photo of it"}]}]}
    version = version_from_definition(world.team.organisation, definition, by=world.user)
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    items = [{"linkId": "wound", "item": [
        {"linkId": "site", "answer": [{"valueString": site}]},
        {"linkId": "photo", "answer": [{"valueAttachment": {
            "contentType": content_type, "data": base64.b64encode(content).decode()}}]}]}
        for site, content, content_type in (("Left heel", JPEG, "image/jpeg"),
                                            ("Right heel", png, "image/png"))]
    response = _post(world, version, _document(version, world.patient, items, "w-2"))
    assert response.status_code == 201, response.json()
    submission = Submission.objects.get(pk=response.json()["submission"])
    photos = [wound["photo"] for wound in submission.answers["wound"]]
    assert [p["contentType"] for p in photos] == ["image/jpeg", "image/png"]
    files = {str(f.pk): (f.link_id, bytes(f.content))
             for f in SubmissionFile.objects.filter(submission=submission)}
    assert files == {photos[0]["id"]: ("wound~0~photo", JPEG),
                     photos[1]["id"]: ("wound~1~photo", png)}
