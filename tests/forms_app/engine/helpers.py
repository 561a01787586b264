"""Small builders for Questionnaire definitions in tests."""

import json
from pathlib import Path

from forms_app.engine import compile_definition

LIBRARY = Path(__file__).resolve().parents[3] / "forms_app" / "library"
BASE = "https://fhir.patient-forms.nhs.uk/StructureDefinition/"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def library(name: str) -> dict:
    return json.loads((LIBRARY / f"{name}.json").read_text())


def questionnaire(*items, **extra) -> dict:
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "title": "Test form",
        "item": list(items),
        **extra,
    }


def compiled(*items, **extra):
    return compile_definition(questionnaire(*items, **extra))


def ext(name: str, **value) -> dict:
    """Our extension: ext("short-label", valueString="your weight")."""
    return {"url": BASE + name, **value}


def std_ext(name: str, **value) -> dict:
    return {"url": "http://hl7.org/fhir/StructureDefinition/" + name, **value}


def question(link_id: str, item_type: str, text: str = "", **extra) -> dict:
    return {"linkId": link_id, "type": item_type, "text": text or f"Question {link_id}", **extra}


def coding(code: str, display: str | None = None, score=None, system="http://example.org"):
    value = {"system": system, "code": code, "display": display or code.title()}
    option = {"valueCoding": value}
    if score is not None:
        option["extension"] = [{"url": ORDINAL, "valueDecimal": score}]
    return option


def choice(link_id: str, *codes: str, scores=None, **extra) -> dict:
    scores = scores or [None] * len(codes)
    options = [coding(code, score=score) for code, score in zip(codes, scores, strict=True)]
    return question(link_id, "choice", answerOption=options, **extra)


def group(link_id: str, *items, text: str = "", **extra) -> dict:
    return {
        "linkId": link_id,
        "type": "group",
        "text": text or f"Page {link_id}",
        "item": list(items),
        **extra,
    }


def when(question_id: str, operator: str, **answer) -> dict:
    return {"question": question_id, "operator": operator, **answer}


def bound(compiled_form, page_key: str, data: dict, answers: dict | None = None):
    form = compiled_form.form_class(page_key, answers=answers)(data=data)
    form.is_valid()
    return form


def errors(form) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}
