"""FHIR at the edges: a form's draft becomes a Questionnaire on publishing, and a
submission becomes a QuestionnaireResponse when it is filed."""

from django.conf import settings

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"


def questionnaire_url(form) -> str:
    return f"{settings.SITE_URL}/fhir/Questionnaire/{form.id}"


def _item_to_fhir(item, children_of) -> dict:
    data = {"linkId": item.link_id, "text": item.text}
    if item.type == item.Type.MULTIPLE_CHOICE:
        data["type"] = "choice"
        data["repeats"] = True
    else:
        data["type"] = item.type
    if item.required and item.type not in {item.Type.GROUP, item.Type.DISPLAY}:
        data["required"] = True
    if item.max_length:
        data["maxLength"] = item.max_length
    if item.has_options:
        data["answerOption"] = [_option_to_fhir(option) for option in item.options.all()]
    children = [_item_to_fhir(child, children_of) for child in children_of.get(item.pk, [])]
    if item.help_text:
        # The SDC way of attaching help: a display child marked with itemControl "help".
        children.insert(0, {
            "linkId": f"{item.link_id}-help",
            "type": "display",
            "text": item.help_text,
            "extension": [{
                "url": ITEM_CONTROL,
                "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM,
                                                     "code": "help"}]},
            }],
        })
    if children:
        data["item"] = children
    return data


def _option_to_fhir(option) -> dict:
    coding = {"code": option.code, "display": option.display}
    if option.system:
        coding = {"system": option.system, **coding}
    data = {"valueCoding": coding}
    if option.score is not None:
        data["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": option.score}]
    return data


def draft_to_questionnaire(form, *, version_number: int, items=None) -> dict:
    """The form's draft as a FHIR R4 Questionnaire, as it would be published."""
    if items is None:
        items = list(form.items.prefetch_related("options").order_by("position", "id"))
    children_of: dict = {}
    for item in items:
        children_of.setdefault(item.parent_id, []).append(item)
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": str(form.id),
        "url": questionnaire_url(form),
        "version": str(version_number),
        "name": "".join(ch for ch in form.title.title() if ch.isalnum())[:60] or "Form",
        "title": form.title,
        "status": "active",
        "publisher": form.organisation.name,
        "item": [_item_to_fhir(item, children_of) for item in children_of.get(None, [])],
    }
    if form.description:
        questionnaire["description"] = form.description
    return questionnaire


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
        "questionnaire": f"{version.definition.get('url')}|{version.number}",
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
