"""The restore drill of docs/backup.md, end to end.

A populated database (patients, a filed submission, a submission sent while the broker
was down and so never filed) is backed up with pg_dump (custom format), restored with
pg_restore into a fresh PostgreSQL cluster made for the test, and the platform is
started on it as after a disaster: `check --deploy` with the keys from their own store,
`migrate --check`, then a real Celery worker and beat. The sweeper finds the pending
submission in the restored outbox and the worker files it; the answers decrypt to
what the patients sent. Without the keys the backup is unreadable and the platform
refuses to start (patients.E001). The same drill runs after a key rotation
(`rotate_encryption_keys`), restoring with the new key only.
"""

import io
import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from patients.models import EncryptionCanary, RecordEntry
from tests.conftest import service_unavailable
from tests.forms_app.journey import DEMO_ANSWERS, complete_demo_journey
from tests.integration.conftest import wait_for
from tests.integration.faults.conftest import PG_BIN, PrivateCluster, PrivateRedis

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def source_db(transactional_db):
    if connection.vendor != "postgresql":
        service_unavailable("the restore drill needs DATABASE_URL pointing at PostgreSQL")
    if not (PG_BIN / "pg_dump").exists():
        service_unavailable(f"the restore drill needs pg_dump and initdb in {PG_BIN}")


@pytest.fixture
def fresh_cluster():
    cluster = PrivateCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def broker(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def populate(monkeypatch, marker):
    """Two patients' journeys: one filed, one sent while the broker was down."""
    user, patient, team, version = ensure_demo()
    # The broker is down for these submits: the submission is stored (the outbox) and
    # no filing worker is woken, as services.wake_filing handles an outage (submit wakes
    # the batch filing; it no longer publishes through enqueue_filing).
    monkeypatch.setattr(services, "wake_filing", lambda: False)
    answers = {**DEMO_ANSWERS, "anything-else": {"notes": marker}}
    sent = []
    for _ in range(2):
        issued = services.issue_link(version=version, patient=patient, care_team=team,
                                     by=user)
        complete_demo_journey(Client(), issued.token, answers=answers)
        sent.append(Submission.objects.get(link=issued.link))
    filed, pending = sent
    services.file_submission(submission_id=filed.pk)
    return {str(s.pk): Submission.objects.get(pk=s.pk).answers for s in sent}, pending


def dsn(database=None):
    db = connection.settings_dict
    return (f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{database or db['NAME']}")


def pg(tool, *args):
    env = {**os.environ}
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return subprocess.run([str(PG_BIN / tool), *map(str, args)], env=env, check=True,
                          capture_output=True, timeout=120)


def platform_env(cluster, redis, keys):
    """The environment of a production process on the restored database. Not the
    test session's DJANGO_ALLOW_ASYNC_UNSAFE (set while the browser tests' Playwright
    runs), which Django's deployment check rightly refuses."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**inherited, "DJANGO_ENV": "production", "DATABASE_URL": cluster.url,
            "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "forms.example.nhs.uk",
            "FIELD_ENCRYPTION_KEYS": ",".join(keys), "CELERY_BROKER_URL": redis.url,
            "REDIS_CACHE_URL": redis.url.rsplit("/", 1)[0] + "/1",
            "FILING_SWEEP_INTERVAL_SECONDS": "1", "FILING_SWEEP_AFTER_MINUTES": "0",
            "PYTHONUNBUFFERED": "1"}


def manage(env, *args, check=True):
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    # What the command said, in the failure itself (not lost in a CalledProcessError).
    assert not check or done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


READ_BACK = """
import io
import json
from forms_app.models import Submission
from patients.models import RecordEntry
print(json.dumps({
    "answers": {str(s.pk): s.answers for s in Submission.objects.all()},
    "states": {str(s.pk): s.state for s in Submission.objects.all()},
    "entries": [[str(e.source_id), e.resource["resourceType"], json.dumps(e.resource)]
                for e in RecordEntry.objects.filter(source_kind="forms_app.submission")],
}))
"""


@pytest.mark.parametrize("rotate", [False, True], ids=["same-key", "after-key-rotation"])
def test_backup_restore_decrypt_and_file_the_pending_submission(
        source_db, fresh_cluster, broker, monkeypatch, settings, tmp_path, rotate):
    first_key = Fernet.generate_key().decode()
    # Everything already stored (the canary) moves to this run's key, as in production.
    settings.FIELD_ENCRYPTION_KEYS = [first_key, *settings.FIELD_ENCRYPTION_KEYS]
    EncryptionCanary.objects.update_or_create(pk=1,
                                              defaults={"value": EncryptionCanary.VALUE})
    call_command("rotate_encryption_keys", verbosity=0, stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [first_key]
    marker = f"restore-drill-{secrets.token_hex(6)}"
    sent_answers, pending = populate(monkeypatch, marker)
    keys = [first_key]
    if rotate:
        new_key = Fernet.generate_key().decode()
        settings.FIELD_ENCRYPTION_KEYS = [new_key, first_key]
        call_command("rotate_encryption_keys", verbosity=0, stdout=io.StringIO())
        keys = [new_key]  # the old key is dropped once the rotation has finished

    backup = tmp_path / "forms.dump"
    pg("pg_dump", "--format=custom", "--no-owner", f"--file={backup}", dsn())
    # The backup holds no answer and no key in the clear.
    as_sql = pg("pg_restore", "--file=-", backup).stdout
    assert marker.encode() not in as_sql
    assert not any(key.encode() in as_sql for key in [first_key, *keys])

    pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={fresh_cluster.url}",
       backup)

    # Without its keys (or with only the key rotated out), the restore cannot start.
    wrong = [first_key] if rotate else [Fernet.generate_key().decode()]
    refused = manage(platform_env(fresh_cluster, broker, wrong), "check", "--database",
                     "default", check=False)
    assert refused.returncode != 0 and "patients.E001" in refused.stderr, refused.stderr

    env = platform_env(fresh_cluster, broker, keys)
    manage(env, "check", "--deploy", "--database", "default", "--fail-level", "ERROR")
    manage(env, "migrate", "--check")

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat",
         "--schedule", str(tmp_path / "beat"), "--concurrency=1", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with fresh_cluster.connect() as restored:
            def filed():
                row = restored.execute("SELECT state FROM forms_app_submission WHERE id = %s",
                                       (pending.pk,)).fetchone()
                return row == ("filed",)
            wait_for(filed, timeout=90, what="the restored platform to file the pending one")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()  # the drill is over; a slow warm shutdown proves nothing
            worker.wait()
        log.close()

    # The last line: Django 5.2's shell first reports what it imported.
    back = json.loads(manage(env, "shell", "-c", READ_BACK).stdout.strip().splitlines()[-1])
    assert back["answers"] == sent_answers
    assert set(back["states"].values()) == {"filed"}
    entries = back["entries"]
    assert sorted(e[0] for e in entries) == sorted(sent_answers)  # one each, none twice
    assert all(kind == "QuestionnaireResponse" and marker in resource
               for _, kind, resource in entries)
    # The source is as it was: the drill filed into the restored copy only.
    assert Submission.objects.get(pk=pending.pk).state == Submission.State.SUBMITTED
    assert not RecordEntry.objects.filter(source_id=pending.pk).exists()
