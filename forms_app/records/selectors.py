"""Reading a submission the way a clinician reads it: through the compiled form.

The record (patients.RecordEntry) stores a FHIR QuestionnaireResponse and the scores and
flags as plain JSON; only the form knows the questions' wording, the pages and which
answers were shown, so the readable view is built here from the version that was
answered (forms_app.engine: CompiledForm.summary), never from a raw dict.
"""

import base64
import binascii
from dataclasses import dataclass, field

from forms_app.engine.summary import SummaryPage
from forms_app.models import Submission
from forms_app.selectors import compiled_version
from forms_app.services import SUBMISSION_SOURCE
from patients.models import RecordEntry


@dataclass(frozen=True)
class Score:
    label: str
    value: object
    band: str = ""


@dataclass(frozen=True)
class ReadableSubmission:
    submission: Submission
    pages: list[SummaryPage]
    scores: list[Score] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    entry: RecordEntry | None = None
    pdf_titles: list[str] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        return any(flag.get("severity") == "urgent" for flag in self.flags)


def visible_submission(user, submission_id) -> Submission | None:
    return (Submission.objects.visible_to(user)
            .select_related("link__version", "link__patient", "link__care_team",
                            "link__appointment")
            .filter(pk=submission_id).first())


def record_entry_for(user, submission) -> RecordEntry | None:
    return RecordEntry.objects.visible_to(user).filter(
        source_kind=SUBMISSION_SOURCE, source_id=submission.pk).first()


def readable_submission(user, submission: Submission) -> ReadableSubmission:
    """Pages of "question: answer", then each score with its label and band, and the
    flags; with the record entry (and its PDF's title) once filed."""
    compiled = compiled_version(submission.link.version)
    answers = submission.answers or {}
    evaluation = submission.evaluation or {}
    bands = evaluation.get("bands") or {}
    scores = []
    for key, value in (evaluation.get("scores") or {}).items():
        item = compiled.items.get(key)
        scores.append(Score(label=(item.text if item is not None and item.text else key),
                            value=value, band=str(bands.get(key, ""))))
    entry = record_entry_for(user, submission) if submission.is_submitted else None
    return ReadableSubmission(
        submission=submission,
        pages=compiled.summary(answers) if submission.is_submitted else [],
        scores=scores,
        flags=[flag for flag in evaluation.get("flags") or [] if isinstance(flag, dict)],
        entry=entry,
        pdf_titles=_pdf_titles(entry, submission),
    )


def _pdf_titles(entry: RecordEntry | None, submission: Submission) -> list[str]:
    """The titles of the entry's PDFs. An entry filed moments ago whose PDF task has not
    run yet (attachments still None) offers its one PDF too: downloading renders it."""
    if entry is None:
        return []
    if entry.attachments is None:
        return [f"Form {submission.reference}.pdf"]
    return [str(a.get("title") or "Document") for a in entry.attachments
            if isinstance(a, dict) and a.get("contentType") == "application/pdf"]


def record_pdf(entry: RecordEntry, index: int = 0) -> tuple[bytes, str] | None:
    """The entry's index-th PDF attachment, decoded, and its file name."""
    pdfs = [a for a in (entry.attachments or [])
            if isinstance(a, dict) and a.get("contentType") == "application/pdf"]
    if not 0 <= index < len(pdfs):
        return None
    try:
        data = base64.b64decode(pdfs[index].get("data") or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    return data, str(pdfs[index].get("title") or "record.pdf")
