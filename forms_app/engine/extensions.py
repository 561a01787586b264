"""Extension URLs the engine reads, and small helpers for reading extensions.

See the package docstring for what each of our own extensions means.
"""

from typing import Any

# Standard FHIR / SDC extensions.
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
MIN_LENGTH = "http://hl7.org/fhir/StructureDefinition/minLength"
REGEX = "http://hl7.org/fhir/StructureDefinition/regex"
MAX_DECIMAL_PLACES = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
# An answer option's score is in either (SDC uses itemWeight from R5 on).
SCORE_URLS = (ORDINAL_VALUE, ITEM_WEIGHT)
HIDDEN = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
OPTION_EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
MAX_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"
MIN_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
CALCULATED_EXPRESSION = SDC + "calculatedExpression"
ENABLE_WHEN_EXPRESSION = SDC + "enableWhenExpression"
INITIAL_EXPRESSION = SDC + "initialExpression"
ANSWER_EXPRESSION = SDC + "answerExpression"
LAUNCH_CONTEXT = SDC + "launchContext"
OBSERVATION_EXTRACT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
MIME_TYPE = "http://hl7.org/fhir/StructureDefinition/mimeType"
MAX_SIZE = "http://hl7.org/fhir/StructureDefinition/maxSize"
TARGET_CONSTRAINT = "http://hl7.org/fhir/StructureDefinition/targetConstraint"
ENTRY_FORMAT = "http://hl7.org/fhir/StructureDefinition/entryFormat"
CHOICE_ORIENTATION = "http://hl7.org/fhir/StructureDefinition/questionnaire-choiceOrientation"
# Every SDC expression extension the engine evaluates (the importer keeps them verbatim).
EXPRESSION_EXTENSIONS = frozenset({
    CALCULATED_EXPRESSION, ENABLE_WHEN_EXPRESSION, INITIAL_EXPRESSION, VARIABLE,
    TARGET_CONSTRAINT,
})
# Item extensions the engine reads that the draft keeps verbatim as well.
KEPT_EXTENSIONS = EXPRESSION_EXTENSIONS | {MIME_TYPE, MAX_SIZE, ENTRY_FORMAT,
                                           CHOICE_ORIENTATION}
# A tuple, not a set: ``value in ORIENTATIONS`` must not fail on an unhashable value
# from an untrusted definition.
ORIENTATIONS = ("horizontal", "vertical")
FHIRPATH_LANGUAGE = "text/fhirpath"

# Our own extensions.
BASE = "https://fhir.patient-forms.nhs.uk/StructureDefinition/"
INPUT_FORMAT = BASE + "input-format"
SHORT_LABEL = BASE + "short-label"
REQUIRED_MESSAGE = BASE + "required-message"
REGEX_MESSAGE = BASE + "regex-message"
NOT_IN_FUTURE = BASE + "not-in-future"
HELP_TEXT = BASE + "help-text"
OTHER_LABEL = BASE + "other-label"
COMPUTED = BASE + "computed"
SCORE_BAND = BASE + "score-band"
FLAG_RULE = BASE + "flag-rule"

INPUT_FORMATS = frozenset({"email", "uk-phone", "nhs-number"})


def as_list(value: Any) -> list:
    """``value`` if it is a list, else empty: definitions are untrusted JSON."""
    return value if isinstance(value, list) else []


def extensions(element: dict, url: str) -> list[dict]:
    return [
        ext
        for ext in as_list(element.get("extension"))
        if isinstance(ext, dict) and ext.get("url") == url
    ]


def extension(element: dict, url: str) -> dict | None:
    found = extensions(element, url)
    return found[0] if found else None


def value_of(ext: dict | None) -> tuple[str | None, Any]:
    """The (value[x] suffix, value) of an extension, e.g. ("Integer", 3)."""
    if not ext:
        return None, None
    for key, value in ext.items():
        if key.startswith("value") and len(key) > 5:
            return key[5:], value
    return None, None


def extension_value(element: dict, url: str) -> Any:
    return value_of(extension(element, url))[1]


def item_control(item: dict) -> str | None:
    concept = extension_value(item, ITEM_CONTROL)
    if isinstance(concept, dict):
        for coding in as_list(concept.get("coding")):
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
    return None


def sub_extensions(ext: dict, url: str) -> list[dict]:
    """The nested parts named ``url`` of a complex extension."""
    return extensions(ext, url)
