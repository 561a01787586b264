"""Whiteboards fed by appointments: shown, sorted, filtered to a clinic session; an
acknowledged urgent form no longer counts as urgent."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.filing.services import acknowledge_task
from forms_app.models import Appointment, WorklistTask
from forms_app.whiteboard import selectors
from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, library_version, phq9_answers, submitted
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db


def _at(hour):
    return timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)


def _booked(team, user, version, clinic, hour, **details):
    patient = PatientFactory(organisation=team.organisation, care_teams=[team])
    appointment, _ = upsert_appointment(care_team=team, patient=patient, by=user,
                                        details=AppointmentDetails(clinic=clinic,
                                                                   starts_at=_at(hour),
                                                                   **details))
    link = services.issue_link(version=version, patient=patient, care_team=team,
                               by=user).link
    assert link.appointment == appointment  # the patient's next appointment
    return link


def test_rows_show_and_sort_by_appointment_and_filter_to_a_session(demo, client, otp_login):
    user, _, team, version = demo
    late = _booked(team, user, version, "Ward 7", 15, location="Bed 4")
    early = _booked(team, user, version, "Pre-op Tue", 9, clinician="Dr Khan")
    board = selectors.build_board(team=team)
    assert [row.link_id for row in board.rows][:2] == [str(early.pk), str(late.pk)]
    assert board.clinics == ["Pre-op Tue", "Ward 7"]
    by_clinic = selectors.build_board(team=team, clinic="Ward 7")
    assert [row.link_id for row in by_clinic.rows] == [str(late.pk)]
    assert by_clinic.rows[0].location == "Bed 4"
    otp_login(client, user)
    url = reverse("whiteboard:board", args=[team.pk])
    html = client.get(url, {"clinic": "Pre-op Tue"}).content.decode()
    assert "Dr Khan" in html and "09:00" in html and "Bed 4" not in html
    assert '<option value="Pre-op Tue" selected>' in html
    data = client.get(reverse("whiteboard:data", args=[team.pk]), {"clinic": "Ward 7"}).json()
    assert data["clinic"] == "Ward 7" and [r["location"] for r in data["rows"]] == ["Bed 4"]
    assert client.get(url, {"clinic": "x" * 101}).status_code == 400


def test_an_acknowledged_task_is_no_longer_urgent(demo, client, otp_login, settings):
    settings.WHITEBOARD_CACHE_SECONDS = 0
    user, patient, team, _ = demo
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.save(update_fields=["first_name", "last_name"])
    version = library_version("phq9", organisation=team.organisation, by=user)
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    board = selectors.build_board(team=team)
    assert board.counts["urgent"] == 1 and board.rows[0].urgent
    acknowledge_task(task_id=WorklistTask.objects.get().pk, by=user)
    board = selectors.build_board(team=team)
    row = board.rows[0]
    assert board.counts["urgent"] == 0 and not row.urgent and row.flags
    assert row.acknowledged_by == "Ada Lovelace" and row.acknowledged_at is not None
    otp_login(client, user)
    html = client.get(reverse("whiteboard:board", args=[team.pk])).content.decode()
    assert "wb-row--urgent" not in html and "Acknowledged by Ada Lovelace at" in html
    worklist = client.get(reverse("worklist:list")).content.decode()
    assert "Ada Lovelace" in worklist


def test_appointment_service_is_idempotent_and_refuses_bad_input(demo):
    from forms_app.services import ServiceError

    user, patient, team, _ = demo
    details = AppointmentDetails(external_id="X1", clinic="A", starts_at=_at(9))
    first, created = upsert_appointment(care_team=team, patient=patient, by=user,
                                        details=details)
    again, created_again = upsert_appointment(care_team=team, patient=patient, by=user,
                                              details=details)
    assert created and not created_again and first.pk == again.pk
    for bad in (AppointmentDetails(starts_at=datetime.datetime(2026, 1, 1, 9)),
                AppointmentDetails(location="x" * 41)):
        with pytest.raises(ServiceError):
            upsert_appointment(care_team=team, patient=patient, by=user, details=bad)
    assert Appointment.objects.count() == 1


def test_acknowledging_shows_on_the_next_load_of_a_cached_board(
        demo, client, otp_login, settings, django_capture_on_commit_callbacks):
    settings.WHITEBOARD_CACHE_SECONDS = 300  # a change must not wait for the cache
    user, patient, team, _ = demo
    version = library_version("phq9", organisation=team.organisation, by=user)
    submission = submitted(version, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    otp_login(client, user)
    url = reverse("whiteboard:board", args=[team.pk])
    assert "wb-row--urgent" in client.get(url).content.decode()  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_task(task_id=WorklistTask.objects.get().pk, by=user)
    html = client.get(url).content.decode()
    assert "wb-row--urgent" not in html and "Acknowledged by" in html
    data = client.get(reverse("whiteboard:data", args=[team.pk])).json()
    assert data["counts"]["urgent"] == 0
