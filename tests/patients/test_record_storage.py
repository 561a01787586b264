"""How PostgreSQL stores record entries: a filed form's encrypted resource stays in the
row (patients/migrations/0001_initial.py, RECORD_INLINE), not in the TOAST table."""

import uuid

import pytest
from django.db import connection

from patients.services import add_record_entries
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db


def _toast_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltoastrelid::regclass::text FROM pg_class "
                       "WHERE relname = 'patients_recordentry'")
        (toast,) = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {toast}")  # noqa: S608  (a catalog name)
        return cursor.fetchone()[0]


def test_a_filed_forms_encrypted_resource_is_kept_in_the_row():
    """About 3 KB of ciphertext, over PostgreSQL's default 2 KB threshold: with it, each
    filing also wrote to the TOAST table and its index (measured: a fifth of a batch)."""
    patient = PatientFactory()
    resource = {"resourceType": "QuestionnaireResponse", "status": "completed",
                "item": [{"linkId": f"q{i}", "answer": [{"valueString": "x" * 40}]}
                         for i in range(30)]}
    before = _toast_rows()
    (entry,) = add_record_entries(by="system", entries=[{
        "patient": patient, "source_kind": "test", "source_id": uuid.uuid4(),
        "resource_type": "QuestionnaireResponse", "resource": resource, "summary": {}}])
    with connection.cursor() as cursor:
        cursor.execute("SELECT octet_length(resource) FROM patients_recordentry "
                       "WHERE id = %s", [entry.pk])
        assert cursor.fetchone()[0] > 2100  # over the default threshold
    assert _toast_rows() == before
