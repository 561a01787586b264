import base64
import datetime
import logging

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from forms_app import services
from forms_app.filing import services as filing_services
from forms_app.filing.tasks import (
    alert_unfiled_submissions,
    sweep_unnotified_worklist_tasks,
)
from forms_app.models import Submission, WorklistTask
from forms_app.tasks import file_submission_task
from patients.models import AuditEvent, RecordEntry
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, phq9_answers, submitted
from tests.factories.patients import CareTeamFactory, UserFactory


def submit_phq9(clinic, **answers):
    user, team, patient, version = clinic
    return submitted(version, patient=patient, care_team=team, by=user,
                     answers=phq9_answers(**answers))


def test_filing_stores_the_response_scores_flags_and_pdf_encrypted(
        clinic, django_capture_on_commit_callbacks):
    submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        entry = services.file_submission(submission_id=submission.pk)
        # The PDF is rendered once the filing has committed, outside its row lock.
        assert RecordEntry.objects.get(pk=entry.pk).attachments is None
    assert callbacks

    entry = RecordEntry.objects.get(pk=entry.pk)
    assert entry.resource["resourceType"] == "QuestionnaireResponse"
    assert entry.summary == submission.evaluation
    assert entry.summary["scores"]["phq9-total"] == 9
    assert entry.summary["flags"][0]["severity"] == "urgent"
    (attachment,) = entry.attachments
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["data"]).startswith(b"%PDF")
    # At rest the attachment is ciphertext, not the PDF.
    from django.db import connection
    # The id as this database stores it (uuid on PostgreSQL, hex text on SQLite), so
    # the unit test runs on both.
    db_id = type(entry)._meta.pk.get_db_prep_value(entry.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT attachments FROM patients_recordentry WHERE id = %s",
                       [db_id])
        assert "JVBERi" not in cursor.fetchone()[0]  # base64 of "%PDF"
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    assert submission.filing_attempts == 1


def test_a_flagged_phq9_reaches_its_teams_worklist_and_inbox(clinic,
                                                             django_capture_on_commit_callbacks):
    user, team, patient, _version = clinic
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)  # eager filing on commit

    task = WorklistTask.objects.get(submission=submission)
    assert task.care_team == team and task.patient == patient
    assert task.flags[0]["code"] == "phq9-item9-self-harm"
    assert task.notified_at is not None
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert team.name in message.subject
    # Email is not a secure channel: no name, NHS number or answer in it.
    assert patient.family_name not in message.body
    assert patient.nhs_number not in message.body
    assert "/worklist/" in message.body


def test_no_flag_no_worklist_task(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit_phq9(clinic)
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    assert not WorklistTask.objects.exists()
    assert mail.outbox == []


def test_filing_twice_escalates_and_notifies_once(clinic, django_capture_on_commit_callbacks):
    submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)
    with django_capture_on_commit_callbacks(execute=True):
        services.file_submission(submission_id=submission.pk)
        services.file_submission(submission_id=submission.pk)
    filing_services.notify_team(task_id=WorklistTask.objects.get().pk)
    assert WorklistTask.objects.count() == 1
    assert len(mail.outbox) == 1


def test_acknowledging_records_who_and_when(clinic):
    user, _team, _patient, _version = clinic
    submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)
    services.file_submission(submission_id=submission.pk)
    task = WorklistTask.objects.get()

    filing_services.acknowledge_task(task_id=task.pk, by=user)
    task.refresh_from_db()
    assert task.acknowledged_by == user and task.acknowledged_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WORKLIST_ACKNOWLEDGED,
                                     actor=user, object_id=str(task.pk)).exists()
    with pytest.raises(filing_services.FilingServiceError):
        filing_services.acknowledge_task(task_id=task.pk, by=user)


def test_other_teams_cannot_acknowledge(clinic):
    submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)
    services.file_submission(submission_id=submission.pk)
    outsider = UserFactory()
    CareTeamFactory(members=[outsider])
    with pytest.raises(PermissionDenied):
        filing_services.acknowledge_task(task_id=WorklistTask.objects.get().pk, by=outsider)
    assert WorklistTask.objects.get().acknowledged_at is None


