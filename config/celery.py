import os

from celery import Celery, signals
from django_structlog.celery.steps import DjangoStructLogInitStep

from config import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("patient_forms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Worker side of django-structlog: a task's log lines carry the request id of the web
# request that enqueued it (sent in the task's headers).
app.steps["worker"].add(DjangoStructLogInitStep)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _drop_stale_database_connections(sender=None, **kwargs):
    """Before and after each task, close a connection that is broken or past
    CONN_MAX_AGE, and have the next query health-check the rest.

    Workers keep connections across tasks (settings CELERY_DB_REUSE_MAX), so without
    this a database restart would leave every worker holding a dead connection.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # in-process (tests, embedded run): the caller owns the connection
    from django.db import close_old_connections

    close_old_connections()


# Task counts and durations for Prometheus, and the worker's own metrics port
# (config/metrics.py; settings CELERY_METRICS_PORT).
signals.task_prerun.connect(metrics.task_started, weak=False)
signals.task_postrun.connect(metrics.task_finished, weak=False)
signals.worker_ready.connect(metrics.start_worker_exporter, weak=False)
