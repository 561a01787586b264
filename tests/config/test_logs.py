"""Logs (config/logs.py): JSON lines with a request id, no patient data in any field,
LOG_FORMAT plain or json."""

import io
import json
import logging
import subprocess
import sys

import pytest
import structlog

from config import logs
from config.settings import BASE_DIR

pytestmark = pytest.mark.django_db


def test_tokens_nhs_numbers_mobiles_and_named_fields_are_redacted():
    event = {
        "event": "GET /l/AbC-123_xyz/ for 943 476 5919 and 9434765919, call 07700 900123",
        "request": "POST /l/tokenvalue/?next=1",
        "nested": {"answers": {"q1": "yes"}, "detail": ["+447700900123", {"dob": "x"}]},
        "nhs_number": "9434765919", "date_of_birth": "1984-03-15", "token": "abc",
        "given_name": "Sarah",
    }
    clean = logs.redact_event(None, "info", event)
    text = json.dumps(clean)
    for secret in ("AbC-123_xyz", "tokenvalue", "943 476 5919", "9434765919", "07700 900123",
                   "7700900123", "yes", "1984-03-15", "Sarah"):
        assert secret not in text, secret
    assert clean["request"] == "POST /l/[redacted]/?next=1"
    assert clean["nested"]["answers"] == "[redacted]"


def test_ids_times_and_numbers_are_left_alone():
    event = {"event": "Filed submission 5b1e6a3c-1234-4cde-8f00-123456789012",
             "timestamp": "2026-12-02T07:41:42.278794Z", "duration": 0.1234567890,
             "code": 302, "task_id": "72523c37-daf1-4d54-869e-2e4e835715ec",
             "reference": "ABCD-2345", "count": 1234567890}
    assert logs.redact_event(None, "info", dict(event)) == event


@pytest.fixture
def json_log():
    """A JSON handler on the root logger for the length of a test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(**{
        k: v for k, v in logs.formatter("json").items() if k != "()"}))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_a_request_writes_one_access_line_with_its_request_id(client, json_log):
    client.get("/l/not-a-real-token-but-secret/")
    lines = json_log()
    # One line a request, at its end (settings: request_started is at DEBUG).
    assert [line["event"] for line in lines].count("request_started") == 0
    finished = [line for line in lines if line["event"] == "request_finished"]
    assert len(finished) == 1
    assert finished[0]["request"] == "GET /l/[redacted]/"
    assert finished[0]["request_id"] and finished[0]["code"] == 404  # no such link
    assert {"timestamp", "level", "logger"} <= set(finished[0])
    assert "not-a-real-token-but-secret" not in json.dumps(lines)


def test_standard_library_lines_in_a_request_carry_its_id(client, json_log, monkeypatch):
    from forms_app.views import patient

    real = patient.find_link_by_token

    def logged(token):
        logging.getLogger("forms_app.views").warning("Looking up /l/%s/", token)
        return real(token)

    monkeypatch.setattr(patient, "find_link_by_token", logged)
    client.get("/l/secret-token-value/")
    lines = json_log()
    ours = [line for line in lines if line["logger"] == "forms_app.views"]
    assert ours[0]["event"] == "Looking up /l/[redacted]/"
    assert ours[0]["request_id"] == lines[0]["request_id"]


def settings_with(**env):
    import os

    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; print(s.LOG_FORMAT)"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "DJANGO_ENV"}}
        | {"DJANGO_SETTINGS_MODULE": "config.settings", **env})


def test_log_format_is_plain_in_development_json_in_production():
    assert settings_with().stdout.strip() == "plain"
    production = settings_with(
        DJANGO_ENV="production", SECRET_KEY="x" * 50, ALLOWED_HOSTS="forms.example.nhs.uk",
        DATABASE_URL="sqlite:///unused.sqlite3", REDIS_CACHE_URL="redis://127.0.0.1:6379/15",
        FIELD_ENCRYPTION_KEYS="ZGV2ZWxvcG1lbnQtb25seS1rZXktbm90LWZvci11c2U=")
    assert production.stdout.strip() == "json", production.stderr[-500:]
    assert settings_with(LOG_FORMAT="json").stdout.strip() == "json"
    refused = settings_with(LOG_FORMAT="xml")
    assert refused.returncode != 0 and "LOG_FORMAT is plain or json" in refused.stderr
