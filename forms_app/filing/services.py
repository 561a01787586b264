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

from config.celery import enqueue
from forms_app.filing.destinations import SUBMISSION_SOURCE, pdf_attachment
from forms_app.filing.validation import validated_response  # noqa: F401  (re-exported)
from forms_app.models import Submission, WorklistTask
from forms_app.selectors import compiled_version
from forms_app.whiteboard.freshness import board_changed
from patients.errors import DomainError
from patients.models import AuditEvent, RecordEntry
from patients.services import actor_fields, record_audit

logger = logging.getLogger(__name__)


class FilingServiceError(DomainError):
    """A request the rules refuse; the message is safe to show to staff."""


def urgent_flags(evaluation: dict) -> list[dict]:
    return [flag for flag in (evaluation or {}).get("flags", [])
            if flag.get("severity") == "urgent"]


@transaction.atomic(savepoint=False)
def escalate_many(*, submissions, by) -> list[WorklistTask]:
    """Put each submission with urgent flags on its care team's worklist, and have the
    team emailed once this commits (the notifier sweep catches a lost publish).

    Called in the filing transaction, which holds the submissions' locks and files
    only unfiled ones, so none has a task yet (a task is unique per submission: a
    second one would abort the filing rather than escalate twice).
    """
    tasks = [WorklistTask(submission=submission, care_team=submission.link.care_team,
                          patient=submission.link.patient, flags=flags)
             for submission in submissions
             if (flags := urgent_flags(submission.evaluation))]
    if not tasks:
        return []
    WorklistTask.objects.bulk_create(tasks)
    actor = actor_fields(by)
    AuditEvent.objects.bulk_create([
        AuditEvent(**actor, action=AuditEvent.Action.WORKLIST_TASK_CREATED,
                   organisation_id=task.patient.organisation_id, patient=task.patient,
                   object_kind=task._meta.label_lower, object_id=str(task.pk),
                   detail={"flags": [flag.get("code", "") for flag in task.flags]})
        for task in tasks])
    ids = [task.pk for task in tasks]
    transaction.on_commit(lambda: [enqueue_notification(task_id) for task_id in ids])
    return tasks


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
    # The team's whiteboards show it as acknowledged on their next load.
    transaction.on_commit(lambda: board_changed(task.care_team_id))
    record_audit(by=by, action=AuditEvent.Action.WORKLIST_ACKNOWLEDGED,
                 patient=task.patient, obj=task)
    return task


def enqueue_filing(submission_id, **options) -> bool:
    """Publish the filing task; a broker outage is logged, never raised to the patient
    (the submission is stored; sweep_unfiled_submissions enqueues it again)."""
    return enqueue("forms_app.tasks.file_submission_task", str(submission_id),
                   what=f"filing of submission {submission_id}", **options)


@transaction.atomic
def file_again(*, submission_id, by) -> Submission:
    """Staff ask for a failed (or stuck) filing to run again."""
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


# --- The readable PDF, rendered after filing --------------------------------------

def enqueue_documents(submission_ids) -> bool:
    """Publish the rendering of just-filed submissions' PDFs; a lost publish is caught
    by the filing sweeper (sweep_unfiled_submissions renders what is missing)."""
    return enqueue("forms_app.filing.tasks.attach_documents_task",
                   [str(pk) for pk in submission_ids],
                   what=f"the documents of {len(submission_ids)} filed submissions")


@transaction.atomic
def attach_documents(*, submission_ids, by="system") -> int:
    """Render the PDF of each filed submission whose record entry has none yet, and
    attach it to the entry. Returns how many were attached.

    Outside the filing lock by design: the PDF is a pure function of the filed
    submission (invariant output), so two runs write the same bytes and need no lock.
    Not audited: it adds the rendering of an entry already audited as filed, and
    shows nobody anything. A submission whose answers retention has already deleted
    gets an empty list, so it is not looked for again.
    """
    from forms_app.filing.pdf import submission_pdf

    entries = {entry.source_id: entry for entry in RecordEntry.objects.filter(
        source_kind=SUBMISSION_SOURCE, source_id__in=list(submission_ids),
        attachments__isnull=True).only("id", "source_id", "attachments")}
    if not entries:
        return 0
    for submission in (Submission.objects.filter(pk__in=list(entries))
                       .select_related("link__version", "link__patient")):
        entry = entries[submission.pk]
        if not submission.answers:
            entry.attachments = []
            continue
        pdf = submission_pdf(submission, compiled_version(submission.link.version))
        entry.attachments = [pdf_attachment(pdf, reference=submission.reference,
                                            created=submission.submitted_at.isoformat())]
    RecordEntry.objects.bulk_update(list(entries.values()), ["attachments"])
    return sum(1 for entry in entries.values() if entry.attachments)


def documents_missing(*, older_than, limit=500) -> list:
    """Filed submissions whose PDF is still not attached after `older_than` (its
    rendering task was lost): their ids, oldest first."""
    cutoff = timezone.now() - older_than
    return list(RecordEntry.objects
                .filter(source_kind=SUBMISSION_SOURCE, attachments__isnull=True,
                        filed_at__lt=cutoff)
                .order_by("filed_at").values_list("source_id", flat=True)[:limit])
