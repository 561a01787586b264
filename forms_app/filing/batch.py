"""Filing submitted forms, many in one transaction, each exactly once.

One transaction locks a batch of submissions (FOR UPDATE), files the ones still
waiting into every configured destination, and marks them filed: an INSERT of the
record entries, an INSERT of their audit events, one UPDATE of the submissions. The
row locks make a second run of the same submission wait and then find it filed; the
record's unique (source kind, source id) is the backstop, aborting the whole
transaction rather than filing twice. No savepoints: a submission that cannot be
filed (its response is not valid FHIR, an external server refuses or fails) is left
out of the inserts before anything is written, and its failure is recorded in the
same transaction.

The readable PDF is not rendered here: it is the slowest part of filing (about half
of it) and needs no lock, so a task renders it once this commits
(forms_app.filing.services.attach_documents).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from forms_app import fhir
from forms_app.filing import hooks
from forms_app.filing.destinations import (
    SUBMISSION_SOURCE,
    Filing,
    FilingError,
    TransientFilingError,
    configured_destinations,
    file_many_counted,
)
from forms_app.filing.observations import observations_for
from forms_app.filing.services import enqueue_documents, escalate_many
from forms_app.filing.validation import validated_response
from forms_app.models import Submission
from forms_app.selectors import compiled_version
from patients.models import AuditEvent
from patients.services import actor_fields

__all__ = ["SUBMISSION_SOURCE", "BatchResult", "file_batch"]


@dataclass
class BatchResult:
    claimed: int = 0                                  # rows locked by this batch
    entries: dict = field(default_factory=dict)       # submission pk -> RecordEntry
    filed: list = field(default_factory=list)         # pks filed by this batch
    already_filed: list = field(default_factory=list)
    not_submitted: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)        # pk -> the FilingError (recorded)

    @property
    def retry(self) -> list:
        """Submissions that failed for a reason that may pass (retry them with backoff)."""
        return [pk for pk, exc in self.failed.items()
                if isinstance(exc, TransientFilingError)]


@transaction.atomic
def file_batch(*, by="system", submission_ids=None, limit=50,
               raise_errors=False) -> BatchResult:
    """File the given submissions, or else up to `limit` waiting ones.

    Given ids, they are locked in id order (so two overlapping batches cannot
    deadlock) and waited for. Without, the oldest submissions never yet attempted are
    claimed with SKIP LOCKED, so parallel workers take disjoint batches; one that has
    failed before is left to its own retry (forms_app.tasks.file_submission_task), so a
    failing external server is not hammered by every batch.
    With `raise_errors`, a filing error is raised (rolling everything back) instead of
    recorded: the single-submission task records it and retries.
    """
    hooks.pause("before-lock")
    rows = _lock(submission_ids, limit)
    result = BatchResult(claimed=len(rows))
    filings = []
    for submission in rows:
        if submission.state == Submission.State.FILED:
            result.already_filed.append(submission.pk)
        elif submission.state == Submission.State.IN_PROGRESS:
            result.not_submitted.append(submission.pk)
        else:
            filing = _prepare(submission, by, result, raise_errors)
            if filing is not None:
                filings.append(filing)
    filings = _file_everywhere(filings, result, raise_errors)
    hooks.pause("after-destinations")
    if filings:
        _mark_filed(filings, result, by)
    _record_failures(rows, result)
    return result


def _lock(submission_ids, limit) -> list:
    rows = (Submission.objects.select_for_update(of=("self",))
            .select_related("link__version", "link__patient", "link__care_team")
            # The compiled version is cached; decoding the definition per row is not free.
            .defer("link__version__definition"))
    if submission_ids is not None:
        return list(rows.filter(pk__in=list(submission_ids)).order_by("pk"))
    return list(rows.select_for_update(of=("self",), skip_locked=True)
                .filter(state=Submission.State.SUBMITTED, filing_attempts=0)
                .order_by("submitted_at")[:limit])


def _prepare(submission, by, result, raise_errors) -> Filing | None:
    compiled = compiled_version(submission.link.version)
    try:
        response = validated_response(fhir.questionnaire_response(submission, compiled))
        observations = observations_for(response, compiled)
    except FilingError as exc:
        if raise_errors:
            raise
        result.failed[submission.pk] = exc
        return None
    return Filing(submission=submission, patient=submission.link.patient,
                  questionnaire_response=response, evaluation=submission.evaluation, by=by,
                  observations=observations)


def _file_everywhere(filings, result, raise_errors) -> list:
    """Each destination in turn, the internal record last: it writes to this
    transaction, so it must only see filings every other destination took."""
    destinations = sorted(configured_destinations(SUBMISSION_SOURCE),
                          key=lambda destination: destination.name == "internal")
    for destination in destinations:
        if not filings:
            break
        outcomes = file_many_counted(destination, filings)
        kept = []
        for filing in filings:
            outcome = outcomes[filing.submission.pk]
            if isinstance(outcome, FilingError):
                if raise_errors:
                    raise outcome
                result.failed[filing.submission.pk] = outcome
            else:
                filing.results[destination.name] = outcome
                kept.append(filing)
        filings = kept
    return filings


def _mark_filed(filings, result, by) -> None:
    now = timezone.now()
    pks = [filing.submission.pk for filing in filings]
    Submission.objects.filter(pk__in=pks).update(
        state=Submission.State.FILED, filed_at=now, last_error="",
        filing_attempts=F("filing_attempts") + 1)
    external = []
    for filing in filings:
        submission = filing.submission
        submission.state, submission.filed_at, submission.last_error = (
            Submission.State.FILED, now, "")
        submission.filing_attempts += 1
        result.filed.append(submission.pk)
        if "internal" in filing.results:
            result.entries[submission.pk] = filing.results["internal"]["entry"]
        if "fhir" in filing.results:
            # (The internal record audits its own entries in add_record_entries.)
            external.append(AuditEvent(
                **actor_fields(by), action=AuditEvent.Action.FILED_EXTERNALLY,
                organisation_id=filing.patient.organisation_id, patient=filing.patient,
                object_kind=submission._meta.label_lower, object_id=str(submission.pk),
                detail={"status": filing.results["fhir"]["status"],
                        "location": filing.results["fhir"]["location"]}))
    if external:
        AuditEvent.objects.bulk_create(external)
    escalate_many(submissions=[filing.submission for filing in filings], by=by)
    if result.entries:
        transaction.on_commit(lambda: enqueue_documents(list(result.entries)))


def _record_failures(rows, result) -> None:
    """Show staff each failed attempt; a refusal (not worth retrying) fails the
    submission at once, as the single-submission task does."""
    by_pk = {submission.pk: submission for submission in rows}
    for pk, error in result.failed.items():
        submission = by_pk[pk]
        final = not isinstance(error, TransientFilingError)
        submission.filing_attempts += 1
        submission.last_error = str(error) if final else f"{error} (retrying)"
        fields = ["filing_attempts", "last_error"]
        if final:
            submission.state = Submission.State.FAILED
            fields.append("state")
        submission.save(update_fields=fields)
        if final:
            AuditEvent.objects.create(
                **actor_fields("system"), action=AuditEvent.Action.FILING_FAILED,
                organisation_id=submission.link.patient.organisation_id,
                patient=submission.link.patient, object_kind=submission._meta.label_lower,
                object_id=str(submission.pk), detail={"error": submission.last_error})
