import pytest
from django.test import Client

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from patients.models import RecordEntry
from tests.forms_app.journey import complete_demo_journey
from tests.integration.conftest import broker_idle, wait_for

pytestmark = pytest.mark.integration


def test_patient_journey_is_filed_by_a_real_worker(celery_worker_process):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)

    complete_demo_journey(Client(), issued.token)

    submission = Submission.objects.get(link=issued.link)
    wait_for(lambda: RecordEntry.objects.filter(source_id=submission.pk).exists(),
             what="the worker to file the submission")
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED
    assert RecordEntry.objects.filter(source_id=submission.pk).count() == 1
    entry = RecordEntry.objects.get(source_id=submission.pk)
    assert entry.resource["resourceType"] == "QuestionnaireResponse"
    assert celery_worker_process.poll() is None, "the worker died"


def test_the_same_filing_task_twice_files_once(celery_worker_process):
    from forms_app.tasks import file_submission_task

    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    complete_demo_journey(Client(), issued.token)
    submission = Submission.objects.get(link=issued.link)
    for _ in range(3):
        file_submission_task.delay(str(submission.pk))
    wait_for(lambda: Submission.objects.get(pk=submission.pk).filing_attempts >= 1,
             what="filing")
    wait_for(broker_idle, what="every duplicate delivery to run")
    assert RecordEntry.objects.filter(source_id=submission.pk).count() == 1
