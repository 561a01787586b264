"""Fault tests: real PostgreSQL, a real broker and real `celery worker` processes.

Anything a test stops, kills or restarts is PRIVATE to it: a redis-server on a free port
(the broker), a PostgreSQL cluster made with initdb under a temporary directory (the
database that is restarted), and worker processes started here. The shared services are
only used as the rest of the suite uses them (the test database).

At the end of the group a table of each fault and its outcome is printed (and written
to test-artifacts/fault-table.md).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import service_unavailable
from tests.integration.conftest import _database_url, wait_for
from tests.integration.processes import Gunicorn, answers_http, free_port

ROOT = Path(__file__).resolve().parents[3]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESULTS: list[dict] = []


def record_outcome(fault, *, submitted, filed, duplicates, note=""):
    RESULTS.append({"fault": fault, "submitted": submitted, "filed": filed,
                    "duplicates": duplicates, "note": note})


def fault_table() -> str:
    lines = ["| fault | submitted | filed | duplicates | note |",
             "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {r['fault']} | {r['submitted']} | {r['filed']} | {r['duplicates']} "
              f"| {r['note']} |" for r in RESULTS]
    return "\n".join(lines)


# What patients saw: journeys over real HTTP under a fault (test_patient_faults.py).
JOURNEY_RESULTS: list[dict] = []


def record_journeys(fault, *, journeys, server_errors, lost, duplicates, note=""):
    JOURNEY_RESULTS.append({"fault": fault, "journeys": journeys, "errors": server_errors,
                            "lost": lost, "duplicates": duplicates, "note": note})


def journey_table() -> str:
    lines = ["| fault | journeys | patient-facing 500s | lost | duplicates | note |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    lines += [f"| {r['fault']} | {r['journeys']} | {r['errors']} | {r['lost']} "
              f"| {r['duplicates']} | {r['note']} |" for r in JOURNEY_RESULTS]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    out = ROOT / "test-artifacts"
    if RESULTS:
        table = fault_table()
        terminalreporter.section("filing faults and outcomes")
        terminalreporter.write_line(table)
        out.mkdir(exist_ok=True)
        (out / "fault-table.md").write_text(table + "\n")
    if JOURNEY_RESULTS:
        table = journey_table()
        terminalreporter.section("patient journeys under faults")
        terminalreporter.write_line(table)
        out.mkdir(exist_ok=True)
        (out / "journey-fault-table.md").write_text(table + "\n")


# --- The record, checked in SQL ----------------------------------------------------

ENTRY_COUNTS = """
    SELECT count(*), count(*) FILTER (WHERE n > 1)
    FROM (SELECT source_id, count(*) AS n FROM patients_recordentry
          WHERE source_kind = 'forms_app.submission' GROUP BY source_id) AS per_submission
