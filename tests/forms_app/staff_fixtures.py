"""A clinician with a filed, urgently flagged PHQ-9 (import the fixtures you use)."""

import pytest

from forms_app import services
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, library_version, phq9_answers, submitted
from tests.factories.patients import CareTeamFactory, PatientFactory, UserFactory


@pytest.fixture
def phq9_clinic(db, settings):
    """(user, team, patient, version): a care team member, their patient, a PHQ-9."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(email="clinician@example.nhs.uk", first_name="Ada",
                       last_name="Lovelace")
    team = CareTeamFactory(members=[user], name="Memory clinic")
    patient = PatientFactory(organisation=team.organisation, care_teams=[team],
                             nhs_number="9434765919")
    version = library_version("phq9", organisation=team.organisation, by=user)
    return user, team, patient, version


@pytest.fixture
def filed_urgent(phq9_clinic):
    """A submitted and filed PHQ-9 whose item 9 raises an urgent flag."""
    user, team, patient, version = phq9_clinic
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    submission.refresh_from_db()
    return submission
