"""Integration tests: real PostgreSQL, a real broker and a real `celery worker` process."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parents[2]


def _database_url():
    db = connection.settings_dict
    credentials = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        credentials += f":{db['PASSWORD']}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_services(transactional_db):
    if connection.vendor != "postgresql":
        service_unavailable("integration tests need DATABASE_URL pointing at PostgreSQL")
    if not settings.CELERY_BROKER_URL:
        service_unavailable("integration tests need CELERY_BROKER_URL")
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            conn.default_channel.queue_purge("celery")
    except Exception as exc:
        service_unavailable(f"broker unreachable: {type(exc).__name__}")


@pytest.fixture
def celery_worker_process(real_services, tmp_path):
    """Start `celery worker` as its own process, on the test database."""
    env = {**os.environ, "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
         "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def wait_for(predicate, *, timeout=60.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def broker_idle() -> bool:
    """No task waiting in the queue and none delivered but unacknowledged (Redis)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return client.llen("celery") == 0 and client.hlen("unacked") == 0
