"""Answers unreadable from the database alone; keys rotate; a wrong key stops start-up."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from forms_app.models import Submission, SubmissionFile
from patients.encryption import _raw, assert_keys_decrypt, encrypted_fields
from patients.models import AuditEvent, EncryptionCanary, RecordEntry
from tests.factories.world import ANSWER_MARKER, build_world

pytestmark = pytest.mark.django_db


def raw_values():
    """Every stored ciphertext of every encrypted column, as the database holds it."""
    values = []
    for model, fields in encrypted_fields():
        for name in fields:
            values += [bytes(v).decode("ascii") if isinstance(v, bytes | memoryview) else v
                       for v in model._default_manager.annotate(r=_raw(model, name))
                       .values_list("r", flat=True) if v is not None]
    return values


def test_every_encrypted_model_is_found():
    found = {model._meta.label: set(fields) for model, fields in encrypted_fields()}
    assert found["forms_app.Submission"] == {"answers", "draft_answers", "wizard_state"}
    assert found["patients.RecordEntry"] == {"resource", "attachments"}
    assert found["forms_app.SubmissionFile"] == {"content"}


def test_raw_rows_hold_no_plaintext():
    world = build_world()
    values = raw_values()
    assert len(values) >= 2  # the answers and the record entry (plus the canary if present)
    for value in values:
        assert ANSWER_MARKER not in value and world.patient.family_name not in value
        assert value.startswith("gAAAA")  # a Fernet token


def test_rotation_leaves_every_answer_readable(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    EncryptionCanary.objects.filter(pk=1).delete()  # rewritten under this test's key
    EncryptionCanary.objects.create(pk=1, value=EncryptionCanary.VALUE)
    world = build_world()
    photo = SubmissionFile.objects.create(submission=world.submission, link_id="photo",
                                          content=b"\xff\xd8\xff a wound photo")
    before = raw_values()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", "--batch-size", "1", verbosity=0)
    after = raw_values()
    assert len(after) == len(before) and not set(after) & set(before)
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    assert Submission.objects.get(pk=world.submission.pk).answers == {"notes": ANSWER_MARKER}
    assert RecordEntry.objects.get(pk=world.record_entry.pk).resource["item"]
    # A patient's attached file too (an EncryptedBinaryField), not only the answers.
    assert SubmissionFile.objects.get(pk=photo.pk).content == b"\xff\xd8\xff a wound photo"
    assert EncryptionCanary.objects.get(pk=1).value == EncryptionCanary.VALUE
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KEYS_ROTATED).count() == 1
    assert_keys_decrypt()


def test_a_wrong_key_fails_loudly_at_start_up(settings):
    EncryptionCanary.objects.filter(pk=1).delete()  # rewritten under this test's key
    EncryptionCanary.objects.create(pk=1, value=EncryptionCanary.VALUE)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot decrypt"):
        assert_keys_decrypt()
    with pytest.raises(SystemCheckError, match=r"patients\.E001"):
        call_command("check", "--database", "default")
