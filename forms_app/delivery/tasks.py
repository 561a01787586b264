"""Celery tasks for delivery: each takes an id (or nothing, for beat) and calls a service."""

import datetime
import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from forms_app import clinic_lists
from forms_app.delivery import services
from forms_app.delivery.backends import DeliveryError, backend_for
from forms_app.models import DeliveryAttempt

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def send_message_task(self, attempt_id: str) -> str:
    """Send one message; transient failures retry with exponential backoff, then fail."""
    final_try = self.request.retries >= settings.DELIVERY_MAX_RETRIES
    try:
        outcome = services.send_message(attempt_id=attempt_id, final_try=final_try)
    except DeliveryAttempt.DoesNotExist:
        logger.warning("Delivery attempt %s no longer exists", attempt_id)
        return "missing"
    except Exception as exc:
        # Not a delivery error (database down, a bug): retry, then show staff it failed.
        if final_try:
            services.record_send_failure(attempt_id=attempt_id, reason=type(exc).__name__)
            return services.SendOutcome.FAILED
        close_old_connections()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if outcome == services.SendOutcome.RETRY:
        raise self.retry(countdown=_backoff(self.request.retries))
    logger.info("Delivery attempt %s: %s", attempt_id, outcome)
    return outcome


def _backoff(retries: int) -> float:
    return min(settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** retries, 3600)


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Beat: queue every reminder now due (each link's reminder n at most once)."""
    now = timezone.now()
    sent = 0
    for link_id in services.links_to_remind(now).values_list("pk", flat=True).iterator():
        if services.remind(link_id=link_id, now=now) is not None:
            sent += 1
    if sent:
        logger.info("Queued %d reminders", sent)
    return sent


@shared_task(acks_late=True)
def mark_closed_links() -> int:
    """Beat: forget tokens of closed links and cancel what can no longer be sent."""
    return services.mark_closed_links()


@shared_task(acks_late=True)
def sweep_queued_clinic_lists() -> int:
    """Beat: publish again clinic lists left queued (their task lost, broker down)."""
    return clinic_lists.requeue_stalled()


@shared_task(acks_late=True)
def send_pending_messages() -> int:
    """Beat: re-enqueue messages whose task was lost (broker down at commit)."""
    cutoff = timezone.now() - datetime.timedelta(minutes=10)
    ids = list(DeliveryAttempt.objects.filter(status=DeliveryAttempt.Status.PENDING,
                                              tries=0, created_at__lt=cutoff)
               .values_list("pk", flat=True)[:1000])
    for attempt_id in ids:
        services.enqueue_send(attempt_id)
    return len(ids)


@shared_task(acks_late=True)
def poll_delivery_statuses() -> int:
    """Beat: ask GOV.UK Notify about messages sent without a receipt yet (for
    installations that cannot receive Notify's callbacks)."""
    since = timezone.now() - datetime.timedelta(days=3)
    updated = 0
    pending = (DeliveryAttempt.objects.filter(status=DeliveryAttempt.Status.SENT,
                                              backend="notify", sent_at__gt=since)
               .values_list("provider_id", "channel")[:500])
    for provider_id, channel in pending:
        try:
            status = backend_for(channel).status(provider_id)
        except DeliveryError:
            continue
        updated += services.record_delivery_status(provider_id=provider_id, status=status)
    return updated


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def issue_clinic_list_task(self, clinic_list_id: str) -> int:
    """Issue a clinic list batch by batch (each batch its own transaction, so the progress
    page sees the counts move), for up to CLINIC_LIST_TASK_SECONDS, then queue the rest:
    each run stays well inside the task time limit, and issuing is not left waiting in
    the queue behind the list's own message sends."""
    started = time.monotonic()
    remaining = None
    try:
        while remaining != 0 and time.monotonic() - started < settings.CLINIC_LIST_TASK_SECONDS:
            remaining = clinic_lists.issue_next_batch(clinic_list_id=clinic_list_id,
                                                      batch_size=settings.CLINIC_LIST_BATCH)
    except Exception as exc:
        close_old_connections()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if remaining:
        issue_clinic_list_task.delay(clinic_list_id)
    return remaining or 0


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_clinic_list_messages_task(clinic_list_id: str) -> int:
    """Send a clinic list's waiting invitations, a batch per run (services.send_batch).

    One task per batch rather than one per message keeps the queue short and the
    database round trips few. A message that needs a retry is handed to its own
    send_message_task with backoff.
    """
    taken, retry = services.send_batch(pending=clinic_lists.pending_messages(clinic_list_id),
                                       limit=settings.CLINIC_LIST_BATCH)
    for attempt_id in retry:
        send_message_task.apply_async(args=[str(attempt_id)], countdown=_backoff(0))
    if taken == settings.CLINIC_LIST_BATCH:
        send_clinic_list_messages_task.delay(clinic_list_id)  # more may be waiting
    return taken
