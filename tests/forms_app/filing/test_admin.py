import pytest
from django.urls import reverse

from forms_app import services
from forms_app.filing.destinations import PermanentFilingError
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission, WorklistTask
from tests.factories.forms_app import (
    PHQ9_SEVERAL_DAYS,
    library_version,
    phq9_answers,
    submitted,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(otp_login, client):
    user, patient, team, _ = ensure_demo()
    version = library_version("phq9", organisation=team.organisation, by=user)
    return otp_login(client, user), user, patient, team, version


def test_failed_filing_shows_its_error_and_is_filed_again_from_the_admin(
        staff, django_capture_on_commit_callbacks):
    client, user, patient, team, version = staff
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers())
    services.record_filing_failure(
        submission_id=submission.pk,
        error=PermanentFilingError("The FHIR server refused the form (403)"))

    page = client.get(reverse("admin:forms_app_submission_changelist")).content.decode()
    assert "Filing failed" in page and "refused the form (403)" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:forms_app_submission_changelist"), {
            "action": "file_again", "_selected_action": [str(submission.pk)]})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED


def test_worklist_admin_lists_the_teams_tasks(staff):
    client, user, patient, team, version = staff
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    task = WorklistTask.objects.get()
    page = client.get(reverse("admin:forms_app_worklisttask_changelist")).content.decode()
    assert submission.reference in page

    client.post(reverse("admin:forms_app_worklisttask_changelist"), {
        "action": "acknowledge", "_selected_action": [str(task.pk)]})
    task.refresh_from_db()
    assert task.acknowledged_by == user
