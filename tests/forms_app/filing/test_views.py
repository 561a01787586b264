import pytest
from django.test import Client
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission, WorklistTask
from patients.models import AuditEvent
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, phq9_answers, submitted
from tests.factories.patients import CareTeamFactory, PatientFactory, UserFactory
from tests.forms_app.filing.test_pdf import pdf_text
from tests.forms_app.journey import complete_demo_journey


@pytest.fixture
def flagged(clinic):
    user, team, patient, version = clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    return WorklistTask.objects.get(submission=submission)


def test_worklist_needs_a_verified_second_factor(client, clinic, flagged):
    response = client.get(reverse("worklist:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("account:login"))
    client.force_login(clinic[0])  # password only: the one staff guard, to the next step
    response = client.get(reverse("worklist:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("account:enrol"))


def test_worklist_shows_the_teams_flagged_forms_and_who_acknowledged(client, otp_login,
                                                                     clinic, flagged):
    user, _team, patient, _version = clinic
    otp_login(client, user)
    page = client.get(reverse("worklist:list")).content.decode()
    assert str(patient) in page and flagged.submission.reference in page
    assert "thoughts of being better off dead" in page

    response = client.post(reverse("worklist:acknowledge", args=[flagged.pk]))
    assert response.status_code == 302
    page = client.get(reverse("worklist:list")).content.decode()
    assert "Task acknowledged." in page
    assert "Nothing is waiting." in page
    assert user.get_username() in page
    flagged.refresh_from_db()
    assert flagged.acknowledged_by == user


def test_worklist_is_scoped_to_the_users_teams(client, otp_login, clinic, flagged):
    outsider = UserFactory()
    other_team = CareTeamFactory(organisation=clinic[1].organisation, members=[outsider])
    other_patient = PatientFactory(organisation=other_team.organisation,
                                   care_teams=[other_team])
    otp_login(client, outsider)
    page = client.get(reverse("worklist:list")).content.decode()
    assert str(clinic[2]) not in page
    assert str(other_patient) not in page
    assert client.post(reverse("worklist:acknowledge", args=[flagged.pk])).status_code == 403
    flagged.refresh_from_db()
    assert flagged.acknowledged_at is None


def test_patient_can_download_the_pdf_of_what_they_just_sent(db):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    client = Client()
    complete_demo_journey(client, issued.token)

    page = client.get(reverse("patient:confirmation")).content.decode()
    url = reverse("patient:confirmation_pdf")
    assert url in page and "Download a copy of your answers" in page
    response = client.get(url)
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    submission = Submission.objects.get(link=issued.link)
    text = pdf_text(response.content)
    assert submission.reference in text and "I use a wheelchair." in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_DOWNLOADED,
                                     object_id=str(submission.pk)).exists()
    # Another browser (no session) gets nothing, whatever it asks for.
    other = Client().get(url)
    assert other.status_code == 302 and other["Content-Type"] != "application/pdf"
