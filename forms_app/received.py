"""A completed QuestionnaireResponse sent by another system (an EHR, a kiosk elsewhere):
checked against its published version, its scores recomputed, then filed as a patient's
submission would be.

Nothing it says is trusted: each answer must fit its question (type, options), every
required question its conditions show must be answered, none they hide may be; and
every calculated item is recomputed by the engine. A sent value that disagrees (a total
of 13 where the answers give 10) is a discrepancy: reported to the sender, recorded on
the submission, and the engine's value is the one filed. The sender's identifier makes
it idempotent: the same identifier again files nothing and returns the first.

Repeating groups come as one item per instance (nested ones inside them), each read,
checked (its own conditions, required questions and targetConstraints, minOccurs and
maxOccurs) and recomputed on its own; a problem or discrepancy in one names it by
path, instance numbers counting from 1: ``relative[2]/cancer-age``. An attachment
answer must carry its data (base64): its size and content type (read from the bytes,
as for a patient's upload) are checked against the question, and it is stored
encrypted with the submission before it is filed.
"""

import base64
import binascii
import uuid
from collections import ChainMap
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from forms_app import services
from forms_app.engine import attachments
from forms_app.engine.answers import fits
from forms_app.engine.repeats import MAX_INSTANCES, SEP
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
    return None  # anything else is not accepted from elsewhere


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


def _attachment(item, answer: dict) -> tuple[attachments.UploadedAttachment | None, str]:
    """(the file, checked as a patient's upload is), or (None, why it is refused)."""
    given = answer.get("valueAttachment")
    if not isinstance(given, dict) or not isinstance(given.get("data"), str):
        return None, "an attachment must carry its data (base64); a link is not accepted"
    if len(given["data"]) > (item.max_size * 4) // 3 + 8:
        return None, f"the file is larger than the question allows ({item.max_size} bytes)"
    try:
        content = base64.b64decode(given["data"], validate=True)
    except (binascii.Error, ValueError):
        return None, "the attachment's data is not base64"
    if not content or len(content) > item.max_size:
        return None, f"the file is empty or larger than the question allows ({item.max_size} bytes)"
    content_type = attachments.sniff_content_type(content[:16])
    if content_type is None or not attachments.accepts(item, content_type):
        return None, "the file is not of a type the question accepts"
    if given.get("contentType") not in (None, content_type):
        return None, f"the file is {content_type}, not the {given['contentType']:.40} it says"
    if given.get("size") not in (None, len(content)):
        return None, "the attachment's size does not match its data"
    title = attachments.safe_title(given.get("title"))
    return attachments.UploadedAttachment(title, content_type, content), ""