def test_lost_notifications_are_swept(clinic):
    submission = submit_phq9(clinic, item9=PHQ9_SEVERAL_DAYS)
    services.file_submission(submission_id=submission.pk)  # on_commit never runs here
    WorklistTask.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    assert sweep_unnotified_worklist_tasks() == 1
    assert len(mail.outbox) == 1
    assert sweep_unnotified_worklist_tasks() == 0


def test_external_fhir_server_gets_the_response_once(clinic, fhir_destination):
    submission = submit_phq9(clinic)
    services.file_submission(submission_id=submission.pk)
    services.file_submission(submission_id=submission.pk)
    assert fhir_destination.creates == 1 and fhir_destination.requests == 1
    (posted,) = fhir_destination.by_identifier.values()
    assert posted["identifier"]["value"] == str(submission.pk)
    assert posted["resourceType"] == "QuestionnaireResponse"


@pytest.fixture
def eager_retries():
    """In-process tasks that retry in-process (Celery re-raises Retry when propagating)."""
    from config.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def test_server_errors_and_timeouts_retry_then_file_once(clinic, fhir_destination,
                                                         eager_retries):
    submission = submit_phq9(clinic)
    fhir_destination.fail_next("500", "timeout")
    file_submission_task.delay(str(submission.pk))  # eager: retries run at once

    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    assert submission.filing_attempts == 3  # two failed attempts, then the filing
    assert submission.last_error == ""
    assert fhir_destination.creates == 1
    assert RecordEntry.objects.filter(source_id=submission.pk).count() == 1


def test_a_refusal_stops_is_shown_and_can_be_filed_again(clinic, fhir_destination,
                                                         django_capture_on_commit_callbacks):
    user = clinic[0]
    submission = submit_phq9(clinic)
    fhir_destination.fail_next("422")
    file_submission_task.delay(str(submission.pk))

    submission.refresh_from_db()
    assert submission.state == Submission.State.FAILED
    assert submission.last_error == "The FHIR server refused the form (422): invalid"
    assert fhir_destination.requests == 1  # no retry of a refusal
    assert not RecordEntry.objects.filter(source_id=submission.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        filing_services.file_again(submission_id=submission.pk, by=user)
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FILING_REQUESTED,
                                     actor=user).exists()
    with pytest.raises(filing_services.FilingServiceError, match="already filed"):
        filing_services.file_again(submission_id=submission.pk, by=user)


def test_retries_give_up_as_failed(clinic, fhir_destination, settings, eager_retries):
    settings.FILING_MAX_RETRIES = 2
    submission = submit_phq9(clinic)
    fhir_destination.fail_next("500", "500", "500")
    file_submission_task.delay(str(submission.pk))
    submission.refresh_from_db()
    assert submission.state == Submission.State.FAILED
    assert submission.filing_attempts == 3
    assert submission.last_error == "The FHIR server answered 500"


def test_staff_are_alerted_while_a_submission_stays_unfiled(clinic, settings, caplog):
    settings.ADMINS = [("Support", "support@example.nhs.uk")]
    settings.FILING_ALERT_AFTER_MINUTES = 30
    assert alert_unfiled_submissions() == 0
    submission = submit_phq9(clinic)
    Submission.objects.filter(pk=submission.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(minutes=31))

    with caplog.at_level(logging.ERROR, logger="forms_app.filing.tasks"):
        assert alert_unfiled_submissions() == 1
    assert "1 submitted form(s) not filed after 30 minutes" in caplog.text
    (message,) = mail.outbox
    assert message.to == ["support@example.nhs.uk"]
    assert clinic[2].family_name not in message.body


def test_sweeper_re_enqueues_a_lost_filing_once_per_period(clinic, monkeypatch):
    from forms_app.tasks import sweep_unfiled_submissions

    enqueued = []
    monkeypatch.setattr(filing_services, "enqueue_filing", enqueued.append)
    submission = submit_phq9(clinic)  # its on_commit publish never ran: lost
    assert sweep_unfiled_submissions() == 0  # too recent: its task may still be queued
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    Submission.objects.filter(pk=submission.pk).update(submitted_at=long_ago)

    assert sweep_unfiled_submissions() == 1
    assert sweep_unfiled_submissions() == 0  # not again while it may still be queued
    Submission.objects.filter(pk=submission.pk).update(filing_swept_at=long_ago)
    assert sweep_unfiled_submissions() == 1
    assert enqueued == [submission.pk, submission.pk]
