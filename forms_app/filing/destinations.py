"""Where a submission is filed, chosen in settings.FILING_DESTINATIONS.

- "internal": the platform's own record (patients.RecordEntry): the QuestionnaireResponse,
  the scores and flags as its summary, and the PDF as an encrypted attachment.
- "fhir": an external FHIR server. The QuestionnaireResponse is POSTed with the
  submission id as its business identifier and a conditional create (If-None-Exist on
  that identifier), so a retry after a lost reply or a killed worker creates nothing new.

Errors are sorted for the retry policy: TransientFilingError (timeouts, connection
errors, 5xx, 429) is retried with backoff; PermanentFilingError (any other 4xx, an
invalid resource) stops at once and is shown to staff.
"""

import base64
import hashlib
import logging
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from forms_app import metrics
from patients.services import add_record_entries

logger = logging.getLogger(__name__)

# The record entry's source kinds for a submitted form and for an Observation extracted
# from it (the record knows no forms).
SUBMISSION_SOURCE = "forms_app.submission"
OBSERVATION_SOURCE = "forms_app.submission.observation"


class FilingError(Exception):
    """Filing did not happen; the message is shown to staff (no patient data in it)."""


class TransientFilingError(FilingError):
    pass


class PermanentFilingError(FilingError):
    pass


@dataclass
class Filing:
    """Everything that is filed for one submission, and what each destination said."""

    submission: object
    patient: object
    questionnaire_response: dict
    evaluation: dict
    by: object
    results: dict = field(default_factory=dict)
    # SDC-extracted Observations (forms_app.filing.observations), filed with the response.
    observations: list = field(default_factory=list)


class InternalRecord:
    """The platform's own record. Its entry's PDF attachment is added after the
    filing commits (forms_app.filing.services.attach_documents)."""

    name = "internal"

    def __init__(self, source_kind: str):
        self.source_kind = source_kind

    def file_many(self, filings: list[Filing]) -> dict:
        # Each Observation is its own entry, its source its derived id: the record's
        # unique source refuses a second filing of it as it does the response's.
        observations = [
            {"patient": filing.patient, "source_kind": OBSERVATION_SOURCE,
             "source_id": observation["id"], "resource_type": "Observation",
             "resource": observation, "summary": {}}
            for filing in filings for observation in filing.observations]
        entries = add_record_entries(by=filings[0].by, entries=[
            {"patient": filing.patient, "source_kind": self.source_kind,
             "source_id": filing.submission.pk, "resource_type": "QuestionnaireResponse",
             "resource": filing.questionnaire_response, "summary": filing.evaluation}
            for filing in filings] + observations)
        return {filing.submission.pk: {"entry": entry, "created": True}
                for filing, entry in zip(filings, entries[:len(filings)], strict=True)}


def pdf_attachment(pdf: bytes, *, reference: str, created: str) -> dict:
    """The PDF as a FHIR Attachment, stored encrypted with the record entry."""
    return {
        "contentType": "application/pdf",
        "data": base64.b64encode(pdf).decode("ascii"),
        "size": len(pdf),
        # FHIR defines Attachment.hash as SHA-1; it identifies, it does not protect.
        "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # noqa: S324
        "title": f"Form {reference}.pdf",
        "creation": created,
    }


