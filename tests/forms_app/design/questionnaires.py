"""Questionnaires written for the design tests, and helpers to compare drafts."""

import json
from pathlib import Path

from forms_app.design.export import draft_to_questionnaire

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STD = "http://hl7.org/fhir/StructureDefinition/"
OURS = "https://fhir.patient-forms.nhs.uk/StructureDefinition/"
SDC_CALC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def canonical(form) -> dict:
    """The draft as a document, without what differs between two copies (ids)."""
    document = draft_to_questionnaire(form, version_number=1)
    for key in ("id", "url"):
        document.pop(key)
    return document


def _ordinal(value):
    return [{"url": STD + "ordinalValue", "valueDecimal": value}]


def _control(code):
    return {"url": STD + "questionnaire-itemControl", "valueCodeableConcept": {
        "coding": [{"system": "http://hl7.org/fhir/questionnaire-item-control",
                    "code": code}]}}


def every_feature() -> dict:
    """Every type, validation rule, condition operator, score and flag the draft supports."""
    frequency = [
        {"valueCoding": {"system": "http://loinc.org", "code": code, "display": display},
         "extension": _ordinal(score)}
        for code, display, score in (("LA6568-5", "Not at all", 0),
                                     ("LA6569-3", "Several days", 1),
                                     ("LA6571-9", "Nearly every day", 3))
    ]
    return {
        "resourceType": "Questionnaire",
        "title": "Every feature",
        "description": "A form that uses everything the designer offers.",
        "status": "active",
        "code": [{"system": "http://loinc.org", "code": "00000-0", "display": "Test"}],
        "contained": [{"resourceType": "ValueSet", "id": "colours", "status": "active",
                       "compose": {"include": [{"system": "http://example.org/colours",
                                                "concept": [{"code": "red", "display": "Red"},
                                                            {"code": "blue",
                                                             "display": "Blue"}]}]}}],
        "extension": [{"url": OURS + "flag-rule", "extension": [
            {"url": "code", "valueCode": "high-score"},
            {"url": "severity", "valueCode": "routine"},
            {"url": "message", "valueString": "Score of 4 or more: review at next visit."},
            {"url": "enableBehavior", "valueCode": "any"},
            {"url": "condition", "extension": [
                {"url": "question", "valueString": "score"},
                {"url": "operator", "valueCode": ">="},
                {"url": "answer", "valueInteger": 4}]},
            {"url": "condition", "extension": [
                {"url": "question", "valueString": "smoker"},
                {"url": "operator", "valueCode": "="},
                {"url": "answer", "valueBoolean": True}]},
        ]}],
        "item": [
            {"linkId": "about", "type": "group", "text": "About you", "item": [
                {"linkId": "about-help", "type": "display", "text": "Tell us about you.",
                 "extension": [_control("help")]},
                {"linkId": "intro", "type": "display", "text": "Answer what you can.",
                 "extension": [{"url": OURS + "help-text", "valueString": "More help"}]},
                {"linkId": "name", "type": "string", "text": "Your name", "required": True,
                 "maxLength": 80, "prefix": "1.",
                 "extension": [{"url": STD + "minLength", "valueInteger": 2},
                               {"url": STD + "regex", "valueString": "[A-Za-z' -]+"},
                               {"url": OURS + "regex-message",
                                "valueString": "Use letters only"},
                               {"url": OURS + "short-label", "valueString": "your name"}]},
                {"linkId": "story", "type": "text", "text": "Anything else?",
                 "initial": [{"valueString": "Nothing"}]},
                {"linkId": "email", "type": "string", "text": "Email",
                 "extension": [{"url": OURS + "input-format", "valueCode": "email"}]},
                {"linkId": "phone", "type": "string", "text": "Mobile",
                 "extension": [{"url": OURS + "input-format", "valueCode": "uk-phone"}]},
                {"linkId": "nhs", "type": "string", "text": "NHS number",
                 "extension": [{"url": OURS + "input-format", "valueCode": "nhs-number"}]},
                {"linkId": "site", "type": "url", "text": "Web page"},
                {"linkId": "letter", "type": "attachment", "text": "Your referral letter",
                 "extension": [{"url": STD + "mimeType", "valueCode": "application/pdf"},
                               {"url": STD + "maxSize", "valueDecimal": 2097152}]},
                {"linkId": "dob", "type": "date", "text": "Date of birth",
                 "extension": [{"url": STD + "minValue", "valueDate": "1900-01-01"},
                               {"url": OURS + "not-in-future", "valueBoolean": True}]},
            ]},
            {"linkId": "body", "type": "group", "text": "Your body", "item": [
                {"linkId": "height", "type": "integer", "text": "Height (cm)",
                 "required": True,
                 "extension": [{"url": STD + "minValue", "valueInteger": 50},
                               {"url": STD + "maxValue", "valueInteger": 250},
                               {"url": OURS + "required-message",
                                "valueString": "Enter your height"}]},
                {"linkId": "weight", "type": "decimal", "text": "Weight (kg)",
                 "required": True,
                 "extension": [{"url": STD + "maxDecimalPlaces", "valueInteger": 1},
                               {"url": STD + "maxValue", "valueDecimal": 300.5}]},
                {"linkId": "waist", "type": "quantity", "text": "Waist",
                 "extension": [{"url": STD + "questionnaire-unit",
                                "valueCoding": {"system": "http://unitsofmeasure.org",
                                                "code": "cm", "display": "centimetres"}}]},
                {"linkId": "bmi", "type": "decimal", "text": "Body mass index",
                 "readOnly": True,
                 "extension": [{"url": OURS + "computed",
                                "valueString": "round(weight / (height / 100) ^ 2, 1)"},
                               {"url": OURS + "score-band", "extension": [
                                   {"url": "max", "valueDecimal": 18.4},
                                   {"url": "label", "valueString": "Underweight"}]},
                               {"url": OURS + "score-band", "extension": [
                                   {"url": "min", "valueDecimal": 18.5},
                                   {"url": "label", "valueString": "Not underweight"}]}]},
            ]},
            {"linkId": "habits", "type": "group", "text": "Habits", "item": [
                {"linkId": "smoker", "type": "boolean", "text": "Do you smoke?"},
                {"linkId": "per-day", "type": "integer", "text": "How many a day?",
                 "enableWhen": [{"question": "smoker", "operator": "=",
                                 "answerBoolean": True}],
                 "enableBehavior": "all"},
                {"linkId": "wake", "type": "time", "text": "When do you wake?",
                 "extension": [{"url": STD + "minValue", "valueTime": "04:00:00"}]},
                {"linkId": "last-drink", "type": "dateTime", "text": "Last drink",
                 "extension": [{"url": OURS + "not-in-future", "valueBoolean": True}]},
                {"linkId": "colour", "type": "choice", "text": "Favourite colour",
                 "answerValueSet": "#colours", "extension": [_control("radio-button")]},
                {"linkId": "pets", "type": "choice", "repeats": True, "text": "Pets",
                 "answerOption": [{"valueString": "Cat"}, {"valueString": "Dog"},
                                  {"valueString": "None",
                                   "extension": [{"url": STD + "questionnaire-optionExclusive",
                                                  "valueBoolean": True}]}]},
                {"linkId": "children", "type": "choice", "text": "Children",
                 "extension": [_control("drop-down")],
                 "answerOption": [{"valueInteger": 0}, {"valueInteger": 1},
                                  {"valueInteger": 2, "initialSelected": True}]},
                {"linkId": "transport", "type": "open-choice", "text": "How did you come?",
                 "extension": [{"url": OURS + "other-label", "valueString": "Another way"}],
                 "answerOption": [{"valueCoding": {"code": "car", "display": "Car"}},
                                  {"valueCoding": {"code": "bus", "display": "Bus"}}]},
            ]},
            {"linkId": "mood", "type": "group", "text": "Mood",
             "enableWhen": [{"question": "height", "operator": ">", "answerInteger": 100},
                            {"question": "colour", "operator": "!=",
                             "answerCoding": {"system": "http://example.org/colours",
                                              "code": "red"}},
                            {"question": "dob", "operator": "exists",
                             "answerBoolean": True}],
             "enableBehavior": "any",
             "item": [
                 {"linkId": "low", "type": "choice", "text": "Feeling low",
                  "required": True, "answerOption": frequency},
                 {"linkId": "worry", "type": "choice", "text": "Worrying",
                  "required": True, "answerOption": frequency,
                  "enableWhen": [{"question": "low", "operator": ">=",
                                  "answerDecimal": 1}],
                  "enableBehavior": "all"},
                 {"linkId": "since", "type": "date", "text": "Since when?",
                  "enableWhen": [{"question": "dob", "operator": "<",
                                  "answerDate": "2000-01-01"},
                                 {"question": "wake", "operator": "<=",
                                  "answerTime": "09:00:00"}],
                  "enableBehavior": "all"},
             ]},
            {"linkId": "score", "type": "integer", "text": "Mood score", "readOnly": True,
             "code": [{"system": "http://loinc.org", "code": "99999-9"}],
             "extension": [{"url": SDC_CALC, "valueExpression": {
                 "language": "text/fhirpath",
                 "expression": "%resource.repeat(item).where(linkId='low').answer.value"
                               ".ordinal() + %resource.repeat(item).where(linkId='worry')"
                               ".answer.value.ordinal()"}},
                 {"url": OURS + "score-band", "extension": [
                     {"url": "min", "valueInteger": 0}, {"url": "max", "valueInteger": 3},
                     {"url": "label", "valueString": "Low"}]},
                 {"url": OURS + "score-band", "extension": [
                     {"url": "min", "valueInteger": 4}, {"url": "max", "valueInteger": 6},
                     {"url": "label", "valueString": "High"}]},
                 {"url": OURS + "flag-rule", "extension": [
                     {"url": "code", "valueCode": "very-low"},
                     {"url": "severity", "valueCode": "urgent"},
                     {"url": "message", "valueString": "Feeling low nearly every day."},
                     {"url": "enableBehavior", "valueCode": "all"},
                     {"url": "condition", "extension": [
                         {"url": "question", "valueString": "low"},
                         {"url": "operator", "valueCode": "="},
                         {"url": "answer", "valueCoding": {"system": "http://loinc.org",
                                                           "code": "LA6571-9"}}]}]}]},
            {"linkId": "total", "type": "integer", "text": "All scores", "readOnly": True,
             "extension": [{"url": SDC_CALC, "valueExpression": {
                 "language": "text/fhirpath",
                 "expression": "%resource.repeat(item).answer.value.ordinal().sum()"}}]},
        ],
    }
