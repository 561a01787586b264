"""Issue 14, finding 1 (HIGH): create-or-update by NHS number must never reach a patient
the client's team cannot see.

The probe: team A1's token and the NHS number of a patient known only to team A2 of the
same organisation answered 200, overwrote the name, date of birth and mobile, and added
the patient to A1. These tests are that attack, and the same from another organisation.
"""

import pytest

from forms_app.api import services as api_services
from patients.models import AuditEvent, Patient
from tests.factories.forms_app import api_client_for
from tests.factories.patients import PatientFactory, nhs_number_for
from tests.forms_app.api.conftest import api_for

pytestmark = pytest.mark.django_db

ATTACK = {"given_name": "Mallory", "family_name": "Taker", "date_of_birth": "1999-09-09",
          "mobile": "07700 900999", "email": "mallory@example.com"}
FRESH_NHS_NUMBER = nhs_number_for(4242)


def _snapshot(patient):
    patient = Patient.objects.get(pk=patient.pk)
    fields = {f.attname: getattr(patient, f.attname) for f in Patient._meta.concrete_fields}
    return fields, set(patient.care_teams.values_list("pk", flat=True))


def _attack(api, patient):
    return api.post("/api/v1/patients/", {**ATTACK, "nhs_number": patient.nhs_number},
                    format="json")


@pytest.fixture
def plain_api(world):
    """A client of the world's team that may not register patients (the default)."""
    _, token = api_client_for(world.team, name="Clinic system")
    return api_for(token)


@pytest.fixture
def apis(world, plain_api):
    return {"plain": plain_api, "registering": world.api}


@pytest.fixture
def other_org_patient(world):
    return PatientFactory(organisation=world.other_org_team.organisation,
                          care_teams=[world.other_org_team])


@pytest.mark.parametrize("kind", ["plain", "registering"])
def test_another_teams_patient_cannot_be_taken_over(world, apis, other_team_patient, kind):
    api = apis[kind]
    before = _snapshot(other_team_patient)
    audit_before = AuditEvent.objects.count()

    response = _attack(api, other_team_patient)

    assert response.status_code == {"plain": 404, "registering": 409}[kind], response.content
    body = response.content.decode()
    for value in (str(other_team_patient.pk), other_team_patient.family_name,
                  other_team_patient.given_name, str(other_team_patient.date_of_birth),
                  other_team_patient.mobile):
        assert value not in body
    assert _snapshot(other_team_patient) == before
    assert AuditEvent.objects.count() == audit_before
    assert api.get(f"/api/v1/patients/{other_team_patient.pk}/").status_code == 404


def test_a_plain_client_cannot_tell_another_teams_patient_from_nobody(
        plain_api, other_team_patient, other_org_patient):
    """A client that does not register patients gets one answer for every NHS number
    its team cannot see: held by another team, by another organisation, or by no one."""
    taken = _attack(plain_api, other_team_patient)
    foreign = _attack(plain_api, other_org_patient)
    nobody = plain_api.post("/api/v1/patients/", {**ATTACK, "nhs_number": FRESH_NHS_NUMBER},
                            format="json")
    assert taken.status_code == foreign.status_code == nobody.status_code == 404
    assert taken.json() == foreign.json() == nobody.json()
    assert taken.json()["errors"][0]["code"] == "patient_not_found"
    assert not Patient.objects.filter(nhs_number=FRESH_NHS_NUMBER).exists()


def test_a_plain_client_still_updates_its_own_teams_patient(world, plain_api):
    body = {"nhs_number": world.patient.nhs_number, "given_name": world.patient.given_name,
            "family_name": "Renamed", "date_of_birth": str(world.patient.date_of_birth)}
    response = plain_api.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 200
    world.patient.refresh_from_db()
    assert world.patient.family_name == "Renamed"


def test_another_organisations_patient_is_untouched(world, other_org_patient):
    """Organisations are separate namespaces: the same NHS number in another trust is
    another record, never reached; a registering client creates its own trust's."""
    before = _snapshot(other_org_patient)
    plain = _attack(world.other_team_api, other_org_patient)
    assert plain.status_code == 404
    assert _snapshot(other_org_patient) == before

    created = _attack(world.api, other_org_patient)
    assert created.status_code == 201
    assert created.json()["id"] != str(other_org_patient.pk)
    assert _snapshot(other_org_patient) == before
    assert Patient.objects.get(pk=created.json()["id"]).organisation == (
        world.team.organisation)


def test_a_registering_client_creates_a_patient_new_to_the_organisation(world):
    response = world.api.post("/api/v1/patients/", {**ATTACK, "nhs_number": FRESH_NHS_NUMBER},
                              format="json")
    assert response.status_code == 201
    patient = Patient.objects.get(nhs_number=FRESH_NHS_NUMBER)
    assert list(patient.care_teams.all()) == [world.team]


def test_the_service_refuses_without_the_view(world, other_team_patient):
    """The rule lives in the service, so no other caller can skip it."""
    from patients.services import PatientNotVisible, PatientRegisteredElsewhere, upsert_patient

    before = _snapshot(other_team_patient)
    for may_create, error in ((False, PatientNotVisible), (True, PatientRegisteredElsewhere)):
        with pytest.raises(error):
            upsert_patient(care_team=world.team, nhs_number=other_team_patient.nhs_number,
                           data={"family_name": "Taker"}, by=world.client.user,
                           may_create=may_create)
    assert _snapshot(other_team_patient) == before


def test_create_api_client_can_make_a_registering_client(world):
    client, _ = api_services.create_api_client(name="PAS feed", care_team=world.team,
                                               by="system", registers_patients=True)
    assert client.registers_patients
