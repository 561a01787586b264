import logging
import os

from celery import Celery, signals
from django.utils.module_loading import import_string
from django_structlog.celery.steps import DjangoStructLogInitStep

from config import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("patient_forms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Worker side of django-structlog: a task's log lines carry the request id of the web
# request that enqueued it (sent in the task's headers).
app.steps["worker"].add(DjangoStructLogInitStep)

logger = logging.getLogger("config.celery")


def enqueue(task: str, *args, what: str, **options) -> bool:
    """Publish `task` (its dotted path, which is also its name) with `args`.

    The one place that decides what a broker outage does to the caller: nothing. The
    work is already recorded in the database (the outbox) and a beat sweeper publishes
    it again, so a failed publish is logged as a warning naming `what` (ids only, never
    patient data), counted (patients.fallbacks), and reported as False.
    Importing by path keeps services free of imports of their own tasks modules.
    """
    from patients.fallbacks import record_fallback

    task_object = import_string(task)  # a wrong path is a bug: raised, not swallowed
    try:
        task_object.apply_async(args=args, **options)
    except Exception as error:
        logger.warning("Could not enqueue %s (%s); its sweeper will publish it again",
                       what, type(error).__name__)
        record_fallback("broker", "publish failed", error=error)
        return False
    return True


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