class ExternalFhirServer:
    name = "fhir"

    def __init__(self, base_url: str, *, timeout: float, username="", password="", token=""):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.auth = httpx.BasicAuth(username, password) if username else None
        self.headers = {"Accept": "application/fhir+json",
                        "Content-Type": "application/fhir+json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def file_many(self, filings: list[Filing]) -> dict:
        """POST each; a FilingError is that submission's outcome, not the batch's.

        After a transient error (timeout, 5xx) the rest are not tried: each would
        likely wait as long again, and a batch must stay well inside the task's time
        limit. They share the error and retry on their own with backoff.
        """
        outcomes = {}
        unavailable = None
        with httpx.Client(timeout=self.timeout, auth=self.auth) as client:
            for filing in filings:
                if unavailable is not None:
                    outcomes[filing.submission.pk] = unavailable
                    continue
                try:
                    outcomes[filing.submission.pk] = self.file(filing, client)
                except TransientFilingError as exc:
                    outcomes[filing.submission.pk] = unavailable = exc
                except FilingError as exc:
                    outcomes[filing.submission.pk] = exc
        return outcomes

    def file(self, filing: Filing, client: httpx.Client | None = None) -> dict:
        if client is None:
            with httpx.Client(timeout=self.timeout, auth=self.auth) as own:
                return self.file(filing, own)
        outcome = self._create(client, filing.questionnaire_response,
                               filing.questionnaire_response["identifier"])
        for observation in filing.observations:
            # After the response, each by its own identifier: a retry after a failure
            # half-way creates only what is missing.
            self._create(client, observation, observation["identifier"][0])
        return outcome

    def _create(self, client: httpx.Client, document: dict, identifier: dict) -> dict:
        kind = document["resourceType"]
        resource = {k: v for k, v in document.items() if k != "id"}
        headers = {**self.headers,
                   # FHIR conditional create: if a resource with this business
                   # identifier exists, the server answers 200 and creates nothing.
                   "If-None-Exist": f"identifier={identifier['system']}|{identifier['value']}"}
        try:
            response = client.post(f"{self.base_url}/{kind}", json=resource,
                                   headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientFilingError("The FHIR server did not answer in time") from exc
        except httpx.TransportError as exc:
            raise TransientFilingError(
                f"Could not reach the FHIR server ({type(exc).__name__})") from exc
        status = response.status_code
        if status in (200, 201):
            return {"status": status, "location": response.headers.get("Location", "")}
        if status >= 500 or status in (408, 429):
            raise TransientFilingError(f"The FHIR server answered {status}")
        raise PermanentFilingError(
            f"The FHIR server refused the form ({status}){_outcome_summary(response)}")


def _outcome_summary(response) -> str:
    """The OperationOutcome's issue codes, which name the problem without echoing data."""
    try:
        issues = response.json().get("issue", [])
        codes = sorted({str(issue.get("code", "")) for issue in issues if issue.get("code")})
    except (ValueError, AttributeError):
        return ""
    return f": {', '.join(codes)}" if codes else ""


def file_many_counted(destination, filings: list[Filing]) -> dict:
    """``destination.file_many``, counted for the metrics (forms_app/metrics.py): one
    attempt per submission, a failure per submission whose outcome is an error."""
    metrics.FILING_ATTEMPTS.labels(destination=destination.name).inc(len(filings))
    try:
        outcomes = destination.file_many(filings)
    except Exception as exc:
        _count_failures(destination.name, exc, len(filings))
        raise
    for outcome in outcomes.values():
        if isinstance(outcome, Exception):
            _count_failures(destination.name, outcome, 1)
    return outcomes


def _count_failures(destination: str, error: Exception, how_many: int) -> None:
    kind = ("transient" if isinstance(error, TransientFilingError)
            else "permanent" if isinstance(error, PermanentFilingError) else "error")
    metrics.FILING_FAILURES.labels(destination=destination, kind=kind).inc(how_many)


def configured_destinations(source_kind: str) -> list:
    destinations = []
    for name in settings.FILING_DESTINATIONS:
        if name == "internal":
            destinations.append(InternalRecord(source_kind))
        elif name == "fhir":
            destinations.append(ExternalFhirServer(
                settings.FHIR_SERVER_BASE_URL, timeout=settings.FHIR_SERVER_TIMEOUT_SECONDS,
                username=settings.FHIR_SERVER_USERNAME,
                password=settings.FHIR_SERVER_PASSWORD, token=settings.FHIR_SERVER_TOKEN))
    return destinations
