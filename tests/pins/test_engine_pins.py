"""The compiled form of every corpus questionnaire, and the parser's problems for item
rules broken one at a time, pinned (see tests/pins/__init__.py)."""

import json
from pathlib import Path

from forms_app.engine import DefinitionError, compile_definition
from tests.corpus import QUESTIONNAIRES
from tests.forms_app.design.questionnaires import FIXTURES, every_feature
from tests.pins.canon import canon, check, digest

LIBRARY = Path(__file__).resolve().parents[2] / "forms_app" / "library"
STD = "http://hl7.org/fhir/StructureDefinition/"
OURS = "https://fhir.patient-forms.nhs.uk/StructureDefinition/"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"


def _documents() -> dict[str, dict]:
    found = {}
    for folder in (QUESTIONNAIRES, FIXTURES, LIBRARY):
        for path in sorted(folder.glob("*.json")):
            found[f"{folder.name}/{path.stem}"] = json.loads(path.read_text())
    found["every_feature"] = every_feature()
    return found


def _compiled_shape(definition) -> object:
    try:
        form = compile_definition(definition)
    except DefinitionError as error:
        return {"problems": error.problems}
    return {
        "items": form.items, "top_level": form.top_level, "pages": form.pages,
        "flag_rules": form.flag_rules, "variables": form.variables,
        "scope_members": {str(k): v for k, v in form.scope_members.items()},
    }


def test_every_corpus_form_compiles_as_pinned():
    check("compiled", {name: digest(_compiled_shape(document))
                       for name, document in _documents().items()})


def e(url, **value):
    return {"url": url, **value}


def _coding_option(code, **extra):
    return {"valueCoding": {"system": "http://example.org", "code": code}, **extra}


