"""Celery tasks of escalation and alerting: each takes an id and calls a service."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import mail_admins
from django.urls import reverse
from django.utils import timezone

from forms_app.filing import selectors, services
from forms_app.models import WorklistTask

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=8)
def notify_worklist_task(self, task_id: str) -> None:
    try:
        services.notify_team(task_id=task_id)
    except WorklistTask.DoesNotExist:
        logger.warning("Worklist task %s no longer exists", task_id)
    except Exception as exc:
        # Mail server or database trouble: try again soon (a minute is the promise).
        raise self.retry(exc=exc, countdown=min(5 * 2 ** self.request.retries, 120)) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=8)
def attach_documents_task(self, submission_ids: list) -> int:
    """Render and attach the PDFs of just-filed submissions (outside the filing lock).

    On its own queue (FILING_DOCUMENTS_QUEUE) when so configured, so a worker started
    for it, niced if need be, keeps this slow part from delaying filing itself.
    """
    try:
        return services.attach_documents(submission_ids=submission_ids)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(5 * 2 ** self.request.retries, 300)) from exc


@shared_task(acks_late=True)
def sweep_unnotified_worklist_tasks() -> int:
    """Re-enqueue notifications whose publish was lost (broker down at filing)."""
    cutoff = timezone.now() - datetime.timedelta(seconds=30)
    ids = list(WorklistTask.objects.filter(notified_at__isnull=True, created_at__lt=cutoff)
               .order_by("created_at").values_list("pk", flat=True)[:500])
    for task_id in ids:
        services.enqueue_notification(task_id)
    return len(ids)


@shared_task(acks_late=True)
def alert_unfiled_submissions() -> int:
    """Raise the alarm while any submission has waited too long to be filed."""
    overdue = selectors.overdue_filings(
        older_than=datetime.timedelta(minutes=settings.FILING_ALERT_AFTER_MINUTES))
    if not overdue.count:
        return 0
    # Counts and ages only: no patient data in logs or email.
    message = (f"{overdue.count} submitted form(s) not filed after "
               f"{settings.FILING_ALERT_AFTER_MINUTES:g} minutes "
               f"({overdue.failed} failed, {overdue.waiting} still waiting); the oldest was "
               f"submitted at {overdue.oldest:%Y-%m-%d %H:%M %Z}.\n\n"
               f"Review and file them again: {settings.SITE_URL}"
               f"{reverse('admin:forms_app_submission_changelist')}?state__exact=failed\n")
    logger.error("Filing alert: %s", message.splitlines()[0])
    mail_admins("Forms are waiting to be filed", message, fail_silently=False)
    return overdue.count
