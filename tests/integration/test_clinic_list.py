"""A 5,000-row clinic list issued and delivered through a real Celery worker."""

import datetime
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from forms_app import clinic_lists
from forms_app.management.demo_data import ensure_demo
from forms_app.models import ClinicList, DeliveryAttempt, Link
from patients.models import Patient
from tests.factories.patients import nhs_number_for
from tests.integration.conftest import broker_idle, wait_for

pytestmark = pytest.mark.integration

ROWS = 5000


@pytest.mark.timeout(900)
def test_a_5000_row_list_is_issued_and_sent_by_a_real_worker(celery_worker_process):
    user, _, team, version = ensure_demo()
    patients = Patient.objects.bulk_create(
        Patient(organisation=team.organisation, nhs_number=nhs_number_for(10_000 + i),
                given_name="Test", family_name=f"Patient{i}",
                date_of_birth=datetime.date(1970, 1, 1), mobile="07700900000")
        for i in range(ROWS))
    Patient.care_teams.through.objects.bulk_create(
        Patient.care_teams.through(patient_id=p.pk, careteam_id=team.pk) for p in patients)
    text = "nhs_number,appointment_date,clinic\n" + "".join(
        f"{p.nhs_number},2026-12-01,Cardiology\n" for p in patients)

    started = time.monotonic()
    clinic_list = clinic_lists.create_clinic_list(
        by=user, upload=SimpleUploadedFile("big.csv", text.encode()), version=version,
        care_team=team, channel="sms", expires_at=timezone.now() + datetime.timedelta(days=7))
    preview_seconds = time.monotonic() - started
    assert clinic_list.valid_rows == ROWS

    started = time.monotonic()
    clinic_lists.start_issuing(clinic_list=clinic_list, by=user)
    seen_progress = set()

    def done():
        state = ClinicList.objects.values_list("state", "issued_rows").get(pk=clinic_list.pk)
        seen_progress.add(state[1])
        return state[0] == ClinicList.State.DONE

    wait_for(done, timeout=600, interval=0.5, what="the list to be issued")
    issued_seconds = time.monotonic() - started
    wait_for(lambda: not DeliveryAttempt.objects.filter(status="pending").exists(),
             timeout=600, interval=1, what="every message to be sent")
    sent_seconds = time.monotonic() - started
    wait_for(broker_idle, timeout=60, what="the queue to drain")

    clinic_list.refresh_from_db()
    assert clinic_list.issued_rows == ROWS and clinic_list.failed_rows == 0
    assert Link.objects.filter(clinic_list_row__clinic_list=clinic_list).count() == ROWS
    assert DeliveryAttempt.objects.filter(status="delivered").count() == ROWS  # console
    # The progress bar moved through intermediate counts, batch by batch.
    assert len(seen_progress - {0, ROWS}) >= 2
    assert celery_worker_process.poll() is None, "the worker died"
    print(f"\n5,000-row clinic list: preview {preview_seconds:.1f}s, all links issued "
          f"{issued_seconds:.1f}s, all messages sent {sent_seconds:.1f}s after 'send'")
