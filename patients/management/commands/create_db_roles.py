"""Set up the owner and runtime database roles (docs/database-roles.md)."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from patients import db_roles


class Command(BaseCommand):
    help = ("Create (or bring up to date) the role that owns the tables and runs migrations "
            "and the role the web, worker and beat run as, which cannot alter tables, disable "
            "triggers or change the audit trail. Run once as a PostgreSQL superuser "
            "(DATABASE_URL), before or after the first migrate; passwords, if any, from "
            "DB_OWNER_PASSWORD and DB_RUNTIME_PASSWORD.")

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="patient_forms_owner")
        parser.add_argument("--runtime", default="patient_forms_app")
        parser.add_argument("--print-sql", action="store_true",
                            help="print the statements (without passwords) instead")

    def handle(self, *args, owner, runtime, print_sql, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are for PostgreSQL (DATABASE_URL)")
        try:
            statements = db_roles.setup_statements(
                database=connection.settings_dict["NAME"], owner=owner, runtime=runtime)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if print_sql:
            self.stdout.write(";\n".join(statements) + ";")
            return
        passwords = {owner: os.environ.get("DB_OWNER_PASSWORD"),
                     runtime: os.environ.get("DB_RUNTIME_PASSWORD")}
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles "
                           "WHERE rolname = current_user")
            if not cursor.fetchone()[0]:
                raise CommandError("Run as a PostgreSQL superuser (DATABASE_URL): roles are "
                                   "created and ownership moved")
            for statement in statements:
                cursor.execute(statement)
            for role, password in passwords.items():
                if password:
                    # Client-side binding: a literal, never in the command line or a log.
                    cursor.execute(f'ALTER ROLE "{role}" PASSWORD %s', [password])
        self.stdout.write(self.style.SUCCESS(
            f"{owner} owns the schema and runs migrations; {runtime} reads and writes the "
            "tables, appends to the audit trail and owns nothing."))