@dataclass
class Reading:
    """What a response says, read against the form: the answers (in the engine's shape,
    repeating groups as lists of instances), the values sent for calculated items (to
    compare, never to keep), the files to store, and every problem found."""

    compiled: object
    answers: dict = field(default_factory=dict)
    # (instances down to it: ((group linkId, index), ...), linkId, value, path)
    sent: list = field(default_factory=list)
    # placeholder id -> (field name, the checked file): stored once the submission is
    files: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def level(self, nodes, target: dict, scope, where: tuple, path: str, seen: set) -> None:
        """Read ``nodes`` (response items) into ``target``: the form (``scope`` None) or
        one instance of the repeating group ``scope``."""
        for node in nodes if isinstance(nodes, list) else []:
            if not isinstance(node, dict):
                continue
            link_id = node.get("linkId")
            item = self.compiled.items.get(link_id) if isinstance(link_id, str) else None
            if item is None:
                self.problems.append(f"{path}{link_id!s:.64}: no such item in this form version")
            elif item.scope != scope:
                self.problems.append(f"{path}{link_id}: not where the form version puts it")
            elif item.is_repeating_group:
                self._instance(item, node, target, where, path)
            elif link_id in seen:
                self.problems.append(f"{path}{link_id}: appears more than once")
            else:
                seen.add(link_id)
                self._node(item, node, target, where, path, seen)

    def _node(self, item, node: dict, target: dict, where: tuple, path: str, seen) -> None:
        """A question's answers (and the items under them), or a plain group's items."""
        if item.type not in ("group", "display"):
            self._question(item, node.get("answer") or [], target, where, path)
        inner = list(node.get("item") or [])
        for answer in node.get("answer") or []:
            inner += answer.get("item") or [] if isinstance(answer, dict) else []
        self.level(inner, target, item.scope, where, path, seen)

    def _instance(self, group, node, target: dict, where: tuple, path: str) -> None:
        index = len(target.get(group.link_id) or [])
        instance: dict = {}
        self.level(node.get("item"), instance, group.link_id,
                   (*where, (group.link_id, index)), f"{path}{group.link_id}[{index + 1}]/",
                   set())
        if instance:  # an instance with nothing answered is no instance
            target.setdefault(group.link_id, []).append(instance)

    def _question(self, item, given: list, target: dict, where: tuple, path: str) -> None:
        if not given:
            return
        values = [self._one(item, answer, where, path) if isinstance(answer, dict) else None
                  for answer in given]
        several = item.is_multiple or item.is_repeating_question
        if len(values) > 1 and not several:
            self.problems.append(f"{path}{item.link_id}: more than one answer to a question "
                                 "answered once")
            return
        value = values if several else values[0]
        parts = values if item.is_repeating_question else [value]
        if not all(part is not None and fits(item, part) for part in parts):
            self.problems.append(f"{path}{item.link_id}: the answer is not of the question's "
                                 "type or not one of its options")
        elif item.calculation is not None:
            self.sent.append((where, item.link_id, value, f"{path}{item.link_id}"))
        else:
            target[item.link_id] = value

    def _one(self, item, answer: dict, where: tuple, path: str):
        if item.type != "attachment":
            return _value(item, answer)
        upload, problem = _attachment(item, answer)
        if upload is None:
            self.problems.append(f"{path}{item.link_id}: {problem}")
            return None
        # A stand-in of the stored shape, so that the answers can be checked before the
        # submission (which the file is stored with) exists; replaced once it is stored.
        placeholder = f"received-{len(self.files)}"
        name = "".join(f"{group}{SEP}{index}{SEP}" for group, index in where) + item.link_id
        self.files[placeholder] = (name, upload)
        return upload.answer(placeholder)


def read_answers(compiled, resource) -> tuple[dict, list, list[str]]:
    """(answers to questions, values sent for calculated items, problems)."""
    reading = Reading(compiled)
    reading.level(resource.get("item"), reading.answers, None, (), "", set())
    return reading.answers, reading.sent, reading.problems


def check_answers(compiled, answers: dict) -> list[str]:
    """Required questions left unanswered, answers to questions their conditions hide,
    failed targetConstraints, and instances beyond their limits: on the form and in
    each instance of each repeating group."""
    enabled = compiled.enabled_link_ids(answers)
    problems = [f"{link_id}: answered, but its conditions hide it"
                for link_id in answers if link_id not in enabled]
    problems += [f"{item.link_id}: required, but not answered"
                 for item in compiled.scope_members.get(None, ())
                 if item.required and item.is_question and item.link_id in enabled
                 and item.link_id not in answers]
    for page in compiled.pages:
        problems += [f"{link_id}: {message}" for link_id, message
                     in compiled.constraint_errors(page.key, answers).items()]
    for item in compiled.scope_members.get(None, ()):
        if item.is_repeating_group and item.link_id in enabled:
            problems += _instance_problems(compiled, item, answers.get(item.link_id) or [],
                                           answers, (), "")
    problems += _group_problems(compiled, answers)
    return problems


def _group_problems(compiled, answers: dict) -> list[str]:
    """A required group (engine.groups) needs one of its shown questions answered."""
    return [f"{group.link_id}: required group, but none of its questions answered"
            for key in compiled.enabled_page_keys(answers)
            for group, _shown in compiled.unanswered_groups(key, answers)]


