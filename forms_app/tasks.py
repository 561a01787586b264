"""Celery tasks: each takes an id, and calls a service."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from forms_app import services
from forms_app.models import Submission

logger = logging.getLogger(__name__)

FILING_MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=FILING_MAX_RETRIES)
def file_submission_task(self, submission_id: str) -> None:
    try:
        services.file_submission(submission_id=submission_id)
    except Submission.DoesNotExist:
        logger.warning("Submission %s no longer exists; nothing to file", submission_id)
    except Exception as exc:
        if self.request.retries >= FILING_MAX_RETRIES:
            logger.error("Filing submission %s failed: %s", submission_id, type(exc).__name__)
            services.record_filing_failure(submission_id=submission_id, error=exc)
            return
        # A dead connection (database restart) must not poison the next attempt.
        close_old_connections()
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries * 5, 300)) from exc
    logger.info("Filed submission %s", submission_id)


@shared_task(acks_late=True)
def sweep_unfiled_submissions() -> int:
    """Re-enqueue submissions whose filing task was lost (broker down, worker killed)."""
    cutoff = timezone.now() - datetime.timedelta(minutes=settings.FILING_SWEEP_AFTER_MINUTES)
    ids = list(Submission.objects.filter(state=Submission.State.SUBMITTED,
                                         submitted_at__lt=cutoff)
               .order_by("submitted_at").values_list("pk", flat=True)[:1000])
    for submission_id in ids:
        services.enqueue_filing(submission_id)
    if ids:
        logger.info("Sweeper re-enqueued %d unfiled submissions", len(ids))
    return len(ids)


@shared_task(acks_late=True)
def apply_retention_task() -> dict:
    """Delete drafts and answers past their form's retention (forms_app/retention.py)."""
    from forms_app.retention import apply_retention
    from patients.services import forget_expired_staff_sessions

    totals = apply_retention()
    forget_expired_staff_sessions(now=timezone.now())
    logger.info("Retention: %(drafts_deleted)d drafts, %(answers_deleted)d answers deleted",
                totals)
    return totals


# --- REST API (forms_app.api) ---------------------------------------------------

@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    """Forget API idempotency keys older than API_IDEMPOTENCY_KEY_HOURS."""
    from forms_app.api import services as api_services

    cutoff = timezone.now() - datetime.timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS)
    purged = api_services.purge_idempotency_keys(older_than=cutoff)
    if purged:
        logger.info("Purged %d API idempotency keys", purged)
    return purged


# Delivery's tasks live in their own package; importing them here registers them with
# Celery's autodiscovery of forms_app.tasks.
from forms_app.delivery import tasks as delivery_tasks  # noqa: E402, F401
