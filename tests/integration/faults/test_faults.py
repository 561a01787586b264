"""Every fault leaves the record with every submitted form exactly once."""

import json
import os
import signal
import time

import pytest
import redis
from django.test import Client
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from forms_app.tasks import file_submission_task
from patients.models import RecordEntry
from tests.factories.forms_app import library_version, phq9_answers, submitted
from tests.forms_app.filing.fake_fhir import FakeFhirServer
from tests.forms_app.journey import answer_all, open_and_verify
from tests.integration.faults.conftest import (
    Workers,
    elapsed,
    record_counts,
    record_outcome,
    run_driver,
    shared_db_counts,
    wait_until,
)

pytestmark = pytest.mark.integration

# Sweep quickly in these tests; production sweeps every 120 s for filings older than 5 min.
FAST_SWEEP = {"FILING_SWEEP_INTERVAL_SECONDS": "1", "FILING_SWEEP_AFTER_MINUTES": "0.05"}
# With a queue of 48 still to run, a re-enqueue every few seconds would only add no-ops.
SLOWER_SWEEP = {"FILING_SWEEP_INTERVAL_SECONDS": "2", "FILING_SWEEP_AFTER_MINUTES": "0.2"}


def phq9_clinic():
    user, patient, team, _ = ensure_demo()
    return user, patient, team, library_version("phq9", organisation=team.organisation,
                                                by=user)


def submit_phq9(clinic, count=1):
    user, patient, team, version = clinic
    return [submitted(version, patient=patient, care_team=team, by=user,
                      answers=phq9_answers()) for _ in range(count)]


def all_filed(count):
    return lambda: Submission.objects.filter(state=Submission.State.FILED).count() >= count


def broker_idle(url):
    client = redis.Redis.from_url(url)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def test_broker_down_at_submit(broker, workers):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    client = Client()
    open_and_verify(client, issued.token)
    answer_all(client)
    broker.stop()

    started = time.monotonic()
    response = client.post(reverse("patient:check"))
    took = time.monotonic() - started
    assert response.status_code == 302 and response.url == reverse("patient:confirmation")
    assert took < 3, f"the patient's submit took {took:.1f}s with the broker down"
    submission = Submission.objects.get(link=issued.link)
    assert submission.state == Submission.State.SUBMITTED

    broker.start()
    workers.start("sweeper", beat=True, **FAST_SWEEP)
    wait_until(all_filed(1), timeout=60, what="the sweeper to file it")
    submitted_n, filed, duplicates, _ = shared_db_counts()
    assert (submitted_n, filed, duplicates) == (1, 1, 0)
    record_outcome("broker stopped before submit", submitted=submitted_n, filed=filed,
                   duplicates=duplicates, note=f"submit answered in {took:.2f}s; "
                   "filed by the sweeper after the broker restarted")


def test_worker_child_killed_mid_filing(broker, workers, hooks):
    with FakeFhirServer() as fake:
        worker = workers.start("a", concurrency=1, FILING_DESTINATIONS="internal,fhir",
                               FHIR_SERVER_BASE_URL=fake.url)
        hooks.block("after-destinations")
        (_submission,) = submit_phq9(phq9_clinic())
        wait_until(lambda: hooks.reached("after-destinations"), timeout=60,
                   what="filing to reach the pause after the external POST")
        (child,) = hooks.reached("after-destinations")
        assert child in Workers.children(worker)
        os.kill(child, signal.SIGKILL)
        hooks.release("after-destinations")

        wait_until(all_filed(1), timeout=60, what="the redelivered task to file it")
        assert worker.poll() is None
        submitted_n, filed, duplicates, _ = shared_db_counts()
        assert (submitted_n, filed, duplicates) == (1, 1, 0)
        # The killed child had POSTed; the retry POSTed again and created nothing.
        assert (fake.requests, fake.creates) == (2, 1)
    record_outcome("worker child SIGKILLed mid-filing (after the external POST)",
                   submitted=submitted_n, filed=filed, duplicates=duplicates,
                   note=f"external creates: {fake.creates} of {fake.requests} POSTs")


def test_whole_worker_killed_with_50_queued(broker, workers, hooks):
    worker = workers.start("a", concurrency=2)
    hooks.block("before-lock")
    submit_phq9(phq9_clinic(), count=50)
    wait_until(lambda: len(hooks.reached("before-lock")) >= 2, timeout=60,
               what="both worker children to take a task")
    Workers.kill_whole(worker)
    hooks.release("before-lock")
    assert Submission.objects.filter(state=Submission.State.FILED).count() == 0

    started = time.monotonic()
    workers.start("b", concurrency=2, beat=True, **SLOWER_SWEEP)
    wait_until(all_filed(50), timeout=120, what="the restarted worker to file all 50")
    submitted_n, filed, duplicates, _ = shared_db_counts()
    assert (submitted_n, filed, duplicates) == (50, 50, 0)
    record_outcome("whole worker SIGKILLed with 50 queued", submitted=submitted_n,
                   filed=filed, duplicates=duplicates,
                   note=f"all filed {elapsed(started)}s after restart (queue + sweeper)")


