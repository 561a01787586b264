"""Encryption at rest for answers, drafts and filed records.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) is authenticated: a tampered
or wrongly keyed value fails to decrypt instead of yielding garbage. MultiFernet encrypts
with the first key and decrypts with any, which is how keys are rotated.
"""

import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@functools.cache
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one key")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        # Never echo the key itself.
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not a valid Fernet key"
        ) from exc


def get_cipher() -> MultiFernet:
    return _cipher_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted; only the application with the key can read it.

    Not queryable by content, by design: scores, states and dates live in plain columns.
    """

    description = "Encrypted JSON"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            plain = get_cipher().decrypt(value.encode("ascii"))
        except InvalidToken as exc:
            raise DecryptionError(
                f"Cannot decrypt {self.model.__name__}.{self.name} with the configured keys"
            ) from exc
        return json.loads(plain)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        return get_cipher().encrypt(plain).decode("ascii")

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))

    def get_placeholder(self, value, compiler, connection):
        # A plain parameter. Its presence also keeps Django's PostgreSQL bulk_create
        # off its UNNEST(array) form, which scans and quotes every value in Python: for
        # ciphertexts of kilobytes that is most of the cost of filing a batch.
        return "%s"


class EncryptedBinaryField(models.BinaryField):
    """Bytes stored encrypted (a Fernet token), e.g. a file a patient attached."""

    description = "Encrypted bytes"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return get_cipher().decrypt(bytes(value))
        except InvalidToken as exc:
            raise DecryptionError(
                f"Cannot decrypt {self.model.__name__}.{self.name} with the configured keys"
            ) from exc

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return super().get_db_prep_value(get_cipher().encrypt(bytes(value)), connection,
                                         prepared)
