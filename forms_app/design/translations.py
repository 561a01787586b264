"""Every patient-facing text of a draft, with its translations.

Stored beside the text it translates, as ``{language: {field: text}}`` in the
``translations`` JSON of the Form (title, description), each Item (its words, help and
message wording) and each coded AnswerOption (its display). Exported as FHIR's translation
extension (forms_app.design.export), read back by the importer, and what the engine reads
(forms_app.engine.translation).
"""

from dataclasses import dataclass

from django.conf import settings

from forms_app.design.export import Draft
from forms_app.design.outline import outline
from forms_app.models import AnswerOption, Item

FORM_FIELDS = {"title": "Title", "description": "Description (before page one)"}
ITEM_FIELDS = {
    "text": "Words",
    "help_text": "Help text",
    "short_label": "Name in error messages",
    "required_message": "Message when not answered",
    "regex_message": "Message when the pattern does not match",
    "other_label": "Label of 'Other'",
}
OPTION_FIELDS = {"display": "Option"}
MAX_LENGTHS = {"title": 200, "short_label": 200, "required_message": 300,
               "regex_message": 300, "other_label": 100, "display": 500}


def languages() -> list[tuple[str, str]]:
    """The languages a form can be translated into: every site language but the one
    forms are written in."""
    written = settings.LANGUAGE_CODE.split("-")[0]
    return [(code, name) for code, name in settings.LANGUAGES
            if code.split("-")[0] != written]


def translation_of(obj, language: str, name: str) -> str:
    return ((obj.translations or {}).get(language) or {}).get(name, "")


@dataclass
class Text:
    """One text to translate: where it is, its English and its translation."""

    key: str  # "form:title", "item:12:text", "option:40:display"
    obj: object
    field: str
    where: str
    source: str
    translated: str

    @property
    def max_length(self) -> int | None:
        return MAX_LENGTHS.get(self.field)


def _item_texts(entry, language) -> list[Text]:
    item = entry.item
    texts = []
    for name, what in ITEM_FIELDS.items():
        source = getattr(item, name)
        if source.strip():
            texts.append(Text(f"item:{item.pk}:{name}", item, name,
                              f"{entry.kind} {entry.number}: {what}", source,
                              translation_of(item, language, name)))
    for option in item.options.all() if item.has_options else ():
        if option.value_type == AnswerOption.ValueType.CODING:
            texts.append(Text(f"option:{option.pk}:display", option, "display",
                              f"{entry.kind} {entry.number}: option {option.code}",
                              option.display, translation_of(option, language, "display")))
    for child in entry.children:
        texts += _item_texts(child, language)
    return texts


def texts(draft: Draft, language: str) -> list[Text]:
    """Every patient-facing text of the draft, in form order."""
    form = draft.form
    found = [Text(f"form:{name}", form, name, what, getattr(form, name),
                  translation_of(form, language, name))
             for name, what in FORM_FIELDS.items() if getattr(form, name).strip()]
    for entry in outline(draft):
        found += _item_texts(entry, language)
    return found


def untranslatable_options(draft: Draft) -> list[Item]:
    """Questions whose options are plain text or numbers: the option is the stored
    answer itself, so it reads the same in every language (make them coded to translate)."""
    return [item for item in draft.items if item.has_options and any(
        o.value_type == AnswerOption.ValueType.STRING for o in item.options.all())]


def progress(draft: Draft) -> list[dict]:
    """Per language: how many texts are translated, of how many."""
    result = []
    for code, name in languages():
        found = texts(draft, code)
        done = sum(1 for text in found if text.translated.strip())
        result.append({"code": code, "name": name, "done": done, "total": len(found),
                       "missing": len(found) - done})
    return result
