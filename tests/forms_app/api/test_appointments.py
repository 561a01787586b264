"""Appointments from the EHR: created and updated by its own appointment id, scoped to
the client's team, and the links issued afterwards are for them."""

import datetime

import pytest
from django.utils import timezone

from forms_app.models import Appointment, Link
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db


def _day(days, hour=10, minute=30):
    day = timezone.now().date() + datetime.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00+00:00"


def _body(world, **overrides):
    return {"appointment_id": "EHR-APPT-1", "patient": str(world.patient.pk),
            "starts_at": _day(1), "clinic": "Pre-assessment Thu AM",
            "location": "Room 4", "clinician": "Dr A Khan", **overrides}


def test_create_then_update_by_the_ehr_id(world):
    response = world.api.post("/api/v1/appointments/", _body(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["appointment_id"] == "EHR-APPT-1" and body["clinic"] == "Pre-assessment Thu AM"
    response = world.api.post("/api/v1/appointments/",
                              _body(world, location="Room 6", starts_at=_day(1, 11, 0)),
                              format="json")
    assert response.status_code == 200, response.json()
    appointment = Appointment.objects.get()
    assert appointment.location == "Room 6" and appointment.starts_at.hour == 11
    assert appointment.care_team == world.team and appointment.patient == world.patient
    assert AuditEvent.objects.filter(action=AuditEvent.Action.APPOINTMENT_SET).count() == 2
    listed = world.api.get("/api/v1/appointments/", {"appointment_id": "EHR-APPT-1"}).json()
    assert [a["id"] for a in listed["results"]] == [appointment.pk]
    assert world.api.get(f"/api/v1/appointments/{appointment.pk}/").status_code == 200


def test_another_team_neither_sees_nor_reuses_it(world, other_team_patient):
    world.api.post("/api/v1/appointments/", _body(world), format="json")
    appointment = Appointment.objects.get()
    assert world.other_team_api.get(f"/api/v1/appointments/{appointment.pk}/").status_code == 404
    assert world.other_team_api.get("/api/v1/appointments/").json()["results"] == []
    # The same EHR id in another team is another appointment, of that team's patient only.
    response = world.other_team_api.post("/api/v1/appointments/", _body(world), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["attr"] == "patient"
    response = world.other_team_api.post(
        "/api/v1/appointments/", _body(world, patient=str(other_team_patient.pk)), format="json")
    assert response.status_code == 201
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(("field", "value"), [
    ("starts_at", "naive"),  # no time zone: DRF reads it in the server's zone
    ("starts_at", "tomorrow"),
    ("starts_at", "2099-01-01T10:00:00Z"),  # beyond two years
    ("location", "x" * 41),
    ("appointment_id", ""),
    ("patient", "not-a-uuid"),
])
def test_bad_input_changes_nothing(world, field, value):
    if value == "naive":
        value = _day(1)[:-6]
    response = world.api.post("/api/v1/appointments/", _body(world, **{field: value}),
                              format="json")
    if field == "starts_at" and len(value) == 19:
        assert response.status_code == 201  # a naive time is taken in the server's zone
        return
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == field
    assert not Appointment.objects.exists()


def test_an_ehr_id_names_one_patient(world, other_team_patient):
    world.api.post("/api/v1/appointments/", _body(world), format="json")
    other_team_patient.care_teams.add(world.team)
    response = world.api.post("/api/v1/appointments/",
                              _body(world, patient=str(other_team_patient.pk)), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "appointment_id"
    assert Appointment.objects.get().patient == world.patient


def test_a_link_is_for_the_named_appointment_or_the_next_one(world):
    world.api.post("/api/v1/appointments/", _body(world), format="json")
    later = _body(world, appointment_id="EHR-APPT-2", starts_at=_day(8, 9, 0))
    world.api.post("/api/v1/appointments/", later, format="json")
    issue = {"patient": str(world.patient.pk), "form": str(world.version.form_id)}
    response = world.api.post("/api/v1/links/", {**issue, "appointment": "EHR-APPT-2"},
                              format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["appointment"] == "EHR-APPT-2"
    response = world.api.post("/api/v1/links/", issue, format="json")
    assert response.json()["appointment"] == "EHR-APPT-1"  # the next one
    response = world.api.post("/api/v1/links/", {**issue, "appointment": "NOPE"},
                              format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "appointment"
    assert Link.objects.count() == 2
