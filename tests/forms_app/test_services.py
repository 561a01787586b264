import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app import services
from forms_app.management.demo_data import DEMO_PATIENT_DOB, ensure_demo
from forms_app.models import FormVersion, Item, Link, Submission, hash_token
from forms_app.selectors import find_link_by_token
from patients.models import AuditEvent, RecordEntry
from tests.factories.forms_app import FormFactory, ItemFactory
from tests.factories.patients import CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    user, patient, team, version = ensure_demo()
    return user, patient, team, version


def test_publish_freezes_a_valid_fhir_questionnaire(demo):
    _user, _, _, version = demo
    assert version.number == 1
    Questionnaire.model_validate(version.definition)
    assert [item["linkId"] for item in version.definition["item"]] == [
        "about-you", "your-health", "anything-else"]
    symptoms = version.definition["item"][1]["item"][2]
    assert symptoms["type"] == "choice" and symptoms["repeats"] is True


def test_published_version_is_immutable(demo):
    version = demo[3]
    version.title = "Changed"
    with pytest.raises(PermissionError):
        version.save()


def test_editing_the_draft_does_not_change_a_published_version(demo):
    user, _, _, version = demo
    item = version.form.items.get(link_id="smoker")
    item.text = "Do you smoke or vape?"
    item.save()
    assert FormVersion.objects.get(pk=version.pk).definition["item"][1]["item"][0]["text"] == (
        "Do you smoke?")
    second = services.publish_form(form=version.form, by=user)
    assert second.number == 2
    assert second.definition["item"][1]["item"][0]["text"] == "Do you smoke or vape?"


def test_publishing_an_invalid_draft_is_refused_with_reasons(demo):
    user = demo[0]
    form = FormFactory()
    ItemFactory(form=form, link_id="colour", type=Item.Type.CHOICE)  # no options
    ItemFactory(form=form, link_id="empty-page", type=Item.Type.GROUP)
    with pytest.raises(ValidationError) as caught:
        services.publish_form(form=form, by=user)
    text = " ".join(caught.value.messages)
    assert "colour" in text and "empty-page" in text
    assert not FormVersion.objects.filter(form=form).exists()


def test_issue_link_stores_only_the_token_hash(demo):
    user, patient, team, version = demo
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    link = Link.objects.get(pk=issued.link.pk)
    assert link.token_hash == hash_token(issued.token)
    assert issued.token not in link.token_hash
    assert len(issued.token) >= 43
    assert AuditEvent.objects.filter(action="link.issued", object_id=str(link.pk)).count() == 1


def test_issue_link_refuses_a_team_of_another_organisation(demo):
    user, patient, _, version = demo
    with pytest.raises(services.ServiceError):
        services.issue_link(version=version, patient=patient, care_team=CareTeamFactory(),
                            by=user)
    assert not Link.objects.exists()


def test_token_lookup(demo):
    user, patient, team, version = demo
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    assert find_link_by_token(issued.token) == issued.link
    assert find_link_by_token(issued.token + "x") is None
    assert find_link_by_token("") is None
    assert find_link_by_token("a" * 5000) is None
    Link.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now())
    assert find_link_by_token(issued.token) is None
    Link.objects.filter(pk=issued.link.pk).update(
        expires_at=timezone.now() + datetime.timedelta(days=1), revoked_at=timezone.now())
    assert find_link_by_token(issued.token) is None


def test_identity_check_counts_failures_and_locks(demo, settings):
    user, patient, team, version = demo
    link = services.issue_link(version=version, patient=patient, care_team=team, by=user).link
    wrong = datetime.date(1990, 1, 1)
    for _ in range(settings.LINK_MAX_FAILED_CHECKS - 1):
        assert services.verify_identity(link_id=link.pk, date_of_birth=wrong) == "wrong"
    assert services.verify_identity(link_id=link.pk, date_of_birth=wrong) == "locked"
    # Locked: even the right date of birth is refused until the lock ends.
    assert services.verify_identity(link_id=link.pk, date_of_birth=DEMO_PATIENT_DOB) == "locked"
    assert not Submission.objects.filter(link=link).exists()
    Link.objects.filter(pk=link.pk).update(locked_until=timezone.now())
    assert services.verify_identity(link_id=link.pk, date_of_birth=DEMO_PATIENT_DOB) == (
        "verified")
    assert Submission.objects.filter(link=link).count() == 1


def _submitted(demo, django_capture_on_commit_callbacks=None):
    user, patient, team, version = demo
    link = services.issue_link(version=version, patient=patient, care_team=team, by=user).link
    services.verify_identity(link_id=link.pk, date_of_birth=DEMO_PATIENT_DOB)
    answers = {"height-cm": 168, "weight-kg": "61.5", "smoker": False,
               "general-health": "good", "symptoms": ["dizzy"], "notes": "Hello"}
    return services.submit(submission_id=link.submission.pk, answers=answers)


def test_submit_stores_answers_and_enqueues_filing_on_commit(
        demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submission = _submitted(demo)
    # Submit wakes the filing workers once; filing (in-process here) adds its own.
    assert callbacks[0] is services.wake_filing
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED  # the task ran in-process
    assert submission.answers["general-health"] == "good"
    assert submission.wizard_state is None


def test_submit_twice_is_refused(demo):
    submission = _submitted(demo)
    with pytest.raises(services.AlreadySubmitted):
        services.submit(submission_id=submission.pk, answers={})


def test_filing_twice_files_once(demo):
    submission = _submitted(demo)
    first = services.file_submission(submission_id=submission.pk)
    second = services.file_submission(submission_id=submission.pk)
    assert first == second
    assert RecordEntry.objects.filter(source_id=submission.pk).count() == 1
    assert AuditEvent.objects.filter(action="submission.filed").count() == 1
    submission.refresh_from_db()
    assert submission.state == Submission.State.FILED


def test_filed_record_is_a_valid_questionnaire_response(demo):
    submission = _submitted(demo)
    entry = services.file_submission(submission_id=submission.pk)
    response = QuestionnaireResponse.model_validate(entry.resource)
    assert response.status == "completed"
    assert entry.resource["subject"]["identifier"]["value"] == demo[1].nhs_number
    pages = {item["linkId"]: item for item in entry.resource["item"]}
    health = {item["linkId"]: item for item in pages["your-health"]["item"]}
    assert health["general-health"]["answer"][0]["valueCoding"]["code"] == "good"
    assert health["smoker"]["answer"][0]["valueBoolean"] is False


def test_filing_an_unsubmitted_form_is_refused(demo):
    user, patient, team, version = demo
    link = services.issue_link(version=version, patient=patient, care_team=team, by=user).link
    services.verify_identity(link_id=link.pk, date_of_birth=DEMO_PATIENT_DOB)
    with pytest.raises(services.ServiceError):
        services.file_submission(submission_id=link.submission.pk)
    assert not RecordEntry.objects.exists()


def test_filing_failure_is_recorded_without_patient_data(demo):
    submission = _submitted(demo)
    services.record_filing_failure(submission_id=submission.pk,
                                   error=ValueError("Sal is 168cm"))
    submission.refresh_from_db()
    assert submission.state == Submission.State.FAILED
    assert submission.last_error == "ValueError"


def test_issue_link_for_patient_of_another_organisation_is_refused(demo):
    user, _, team, version = demo
    with pytest.raises(services.ServiceError):
        services.issue_link(version=version, patient=PatientFactory(), care_team=team, by=user)