# One item per rule, each right and wrong in the ways a file gets it wrong.
VARIANTS = {
    "not-an-object": "oops",
    "no-link-id": {"type": "string"},
    "blank-link-id": {"linkId": " ", "type": "string"},
    "tilde-link-id": {"linkId": "a~b", "type": "string"},
    "long-link-id": {"linkId": "x" * 300, "type": "string"},
    "type-not-string": {"linkId": "q", "type": 3},
    "type-reference": {"linkId": "q", "type": "reference"},
    "type-unknown": {"linkId": "q", "type": "banana"},
    "group-empty": {"linkId": "g", "type": "group"},
    "group-item-not-list": {"linkId": "g", "type": "group", "item": {}},
    "display-with-children": {"linkId": "d", "type": "display", "text": "x",
                              "item": [{"linkId": "d1", "type": "string"}]},
    "question-with-help-child": {"linkId": "q", "type": "string", "text": "Q", "item": [
        {"linkId": "q-help", "type": "display", "text": "Help here"}]},
    "group-with-flyover": {"linkId": "g", "type": "group", "item": [
        {"linkId": "g-fly", "type": "display", "text": "Fly",
         "extension": [e(STD + "questionnaire-itemControl", valueCodeableConcept={
             "coding": [{"code": "flyover"}]})]},
        {"linkId": "g1", "type": "string", "text": "In"}]},
    "help-and-entry-format": {"linkId": "q", "type": "string", "extension": [
        e(OURS + "help-text", valueString="Our help"),
        e(STD + "entryFormat", valueString="nn kg")]},
    "repeating-question-with-children": {"linkId": "q", "type": "string", "repeats": True,
                                         "item": [{"linkId": "q1", "type": "string"}]},
    "repeating-group": {"linkId": "g", "type": "group", "repeats": True, "item": [
        {"linkId": "g1", "type": "string", "repeats": True}]},
    "choice-no-options": {"linkId": "q", "type": "choice"},
    "choice-duplicate-codes": {"linkId": "q", "type": "choice", "answerOption": [
        _coding_option("a"), _coding_option("a")]},
    "choice-reserved-code": {"linkId": "q", "type": "choice", "answerOption": [
        {"valueString": "__other__"}]},
    "choice-value-set-missing": {"linkId": "q", "type": "choice", "answerValueSet": "#nope"},
    "choice-initial-selected": {"linkId": "q", "type": "choice", "answerOption": [
        _coding_option("a"), _coding_option("b", initialSelected=True)]},
    "choice-initial-selected-repeats": {"linkId": "q", "type": "choice", "repeats": True,
                                        "answerOption": [
        _coding_option("a", initialSelected=True), _coding_option("b", initialSelected=True)]},
    "open-choice-none-selected": {"linkId": "q", "type": "open-choice", "answerOption": [
        {"valueString": "x"}]},
    "occurs-without-repeats": {"linkId": "q", "type": "string", "extension": [
        e(STD + "questionnaire-minOccurs", valueInteger=1)]},
    "occurs-bad": {"linkId": "q", "type": "string", "repeats": True, "extension": [
        e(STD + "questionnaire-maxOccurs", valueInteger=0)]},
    "occurs-bad-low": {"linkId": "q", "type": "string", "repeats": True, "extension": [
        e(STD + "questionnaire-minOccurs", valueString="1")]},
    "occurs-crossed": {"linkId": "q", "type": "string", "repeats": True, "extension": [
        e(STD + "questionnaire-minOccurs", valueInteger=3),
        e(STD + "questionnaire-maxOccurs", valueInteger=2)]},
    "occurs-good": {"linkId": "q", "type": "string", "repeats": True, "extension": [
        e(STD + "questionnaire-minOccurs", valueInteger=1),
        e(STD + "questionnaire-maxOccurs", valueInteger=4)]},
    "occurs-high-only": {"linkId": "q", "type": "string", "repeats": True, "extension": [
        e(STD + "questionnaire-maxOccurs", valueInteger=4)]},
    "calculated-string": {"linkId": "q", "type": "string", "extension": [
        e(SDC + "calculatedExpression", valueExpression={
            "language": "text/fhirpath", "expression": "1 + 1"})]},
    "computed-integer": {"linkId": "q", "type": "integer", "extension": [
        e(OURS + "computed", valueString="1 + 1")]},
    "input-format-good": {"linkId": "q", "type": "string", "extension": [
        e(OURS + "input-format", valueCode="email")]},
    "input-format-unknown": {"linkId": "q", "type": "string", "extension": [
        e(OURS + "input-format", valueCode="fax")]},
    "input-format-not-string": {"linkId": "q", "type": "integer", "extension": [
        e(OURS + "input-format", valueCode="email")]},
    "input-format-number": {"linkId": "q", "type": "string", "extension": [
        e(OURS + "input-format", valueInteger=3)]},
    "regex-good": {"linkId": "q", "type": "string", "extension": [
        e(STD + "regex", valueString="[A-Z]+"), e(OURS + "regex-message", valueString="Caps"),
        e(OURS + "short-label", valueString="Short"),
        e(OURS + "required-message", valueString="Say"),
        e(OURS + "other-label", valueInteger=3)]},
    "regex-bad": {"linkId": "q", "type": "string", "extension": [
        e(STD + "regex", valueString="[A-")]},
    "regex-not-string": {"linkId": "q", "type": "string", "extension": [
        e(STD + "regex", valueInteger=3)]},
    "lengths-good": {"linkId": "q", "type": "string", "maxLength": 10, "extension": [
        e(STD + "minLength", valueInteger=2)]},
    "max-length-zero": {"linkId": "q", "type": "string", "maxLength": 0},
    "max-length-bool": {"linkId": "q", "type": "string", "maxLength": True},
    "min-length-negative": {"linkId": "q", "type": "string", "extension": [
        e(STD + "minLength", valueInteger=-1)]},
    "lengths-crossed": {"linkId": "q", "type": "string", "maxLength": 2, "extension": [
        e(STD + "minLength", valueInteger=5)]},
    "places-good": {"linkId": "q", "type": "decimal", "extension": [
        e(STD + "maxDecimalPlaces", valueInteger=2)]},
    "places-bad": {"linkId": "q", "type": "decimal", "extension": [
        e(STD + "maxDecimalPlaces", valueDecimal=1.5)]},
    "limits-integer": {"linkId": "q", "type": "integer", "extension": [
        e(STD + "minValue", valueInteger=1), e(STD + "maxValue", valueInteger=9)]},
    "limits-crossed": {"linkId": "q", "type": "decimal", "extension": [
        e(STD + "minValue", valueDecimal=9.5), e(STD + "maxValue", valueInteger=1)]},
    "limits-wrong-kind": {"linkId": "q", "type": "integer", "extension": [
        e(STD + "minValue", valueDate="2020-01-01")]},
    "limits-bool": {"linkId": "q", "type": "integer", "extension": [
        e(STD + "minValue", valueInteger=True)]},
    "limits-date": {"linkId": "q", "type": "date", "extension": [
        e(STD + "minValue", valueDate="2020-01-01"), e(STD + "maxValue", valueDate="2030-01-01")]},
    "limits-datetime-from-date": {"linkId": "q", "type": "dateTime", "extension": [
        e(STD + "minValue", valueDate="2020-01-01"),
        e(STD + "maxValue", valueDateTime="2030-01-01T00:00:00+00:00")]},
    "limits-datetime-naive": {"linkId": "q", "type": "dateTime", "extension": [
        e(STD + "maxValue", valueDateTime="2030-01-01T00:00:00")]},
    "limits-time": {"linkId": "q", "type": "time", "extension": [
        e(STD + "minValue", valueTime="09:00:00"), e(STD + "maxValue", valueTime="08:00")]},
    "limits-string": {"linkId": "q", "type": "string", "extension": [
        e(STD + "minValue", valueString="a")]},
    "limits-quantity": {"linkId": "q", "type": "quantity", "extension": [
        e(STD + "minValue", valueQuantity={"value": 1}),
        e(STD + "questionnaire-unit", valueCoding={"code": "kg"})]},
    "unit-bad": {"linkId": "q", "type": "quantity", "extension": [
        e(STD + "questionnaire-unit", valueCoding={"display": "kg"})]},
    "unit-not-coding": {"linkId": "q", "type": "quantity", "extension": [
        e(STD + "questionnaire-unit", valueString="kg")]},
    "hidden-and-future": {"linkId": "q", "type": "date", "readOnly": True, "prefix": "1.",
                          "required": True, "extension": [
        e(STD + "questionnaire-hidden", valueBoolean=True),
        e(OURS + "not-in-future", valueBoolean=True)]},
    "required-group": {"linkId": "g", "type": "group", "required": True, "item": [
        {"linkId": "g1", "type": "string"}]},
    "bands-good": {"linkId": "q", "type": "integer", "extension": [
        e(OURS + "score-band", extension=[e("min", valueInteger=0), e("max", valueInteger=4),
                                          e("label", valueString="Low")]),
        e(OURS + "score-band", extension=[e("min", valueInteger=5),
                                          e("label", valueString="High")])]},
    "bands-overlap": {"linkId": "q", "type": "integer", "extension": [
        e(OURS + "score-band", extension=[e("max", valueInteger=4),
                                          e("label", valueString="Low")]),
        e(OURS + "score-band", extension=[e("min", valueInteger=4),
                                          e("label", valueString="High")]),
        e(OURS + "score-band", extension=[e("min", valueInteger=6),
                                          e("label", valueString="Top")])]},
    "bands-open-both": {"linkId": "q", "type": "decimal", "extension": [
        e(OURS + "score-band", extension=[e("label", valueString="All")]),
        e(OURS + "score-band", extension=[e("label", valueString="Again")])]},
    "bands-bad": {"linkId": "q", "type": "integer", "extension": [
        e(OURS + "score-band", extension=[e("min", valueString="x"),
                                          e("label", valueString="L")]),
        e(OURS + "score-band", extension=[e("min", valueInteger=1)]),
        e(OURS + "score-band", extension=[e("min", valueInteger=9), e("max", valueInteger=1),
                                          e("label", valueString="Crossed")])]},
    "bands-on-string": {"linkId": "q", "type": "string", "extension": [
        e(OURS + "score-band", extension=[e("label", valueString="L")])]},
    "code-and-extract": {"linkId": "q", "type": "integer", "code": [
        {"system": "http://loinc.org", "code": "1-1"}, "junk"], "extension": [
        e(SDC + "observationExtract", valueBoolean=True)]},
    "extract-no-code": {"linkId": "q", "type": "integer", "extension": [
        e(SDC + "observationExtract", valueBoolean=True)]},
    "extract-on-group": {"linkId": "g", "type": "group", "item": [
        {"linkId": "g1", "type": "string"}], "extension": [
        e(SDC + "observationExtract", valueBoolean=True)]},
    "attachment-limits": {"linkId": "q", "type": "attachment", "extension": [
        e(STD + "maxSize", valueDecimal=2048), e(STD + "mimeType", valueCode="Image/PNG")]},
    "attachment-huge": {"linkId": "q", "type": "attachment", "extension": [
        e(STD + "maxSize", valueInteger=10 ** 12)]},
    "attachment-bad": {"linkId": "q", "type": "attachment", "extension": [
        e(STD + "maxSize", valueBoolean=True), e(STD + "mimeType", valueCode="png")]},
    "attachment-ext-on-string": {"linkId": "q", "type": "string", "extension": [
        e(STD + "maxSize", valueInteger=5)]},
}

