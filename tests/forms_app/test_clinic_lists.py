# ruff: noqa: F811  (pytest fixtures imported from clinic_fixtures)
"""Clinic lists: the preview names every row's problem; issuing goes to the valid rows."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from forms_app import clinic_lists
from forms_app.models import ClinicList, DeliveryAttempt, Link
from forms_app.services import ServiceError
from tests.factories.patients import CareTeamFactory, PatientFactory, nhs_number_for
from tests.forms_app.clinic_fixtures import demo, staff_client  # noqa: F401

pytestmark = pytest.mark.django_db


def csv_file(text, name="clinic.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


@pytest.fixture
def people(demo):
    """Patients of the demo team: reachable, without a mobile, opted out, by hospital no."""
    team = demo[2]
    org = team.organisation
    return {
        "ok": PatientFactory(organisation=org, care_teams=[team], nhs_number=nhs_number_for(1)),
        "ok2": PatientFactory(organisation=org, care_teams=[team],
                              nhs_number=nhs_number_for(2), hospital_number="H0002"),
        "no_mobile": PatientFactory(organisation=org, care_teams=[team], mobile="",
                                    nhs_number=nhs_number_for(3)),
        "opted_out": PatientFactory(organisation=org, care_teams=[team], sms_opt_out=True,
                                    nhs_number=nhs_number_for(4)),
        "other_team": PatientFactory(organisation=org, care_teams=[CareTeamFactory(
            organisation=org)], nhs_number=nhs_number_for(5)),
    }


def every_kind_of_bad_row(people):
    return "\n".join([
        "NHS number,Hospital number,Appointment date,Clinic",
        f"{people['ok'].nhs_number},,2026-12-01,Cardiology",            # 2 ok
        ",H0002,01/12/2026,Cardiology",                                   # 3 ok, by hospital no
        "1234567890,,2026-12-01,Cardiology",                              # 4 invalid NHS number
        f"{nhs_number_for(99)},,2026-12-01,Cardiology",                   # 5 unknown patient
        f"{people['other_team'].nhs_number},,2026-12-01,Cardiology",      # 6 another team's
        ",H9999,2026-12-01,Cardiology",                                   # 7 unknown hospital no
        f"{people['no_mobile'].nhs_number},,2026-12-01,Cardiology",       # 8 no mobile
        f"{people['opted_out'].nhs_number},,2026-12-01,Cardiology",       # 9 opted out
        f"{people['ok'].nhs_number},,2026-12-01,Cardiology",              # 10 duplicate
        f"{people['ok2'].nhs_number},,2026-12-01,Cardiology",             # 11 duplicate of 3
        f"{people['no_mobile'].nhs_number},,31/02/2026,Cardiology",       # 12 bad date
        f"{people['no_mobile'].nhs_number},,,Cardiology",                 # 13 no date
        ",,2026-12-01,Cardiology",                                        # 14 no identifier
        "",                                                               # blank: skipped
    ])


def test_preview_names_every_rows_problem(demo, people):
    user, _, team, version = demo
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=csv_file(every_kind_of_bad_row(people)), version=version,
        care_team=team, channel="sms", expires_at=timezone.now() + datetime.timedelta(days=7))
    problems = dict(clinic_list.rows.values_list("row_number", "problem"))
    assert problems == {
        2: "", 3: "", 4: "invalid_nhs_number", 5: "unknown_patient", 6: "unknown_patient",
        7: "unknown_patient", 8: "no_contact", 9: "opted_out", 10: "duplicate",
        11: "duplicate", 12: "bad_date", 13: "bad_date", 14: "missing_identifier",
    }
    assert (clinic_list.total_rows, clinic_list.valid_rows) == (13, 2)
    assert not Link.objects.exists()  # a preview issues nothing


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"name,dob\nx,y\n", "must name the columns"),
    (b"nhs_number,appointment_date\n", "no rows"),
    ("nhs_number,appointment_date\n9434765919,2026-01-01\n".encode("utf-16"), "UTF-8"),
    # A field longer than the csv module reads, in the header and in a row.
    (b"x" * 200_000 + b"\n", "could not be read as CSV"),
    (b"nhs_number,appointment_date\n" + b"x" * 200_000 + b",2026-01-01\n",
     "could not be read as CSV"),
])
def test_a_file_that_is_not_a_clinic_list_is_refused_whole(demo, content, message):
    user, _, team, version = demo
    with pytest.raises(ServiceError, match=message):
        clinic_lists.create_clinic_list(
            by=user, upload=SimpleUploadedFile("x.csv", content), version=version,
            care_team=team, channel="sms",
            expires_at=timezone.now() + datetime.timedelta(days=7))
    assert not ClinicList.objects.exists()


def test_too_many_rows_are_refused(demo, settings):
    settings.CLINIC_LIST_MAX_ROWS = 3
    user, _, team, version = demo
    text = "nhs_number,appointment_date\n" + "9434765919,2026-01-01\n" * 4
    with pytest.raises(ServiceError, match="more than 3 rows"):
        clinic_lists.create_clinic_list(by=user, upload=csv_file(text), version=version,
                                        care_team=team, channel="sms",
                                        expires_at=timezone.now() + datetime.timedelta(days=7))


def test_upload_preview_issue_and_progress_through_the_pages(
        staff_client, demo, people, settings, django_capture_on_commit_callbacks):
    settings.CLINIC_LIST_BATCH = 1  # several batches, as a large list would take
    _, _, team, version = demo
    expires = (timezone.localdate() + datetime.timedelta(days=7)).strftime("%d/%m/%Y")
    response = staff_client.post(reverse("clinic:lists"), {
        "file": csv_file(every_kind_of_bad_row(people)), "version": version.pk,
        "care_team": team.pk, "channel": "sms", "expires_on": expires})
    assert response.status_code == 302
    clinic_list = ClinicList.objects.get()
    page = staff_client.get(response.url).content.decode()
    for text in ["Invalid NHS number", "Unknown patient", "No mobile number or email",
                 "Patient opted out", "Duplicate row", "Appointment date missing",
                 "No NHS number or hospital number", "Send to the 2 valid rows"]:
        assert text in page, text
    assert 'http-equiv="refresh"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("clinic:issue_list", args=[clinic_list.pk]))
    clinic_list.refresh_from_db()
    assert clinic_list.state == "done" and clinic_list.issued_rows == 2
    links = Link.objects.filter(patient__in=[people["ok"], people["ok2"]])
    assert links.count() == 2
    assert DeliveryAttempt.objects.filter(link__in=links, status="delivered").count() == 2
    page = staff_client.get(response.url).content.decode()
    assert "2 of 2 links issued" in page and "<progress" in page
    # A second click (or a redelivered task) issues nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("clinic:issue_list", args=[clinic_list.pk]))
    assert Link.objects.count() == 2


def test_progress_page_refreshes_while_issuing(staff_client, demo, people):
    user, _, team, version = demo
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=csv_file(every_kind_of_bad_row(people)), version=version,
        care_team=team, channel="sms", expires_at=timezone.now() + datetime.timedelta(days=7))
    clinic_lists.start_issuing(clinic_list=clinic_list, by=user)  # task not run yet
    page = staff_client.get(reverse("clinic:list", args=[clinic_list.pk])).content.decode()
    assert 'http-equiv="refresh"' in page and "0 of 2 links issued" in page


def test_upload_form_refuses_bad_input_without_writing(staff_client, demo):
    _, _, team, version = demo
    response = staff_client.post(reverse("clinic:lists"), {
        "file": csv_file("garbage"), "version": version.pk, "care_team": team.pk,
        "channel": "sms", "expires_on": "01/01/2001"})
    assert response.status_code == 400
    response = staff_client.post(reverse("clinic:lists"), {
        "file": csv_file("garbage"), "version": version.pk, "care_team": team.pk,
        "channel": "sms", "expires_on": "01/01/2099"})
    assert response.status_code == 400
    response = staff_client.post(reverse("clinic:lists"), {
        "file": csv_file("garbage"), "version": version.pk, "care_team": team.pk,
        "channel": "sms",
        "expires_on": (timezone.localdate() + datetime.timedelta(days=3)).strftime("%d/%m/%Y")})
    assert response.status_code == 400 and b"must name the columns" in response.content
    assert not ClinicList.objects.exists()


def test_another_teams_list_is_not_found(staff_client, demo):
    version = demo[3]
    other_team = CareTeamFactory(organisation=version.form.organisation)
    from tests.factories.patients import UserFactory

    other_user = UserFactory()
    other_team.members.add(other_user)
    clinic_list = ClinicList.objects.create(
        care_team=other_team, version=version, channel="sms", uploaded_by=other_user,
        expires_at=timezone.now() + datetime.timedelta(days=3))
    assert staff_client.get(reverse("clinic:list", args=[clinic_list.pk])).status_code == 404
    assert staff_client.post(reverse("clinic:issue_list",
                                     args=[clinic_list.pk])).status_code == 404


def _queued_list(demo, people):
    user, _, team, version = demo
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=csv_file(every_kind_of_bad_row(people)), version=version,
        care_team=team, channel="sms", expires_at=timezone.now() + datetime.timedelta(days=7))
    return user, clinic_list


def _broker_down(monkeypatch):
    from forms_app.delivery import tasks

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.issue_clinic_list_task, "apply_async", refuse)


def test_broker_down_at_issue_leaves_the_list_queued_not_an_error(
        demo, people, monkeypatch, django_capture_on_commit_callbacks):
    user, clinic_list = _queued_list(demo, people)
    _broker_down(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        clinic_lists.start_issuing(clinic_list=clinic_list, by=user)  # no exception
    clinic_list.refresh_from_db()
    assert clinic_list.state == ClinicList.State.QUEUED and clinic_list.queued_at


def test_the_sweeper_issues_a_list_left_queued(demo, people, monkeypatch, settings,
                                              django_capture_on_commit_callbacks):
    from forms_app.delivery import tasks

    user, clinic_list = _queued_list(demo, people)
    with monkeypatch.context() as broken:
        _broker_down(broken)
        with django_capture_on_commit_callbacks(execute=True):
            clinic_lists.start_issuing(clinic_list=clinic_list, by=user)
    # Not yet stalled: the sweeper leaves it (its task may just be waiting its turn).
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_queued_clinic_lists() == 0
    ClinicList.objects.filter(pk=clinic_list.pk).update(
        queued_at=timezone.now() - datetime.timedelta(
            minutes=settings.CLINIC_LIST_SWEEP_AFTER_MINUTES + 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_queued_clinic_lists() == 1
    clinic_list.refresh_from_db()
    assert clinic_list.state == ClinicList.State.DONE and clinic_list.issued_rows == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_queued_clinic_lists() == 0  # nothing left queued


def test_a_second_click_on_a_stalled_list_publishes_it_again(
        demo, people, monkeypatch, settings, django_capture_on_commit_callbacks):
    user, clinic_list = _queued_list(demo, people)
    with monkeypatch.context() as broken:
        _broker_down(broken)
        with django_capture_on_commit_callbacks(execute=True):
            clinic_lists.start_issuing(clinic_list=clinic_list, by=user)
    ClinicList.objects.filter(pk=clinic_list.pk).update(
        queued_at=timezone.now() - datetime.timedelta(
            minutes=settings.CLINIC_LIST_SWEEP_AFTER_MINUTES + 1))
    with django_capture_on_commit_callbacks(execute=True):
        clinic_lists.start_issuing(clinic_list=clinic_list, by=user)
    clinic_list.refresh_from_db()
    assert clinic_list.state == ClinicList.State.DONE


def test_the_sweeper_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "forms_app.delivery.tasks.sweep_queued_clinic_lists" in tasks


# --- Appointments from a clinic list (issue 13) -------------------------------------

def _issue_list(demo, text):
    user, _, team, version = demo
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=csv_file(text), version=version, care_team=team, channel="screen",
        expires_at=timezone.now() + datetime.timedelta(days=7))
    clinic_lists.start_issuing(clinic_list=clinic_list, by=user)
    while clinic_lists.issue_next_batch(clinic_list_id=clinic_list.pk, batch_size=10):
        pass
    return clinic_list


def test_each_issued_row_is_for_its_appointment(demo, people):
    from forms_app.models import Appointment

    today = timezone.localdate().isoformat()
    ok, ok2 = people["ok"], people["ok2"]
    _issue_list(demo, "nhs_number,appointment_date,clinic,appointment_time,location,"
                      "clinician,appointment_id\n"
                      f"{ok.nhs_number},{today},Pre-op Tue,09:30,Room 2,Dr Khan,E-1\n"
                      f"{ok2.nhs_number},{today},Pre-op Tue,,,,\n")
    first = Link.objects.select_related("appointment").get(patient=ok).appointment
    assert (first.clinic, first.location, first.clinician, first.external_id) == (
        "Pre-op Tue", "Room 2", "Dr Khan", "E-1")
    assert timezone.localtime(first.starts_at).strftime("%H:%M") == "09:30"
    second = Link.objects.select_related("appointment").get(patient=ok2).appointment
    assert second.clinic == "Pre-op Tue" and second.external_id == ""
    # A later list with the EHR's id updates that appointment instead of adding one.
    _issue_list(demo, "nhs_number,appointment_date,clinic,time,bed,appointment_id\n"
                      f"{ok.nhs_number},{today},Pre-op Tue,10:15,Room 5,E-1\n")
    assert Appointment.objects.filter(external_id="E-1").count() == 1
    first.refresh_from_db()
    assert first.location == "Room 5" and first.links.count() == 2


def test_bad_appointment_columns_are_the_rows_problem(demo, people):
    from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment

    user, _, team, version = demo
    upsert_appointment(care_team=team, patient=people["ok2"], by=user,
                       details=AppointmentDetails(external_id="TAKEN"))
    today = timezone.localdate().isoformat()
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=csv_file(
            "nhs_number,appointment_date,appointment_time,appointment_id\n"
            f"{people['ok'].nhs_number},{today},25:99,\n"
            f"{people['no_mobile'].nhs_number},{today},09:00,TAKEN\n"),
        version=version, care_team=team, channel="screen",
        expires_at=timezone.now() + datetime.timedelta(days=7))
    assert list(clinic_list.rows.values_list("problem", flat=True)) == [
        "bad_time", "appointment_id_reused"]
    assert clinic_list.valid_rows == 0
