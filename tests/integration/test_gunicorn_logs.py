"""gunicorn with the repository's gunicorn.conf.py (access log on): no link token and no
secret from a query string or a Referer in any line it or the platform writes, in the
plain and the JSON format alike."""

import json
import re

import httpx
import pytest
from django.db import connection

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from tests.conftest import service_unavailable
from tests.integration.conftest import _database_url
from tests.integration.processes import Gunicorn
from tests.integration.test_operations import NOT_OURS

pytestmark = pytest.mark.integration


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        service_unavailable("the gunicorn log test needs DATABASE_URL pointing at PostgreSQL")
    started = []

    def start(log_format):
        env = {"DATABASE_URL": _database_url(), "LOG_FORMAT": log_format,
               "CELERY_BROKER_URL": ""}
        # No --config and no --access-logfile: the access log is the configuration's.
        server = Gunicorn(tmp_path / f"gunicorn-{log_format}.log", env=env)
        server.env.pop("GUNICORN_ACCESS_LOG", None)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


SECRETS = {"api_key": "ApiKeySecret0123456789", "token": "QueryTokenSecret987654321",
           "code": "918273"}


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_no_token_or_secret_in_any_log_line(gunicorn, log_format):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    token, unknown = issued.token, "UnknownLinkToken_abcdefghijklmnop"
    server = gunicorn(log_format)
    base = server.url
    query = "&".join(f"{name}={value}" for name, value in SECRETS.items())

    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/l/{token}/").status_code == 302  # the genuine link
        client.get(f"/l/{unknown}/")
        client.get(f"/l/{token}/?{query}")
        client.head(f"/l/{token}/")
        client.get(f"/account/login/?next=/l/{token}/")
        client.get(f"/account/login/?next=%2Fl%2F{token}%2F")
        client.get("/privacy/", headers={"Referer": f"{base}/l/{token}/"})
        client.get(f"/api/v1/patients/?{query}")
        client.get(f"/form/verify/?{query}")
    server.stop()  # everything written and flushed

    text = server.log_text()
    for secret in (token, unknown, *SECRETS.values()):
        assert secret not in text, f"{secret} in the {log_format} log"
    # The access log was on: the requests are there, their secrets replaced.
    assert text.count("/l/[redacted]/") >= 5, text[-2000:]
    assert "next=%2Fl%2F[redacted]%2F" in text
    assert "api_key=[redacted]" in text
    if log_format == "json":
        lines = [line for line in text.splitlines() if line.strip() and not NOT_OURS.match(line)]
        access = [json.loads(line) for line in lines if '"gunicorn.access"' in line]
        assert len(access) >= 9
        assert {"request", "status", "duration_ms"} <= set(access[0])
        for line in lines:
            json.loads(line)  # every line the platform writes is JSON, the access log's too
    else:
        assert re.search(r'"GET /l/\[redacted\]/ HTTP/1\.1" 302 ', text), text[-2000:]