INITIALS = {
    "boolean": [{"valueBoolean": True}, {"valueBoolean": "yes"}, {"valueString": "true"}],
    "integer": [{"valueInteger": 3}, {"valueInteger": True}, {"valueDecimal": 3}],
    "decimal": [{"valueDecimal": 2.50}, {"valueDecimal": "x"}, {"valueInteger": 2}],
    "quantity": [{"valueQuantity": 70}, {"valueQuantity": "abc"}],
    "date": [{"valueDate": "2020-01-02"}, {"valueDate": "2020-01"}, {"valueDate": 3}],
    "dateTime": [{"valueDateTime": "2020-01-02T09:00:00+00:00"}, {"valueDateTime": "no"}],
    "time": [{"valueTime": "09:30"}, {"valueTime": "25:00"}],
    "string": [{"valueString": "Hi"}, {"valueString": "  "}, {"valueUri": "x"}],
    "text": [{"valueString": "Long"}],
    "url": [{"valueUri": "https://a"}, {"valueString": "https://b"}, {"valueString": 3}],
    "attachment": [{"valueAttachment": {}}],
}


def _initial_variants() -> dict:
    found = {}
    for item_type, initials in INITIALS.items():
        for repeats in (False, True):
            found[f"initial-{item_type}-{repeats}"] = {
                "linkId": "q", "type": item_type, "repeats": repeats,
                "initial": [*initials, "junk"]}
            for n, one in enumerate(initials):
                found[f"initial-{item_type}-{n}"] = {"linkId": "q", "type": item_type,
                                                     "initial": [one]}
    found["initial-not-list"] = {"linkId": "q", "type": "string", "initial": {"a": 1}}
    found["initial-on-group"] = {"linkId": "g", "type": "group", "repeats": True,
                                 "initial": [{"valueString": "x"}],
                                 "item": [{"linkId": "g1", "type": "string"}]}
    found["initial-quantity-unit"] = {"linkId": "q", "type": "quantity",
                                      "initial": [{"valueQuantity": 70.5}], "extension": [
        e(STD + "questionnaire-unit", valueCoding={"code": "kg"})]}
    return found


