"""Attachment questions: a photo from the patient's phone, checked, stored encrypted,
read back on "check your answers" and filed as a FHIR Attachment."""

import base64
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app import services
from forms_app.design import services as design_services
from forms_app.engine import compile_definition
from forms_app.engine.attachments import sign, sniff_content_type, unsign
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission, SubmissionFile
from patients.models import RecordEntry
from tests.corpus import JPEG, load
from tests.forms_app.journey import open_and_verify, page_data

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def _start(client, definition=None):
    user, patient, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=definition or load("wound-photo-attachment"), organisation=team.organisation,
        by=user)
    version = services.publish_form(form=imported.form, by=user)
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    open_and_verify(client, issued.token)
    return Submission.objects.get(link=issued.link)


def _post(client, photo, **extra):
    data = page_data("wound", {"healing": "Better", **extra})
    if photo is not None:
        data["wound-photo"] = photo
    return client.post(reverse("patient:answer"), data)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.txt", b"just some text", "The selected file must be a JPG"),
    # Named .jpg, but its bytes are a PNG: the content decides, not the name.
    ("photo.jpg", PNG, "The selected file must be a JPG"),
    ("empty.jpg", b"", "The selected file is empty"),
    ("huge.jpg", JPEG + bytes(5 * 1024 * 1024), "The selected file must be smaller than 5.0"),
])
def test_a_bad_file_gets_a_clear_error_and_nothing_is_written(client, name, content, message):
    submission = _start(client)
    response = _post(client, SimpleUploadedFile(name, content))
    assert response.status_code == 200
    page = response.content.decode()
    assert "nhsuk-error-summary" in page and message in page
    assert not SubmissionFile.objects.exists()
    submission.refresh_from_db()
    assert "photo" not in (submission.draft_answers or {})


def test_a_photo_is_stored_encrypted_shown_by_name_and_filed_as_an_attachment(
        client, django_capture_on_commit_callbacks):
    submission = _start(client)
    response = _post(client, SimpleUploadedFile("my wound.jpg", JPEG))
    assert response.status_code == 302 and response.url == reverse("patient:check")

    stored = SubmissionFile.objects.get(submission=submission)
    assert stored.content == JPEG
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM forms_app_submissionfile")
        raw = bytes(cursor.fetchone()[0])
    assert JPEG not in raw and b"JFIF" not in raw  # encrypted at rest

    check = client.get(reverse("patient:check")).content.decode()
    assert f"my wound.jpg ({len(JPEG)}\xa0bytes)" in check

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("patient:check"))
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    resource = RecordEntry.objects.get(source_id=submission.pk).resource
    QuestionnaireResponse.model_validate(resource)
    photo = next(item for item in resource["item"][0]["item"] if item["linkId"] == "photo")
    attachment = photo["answer"][0]["valueAttachment"]
    assert base64.b64decode(attachment["data"]) == JPEG
    assert attachment["contentType"] == "image/jpeg" and attachment["size"] == len(JPEG)
    assert attachment["title"] == "my wound.jpg" and "url" not in attachment
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(JPEG).digest()).decode()  # noqa: S324


def test_going_back_keeps_the_file_without_sending_it_again(client):
    _start(client)
    _post(client, SimpleUploadedFile("a.jpg", JPEG))
    page = client.get(reverse("patient:answer") + "?change=wound").content.decode()
    assert "a.jpg" in page and 'name="wound-photo_current"' in page
    token = page.split('name="wound-photo_current" value="', 1)[1].split('"', 1)[0]
    response = _post(client, None, **{"photo_current": token})
    assert response.status_code == 302
    assert "a.jpg" in client.get(reverse("patient:check")).content.decode()
    # Another file replaces it; only the new one is kept.
    _post(client, SimpleUploadedFile("b.jpg", JPEG + b"x"))
    assert SubmissionFile.objects.count() == 1


def test_a_made_up_file_answer_is_refused_not_trusted(client):
    _start(client)
    forged = sign({"id": "x"})  # signed, but not an answer
    response = _post(client, None, **{"photo_current": forged})
    assert response.status_code == 200
    assert "Select the file for" in response.content.decode()
    response = _post(client, None, **{"photo_current": "not-signed"})
    assert response.status_code == 200 and "nhsuk-error-summary" in response.content.decode()


def test_a_file_posted_to_a_page_without_a_file_question_is_ignored(client):
    definition = load("smoking-same-page")
    _start(client, definition)
    data = page_data("habits", {"smoke": "no"})
    data["habits-smoke-file"] = SimpleUploadedFile("a.jpg", JPEG)
    response = client.post(reverse("patient:answer"), data)
    assert response.status_code in (200, 302)
    assert not SubmissionFile.objects.exists()


def test_limits_come_from_the_questionnaire_with_safe_defaults():
    definition = load("wound-photo-attachment")
    photo = compile_definition(definition).items["photo"]
    assert photo.max_size == 5242880 and photo.mime_types == ("image/jpeg",)
    del definition["item"][0]["item"][1]["extension"]
    photo = compile_definition(definition).items["photo"]
    assert photo.max_size == 10 * 1024 * 1024
    assert set(photo.mime_types) == {"image/jpeg", "image/png", "application/pdf"}
    assert sniff_content_type(b"%PDF-1.7") == "application/pdf"
    assert sniff_content_type(b"GIF89a") == "image/gif"
    assert unsign("garbage") is None
