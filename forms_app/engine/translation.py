"""Translations a form version carries: FHIR's standard translation extension.

A Questionnaire's text is translated in place, on the primitive's "_" element (FHIR R4,
http://hl7.org/fhir/StructureDefinition/translation), for example on an item:

    "text": "Do you smoke?",
    "_text": {"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/translation",
        "extension": [{"url": "lang", "valueCode": "cy"},
                      {"url": "content", "valueString": "Ydych chi'n ysmygu?"}]}]}

Read on: the Questionnaire's ``title`` and ``description``; each item's ``text``; an answerOption's
``valueCoding.display`` (``valueCoding._display``; a valueString option is its own stored
answer, so a form to be translated uses valueCoding options); and the string values of our
text extensions (help-text, short-label, required-message, regex-message, other-label),
on their ``_valueString``. Answers are keyed by linkId and code, so one set of answers
reads the same in every language.

``translate_definition(definition, language)`` returns a translated copy (pure: the input
is not changed); ``languages(definition)`` lists the languages the definition carries.
A language matches exactly or by its primary subtag ("cy" matches "cy-GB" and back).
"""

import copy
from collections.abc import Iterator

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
_TEXT_EXTENSIONS = frozenset(
    "https://fhir.patient-forms.nhs.uk/StructureDefinition/" + name
    for name in ("help-text", "short-label", "required-message", "regex-message", "other-label")
)


def primary_language(code: str) -> str:
    return code.replace("_", "-").split("-", 1)[0].lower()


def _translations(element) -> Iterator[tuple[str, str]]:
    if not isinstance(element, dict):
        return
    for extension in element.get("extension") or ():
        if not isinstance(extension, dict) or extension.get("url") != TRANSLATION:
            continue
        parts = {
            part.get("url"): part
            for part in extension.get("extension") or ()
            if isinstance(part, dict)
        }
        lang = (parts.get("lang") or {}).get("valueCode")
        content = (parts.get("content") or {}).get("valueString")
        if isinstance(lang, str) and isinstance(content, str) and content.strip():
            yield lang, content


def translation(element, language: str) -> str | None:
    """The translation in ``element`` (a "_text"-style dict) for ``language``, if any."""
    found = dict(_translations(element))
    wanted = language.replace("_", "-").lower()
    for lang, content in found.items():
        if lang.lower() == wanted:
            return content
    for lang, content in found.items():
        if primary_language(lang) == primary_language(wanted):
            return content
    return None


def _translate_field(node: dict, name: str, language: str) -> None:
    text = translation(node.get("_" + name), language)
    if text is not None and isinstance(node.get(name), str):
        node[name] = text


def _translate_item(item: dict, language: str) -> None:
    _translate_field(item, "text", language)
    for option in item.get("answerOption") or ():
        if not isinstance(option, dict):
            continue
        coding = option.get("valueCoding")
        if isinstance(coding, dict):
            _translate_field(coding, "display", language)
    for extension in item.get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") in _TEXT_EXTENSIONS:
            _translate_field(extension, "valueString", language)
    for child in item.get("item") or ():
        if isinstance(child, dict):
            _translate_item(child, language)


def translate_definition(definition: dict, language: str) -> dict:
    """A copy of ``definition`` with every translatable text in ``language`` where given."""
    translated = copy.deepcopy(definition)
    _translate_field(translated, "title", language)
    _translate_field(translated, "description", language)  # shown on the form's first page
    for item in translated.get("item") or ():
        if isinstance(item, dict):
            _translate_item(item, language)
    return translated


def languages(definition) -> set[str]:
    """Every language that some text of the definition is translated into."""
    found: set[str] = set()

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("_"):
                    found.update(lang for lang, _ in _translations(value))
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(definition)
    return found
