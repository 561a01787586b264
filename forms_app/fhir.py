"""FHIR at the edges: a form's draft becomes a Questionnaire on publishing, and a
submission becomes a QuestionnaireResponse when it is filed."""

import base64

from django.conf import settings

# The draft's translation lives with the rest of form design; re-exported here, where
# callers look for the FHIR edges.
from forms_app.design.export import draft_to_questionnaire, questionnaire_url
from forms_app.engine.answers import ATTACHMENT_URL_PREFIX
from forms_app.filing.destinations import PermanentFilingError
from forms_app.models import SubmissionFile

FORM_VERSION_EXTENSION = "https://fhir.patient-forms.nhs.uk/StructureDefinition/form-version"

__all__ = ["draft_to_questionnaire", "questionnaire_response", "questionnaire_url"]


def patient_resource(patient) -> dict:
    """The record's Patient as FHIR: the SDC launch context ``%patient`` that a form's
    initialExpressions read (only after the patient has confirmed who they are)."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                        "value": patient.nhs_number}],
        "name": [{"given": [patient.given_name], "family": patient.family_name}],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    telecom = [{"system": "phone", "value": patient.mobile}] if patient.mobile else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    return resource


def questionnaire_response(submission, compiled) -> dict:
    """The completed submission as a FHIR R4 QuestionnaireResponse."""
    link = submission.link
    version = link.version
    # The compiled form's url is its definition's (no need to load the definition).
    published = f"{compiled.url}|{version.number}"
    # The instrument's own canonical where the form came from one (an EHR then knows
    # this is a response to, say, the HL7 PHQ-9), with the published version beside it.
    derived = compiled.definition.get("derivedFrom") or [published]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(submission.id),
        "identifier": {
            "system": settings.FHIR_SUBMISSION_IDENTIFIER_SYSTEM,
            "value": str(submission.id),
        },
        "questionnaire": derived[0],
        "extension": [{"url": FORM_VERSION_EXTENSION, "valueCanonical": published}],
        "status": "completed",
        "subject": {
            "identifier": {
                "system": "https://fhir.nhs.uk/Id/nhs-number",
                "value": link.patient.nhs_number,
            },
            "display": str(link.patient),
        },
        "authored": submission.submitted_at.isoformat(),
        "source": {"display": "Patient"},
        "item": with_attached_files(submission, compiled,
                                    compiled.response_items(submission.answers or {})),
    }


def with_attached_files(submission, compiled, items: list[dict]) -> list[dict]:
    """The response items with each Attachment's bytes in ``data`` (decrypted from the
    submission's stored files) in place of the stored file's id. Read only for forms
    with attachment questions."""
    if not any(item.type == "attachment" for item in compiled.items.values()):
        return items
    files = {str(f.pk): f.content for f in SubmissionFile.objects.filter(submission=submission)}
    for attachment in _attachments(items):
        file_id = attachment.get("url", "").removeprefix(ATTACHMENT_URL_PREFIX)
        if file_id not in files:
            raise PermanentFilingError("A file the patient attached is missing")
        del attachment["url"]
        attachment["data"] = base64.b64encode(files[file_id]).decode("ascii")
    return items


def _attachments(items: list[dict]):
    for node in items:
        for answer in node.get("answer", []):
            if "valueAttachment" in answer:
                yield answer["valueAttachment"]
            yield from _attachments(answer.get("item", []))
        yield from _attachments(node.get("item", []))