def test_same_task_delivered_twice_to_two_workers(broker, workers, hooks):
    first = workers.start("a", concurrency=1)
    second = workers.start("b", concurrency=1)
    hooks.block("before-lock")
    (submission,) = submit_phq9(phq9_clinic())       # enqueued on commit
    file_submission_task.delay(str(submission.pk))   # and delivered again
    wait_until(lambda: len(hooks.reached("before-lock")) == 2, timeout=60,
               what="both workers to start the same filing")
    pids = set(hooks.reached("before-lock"))
    assert pids & set(Workers.children(first)) and pids & set(Workers.children(second))
    hooks.release("before-lock")

    wait_until(all_filed(1), timeout=60, what="filing")
    wait_until(lambda: broker_idle(broker.url), timeout=60, what="both deliveries to finish")
    submitted_n, filed, duplicates, _ = shared_db_counts()
    assert (submitted_n, filed, duplicates) == (1, 1, 0)
    submission.refresh_from_db()
    assert submission.filing_attempts == 1  # the second found it filed and did nothing
    record_outcome("same task run concurrently by two workers", submitted=submitted_n,
                   filed=filed, duplicates=duplicates, note="row lock: second run a no-op")


def test_external_fhir_server_500_then_timeout_then_success(broker, workers):
    with FakeFhirServer(slow_seconds=2.5) as fake:
        fake.fail_next("500", "timeout")
        workers.start("a", concurrency=1, FILING_DESTINATIONS="internal,fhir",
                      FHIR_SERVER_BASE_URL=fake.url, FHIR_SERVER_TIMEOUT_SECONDS="1")
        (submission,) = submit_phq9(phq9_clinic())
        wait_until(all_filed(1), timeout=60, what="filing after two failures")
        submitted_n, filed, duplicates, _ = shared_db_counts()
        assert (submitted_n, filed, duplicates) == (1, 1, 0)
        assert (fake.requests, fake.creates) == (3, 1)
        submission.refresh_from_db()
        assert submission.filing_attempts == 3 and submission.last_error == ""
        # The PDF is rendered by its own task once the filing has committed.
        wait_until(lambda: RecordEntry.objects.get(source_id=submission.pk).attachments,
                   timeout=30, what="the PDF to be attached")
    record_outcome("external FHIR server: 500, timeout, then success",
                   submitted=submitted_n, filed=filed, duplicates=duplicates,
                   note=f"{fake.requests} POSTs, {fake.creates} created")


def cluster_counts(cluster):
    with cluster.connect() as conn, conn.cursor() as cursor:
        return record_counts(cursor)


def test_postgresql_restarted_while_filing(private_cluster, broker, workers, hooks):
    before = cluster_counts(private_cluster)
    run_driver(private_cluster.url, broker.url, "seed", 20)
    worker = workers.start("a", concurrency=2, DATABASE_URL=private_cluster.url)
    hooks.block("after-destinations")
    run_driver(private_cluster.url, broker.url, "submit", 4)
    wait_until(lambda: len(hooks.reached("after-destinations")) >= 2, timeout=60,
               what="two filings in flight")
    private_cluster.restart()
    hooks.release("after-destinations")

    target = before[1] + 20
    wait_until(lambda: cluster_counts(private_cluster)[1] >= target, timeout=120,
               what="every submission filed after the restart")
    wait_until(lambda: cluster_counts(private_cluster)[3].get("submitted", 0) == 0,
               timeout=30, what="no submission left unfiled")
    assert worker.poll() is None, "the worker had to be restarted"
    submitted_n, filed, duplicates, _ = cluster_counts(private_cluster)
    assert (submitted_n - before[0], filed - before[1], duplicates) == (20, 20, 0)
    record_outcome("PostgreSQL restarted while filing", submitted=submitted_n - before[0],
                   filed=filed - before[1], duplicates=duplicates,
                   note="same worker processes recovered (health-checked connections)")


def test_500_concurrent_submissions(private_cluster, broker, workers):
    before = cluster_counts(private_cluster)
    run_driver(private_cluster.url, broker.url, "seed", 500)
    workers.start("a", concurrency=2, DATABASE_URL=private_cluster.url)
    started = time.monotonic()
    result = json.loads(run_driver(private_cluster.url, broker.url, "submit", 100))
    assert result["submitted"] == 500, result

    wait_until(lambda: cluster_counts(private_cluster)[1] >= before[1] + 500, timeout=180,
               what="500 filings")
    submitted_n, filed, duplicates, _ = cluster_counts(private_cluster)
    assert (submitted_n - before[0], filed - before[1], duplicates) == (500, 500, 0)
    record_outcome("500 submissions at once (100 threads)",
                   submitted=submitted_n - before[0], filed=filed - before[1],
                   duplicates=duplicates,
                   note=f"submitted in {result['seconds']}s; all filed in {elapsed(started)}s")
