"""Deleting what is past its retention, and recording that it was deleted.

What goes, per form (RetentionPolicy, or the settings' defaults):
- drafts (wizard state and draft answers) of submissions never sent, once their link
  has expired or been revoked for `draft_days`;
- the answers of filed submissions `days_after_filing` after filing.

What stays: the submission row with its state, dates, reference and evaluation (scores,
bands, flags: no free text), so counts, worklists and the audit still make sense; and
the record entry. The record entry is the patient's clinical record, kept under the
trust's records-management rules (the NHS Records Management Code of Practice), which
are not this form's operational retention: deleting from a health record is a records
decision a periodic task must not take. Submissions not yet filed are never touched.
"""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from forms_app.models import Form, RetentionPolicy, Submission, SubmissionFile
from patients.models import AuditEvent
from patients.services import record_audit


@transaction.atomic
def apply_retention_to_form(*, form: Form, now: datetime.datetime, by="system") -> dict:
    policy = RetentionPolicy.objects.filter(form=form).first()
    days_after_filing, draft_days = (
        (policy.days_after_filing, policy.draft_days) if policy else RetentionPolicy.defaults())
    submissions = Submission.objects.filter(link__version__form=form)
    draft_cutoff = now - datetime.timedelta(days=draft_days)
    drafts = submissions.filter(
        Q(link__expires_at__lte=draft_cutoff) | Q(link__revoked_at__lte=draft_cutoff),
        state=Submission.State.IN_PROGRESS,
    ).filter(Q(wizard_state__isnull=False) | Q(draft_answers__isnull=False))
    answered = submissions.filter(
        state=Submission.State.FILED, answers__isnull=False,
        filed_at__lte=now - datetime.timedelta(days=days_after_filing),
    )
    # Attached files are answers too: they go with them.
    SubmissionFile.objects.filter(
        Q(submission__in=drafts) | Q(submission__in=answered)).delete()
    drafts_deleted = drafts.update(wizard_state=None, draft_answers=None, updated_at=now)
    answers_deleted = answered.update(answers=None)
    counts = {"drafts_deleted": drafts_deleted, "answers_deleted": answers_deleted,
              "days_after_filing": days_after_filing, "draft_days": draft_days}
    if drafts_deleted or answers_deleted:
        record_audit(by=by, action=AuditEvent.Action.RETENTION_APPLIED,
                     organisation=form.organisation, obj=form, detail=counts)
    return counts


def apply_retention(*, now=None, by="system") -> dict:
    """Every form, one transaction each (a long run never holds one big lock)."""
    now = now or timezone.now()
    totals = {"drafts_deleted": 0, "answers_deleted": 0}
    for form in Form.objects.select_related("organisation").order_by("pk"):
        counts = apply_retention_to_form(form=form, now=now, by=by)
        totals["drafts_deleted"] += counts["drafts_deleted"]
        totals["answers_deleted"] += counts["answers_deleted"]
    return totals
