"""A completed QuestionnaireResponse sent by another system (an EHR, a kiosk elsewhere):
checked against its published version, its scores recomputed, then filed as a patient's
submission would be.

Nothing it says is trusted: each answer must fit its question (type, options), every
required question its conditions show must be answered, none they hide may be; and
every calculated item is recomputed by the engine. A sent value that disagrees (a total
of 13 where the answers give 10) is a discrepancy: reported to the sender, recorded on
the submission, and the engine's value is the one filed. The sender's identifier makes
it idempotent: the same identifier again files nothing and returns the first.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from forms_app import services
from forms_app.engine.answers import fits
from forms_app.models import Submission
from forms_app.selectors import compiled_version
from patients.models import AuditEvent, Patient
from patients.services import record_audit

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# Submission ids of received responses derive from (team, sender's identifier).
_NAMESPACE = uuid.UUID("0d8c3c55-7f0a-4e0f-9d55-6a3f8f0f3b21")
_SCALARS = {"boolean": "valueBoolean", "integer": "valueInteger", "date": "valueDate",
            "dateTime": "valueDateTime", "time": "valueTime", "string": "valueString",
            "text": "valueString", "url": "valueUri"}


class ResponseRefused(services.ServiceError):
    """The response does not fit its version; ``problems`` says each way it does not."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Received:
    submission: Submission
    created: bool
    discrepancies: list = field(default_factory=list)


def operation_outcome(problems: list[str]) -> dict:
    """The problems as a FHIR OperationOutcome (what the API answers with a 400)."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": problem}
                      for problem in problems]}


def _nodes(items):
    for node in items if isinstance(items, list) else []:
        if isinstance(node, dict):
            yield node
            for answer in node.get("answer") or []:
                if isinstance(answer, dict):
                    yield from _nodes(answer.get("item"))
            yield from _nodes(node.get("item"))


def _value(item, answer: dict):
    """The stored answer shape for one FHIR answer value[x] (None: does not fit)."""
    if item.type in _SCALARS:
        value = answer.get(_SCALARS[item.type])
        return int(value) if item.type == "integer" and isinstance(value, int) else value
    if item.type == "decimal":
        number = answer.get("valueDecimal", answer.get("valueInteger"))
        try:
            return str(Decimal(str(number))) if isinstance(number, int | float) else None
        except InvalidOperation:
            return None
    if item.type == "quantity":
        quantity = answer.get("valueQuantity") or {}
        number = quantity.get("value")
        return ({"value": str(number), "unit": quantity.get("code")}
                if isinstance(number, int | float) else None)
    if item.type in ("choice", "open-choice"):
        return _choice(item, answer)
    return None  # attachments and anything else are not accepted from elsewhere


def _choice(item, answer: dict):
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        return coding.get("code")
    for kind in ("valueString", "valueInteger"):
        if kind in answer:
            text = str(answer[kind])
            if item.option(text) is not None or item.type != "open-choice":
                return text
            return {"other": text}
    return None


def read_answers(compiled, resource) -> tuple[dict, dict, list[str]]:
    """(answers to questions, values sent for calculated items, problems)."""
    answers, sent, problems = {}, {}, []
    for node in _nodes(resource.get("item")):
        link_id, given = node.get("linkId"), node.get("answer") or []
        item = compiled.items.get(link_id) if isinstance(link_id, str) else None
        if item is None:
            problems.append(f"{link_id!s:.64}: no such item in this form version")
            continue
        if not given or item.type in ("group", "display"):
            continue
        values = [_value(item, a) if isinstance(a, dict) else None for a in given]
        value = values if item.is_multiple else values[0]
        if len(values) > 1 and not item.is_multiple:
            problems.append(f"{link_id}: more than one answer to a question answered once")
        elif not fits(item, value):
            problems.append(f"{link_id}: the answer is not of the question's type or "
                            "not one of its options")
        elif item.calculation is not None:
            sent[link_id] = value
        else:
            answers[link_id] = value
    return answers, sent, problems


def check_answers(compiled, answers: dict) -> list[str]:
    """Required questions left unanswered, and answers to questions their conditions hide."""
    enabled = compiled.enabled_link_ids(answers)
    problems = [f"{link_id}: answered, but its conditions hide it"
                for link_id in answers if link_id not in enabled]
    problems += [f"{item.link_id}: required, but not answered"
                 for item in compiled.items.values()
                 if item.required and item.is_question and item.link_id in enabled
                 and item.link_id not in answers]
    return problems


def discrepancies(compiled, answers: dict, sent: dict) -> list[dict]:
    """Each calculated value sent that the engine's own computation contradicts."""
    computed = compiled.values(answers)
    return [{"linkId": link_id, "sent": value, "computed": computed.get(link_id)}
            for link_id, value in sent.items() if computed.get(link_id) != value]


def _identifier(resource) -> tuple[str, str] | None:
    identifier = resource.get("identifier")
    if isinstance(identifier, list):  # R5 shape; R4 has one
        identifier = identifier[0] if identifier else None
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if not (isinstance(system, str) and isinstance(value, str) and system and value):
        return None
    return system, value


def _subject_nhs_number(resource) -> str | None:
    subject = resource.get("subject")
    identifier = subject.get("identifier") if isinstance(subject, dict) else None
    if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
        value = identifier.get("value")
        return value if isinstance(value, str) else None
    return None


def _envelope_problems(resource) -> list[str]:
    if not isinstance(resource, dict) or resource.get("resourceType") != "QuestionnaireResponse":
        return ["The document is not a FHIR QuestionnaireResponse"]
    problems = []
    if resource.get("status") != "completed":
        problems.append("status: only a completed response can be filed")
    if _identifier(resource) is None:
        problems.append("identifier: the sender's identifier (system and value) is needed")
    if _subject_nhs_number(resource) is None:
        problems.append(f"subject: the patient's NHS number ({NHS_NUMBER_SYSTEM}) is needed")
    return problems


@transaction.atomic
def receive_response(*, version, resource, care_team, by) -> Received:
    """Check, recompute and file a QuestionnaireResponse to ``version`` for a patient of
    ``care_team``; ResponseRefused (nothing written) when it does not fit."""
    problems = _envelope_problems(resource)
    if problems:
        raise ResponseRefused(problems)
    system, value = _identifier(resource)
    submission_id = uuid.uuid5(_NAMESPACE, f"{care_team.pk}|{system}|{value}")
    existing = Submission.objects.filter(pk=submission_id).first()
    if existing is not None:
        return Received(existing, False, existing.evaluation.get("discrepancies", []))
    patient = Patient.objects.filter(organisation=care_team.organisation,
                                     care_teams=care_team,
                                     nhs_number=_subject_nhs_number(resource)).first()
    if patient is None:
        raise ResponseRefused(["subject: not a patient of your care team"])
    compiled = compiled_version(version)
    answers, sent, problems = read_answers(compiled, resource)
    problems += check_answers(compiled, answers)
    if problems:
        raise ResponseRefused(problems)
    found = discrepancies(compiled, answers, sent)
    issued = services.issue_link(version=version, patient=patient, care_team=care_team,
                                 by=by)
    Submission.objects.create(id=submission_id, link=issued.link)
    submission = services.submit(submission_id=submission_id, answers=answers)
    if found:
        submission.evaluation = {**submission.evaluation, "discrepancies": found}
        submission.save(update_fields=["evaluation"])
    record_audit(by=by, action=AuditEvent.Action.SUBMITTED, patient=patient,
                 obj=submission, detail={"received_from": system,
                                         "discrepancies": [d["linkId"] for d in found]})
    return Received(submission, True, found)
