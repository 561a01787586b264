# ruff: noqa: F811  (pytest fixtures imported from staff_fixtures)
"""The staff record page: answers in words with scores, bands and flags, the PDF one
click away, audited; and never a raw dict in the admin."""

import pytest
from django.urls import reverse

from forms_app import services
from patients.models import AuditEvent, RecordEntry
from tests.factories.forms_app import phq9_answers, submitted
from tests.factories.patients import CareTeamFactory, UserFactory
from tests.forms_app.staff_fixtures import filed_urgent, phq9_clinic  # noqa: F401

pytestmark = pytest.mark.django_db


def _url(submission, name="submission"):
    return reverse(f"records:{name}", kwargs={"submission_id": submission.pk})


def test_answers_read_as_question_and_answer_with_scores_and_flags(client, otp_login,
                                                                   filed_urgent):
    user = filed_urgent.link.care_team.members.get()
    otp_login(client, user)
    response = client.get(_url(filed_urgent))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Little interest or pleasure in doing things" in html  # the question's words
    assert "Several days" in html  # the answer's display, not its code
    assert "LA6569-3" not in html and "{&#x27;" not in html and "{'" not in html
    assert "Urgent" in html and "nhsuk-tag--red" in html
    assert "943 476 5919" in html
    assert "Download the filed PDF" in html and _url(filed_urgent, "submission_pdf") in html
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_VIEWED,
                                     object_id=str(filed_urgent.pk)).count() == 1


def test_scores_show_their_label_and_band(client, otp_login, phq9_clinic):
    user, team, patient, version = phq9_clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    otp_login(client, user)
    html = client.get(_url(submission)).content.decode()
    evaluation = submission.evaluation
    (key, value), = evaluation["scores"].items()
    assert f"<strong>{value}</strong>" in html
    assert evaluation["bands"][key] in html
    assert "The PDF is available once the form has been filed" in html


def test_pdf_downloads_audited_and_scoped(client, otp_login, filed_urgent):
    user = filed_urgent.link.care_team.members.get()
    otp_login(client, user)
    # Its PDF task has not run yet (it runs after the filing commits): the first
    # download renders and attaches it, and a second download serves the same bytes.
    entry = RecordEntry.objects.get(source_id=filed_urgent.pk)
    assert entry.attachments is None
    response = client.get(_url(filed_urgent, "submission_pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert filed_urgent.link.patient.family_name not in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RECORD_DOWNLOADED).count() == 1
    entry.refresh_from_db()
    assert len(entry.attachments) == 1
    assert client.get(_url(filed_urgent, "submission_pdf")).content == response.content
    outsider = UserFactory()
    CareTeamFactory(organisation=filed_urgent.link.care_team.organisation, members=[outsider])
    otp_login(client, outsider)
    assert client.get(_url(filed_urgent)).status_code == 404
    assert client.get(_url(filed_urgent, "submission_pdf")).status_code == 404


def test_no_pdf_before_filing_and_nothing_without_two_factors(client, otp_login,
                                                              phq9_clinic):
    user, team, patient, version = phq9_clinic
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    from forms_app.models import Submission
    draft = Submission.objects.create(link=issued.link)
    client.force_login(user)
    assert client.get(_url(draft)).status_code == 302  # password only
    otp_login(client, user)
    page = client.get(_url(draft))
    assert page.status_code == 200 and b"has not sent this form yet" in page.content
    assert client.get(_url(draft, "submission_pdf")).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_VIEWED).exists()


def test_admin_shows_scores_and_a_link_never_a_raw_dict(client, otp_login, filed_urgent):
    user = filed_urgent.link.care_team.members.get()
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    otp_login(client, user)
    entry = RecordEntry.objects.get()
    for url in (reverse("admin:patients_recordentry_change", args=[entry.pk]),
                reverse("admin:forms_app_submission_change", args=[filed_urgent.pk])):
        html = client.get(url).content.decode()
        assert "Read the answers and download the PDF" in html, url
        assert _url(filed_urgent) in html
        assert "{&#x27;scores&#x27;" not in html and "&quot;resourceType&quot;" not in html
        assert "Urgent:" in html
