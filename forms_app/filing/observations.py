"""SDC Observation extraction: answers of items marked ``observationExtract`` become
coded FHIR Observations, filed beside the QuestionnaireResponse, so a PHQ-9 total
reaches the record as its LOINC-coded result.

Built from the filed QuestionnaireResponse itself (its answers, subject and date), so
an Observation always says what the response says. Each has a business identifier
(the submission and the item), its id derived from it: a second filing of the same
submission makes the same ids, which the record's unique source refuses and an
external server's conditional create ignores, so it is filed exactly once.
"""

import functools
import uuid

from pydantic import ValidationError as PydanticValidationError

from forms_app.filing.destinations import PermanentFilingError

_NAMESPACE = uuid.UUID("5b1f3f1e-1a64-4c55-9d43-3f2f0c2d7a11")
_SURVEY = {"coding": [{
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "survey", "display": "Survey"}]}


def observations_for(response: dict, compiled) -> list[dict]:
    """The Observations the response's answers give (none for a form without
    observationExtract items), each valid FHIR R4B."""
    extracted = {link_id: item for link_id, item in compiled.items.items()
                 if item.observation_extract}
    if not extracted:
        return []
    found = []
    for node in _answered(response.get("item", [])):
        item = extracted.get(node["linkId"])
        if item is None:
            continue
        for index, answer in enumerate(node["answer"]):
            value = _value(answer)
            if value is not None:
                found.append(_validated(_observation(response, item, index, value)))
    return found


def _answered(nodes):
    for node in nodes:
        if node.get("answer"):
            yield node
        for answer in node.get("answer", []):
            yield from _answered(answer.get("item", []))
        yield from _answered(node.get("item", []))


def _value(answer: dict) -> dict | None:
    """The Observation value[x] for a QuestionnaireResponse answer value[x] (SDC's
    mapping: a Coding becomes a CodeableConcept, a decimal a Quantity)."""
    for key, value in answer.items():
        if key == "valueCoding":
            return {"valueCodeableConcept": {"coding": [
                {k: v for k, v in value.items() if k != "extension"}]}}
        if key == "valueDecimal":
            return {"valueQuantity": {"value": value}}
        if key == "valueDate":
            return {"valueDateTime": value}
        if key in ("valueInteger", "valueQuantity", "valueBoolean", "valueString",
                   "valueDateTime", "valueTime"):
            return {key: value}
    return None


def identifier_value(response: dict, link_id: str, index: int) -> str:
    return f"{response['identifier']['value']}/{link_id}/{index}"


def _observation(response: dict, item, index: int, value: dict) -> dict:
    identifier = {"system": response["identifier"]["system"] + "/observation",
                  "value": identifier_value(response, item.link_id, index)}
    coding = [{k: v for k, v in code.items() if k in ("system", "code", "display")}
              for code in item.code]
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, identifier["value"])),
        "identifier": [identifier],
        "status": "final",
        "category": [_SURVEY],
        "code": {"coding": coding, **({"text": item.text} if item.text else {})},
        "subject": response["subject"],
        "effectiveDateTime": response["authored"],
        "issued": response["authored"],
        # The response by its business identifier: it is the same on every destination.
        "derivedFrom": [{"type": "QuestionnaireResponse",
                         "identifier": response["identifier"]}],
        **value,
    }


def _validated(observation: dict) -> dict:
    try:
        observation_class().model_validate(observation)
    except PydanticValidationError as exc:
        where = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
        raise PermanentFilingError(
            f"An extracted Observation is not valid FHIR ({', '.join(where)})") from exc
    return observation


@functools.cache
def observation_class():
    from fhir.resources.R4B.observation import Observation

    return Observation