def _instance_problems(compiled, group, instances: list, outer, chain: tuple,
                       path: str) -> list[str]:
    problems = []
    limit = min(group.max_occurs or MAX_INSTANCES, MAX_INSTANCES)
    if len(instances) > limit:
        problems.append(f"{path}{group.link_id}: more than {limit} instances")
    if len(instances) < group.min_occurs:
        problems.append(f"{path}{group.link_id}: fewer than {group.min_occurs} instances")
    for number, instance in enumerate(instances[:limit], start=1):
        problems += _one_instance_problems(compiled, group, instance, outer, chain,
                                           f"{path}{group.link_id}[{number}]/")
    return problems


def _one_instance_problems(compiled, group, instance: dict, outer, chain: tuple,
                           where: str) -> list[str]:
    enabled, kept = compiled.walk_instance(group.link_id, instance, outer, chain=chain)
    problems = [f"{where}{link_id}: answered, but its conditions hide it"
                for link_id in instance if link_id not in enabled]
    members = compiled.scope_members.get(group.link_id, ())
    problems += [f"{where}{member.link_id}: required, but not answered"
                 for member in members
                 if member.required and member.is_question and member.link_id in enabled
                 and member.link_id not in instance]
    problems += [f"{where}{link_id}: {message}" for link_id, message
                 in compiled.instance_errors(group.link_id, kept, outer, chain).items()]
    inner_outer = ChainMap(instance, outer)
    for member in members:
        if member.is_repeating_group and member.link_id in enabled:
            problems += _instance_problems(
                compiled, member, instance.get(member.link_id) or [], inner_outer,
                (*chain, (group, instance)), where)
    return problems


def discrepancies(compiled, answers: dict, sent: list) -> list[dict]:
    """Each calculated value sent that the engine's own computation contradicts (in an
    instance, the value computed for that instance)."""
    computed = compiled.values(answers)
    found = []
    for where, link_id, value, path in sent:
        holder = computed
        for group, index in where:
            instances = holder.get(group) if isinstance(holder, dict) else None
            holder = instances[index] if isinstance(instances, list) \
                and index < len(instances) else {}
        engine = holder.get(link_id)
        if engine != value:
            entry = {"linkId": link_id, "sent": value, "computed": engine}
            if where:
                entry["path"] = path
            found.append(entry)
    return found


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
    reading = Reading(compiled)
    reading.level(resource.get("item"), reading.answers, None, (), "", set())
    answers, problems = reading.answers, reading.problems
    problems += check_answers(compiled, answers)
    if problems:
        raise ResponseRefused(problems)
    found = discrepancies(compiled, answers, reading.sent)
    issued = services.issue_link(version=version, patient=patient, care_team=care_team,
                                 by=by)
    Submission.objects.create(id=submission_id, link=issued.link)
    answers = _stored(answers, submission_id, reading.files)
    submission = services.submit(submission_id=submission_id, answers=answers)
    if found:
        submission.evaluation = {**submission.evaluation, "discrepancies": found}
        submission.save(update_fields=["evaluation"])
    record_audit(by=by, action=AuditEvent.Action.SUBMITTED, patient=patient,
                 obj=submission, detail={"received_from": system,
                                         "discrepancies": [d["linkId"] for d in found]})
    return Received(submission, True, found)


def _stored(answers, submission_id, files: dict):
    """``answers`` with each received file stored (encrypted, with the submission) and
    its stand-in replaced by the stored answer."""
    if not files:
        return answers
    stored = {placeholder: services.store_attachment(submission_id=submission_id,
                                                     link_id=name, upload=upload)
              for placeholder, (name, upload) in files.items()}

    def replace(value):
        if attachments.is_answer(value) and value["id"] in stored:
            return stored[value["id"]]
        if isinstance(value, dict):
            return {key: replace(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [replace(inner) for inner in value]
        return value

    return replace(answers)
