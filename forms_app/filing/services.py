"""Write operations of filing and escalation (keyword-only, one transaction, audited).

Filing itself is forms_app.services.file_submission; this module holds what it calls
and what staff do around it: escalate urgent flags to the team's worklist, notify the
team, acknowledge, file again, and the patient's own copy of the PDF.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from config.celery import enqueue
from forms_app.filing.destinations import PermanentFilingError
from forms_app.models import Submission, WorklistTask
from forms_app.selectors import compiled_version
from patients.models import AuditEvent
from patients.services import record_audit

logger = logging.getLogger(__name__)


class FilingServiceError(Exception):
    """A request the rules refuse; the message is safe to show to staff."""


def validated_response(resource: dict) -> dict:
    """The QuestionnaireResponse, checked against FHIR R4B before anything is filed."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    try:
        QuestionnaireResponse.model_validate(resource)
    except PydanticValidationError as exc:
        # Field locations only: the validator's messages can quote answers.
        where = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
        raise PermanentFilingError(
            f"The QuestionnaireResponse is not valid FHIR ({', '.join(where)})") from exc
    return resource


def urgent_flags(evaluation: dict) -> list[dict]:
    return [flag for flag in (evaluation or {}).get("flags", [])
            if flag.get("severity") == "urgent"]


@transaction.atomic
def escalate_flags(*, submission: Submission, by) -> WorklistTask | None:
    """Put a submission with urgent flags on its care team's worklist, once, and have
    the team emailed once this commits (the notifier sweep catches a lost publish)."""
    flags = urgent_flags(submission.evaluation)
    if not flags:
        return None
    link = submission.link
    task, created = WorklistTask.objects.get_or_create(
        submission=submission,
        defaults={"care_team": link.care_team, "patient": link.patient, "flags": flags})
    if created:
        record_audit(by=by, action=AuditEvent.Action.WORKLIST_TASK_CREATED,
                     patient=link.patient, obj=task,
                     detail={"flags": [flag.get("code", "") for flag in flags]})
        transaction.on_commit(lambda: enqueue_notification(task.pk))
    return task


def enqueue_notification(task_id) -> bool:
    # Unnotified tasks are swept by sweep_unnotified_worklist_tasks.
    return enqueue("forms_app.filing.tasks.notify_worklist_task", str(task_id),
                   what=f"the notification of worklist task {task_id}")


@transaction.atomic
def notify_team(*, task_id, by="system") -> bool:
    """Email the care team that an urgent flag is waiting; once per task.

    The message names the team and links to the worklist; it carries no patient data,
    since email is not a secure channel. The row lock stops two workers sending twice.
    """
    task = (WorklistTask.objects.select_for_update(of=("self",))
            .select_related("care_team", "patient").get(pk=task_id))
    if task.notified_at is not None:
        return False
    recipients = sorted(task.care_team.members.filter(is_active=True)
                        .exclude(email="").values_list("email", flat=True))
    if recipients:
        url = settings.SITE_URL + reverse("worklist:list")
        send_mail(
            subject=f"Urgent: a form needs attention - {task.care_team.name}",
            message=(f"A form submitted by a patient of {task.care_team.name} raised an "
                     f"urgent flag.\n\nOpen the worklist to review and acknowledge it:\n"
                     f"{url}\n"),
            from_email=None, recipient_list=recipients)
    else:
        logger.warning("Care team %s has no email addresses to notify", task.care_team_id)
    task.notified_at = timezone.now()
    task.save(update_fields=["notified_at"])
    record_audit(by=by, action=AuditEvent.Action.WORKLIST_NOTIFIED, patient=task.patient,
                 obj=task, detail={"recipients": len(recipients)})
    return True


@transaction.atomic
def acknowledge_task(*, task_id, by) -> WorklistTask:
    """A team member takes the flagged form in hand; recorded with who and when."""
    task = (WorklistTask.objects.visible_to(by).select_for_update(of=("self",))
            .select_related("patient").filter(pk=task_id).first())
    if task is None:
        raise PermissionDenied("No such worklist task for your teams.")
    if task.acknowledged_at is not None:
        raise FilingServiceError("This task has already been acknowledged.")
    task.acknowledged_at = timezone.now()
    task.acknowledged_by = by
    task.save(update_fields=["acknowledged_at", "acknowledged_by"])
    record_audit(by=by, action=AuditEvent.Action.WORKLIST_ACKNOWLEDGED,
                 patient=task.patient, obj=task)
    return task


@transaction.atomic
def file_again(*, submission_id, by) -> Submission:
    """Staff ask for a failed (or stuck) filing to run again."""
    from forms_app.services import enqueue_filing

    submission = (Submission.objects.visible_to(by).select_for_update(of=("self",))
                  .select_related("link__patient").filter(pk=submission_id).first())
    if submission is None:
        raise PermissionDenied("No such submission for your teams.")
    if submission.state == Submission.State.FILED:
        raise FilingServiceError(f"{submission.reference} is already filed.")
    if submission.state == Submission.State.IN_PROGRESS:
        raise FilingServiceError(f"{submission.reference} has not been submitted yet.")
    submission.state = Submission.State.SUBMITTED
    submission.save(update_fields=["state"])
    record_audit(by=by, action=AuditEvent.Action.FILING_REQUESTED,
                 patient=submission.link.patient, obj=submission)
    transaction.on_commit(lambda: enqueue_filing(submission.pk))
    return submission


@transaction.atomic
def patient_copy_pdf(*, submission_id, ip_address=None) -> bytes:
    """The PDF of a submission for the patient who just sent it (the view checks the
    session); the download is audited like any read of answers."""
    from forms_app.filing.pdf import submission_pdf

    submission = (Submission.objects.select_related("link__version", "link__patient")
                  .get(pk=submission_id))
    if not submission.is_submitted:
        raise FilingServiceError("This form has not been sent yet.")
    record_audit(by="patient", action=AuditEvent.Action.ANSWERS_DOWNLOADED,
                 patient=submission.link.patient, obj=submission, ip_address=ip_address)
    return submission_pdf(submission, compiled_version(submission.link.version))


@transaction.atomic
def claim_unfiled_for_sweep(*, older_than, limit=1000) -> list:
    """Submissions still waiting to be filed after `older_than` and not re-enqueued in
    that time either: mark them swept and return their ids for re-enqueueing.

    Marking stops a backlog that is merely slow (still queued) from being enqueued
    again on every sweep; SKIP LOCKED passes over rows a worker is filing right now.
    """
    now = timezone.now()
    cutoff = now - older_than
    ids = list(Submission.objects
               .filter(state=Submission.State.SUBMITTED, submitted_at__lt=cutoff)
               .filter(Q(filing_swept_at__isnull=True) | Q(filing_swept_at__lt=cutoff))
               .order_by("submitted_at").select_for_update(skip_locked=True)
               .values_list("pk", flat=True)[:limit])
    Submission.objects.filter(pk__in=ids).update(filing_swept_at=now)
    return ids
