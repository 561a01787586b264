"""The draft's translations (``{language: {field: text}}``) to and from FHIR's translation
extension on a primitive's "_" element (see forms_app.engine.translation for how the
engine reads them). Used by export.py and importer.py; no database access.
"""

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def element(translations: dict | None, name: str) -> dict | None:
    """The "_<name>" element carrying every translation of ``name``, if any."""
    extensions = []
    for language, fields in sorted((translations or {}).items()):
        text = (fields or {}).get(name, "")
        if isinstance(text, str) and text.strip():
            extensions.append({"url": TRANSLATION, "extension": [
                {"url": "lang", "valueCode": language},
                {"url": "content", "valueString": text}]})
    return {"extension": extensions} if extensions else None


def read_element(value) -> dict[str, str]:
    """{language: text} from a "_<name>" element (the importer's side of ``element``)."""
    found: dict[str, str] = {}
    if not isinstance(value, dict):
        return found
    for extension in value.get("extension") or ():
        if not isinstance(extension, dict) or extension.get("url") != TRANSLATION:
            continue
        parts = {part.get("url"): part for part in extension.get("extension") or ()
                 if isinstance(part, dict)}
        lang = (parts.get("lang") or {}).get("valueCode")
        content = (parts.get("content") or {}).get("valueString")
        if isinstance(lang, str) and lang and isinstance(content, str) and content.strip():
            found[lang[:20]] = content
    return found


def merge(translations: dict, name: str, by_language: dict[str, str]) -> dict:
    """``translations`` with ``name`` set in each language of ``by_language``."""
    for language, text in by_language.items():
        translations.setdefault(language, {})[name] = text
    return translations