def _shape_of_one(raw) -> object:
    definition = {"resourceType": "Questionnaire", "status": "active", "item": [
        {"linkId": "page", "type": "group", "text": "Page", "item": [
            raw, {"linkId": "other", "type": "string", "text": "Other"}]}]}
    return _compiled_shape(definition)


def test_each_item_rule_reads_and_refuses_as_pinned():
    variants = {**VARIANTS, **_initial_variants()}
    check("item-rules", {name: digest(_shape_of_one(raw)) for name, raw in variants.items()})


def test_the_pins_cover_problems_and_accepted_items():
    """The variants are worth pinning only if some compile and some are refused."""
    shapes = [canon(_shape_of_one(raw)) for raw in VARIANTS.values()]
    refused = [shape for shape in shapes if "problems" in shape]
    assert 20 < len(refused) < len(shapes)


def test_broken_definitions_are_refused_as_pinned():
    documents = {
        "not-questionnaire": {"resourceType": "Patient"},
        "not-dict": [],
        "no-items": {"resourceType": "Questionnaire", "item": []},
        "duplicate": {"resourceType": "Questionnaire", "item": [
            {"linkId": "a", "type": "string"}, {"linkId": "a", "type": "string"}]},
    }
    check("broken", {name: digest(_compiled_shape(doc)) for name, doc in documents.items()})
