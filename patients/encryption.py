"""Key rotation and the start-up key check for encrypted columns (answers as
EncryptedJSONField, files as EncryptedBinaryField).

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
deploy, run `manage.py rotate_encryption_keys`, then remove the old keys. New writes use
the first key at once; the command re-encrypts every existing value, in batches, each
batch in its own short transaction, so the site keeps running.
"""

from django.apps import apps
from django.core import checks
from django.db import DatabaseError, models, transaction
from django.db.models import ExpressionWrapper, F
from django.db.models.functions import Cast

from patients.crypto import (
    DecryptionError,
    EncryptedBinaryField,
    EncryptedJSONField,
    get_cipher,
)

ENCRYPTED_FIELDS = (EncryptedJSONField, EncryptedBinaryField)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, and their names (all apps, so a new model
    with an EncryptedJSONField is rotated without anyone remembering to add it)."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields
                 if isinstance(f, ENCRYPTED_FIELDS)]
        if names:
            found.append((model, names))
    return found


def _raw(model, name):
    """The stored ciphertext of a column, read without its field decrypting it: text
    for JSON, bytes for files."""
    if isinstance(model._meta.get_field(name), EncryptedBinaryField):
        return ExpressionWrapper(F(name), output_field=models.BinaryField())
    return Cast(name, output_field=models.TextField())


def _rewritten(model, name, raw, cipher):
    """The value re-encrypted under the newest key, written as it is (Value with the
    plain column type bypasses the field's own encryption of a Python value)."""
    if isinstance(model._meta.get_field(name), EncryptedBinaryField):
        return models.Value(cipher.rotate(bytes(raw)), output_field=models.BinaryField())
    token = cipher.rotate(raw.encode("ascii")).decode("ascii")
    return models.Value(token, output_field=models.TextField())


def rotate_model(model, fields, *, batch_size=500, log=None) -> int:
    """Re-encrypt `fields` of every row of `model` under the newest key; returns the
    number of values rewritten."""
    cipher = get_cipher()
    rewritten = 0
    last_pk = None
    manager = model._default_manager
    while True:
        with transaction.atomic():
            queryset = manager.order_by("pk")
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            pks = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not pks:
                return rewritten
            last_pk = pks[-1]
            rows = (manager.filter(pk__in=pks).select_for_update()
                    .annotate(**{f"raw_{n}": _raw(model, n) for n in fields})
                    .values("pk", *(f"raw_{n}" for n in fields)))
            for row in rows:
                updates = {}
                for name in fields:
                    raw = row[f"raw_{name}"]
                    if raw is None:
                        continue
                    updates[name] = _rewritten(model, name, raw, cipher)
                if updates:
                    manager.filter(pk=row["pk"]).update(**updates)
                    rewritten += len(updates)
        if log:
            log(f"{model._meta.label}: re-encrypted up to {last_pk}")


@checks.register("encryption", checks.Tags.security)
def check_encryption_keys(app_configs=None, databases=None, **kwargs):
    """The configured keys decrypt the stored canary and a sample of each encrypted
    table; otherwise refuse to start (the WSGI/ASGI application, `migrate`,
    `check --database default`)."""
    from patients.models import EncryptionCanary

    if not databases or "default" not in databases:
        return []  # Django's rule for checks that query: only when asked to
    errors = []
    try:
        canary = EncryptionCanary.objects.filter(pk=1).first()
        if canary is not None and canary.value != EncryptionCanary.VALUE:
            errors.append(checks.Error("The encryption canary decrypts to the wrong value.",
                                       id="patients.E002"))
        for model, fields in encrypted_fields():
            for name in fields:
                sample = (model._default_manager.exclude(**{name: None})
                          .order_by("pk").values_list(name, flat=True)[:1])
                list(sample)
    except DecryptionError as exc:
        errors.append(checks.Error(
            f"FIELD_ENCRYPTION_KEYS cannot decrypt stored data ({exc}). Put the key the "
            "data was written with back into FIELD_ENCRYPTION_KEYS (after the new one).",
            id="patients.E001"))
    except DatabaseError:
        # No database yet (before `migrate`): nothing stored, nothing to check.
        pass
    return errors


def assert_keys_decrypt():
    """Called by config/wsgi.py and config/asgi.py: a web process with the wrong key
    refuses to start instead of serving errors page by page."""
    errors = check_encryption_keys(databases=["default"])
    if errors:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("; ".join(e.msg for e in errors))
