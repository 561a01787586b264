"""The audit trail is append-only in the database too, not only in the application.

On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows, whoever connects: a
staff user with a database console, a bug, or a migration. (TRUNCATE is left to
privileges, since Django's test flush uses it; production's application role should
not own the table.) SQLite, the embedded development database, has no such guard.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION patients_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS patients_auditevent_append_only ON patients_auditevent;
CREATE TRIGGER patients_auditevent_append_only
    BEFORE UPDATE OR DELETE ON patients_auditevent
    FOR EACH ROW EXECUTE FUNCTION patients_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS patients_auditevent_append_only ON patients_auditevent;
DROP FUNCTION IF EXISTS patients_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_staff_access")]
    operations = [migrations.RunPython(forwards, backwards)]
