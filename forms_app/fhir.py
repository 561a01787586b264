"""FHIR at the edges: a form's draft becomes a Questionnaire on publishing, and a
submission becomes a QuestionnaireResponse when it is filed."""

from django.conf import settings

# The draft's translation lives with the rest of form design; re-exported here, where
# callers look for the FHIR edges.
from forms_app.design.export import draft_to_questionnaire, questionnaire_url

__all__ = ["draft_to_questionnaire", "questionnaire_response", "questionnaire_url"]


def questionnaire_response(submission, compiled) -> dict:
    """The completed submission as a FHIR R4 QuestionnaireResponse."""
    link = submission.link
    version = link.version
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(submission.id),
        "identifier": {
            "system": settings.FHIR_SUBMISSION_IDENTIFIER_SYSTEM,
            "value": str(submission.id),
        },
        # The compiled form's url is its definition's (no need to load the definition).
        "questionnaire": f"{compiled.url}|{version.number}",
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
        "item": compiled.response_items(submission.answers or {}),
    }
