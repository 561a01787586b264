import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from patients.crypto import DecryptionError, get_cipher
from patients.models import RecordEntry
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db


def _raw_resource(entry_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT resource FROM patients_recordentry WHERE id = %s",
                       [entry_id.hex if connection.vendor == "sqlite" else entry_id])
        return cursor.fetchone()[0]


def test_record_is_encrypted_at_rest():
    entry = RecordEntry.objects.create(
        patient=PatientFactory(), source_kind="test", source_id="6c0b5a5e-3f5b-4bb8-a8c8-"
        "6a5b3c9e1f00", resource_type="QuestionnaireResponse",
        resource={"answer": "I feel breathless at night"})
    raw = _raw_resource(entry.id)
    assert "breathless" not in raw
    assert RecordEntry.objects.get(pk=entry.pk).resource == {
        "answer": "I feel breathless at night"}


def test_old_key_still_decrypts_after_rotation(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    entry = RecordEntry.objects.create(
        patient=PatientFactory(), source_kind="test",
        source_id="6c0b5a5e-3f5b-4bb8-a8c8-6a5b3c9e1f01", resource_type="X",
        resource={"a": 1})
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    assert RecordEntry.objects.get(pk=entry.pk).resource == {"a": 1}


def test_wrong_key_fails_loudly(settings):
    entry = RecordEntry.objects.create(
        patient=PatientFactory(), source_kind="test",
        source_id="6c0b5a5e-3f5b-4bb8-a8c8-6a5b3c9e1f02", resource_type="X",
        resource={"a": 1})
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError):
        RecordEntry.objects.get(pk=entry.pk)


def test_malformed_key_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="not a valid Fernet key"):
        get_cipher()
