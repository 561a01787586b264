"""Least-privilege PostgreSQL roles (docs/database-roles.md).

Two roles: the *owner* owns the schema, every table and the audit trigger's function and
runs the migrations (/etc/patient-forms/migrate.env); the *runtime* role is what the
web, worker and beat connect as. The runtime role reads and writes the tables but owns
none, so it cannot ALTER, DROP or TRUNCATE them nor disable a trigger (PostgreSQL allows
those to the owner only), and on the audit trail it has SELECT and INSERT alone: the
append-only trigger refuses UPDATE and DELETE to everyone, and the runtime role has not
even the privilege to try, nor the ownership that could switch the trigger off.

The statements are built here once and used twice: by `manage.py create_db_roles`
(first set-up, as a superuser) and after every `migrate` run as the owner with
DATABASE_RUNTIME_ROLE set (new tables granted, the audit trail's revocation re-applied).
"""

import re

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from patients.models import AuditEvent

# Plain lower-case identifiers only: they are written into SQL, and a name needing
# quotes is a mistake worth refusing rather than quoting.
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_role_name(name: str) -> str:
    if not _ROLE_NAME.match(name or ""):
        raise ValueError(f"Role name {name!r}: lower-case letters, digits and _ only")
    return name


def audit_table() -> str:
    return AuditEvent._meta.db_table


def runtime_grants(*, owner: str, runtime: str) -> list[str]:
    """What the runtime role may do, idempotent: run after every migration."""
    owner, runtime, audit = check_role_name(owner), check_role_name(runtime), audit_table()
    return [
        f'GRANT USAGE ON SCHEMA public TO "{runtime}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{runtime}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{runtime}"',
        # After the blanket grant: the audit trail is read and appended to, nothing else.
        # (Before the first migrate the table is not there yet: the owner's default
        # privileges would grant too much when it is made, so post_migrate revokes.)
        f"DO $$ BEGIN IF to_regclass('public.{audit}') IS NOT NULL THEN "
        f'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "{audit}" FROM "{runtime}"; '
        f"END IF; END $$",
        # Tables a later migration creates (as the owner) are granted the same way.
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{runtime}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT USAGE, SELECT ON SEQUENCES TO "{runtime}"',
    ]


def _ensure_role(name: str, *, inherit: bool) -> str:
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    attributes += " INHERIT" if inherit else " NOINHERIT"
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') "
            f'THEN CREATE ROLE "{name}"; END IF; END $$;\n'
            f'ALTER ROLE "{name}" {attributes}')


# Objects made before the roles existed (a database first migrated as a superuser) move
# to the owner: tables (their identity sequences follow), free sequences, functions.
_REASSIGN = """DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
             AND pg_get_userbyid(c.relowner) <> '{owner}' LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO "{owner}"', r.name);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S'
             AND pg_get_userbyid(c.relowner) <> '{owner}'
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid
                             AND d.deptype IN ('a', 'i')) LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO "{owner}"', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{owner}' LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO "{owner}"', r.name);
  END LOOP;
END $$"""


def setup_statements(*, database: str, owner: str, runtime: str) -> list[str]:
    """The first set-up, as a superuser connected to the platform's database."""
    owner, runtime = check_role_name(owner), check_role_name(runtime)
    if owner == runtime:
        raise ValueError("The owner and the runtime role must be two roles")
    database = database.replace('"', '""')
    return [
        _ensure_role(owner, inherit=True),
        # NOINHERIT: were the runtime role ever made a member of the owner's role, it
        # would still not act with the owner's rights without an explicit SET ROLE.
        _ensure_role(runtime, inherit=False),
        f'ALTER DATABASE "{database}" OWNER TO "{owner}"',
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{runtime}"',
        f'ALTER SCHEMA public OWNER TO "{owner}"',
        # Nobody but the owner creates objects (PostgreSQL 15 does this already).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        _REASSIGN.format(owner=owner),
        *runtime_grants(owner=owner, runtime=runtime),
    ]


def apply_runtime_grants_after_migrate(*, using=DEFAULT_DB_ALIAS, **kwargs):
    """post_migrate: the migrating connection (the owner) grants the runtime role what
    the new tables need, when DATABASE_RUNTIME_ROLE names it."""
    runtime = settings.DATABASE_RUNTIME_ROLE
    connection = connections[using]
    if not runtime or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        for statement in runtime_grants(owner=owner, runtime=runtime):
            cursor.execute(statement)
