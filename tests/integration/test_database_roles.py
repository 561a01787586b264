"""Least-privilege roles on real PostgreSQL (patients/db_roles.py): a fresh database set
up with `create_db_roles`, migrated as the owner, used by the application as the runtime
role; the runtime role then cannot erase, change or truncate audit rows, disable or drop
the append-only trigger, replace its function, or alter any table."""

import os
import secrets
import subprocess
import sys

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.conftest import service_unavailable
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration

AUDIT = "patients_auditevent"


def url(user, database):
    db = connection.settings_dict
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


def manage(*args, database_url, **env):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": "",
                          "PYTHONUNBUFFERED": "1", **env})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def roles_database(db):
    if connection.vendor != "postgresql":
        service_unavailable("the database-role test needs DATABASE_URL pointing at PostgreSQL")
    superuser = connection.settings_dict["USER"] or "postgres"
    suffix = secrets.token_hex(4)
    names = {"database": f"pfroles_{suffix}", "owner": f"pfroles_owner_{suffix}",
             "runtime": f"pfroles_app_{suffix}", "superuser": superuser}
    admin = psycopg.connect(url(superuser, "postgres"), autocommit=True)
    admin.execute(f'CREATE DATABASE "{names["database"]}"')
    try:
        yield names
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{names["database"]}" WITH (FORCE)')
        for role in (names["runtime"], names["owner"]):
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


APP_WORKS = """
from django.test import Client
from forms_app import services
from forms_app.management.demo_data import ensure_demo
from patients.models import AuditEvent
user, patient, team, version = ensure_demo()
issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
client = Client(HTTP_HOST="localhost")
assert client.get(f"/l/{issued.token}/").status_code == 302
assert client.get("/form/verify/").status_code == 200
assert AuditEvent.objects.filter(action=AuditEvent.Action.LINK_ISSUED).exists()
print("audit rows", AuditEvent.objects.count())
"""


def test_the_runtime_role_cannot_erase_the_audit_trail(roles_database):
    names = roles_database
    database, owner, runtime = names["database"], names["owner"], names["runtime"]
    manage("create_db_roles", "--owner", owner, "--runtime", runtime,
           database_url=url(names["superuser"], database))
    # Migrations as the owner (migrate.env), which grants the runtime role afterwards.
    manage("migrate", "--noinput", database_url=url(owner, database),
           DATABASE_RUNTIME_ROLE=runtime)

    # The application, as the runtime role: demo data, a link issued and opened (sessions,
    # audit rows, locks), the encryption canary read by the system check.
    out = manage("shell", "-c", APP_WORKS, database_url=url(runtime, database))
    assert "audit rows" in out
    manage("check", "--database", "default", database_url=url(runtime, database))

    with psycopg.connect(url(runtime, database), autocommit=True) as app:
        before = app.execute("SELECT count(*) FROM patients_auditevent").fetchone()[0]
        assert before > 0
        refused = [
            "UPDATE patients_auditevent SET action = 'x'",
            "DELETE FROM patients_auditevent",
            "TRUNCATE patients_auditevent",
            "ALTER TABLE patients_auditevent DISABLE TRIGGER USER",
            "ALTER TABLE patients_auditevent DISABLE TRIGGER patients_auditevent_append_only",
            "DROP TRIGGER patients_auditevent_append_only ON patients_auditevent",
            "CREATE OR REPLACE FUNCTION patients_auditevent_append_only() RETURNS trigger "
            "AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql",
            "DROP TABLE patients_auditevent",
            "ALTER TABLE forms_app_link ADD COLUMN x int",
            "CREATE TABLE public.anything (id int)",
            f"ALTER TABLE patients_auditevent OWNER TO {runtime}",
        ]
        for statement in refused:
            # Refused for want of privilege or ownership, not by the trigger (whose error
            # has the same SQLSTATE): the runtime role does not even get to try.
            with pytest.raises(psycopg.errors.InsufficientPrivilege,
                               match=r"permission denied|must be owner"):
                app.execute(statement)
        privileges = app.execute(
            "SELECT p, has_table_privilege(%s, %s, p) FROM unnest(ARRAY['SELECT', 'INSERT', "
            "'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) p", [runtime, AUDIT]).fetchall()
        assert dict(privileges) == {"SELECT": True, "INSERT": True, "UPDATE": False,
                                    "DELETE": False, "TRUNCATE": False, "TRIGGER": False}
        assert app.execute("SELECT count(*) FROM patients_auditevent").fetchone()[0] == before
        owners = app.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public'").fetchall()
        assert owners == [(owner,)]

    # The owner is refused by the trigger itself (only it could disable the trigger).
    with (psycopg.connect(url(owner, database), autocommit=True) as migrations,
          pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only")):
        migrations.execute("DELETE FROM patients_auditevent")


def test_role_names_are_checked():
    with pytest.raises(CommandError, match="Role name"):
        call_command("create_db_roles", "--owner", 'x"; DROP', "--print-sql")
    with pytest.raises(CommandError, match="two roles"):
        call_command("create_db_roles", "--owner", "same", "--runtime", "same", "--print-sql")
