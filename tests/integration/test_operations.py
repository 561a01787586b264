"""Operations as a trust runs them: gunicorn with two workers and a prefork Celery worker,
both writing JSON logs and keeping multiprocess metrics.

One patient journey over real HTTP. Then: the submit request's id is on the worker's
filing-task lines; no line of either log holds the token, the patient's name, NHS
number or date of birth, or an answer; /metrics sums every gunicorn worker (the same
count whichever answers the scrape), and the Celery worker's port reports the filing.
"""

import json
import os
import re
import subprocess
import sys

import httpx
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from tests.factories.forms_app import api_client_for
from tests.forms_app.journey import DEMO_ANSWERS, page_data
from tests.integration.conftest import ROOT, _database_url, wait_for
from tests.integration.processes import answers, free_port

pytestmark = pytest.mark.integration

# The task a patient's submit wakes (services.wake_filing): it files what is waiting in
# batches. (file_submission_task is left for retries, the sweeper and staff's "file again".)
FILING_TASK = "forms_app.tasks.file_waiting_submissions_task"


class Services:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.processes = []
        self.env = {**os.environ, "DATABASE_URL": _database_url(), "LOG_FORMAT": "json",
                    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "PYTHONUNBUFFERED": "1"}

    def start(self, name, command, **env):
        metrics_dir = self.tmp_path / f"{name}-metrics"
        metrics_dir.mkdir()
        log_path = self.tmp_path / f"{name}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **env})
        process.log, process.log_path = log, log_path
        self.processes.append(process)
        return process

    def stop(self):
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log.close()


@pytest.fixture
def platform(real_services, tmp_path):
    services_ = Services(tmp_path)
    web_port, worker_port = free_port(), free_port()
    web = services_.start("web", [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{web_port}", "--workers", "2"])
    worker = services_.start("worker", [
        sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker",
        "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle",
        "--without-heartbeat"], CELERY_METRICS_PORT=str(worker_port))
    # Beat too: its log is one of those scanned for secrets and patient data.
    services_.start("beat", [
        sys.executable, "-m", "celery", "-A", "config", "--quiet", "beat", "--loglevel=INFO",
        "--schedule", str(tmp_path / "beat-schedule")])
    web.base, worker.metrics_url = f"http://127.0.0.1:{web_port}", \
        f"http://127.0.0.1:{worker_port}/metrics"

    try:
        wait_for(lambda: answers(f"{web.base}/healthz"), timeout=60, what="gunicorn")
        wait_for(lambda: answers(worker.metrics_url), timeout=60, what="worker metrics")
        yield web, worker
    finally:
        services_.stop()


def post(client, path, data):
    return client.post(path, data={**data, "csrfmiddlewaretoken": client.cookies["csrftoken"]})


def journey_over_http(base, token):
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/l/{token}/").status_code == 302
        assert client.get("/form/verify/").status_code == 200
        response = post(client, "/form/verify/", {"day": "15", "month": "3", "year": "1984"})
        assert response.headers["location"] == "/form/answer/", response.status_code
        client.get("/form/answer/")
        for step, answers in DEMO_ANSWERS.items():
            response = post(client, "/form/answer/", page_data(step, answers))
        assert response.headers["location"] == "/form/check/"
        response = post(client, "/form/check/", {})
        assert response.headers["location"] == "/form/confirmation/"


# Lines not written through Python's logging by the platform: gunicorn's own error log
# (formatted by gunicorn's configuration) and Celery's shutdown notice, printed directly.
NOT_OURS = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:]+ [+-]\d{4}\] \[\d+\] \[[A-Z]+\] "
                      r"|^worker: (Warm|Cold) shutdown")


def json_lines(path):
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not NOT_OURS.match(line)]
    assert lines, f"{path.name} is empty"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"{path.name}: not a JSON line: {line[:200]}") from None
    return parsed


def sample(text, name, **labels):
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0


def test_a_submission_is_followed_by_its_request_id_and_counted(platform):
    web, worker = platform
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)

    _api_client, api_key = api_client_for(team)
    for _ in range(6):
        assert httpx.get(f"{web.base}/privacy/").status_code == 200
    # An integration engineer's call, key in its header (and, wrongly, in the query).
    assert httpx.get(f"{web.base}/api/v1/patients/?api_key={api_key}",
                     headers={"Authorization": f"Bearer {api_key}"}).status_code in (200, 400)
    journey_over_http(web.base, issued.token)
    submission = Submission.objects.get(link=issued.link)
    wait_for(lambda: Submission.objects.get(pk=submission.pk).state == Submission.State.FILED,
             timeout=60, what="the worker to file the submission")

    # The worker's filing task carries the request id of the web request that submitted.
    def filing_lines():
        return [line for line in json_lines(worker.log_path)
                if line.get("task") == FILING_TASK or line.get("event") == "task_succeeded"]

    wait_for(lambda: any(line.get("event") == "task_succeeded" for line in filing_lines()),
             timeout=20, what="the task's success line")
    started = [line for line in json_lines(worker.log_path)
               if line.get("event") == "task_started" and line.get("task") == FILING_TASK]
    assert len(started) == 1, started
    request_id = started[0]["request_id"]
    web_lines = json_lines(web.log_path)
    submit = [line for line in web_lines if line.get("request_id") == request_id]
    assert {line["event"] for line in submit} >= {"task_enqueued", "request_finished"}
    assert any(line.get("request") == "POST /form/check/" for line in submit)
    task_lines = [line for line in json_lines(worker.log_path)
                  if line.get("task_id") == started[0]["task_id"]]
    assert {line["event"] for line in task_lines} >= {"task_started", "task_succeeded"}
    assert {line["request_id"] for line in task_lines} == {request_id}

    # No patient data, no token and no API key anywhere, in any field of any log: the
    # web's (gunicorn's access and error lines and Django's), the worker's and beat's.
    logs = sorted(web.log_path.parent.glob("*.log"))
    assert [path.stem for path in logs] == ["beat", "web", "worker"]
    both = "".join(path.read_text() for path in logs)
    assert "/l/[redacted]/" in both
    # (The demo family name is "Demo", a word the logs use for other things.)
    forbidden = [issued.token, api_key, patient.nhs_number, patient.given_name,
                 patient.mobile,
                 "1984-03-15", "15/03/1984", "wheelchair",
                 DEMO_ANSWERS["about-you"]["preferred-name"]]
    for value in forbidden:
        assert not re.search(rf"\b{re.escape(value)}\b", both, re.IGNORECASE), value

    # Every gunicorn worker's counts, whichever answers the scrape.
    counts = set()
    for _ in range(6):
        text = httpx.get(f"{web.base}/metrics").text
        counts.add(sample(text, "django_http_responses_total_by_status_view_method_total",
                          view="privacy", status="200"))
    assert counts == {6.0}
    assert sample(text, "patient_forms_unfiled_submissions", state="submitted") == 0
    assert "patient_forms_queue_depth" in text

    text = httpx.get(worker.metrics_url).text
    assert sample(text, "patient_forms_celery_tasks_total", task=FILING_TASK,
                  state="SUCCESS") == 1
    assert sample(text, "patient_forms_filing_attempts_total", destination="internal") == 1
    assert sample(text, "patient_forms_celery_task_duration_seconds_count",
                  task=FILING_TASK) == 1
