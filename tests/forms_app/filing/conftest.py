import pytest

from tests.factories.forms_app import library_version
from tests.factories.patients import CareTeamFactory, PatientFactory, UserFactory
from tests.forms_app.filing.fake_fhir import FakeFhirServer


@pytest.fixture
def clinic(db):
    """A care team with one member, a patient of it, and a published PHQ-9."""
    user = UserFactory(email="clinician@example.nhs.uk")
    team = CareTeamFactory(members=[user])
    patient = PatientFactory(organisation=team.organisation, care_teams=[team])
    version = library_version("phq9", organisation=team.organisation, by=user)
    return user, team, patient, version


@pytest.fixture
def fake_fhir():
    with FakeFhirServer(slow_seconds=1.5) as server:
        yield server


@pytest.fixture
def fhir_destination(settings, fake_fhir):
    settings.FILING_DESTINATIONS = ["internal", "fhir"]
    settings.FHIR_SERVER_BASE_URL = fake_fhir.url
    settings.FHIR_SERVER_TIMEOUT_SECONDS = 0.5
    settings.FHIR_SERVER_USERNAME = "forms"
    settings.FHIR_SERVER_PASSWORD = "s3cret"
    return fake_fhir
