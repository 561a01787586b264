from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients and records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Fail at start-up, not at the first patient's submit, when the keys are unusable.
        from patients.crypto import get_cipher

        get_cipher()
        # Audit of logins; ending every session at logout and deactivation.
        # After every migrate run as the owner: the runtime role's grants kept up to date.
        from django.db.models.signals import post_migrate

        from patients import encryption, signals  # noqa: F401  (system check, receivers)
        from patients.staff_check import connect_signals

        connect_signals()  # a changed user or device is not answered from the cache
        from patients.db_roles import apply_runtime_grants_after_migrate

        post_migrate.connect(apply_runtime_grants_after_migrate, sender=self,
                             dispatch_uid="patients.db_roles")
