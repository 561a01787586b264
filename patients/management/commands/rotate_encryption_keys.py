"""Re-encrypt every encrypted value under the newest key in FIELD_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from patients.encryption import encrypted_fields, rotate_model
from patients.models import AuditEvent
from patients.services import record_audit


class Command(BaseCommand):
    help = ("Re-encrypt answers, drafts, wizard state and record entries under the first "
            "key of FIELD_ENCRYPTION_KEYS. Older keys must stay configured until it ends.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, verbosity, **options):
        log = self.stdout.write if verbosity > 1 else None
        counts = {}
        for model, fields in encrypted_fields():
            counts[model._meta.label] = rotate_model(model, fields, batch_size=batch_size,
                                                     log=log)
            self.stdout.write(f"{model._meta.label}: {counts[model._meta.label]} values "
                              "re-encrypted")
        record_audit(by="system", action=AuditEvent.Action.KEYS_ROTATED, detail=counts)
        self.stdout.write(self.style.SUCCESS("Every encrypted value now uses the newest key."))
