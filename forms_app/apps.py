from django.apps import AppConfig


class FormsAppConfig(AppConfig):
    name = "forms_app"
    verbose_name = "Patient forms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from celery import signals
        from django.core.signals import request_finished
        from django.urls import reverse

        from forms_app.engine.answer_expressions import OptionsCache
        from forms_app.services import SUBMISSION_SOURCE
        from forms_app.whiteboard.views import staff_check_prefetch
        from patients.records import register_reader
        from patients.staff_check import register_prefetch

        # A filed submission is read on the staff record page, in words, with its PDF.
        register_reader(SUBMISSION_SOURCE, lambda entry: reverse(
            "records:submission", kwargs={"submission_id": entry.source_id}))

        # A whiteboard's JSON poll reads its cache keys in the staff check's round trip.
        register_prefetch(staff_check_prefetch)

        # Options worked out from a patient's answers never outlive their request or task.
        request_finished.connect(OptionsCache.forget_all, weak=False)
        signals.task_postrun.connect(OptionsCache.forget_all, weak=False)
