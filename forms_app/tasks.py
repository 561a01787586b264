"""Celery tasks: each takes an id, and calls a service."""

import datetime
import gc
import logging
import time

from celery import shared_task, signals
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from forms_app import services
from forms_app.filing import services as filing_services
from forms_app.filing import tasks as _filing_tasks  # noqa: F401  (registers its tasks)
from forms_app.filing import validation as filing_validation
from forms_app.filing.destinations import PermanentFilingError
from forms_app.models import Submission

logger = logging.getLogger(__name__)


def filing_backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1`: doubling from the base, capped."""
    return min(settings.FILING_RETRY_BACKOFF_SECONDS * 2 ** retries, 300)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def file_submission_task(self, submission_id: str) -> None:
    try:
        services.file_submission(submission_id=submission_id)
    except Submission.DoesNotExist:
        logger.warning("Submission %s no longer exists; nothing to file", submission_id)
    except PermanentFilingError as exc:
        # A refusal (4xx, invalid resource) will not change by retrying: show staff.
        logger.error("Filing submission %s refused: %s", submission_id, exc)
        services.record_filing_failure(submission_id=submission_id, error=exc)
    except Exception as exc:
        # A dead connection (database restart) must not poison the next attempt. (Not
        # when run in-process: there the caller's transaction owns the connection.)
        if not self.request.is_eager:
            close_old_connections()
        final = self.request.retries >= settings.FILING_MAX_RETRIES
        logger.warning("Filing submission %s failed (attempt %d): %s", submission_id,
                       self.request.retries + 1, type(exc).__name__)
        try:
            services.record_filing_failure(submission_id=submission_id, error=exc,
                                           final=final)
        except Exception:
            # The database itself may be what failed; the retry still goes ahead.
            if not self.request.is_eager:
                close_old_connections()
            logger.warning("Could not record the failed attempt for %s", submission_id)
            if final:
                raise
        if final:
            return
        raise self.retry(exc=exc, countdown=filing_backoff(self.request.retries)) from exc
    else:
        logger.info("Filed submission %s", submission_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def file_waiting_submissions_task(self, slot=None) -> int:
    """File waiting submissions, a batch per transaction, until none are left (or
    FILING_BATCH_SECONDS have passed: then a successor carries on, so one task never
    nears its time limit). Parallel tasks claim disjoint batches (SKIP LOCKED)."""
    from forms_app.filing.batch import file_batch

    # Give the slot back first: a submission committed from now on wakes another
    # task, and one committed before is claimed below (services.wake_filing).
    if not services.release_wake_slot(slot) and slot and not self.request.retries:
        # This worker's cache did not hold it, so it may still be held where it was
        # taken: until it expires, submits that find it taken wake nobody, and those
        # committed after the claims below would wait for the sweeper. A wake-up once
        # it has expired files them.
        services.wake_filing_after_slots_expire()
    limit = settings.FILING_BATCH_SIZE
    deadline = time.monotonic() + settings.FILING_BATCH_SECONDS
    filed = 0
    try:
        while True:
            result = file_batch(limit=limit)
            filed += len(result.filed)
            for submission_id in result.retry:
                # Its own retries from now on, with backoff (attempt 1 was this one).
                filing_services.enqueue_filing(submission_id, countdown=filing_backoff(0),
                                               retries=1)
            if result.claimed < limit:
                return filed
            if time.monotonic() > deadline:
                services.wake_filing_again()
                return filed
    except Exception as exc:
        if self.request.is_eager:
            raise
        # A dead connection (database restart) must not poison the next attempt.
        close_old_connections()
        logger.warning("Filing a batch failed (attempt %d): %s", self.request.retries + 1,
                       type(exc).__name__)
        raise self.retry(exc=exc, countdown=filing_backoff(min(self.request.retries, 8))
                         ) from exc


@signals.worker_process_init.connect
def _warm_up_and_freeze(**kwargs) -> None:
    """As a pool process starts: load the FHIR models, then hide everything loaded so
    far (Django, pydantic, fhir.resources: most of the process's objects, all of them
    long-lived) from the garbage collector with gc.freeze. Filing allocates many small
    containers, so full collections ran often, and each walked that whole heap: real
    workers filed 425 and 628/s frozen against 317 and 377/s not (bench/filing_only.py,
    alternated in one run, load 3-7)."""
    filing_validation.warm_up()
    gc.freeze()


@shared_task(acks_late=True)
def sweep_unfiled_submissions() -> int:
    """Re-enqueue submissions whose filing task was lost (broker down, worker killed),
    and the PDFs of filed ones whose rendering task was lost."""
    older_than = datetime.timedelta(minutes=settings.FILING_SWEEP_AFTER_MINUTES)
    ids = filing_services.claim_unfiled_for_sweep(older_than=older_than)
    for submission_id in ids:
        filing_services.enqueue_filing(submission_id)
    if ids:
        logger.info("Sweeper re-enqueued %d unfiled submissions", len(ids))
    missing = filing_services.documents_missing(older_than=older_than)
    for start in range(0, len(missing), settings.FILING_BATCH_SIZE):
        filing_services.enqueue_documents(missing[start:start + settings.FILING_BATCH_SIZE])
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
