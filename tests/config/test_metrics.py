"""/metrics: who may read it, request counts and latency by view and status, Celery
task counts, and the worker's own guarded exporter (config/metrics.py)."""

import httpx
import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from config.celery import app

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


def networks(*cidrs):
    import ipaddress

    return [ipaddress.ip_network(c) for c in cidrs]


def get(client, **extra):
    return client.get("/metrics", HTTP_HOST="10.0.0.5:8000", **extra)


def test_loopback_reads_by_default(client):
    response = get(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert "patient_forms_unfiled_submissions" in names


@override_settings(METRICS_ALLOWED_NETWORKS=networks("10.20.0.0/16"), METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("remote,authorization,status", [
    ("10.20.3.4", None, 200),              # inside the allowed network
    ("10.21.3.4", None, 403),              # outside it
    ("127.0.0.1", None, 403),              # loopback is only allowed by default
    ("192.0.2.1", f"Bearer {TOKEN}", 200),  # the token, from anywhere
    ("192.0.2.1", "Bearer wrong", 403),
    ("192.0.2.1", TOKEN, 403),             # not a bearer header
])
def test_only_allowed_addresses_or_the_token(client, remote, authorization, status):
    extra = {"REMOTE_ADDR": remote}
    if authorization:
        extra["HTTP_AUTHORIZATION"] = authorization
    response = get(client, **extra)
    assert response.status_code == status
    if status == 403:
        assert b"patient_forms" not in response.content


@override_settings(METRICS_ALLOWED_NETWORKS=networks("10.0.0.0/8"))
def test_a_forwarded_address_is_not_believed(client):
    response = get(client, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.1.1")
    assert response.status_code == 403


def test_no_token_configured_means_no_token_access(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert get(client, HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_requests_by_view_and_status(client):
    labels = {"view": "privacy", "status": "200", "method": "GET"}
    name = "django_http_responses_total_by_status_view_method_total"
    before = REGISTRY.get_sample_value(name, labels) or 0
    client.get("/privacy/")
    client.get("/privacy/")
    text = get(client).content.decode()
    counted = [s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and s.labels == labels]
    assert counted == [before + 2]
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


def test_probes_are_not_counted_as_requests(client):
    name = "django_http_requests_before_middlewares_total"
    before = REGISTRY.get_sample_value(name) or 0
    client.get("/healthz")
    assert (REGISTRY.get_sample_value(name) or 0) == before


def test_post_is_refused(client):
    assert client.post("/metrics").status_code == 405


def test_celery_tasks_are_counted_and_timed():
    @app.task(name="tests.metrics_probe_task")
    def probe():
        return None

    before = REGISTRY.get_sample_value(
        "patient_forms_celery_tasks_total", {"task": "tests.metrics_probe_task",
                                             "state": "SUCCESS"}) or 0
    probe.delay()  # in-process in unit tests
    assert REGISTRY.get_sample_value(
        "patient_forms_celery_tasks_total",
        {"task": "tests.metrics_probe_task", "state": "SUCCESS"}) == before + 1
    assert REGISTRY.get_sample_value(
        "patient_forms_celery_task_duration_seconds_count",
        {"task": "tests.metrics_probe_task"}) >= 1


@pytest.fixture
def exporter(settings):
    settings.CELERY_METRICS_PORT = 0  # start_worker_exporter is off without a port
    assert metrics.start_worker_exporter() is None
    settings.CELERY_METRICS_PORT = _free_port()
    settings.CELERY_METRICS_ADDRESS = "127.0.0.1"
    server = metrics.start_worker_exporter()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_worker_exporter_serves_task_metrics_guarded(exporter, settings, caplog):
    response = httpx.get(exporter, timeout=5)
    assert response.status_code == 200
    assert "patient_forms_celery_tasks_total" in response.text
    assert "patient_forms_unfiled_submissions" not in response.text  # web hosts only
    settings.METRICS_ALLOWED_NETWORKS = networks("10.0.0.0/8")
    assert httpx.get(exporter, timeout=5).status_code == 403
    settings.METRICS_TOKEN = TOKEN
    response = httpx.get(exporter, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200
