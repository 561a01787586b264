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
from dataclasses import dataclass

import httpx
from django.conf import settings

from forms_app import metrics
from patients.services import add_record_entry

logger = logging.getLogger(__name__)

class FilingError(Exception):
    """Filing did not happen; the message is shown to staff (no patient data in it)."""


class TransientFilingError(FilingError):
    pass


class PermanentFilingError(FilingError):
    pass


@dataclass(frozen=True)
class Filing:
    """Everything that is filed for one submission."""

    submission: object
    patient: object
    questionnaire_response: dict
    evaluation: dict
    pdf: bytes
    by: object


class InternalRecord:
    name = "internal"

    def __init__(self, source_kind: str):
        self.source_kind = source_kind

    def file(self, filing: Filing) -> dict:
        entry, created = add_record_entry(
            patient=filing.patient, source_kind=self.source_kind,
            source_id=filing.submission.pk, resource_type="QuestionnaireResponse",
            resource=filing.questionnaire_response, summary=filing.evaluation,
            attachments=[pdf_attachment(filing)], by=filing.by)
        return {"entry": entry, "created": created}


def pdf_attachment(filing: Filing) -> dict:
    """The PDF as a FHIR Attachment, stored encrypted with the record entry."""
    return {
        "contentType": "application/pdf",
        "data": base64.b64encode(filing.pdf).decode("ascii"),
        "size": len(filing.pdf),
        # FHIR defines Attachment.hash as SHA-1; it identifies, it does not protect.
        "hash": base64.b64encode(hashlib.sha1(filing.pdf).digest()).decode("ascii"),  # noqa: S324
        "title": f"Form {filing.submission.reference}.pdf",
        "creation": filing.questionnaire_response["authored"],
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

    def file(self, filing: Filing) -> dict:
        resource = {k: v for k, v in filing.questionnaire_response.items() if k != "id"}
        identifier = resource["identifier"]
        headers = {**self.headers,
                   # FHIR conditional create: if a resource with this business
                   # identifier exists, the server answers 200 and creates nothing.
                   "If-None-Exist": f"identifier={identifier['system']}|{identifier['value']}"}
        try:
            with httpx.Client(timeout=self.timeout, auth=self.auth) as client:
                response = client.post(f"{self.base_url}/QuestionnaireResponse",
                                       json=resource, headers=headers)
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


def file_into(destination, filing: Filing) -> dict:
    """File into one destination, counted for the metrics (forms_app/metrics.py)."""
    metrics.FILING_ATTEMPTS.labels(destination=destination.name).inc()
    try:
        return destination.file(filing)
    except Exception as exc:
        metrics.count_filing_failure(destination.name, exc)
        raise


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