"""
STATE_COUNTS = "SELECT state, count(*) FROM forms_app_submission GROUP BY state"


def record_counts(cursor):
    """(submitted, filed, duplicates): submissions past in-progress, submissions with a
    record entry, and submissions with more than one (the GROUP BY check)."""
    cursor.execute(STATE_COUNTS)
    states = dict(cursor.fetchall())
    cursor.execute(ENTRY_COUNTS)
    filed, duplicates = cursor.fetchone()
    submitted = sum(n for state, n in states.items() if state != "in_progress")
    return submitted, filed, duplicates, states


def shared_db_counts():
    with connection.cursor() as cursor:
        return record_counts(cursor)


# --- Private services ----------------------------------------------------------------

class PrivateRedis:
    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, timeout=10, interval=0.05, what="private redis to start")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def faults_db(transactional_db):
    if connection.vendor != "postgresql":
        service_unavailable("fault tests need DATABASE_URL pointing at PostgreSQL")
    if shutil.which("redis-server") is None:
        service_unavailable("fault tests need redis-server to run a private broker")


@pytest.fixture
def broker(faults_db, tmp_path):
    """A private Redis; this process publishes to it for the length of the test."""
    from config.celery import app

    redis = PrivateRedis(tmp_path)
    redis.start()
    previous = {key: app.conf[key] for key in BROKER_KEYS}
    _point_app_at(app, dict.fromkeys(BROKER_KEYS, redis.url))
    assert app.connection_for_write().port == redis.port
    yield redis
    _point_app_at(app, previous)
    redis.stop()


BROKER_KEYS = ("broker_url", "broker_write_url", "broker_read_url")


def _point_app_at(app, urls):
    app.conf.update(urls)
    # The app caches its connection and producer pools.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def hooks(tmp_path):
    """The test-only pause points of filing (forms_app.filing.hooks)."""
    directory = tmp_path / "hooks"
    directory.mkdir()

    class Hooks:
        dir = directory

        def block(self, name):
            (directory / f"block-{name}").touch()

        def release(self, name):
            (directory / f"block-{name}").unlink(missing_ok=True)

        def reached(self, name):
            return sorted(int(p.name.rsplit("-", 1)[1])
                          for p in directory.glob(f"reached-{name}-*"))

    return Hooks()


class Workers:
    """Start `celery worker` processes, each in its own process group."""

    def __init__(self, tmp_path, broker_url, hook_dir):
        self.tmp_path = tmp_path
        self.env = {
            **os.environ, "PYTHONUNBUFFERED": "1", "CELERY_BROKER_URL": broker_url,
            "DATABASE_URL": _database_url(), "FILING_TEST_HOOK_DIR": str(hook_dir),
            "FILING_RETRY_BACKOFF_SECONDS": "0.5", "CONN_MAX_AGE": "600",
        }
        self.processes = []

    def start(self, name, *, concurrency=2, beat=False, **env):
        log = (self.tmp_path / f"worker-{name}-{len(self.processes)}.log").open("w")
        command = [sys.executable, "-m", "celery", "-A", "config", "worker",
                   "--loglevel=INFO", f"--concurrency={concurrency}", "-n", f"{name}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            command += ["-B", "-s", str(self.tmp_path / f"beat-{name}")]
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        self.processes.append(process)
        return process

    @staticmethod
    def children(process):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    @staticmethod
    def kill_whole(process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            process.log.close()


@pytest.fixture
def workers(broker, hooks, tmp_path):
    started = Workers(tmp_path, broker.url, hooks.dir)
    yield started
    started.stop_all()


# --- A private PostgreSQL cluster (for the restart test) ------------------------------

class PrivateCluster:
    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="pf-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/forms"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.directory, "postgres")

    def run(self, *args):
        subprocess.run([*self.as_postgres, *map(str, args)], check=True,
                       capture_output=True, text=True)

    def init(self):
        self.run(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--no-sync")
        self.start()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE forms")

    def pg_ctl(self, action, *extra):
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.directory} -c max_connections=150 "
                   f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.directory / "log", "-w",
                 "-o", options, action, *extra)

    def start(self):
        self.pg_ctl("start")

    def restart(self):
        self.pg_ctl("restart", "-m", "fast")

    def connect(self):
        return psycopg.connect(self.url, autocommit=True)

    def destroy(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def private_cluster():
    if not PG_BIN.exists():
        service_unavailable("the restart test needs PostgreSQL 15's initdb and pg_ctl")
    cluster = PrivateCluster()
    try:
        cluster.init()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                       cwd=ROOT, env={**os.environ, "DATABASE_URL": cluster.url},
                       check=True)
        yield cluster
    finally:
        cluster.destroy()


def run_driver(database_url, broker_url, *args):
    """tests.integration.faults.driver in its own process, on the given services."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.faults.driver", *map(str, args)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url,
                       "CELERY_BROKER_URL": broker_url},
        capture_output=True, text=True, check=True, timeout=180)
    return result.stdout


class WebServer(Gunicorn):
    """The real web tier: gunicorn (threaded workers) serving config.wsgi on a free port,
    with production's DEBUG off, behind a pretend proxy (X-Forwarded-For)."""

    def __init__(self, tmp_path, env):
        env = {"DJANGO_DEBUG": "false", "CLIENT_IP_META_KEY": "HTTP_X_FORWARDED_FOR", **env}
        super().__init__(tmp_path / "gunicorn.log", env=env, options=(
            "--workers", "2", "--threads", "4", "--worker-class", "gthread",
            "--graceful-timeout", "5", "--error-logfile", "-"))
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"

    def start(self):
        # Any HTTP answer will do: these servers are started against services a test
        # is about to stop, so /healthz is not what says they are up.
        return super().start(ready=lambda: answers_http(self.port))


@pytest.fixture
def web_servers(tmp_path):
    started = []

    def start(**env):
        server = WebServer(tmp_path, env)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


def wait_until(predicate, *, timeout, what):
    wait_for(predicate, timeout=timeout, interval=0.25, what=what)


def elapsed(start):
    return round(time.monotonic() - start, 1)
