"""Staff read a submission's answers and download the filed PDF; both are audited."""

import re

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from forms_app.filing.services import attach_documents
from forms_app.records import selectors
from patients.access import audit_access, staff_required
from patients.models import AuditEvent


def _submission_or_404(request, submission_id):
    submission = selectors.visible_submission(request.user, submission_id)
    if submission is None:
        raise Http404("No such submission")
    return submission


@staff_required
@never_cache
@require_GET
def submission(request, submission_id):
    submission = _submission_or_404(request, submission_id)
    readable = selectors.readable_submission(request.user, submission)
    if submission.is_submitted:
        audit_access(request, action=AuditEvent.Action.ANSWERS_VIEWED,
                     patient=submission.link.patient, obj=submission,
                     detail={"via": "staff-record"})
    return render(request, "forms_app/records/submission.html", {
        "readable": readable, "submission": submission, "patient": submission.link.patient,
    })


@staff_required
@never_cache
@require_GET
def submission_pdf(request, submission_id, index=0):
    submission = _submission_or_404(request, submission_id)
    entry = selectors.record_entry_for(request.user, submission)
    if entry is not None and entry.attachments is None:
        # Filed, but its PDF task has not run yet (or was lost): render it now, once;
        # attach_documents is idempotent, so the task arriving later writes nothing.
        attach_documents(submission_ids=[submission.pk])
        entry.refresh_from_db(fields=["attachments"])
    document = selectors.record_pdf(entry, index) if entry is not None else None
    if document is None:
        raise Http404("No filed document")
    data, title = document
    audit_access(request, action=AuditEvent.Action.RECORD_DOWNLOADED,
                 patient=submission.link.patient, obj=entry,
                 detail={"via": "staff-record", "document": index})
    response = HttpResponse(data, content_type="application/pdf")
    # The reference only: no patient name in the file name (it lands in Downloads).
    safe = re.sub(r"[^A-Za-z0-9 ._-]", "", title)[:80] or "record.pdf"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response
