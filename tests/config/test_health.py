"""/healthz and /readyz: each readiness check names itself when it fails (503), and the
probes answer a load balancer that uses the host's address over plain http."""

import json
import socket

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from config import health
from patients.models import EncryptionCanary

pytestmark = pytest.mark.django_db

CHECKS = {"database", "migrations", "encryption", "cache"}


@pytest.fixture(autouse=True)
def _canary_and_fresh_migration_state(monkeypatch):
    # A transactional test elsewhere may have flushed the canary the migration stored.
    EncryptionCanary.objects.get_or_create(pk=1, defaults={"value": EncryptionCanary.VALUE})
    monkeypatch.setattr(health, "_migrated", False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens


def ready(client, **extra):
    response = client.get("/readyz", HTTP_HOST="10.0.0.5:8000", **extra)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_liveness_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_when_every_check_passes(client):
    status, body = ready(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) >= CHECKS
    assert set(body["checks"].values()) == {"ok"}
    assert "failing" not in body


@override_settings(ALLOWED_HOSTS=["forms.example.nhs.uk"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_a_load_balancer_by_address_over_http(client):
    # The ordinary stack refuses the address as a host (400) and redirects to https.
    assert client.get("/privacy/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    assert client.get("/privacy/", HTTP_HOST="forms.example.nhs.uk").status_code == 301
    for path in ("/healthz", "/readyz", "/healthz/"):
        response = client.get(path, HTTP_HOST="10.0.0.5:8000")
        assert response.status_code == 200, path
        assert "sessionid" not in response.cookies


def test_only_get_and_head(client):
    assert client.post("/readyz").status_code == 405
    assert client.head("/healthz").status_code == 200


def test_database_down_is_named(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    status, body = ready(client)
    assert status == 503
    assert "database" in body["failing"]
    assert body["checks"]["database"] == "Unavailable: OperationalError"


def test_unapplied_migration_is_named(client):
    recorder = MigrationRecorder(connection)
    last = recorder.migration_qs.filter(app="patients").order_by("-id").first()
    last.delete()  # rolled back with the test's transaction
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert f"patients.{last.name}" in body["checks"]["migrations"]


def test_migrations_are_read_once_per_process(client, monkeypatch):
    assert ready(client)[0] == 200

    def must_not_run():
        raise AssertionError("the migration graph was read again")

    monkeypatch.setattr(health, "unapplied_migrations", must_not_run)
    status, body = ready(client)
    assert status == 200, body


def test_keys_that_cannot_decrypt_the_canary_are_named(client):
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["encryption"]
    assert "cannot decrypt" in body["checks"]["encryption"]


def test_canary_with_the_wrong_value_is_named(client):
    EncryptionCanary.objects.filter(pk=1).update(value={"canary": "other"})
    status, body = ready(client)
    assert (status, body["failing"]) == (503, ["encryption"])


def test_cache_unreachable_is_named(client):
    with override_settings(REDIS_CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"].startswith("Unavailable: Unable to connect to Redis")


@pytest.mark.parametrize("scheme", ["redis://", "amqp://guest:guest@"])
def test_broker_unreachable_is_named(client, scheme):
    url = f"{scheme}127.0.0.1:{closed_port()}/"
    with override_settings(CELERY_BROKER_URL=url):
        status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"].startswith("Unavailable")


def test_no_broker_configured_means_no_broker_check(client):
    with override_settings(CELERY_BROKER_URL=None):
        status, body = ready(client)
    assert status == 200
    assert "broker" not in body["checks"]


def test_the_body_names_no_credentials(client):
    url = f"redis://:s3cret-password@127.0.0.1:{closed_port()}/0"
    with override_settings(REDIS_CACHE_URL=url, CELERY_BROKER_URL=url):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert b"s3cret" not in response.content
    assert b"127.0.0.1" not in response.content


def test_a_failing_probe_logs_one_line(client, caplog):
    with override_settings(REDIS_CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        ready(client)
    records = [r for r in caplog.records if r.levelname in {"WARNING", "ERROR"}]
    assert [r.getMessage().split(":")[0] for r in records] == ["Not ready"]
    assert "cache" in records[0].getMessage()
