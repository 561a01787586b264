"""A FHIR R4 Questionnaire (JSON) into a plan for a new draft, with a report.

``parse_upload`` refuses what is not a Questionnaire at all (not JSON, too big, too
deep, not a Questionnaire, invalid item types) with one clear message, so nothing is
created. ``plan_questionnaire`` then reads everything it can into a ``Plan``; whatever
the draft cannot represent is named in ``Plan.report``, by item, and never dropped
silently. services.import_questionnaire turns a plan into rows.

The item rules are read by the shared readers of forms_app.engine.codec (bands, flag
rules, occurrences, options, contained ValueSets, conditions, calculations, help
children) and of forms_app.engine.item_rules (units and whole numbers; bands and
occurrences through the codec), which the engine's parser reads them with too; they
return structured problems: link id, message, and whether the loss
is clinical (publishing waits). The planner maps what they read to the draft's fields;
an item extension's rule is found by its URL in forms_app.engine.item_rules.BY_URL (the
one declaration of each), its reader here by the rule (_Planner.READERS) and the draft
field it fills is the rule's name; one no reader can use is reported, clinical or not
as the rule says (codec.CLINICAL_EXTENSIONS).

Supported (read into the draft, exported again by export.py): item types group,
display, boolean, decimal, integer, date, dateTime, time, string, text, url, choice,
open-choice, quantity; linkId, prefix, text, code (the first), required, repeats (on
choice as multiple choice; on groups and other questions with minOccurs and maxOccurs,
answered as "Add another" lists), maxLength, initial[x] and answerOption.initialSelected,
answerOption with valueCoding / valueString / valueInteger, answerValueSet to a contained ValueSet
(expansion or enumerated compose), enableWhen and enableBehavior, ordinalValue and
itemWeight, optionExclusive, itemControl radio-button / drop-down / help / flyover,
minValue, maxValue, minLength, regex, maxDecimalPlaces, questionnaire-unit, the SDC
calculatedExpression for plain sums of ordinal values, and all of our own extensions
(see forms_app.engine).
"""

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings

from forms_app.design import values as v
from forms_app.design.translation_codec import TRANSLATION, merge, read_element
from forms_app.engine import codec
from forms_app.engine import extensions as ext
from forms_app.engine import item_rules as rules
from forms_app.engine.answer_expressions import is_form_internal
from forms_app.engine.rules import CALCULABLE_TYPES

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_JSON_DEPTH = 60
MAX_ITEM_DEPTH = 12
MAX_ITEMS = 2000

FHIR_ITEM_TYPES = frozenset({
    "group", "display", "question", "boolean", "decimal", "integer", "date", "dateTime",
    "time", "string", "text", "url", "choice", "open-choice", "attachment", "reference",
    "quantity",
})
SUPPORTED_TYPES = FHIR_ITEM_TYPES - {"question", "reference"}
LINK_ID = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._/-]{0,63}$")
CONTROLS = {"radio-button": "radio-button", "drop-down": "drop-down",
            "autocomplete": "autocomplete"}

ITEM_KEYS = frozenset({
    "linkId", "text", "type", "prefix", "required", "repeats", "readOnly", "maxLength",
    "answerOption", "answerValueSet", "enableWhen", "enableBehavior", "initial", "code",
    "item", "extension", "_text",
})
# Questionnaire elements that describe the source document rather than the form: a new
# draft has its own id, url, version, status and dates, so these are reported, not kept.
METADATA_KEYS = ("id", "meta", "implicitRules", "language", "text", "url", "identifier",
                 "version", "name", "status", "experimental", "subjectType", "date",
                 "publisher", "contact", "useContext", "jurisdiction", "purpose",
                 "copyright", "approvalDate", "lastReviewDate", "effectivePeriod",
                 "derivedFrom")
# Of those, what says which instrument this is: kept on the draft, exported again and
# named in every QuestionnaireResponse, so an EHR can tell a response is to the HL7 PHQ-9.
# A Questionnaire this platform exported names its source in derivedFrom (its own url is
# the published version's), so a re-import keeps the original instrument.
SOURCE_KEYS = ("url", "version", "identifier", "copyright", "derivedFrom")
# Form-level extensions kept verbatim (the engine evaluates them).
FORM_EXTENSIONS = frozenset({ext.VARIABLE, ext.LAUNCH_CONTEXT})
ROOT_KEYS = frozenset({"resourceType", "title", "description", "code", "item", "extension",
                       "contained", "_title", "_description", *METADATA_KEYS})
# Text extensions whose "_valueString" carries translations (the pattern itself, regex,
# is not text patients read).
TRANSLATED_RULES = frozenset({rules.SHORT_LABEL, rules.REQUIRED_MESSAGE, rules.REGEX_MESSAGE,
                              rules.OTHER_LABEL})
LIMITS = {
    "prefix": 20, "short_label": 200, "required_message": 300, "regex_message": 300,
    "other_label": 100, "regex": 500, "initial": 500, "code": 64, "code_system": 200,
    "code_display": 500, "unit_code": 50, "unit_display": 100, "unit_system": 200,
}


class ImportRefused(ValueError):
    """The upload is not a Questionnaire we can read at all; nothing was created."""


@dataclass
class PlannedItem:
    link_id: str
    parent: str | None
    fields: dict[str, Any]
    options: list[dict] = field(default_factory=list)
    conditions: list[tuple[str, str, str]] = field(default_factory=list)
    bands: list[dict] = field(default_factory=list)
    score_items: list[str] = field(default_factory=list)


@dataclass
class PlannedRule:
    code: str
    severity: str
    message: str
    enable_behavior: str
    item: str | None
    conditions: list[tuple[str, str, str]]


@dataclass
class Plan:
    form: dict[str, Any]
    items: list[PlannedItem] = field(default_factory=list)
    flag_rules: list[PlannedRule] = field(default_factory=list)
    report: list[dict[str, str]] = field(default_factory=list)

    def note(self, item: str | None, message: str, *, clinical: bool = False) -> None:
        """``clinical``: what was lost changes clinical meaning (a score, condition,
        requirement, validation or repeat); publishing waits until staff accept it."""
        entry: dict[str, Any] = {"item": item or "", "message": message}
        if clinical:
            entry["clinical"] = True
        self.report.append(entry)


# --- Refusing what cannot be read at all --------------------------------------------

def _no_constants(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _depth(data) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return deepest


def parse_upload(raw: bytes) -> dict:
    """The uploaded bytes as a Questionnaire dict, or ImportRefused with the reason."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            f"The file is {len(raw) / 1024 / 1024:.1f} MB; the largest a Questionnaire can "
            f"be is {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
    if not raw.strip():
        raise ImportRefused("The file is empty.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("The file is not text (UTF-8 JSON); choose the Questionnaire's "
                            ".json file.") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except RecursionError:
        raise ImportRefused(f"The file is nested too deeply (more than {MAX_JSON_DEPTH} "
                            "levels) to be a questionnaire.") from None
    except ValueError as error:
        raise ImportRefused(f"The file is not valid JSON ({error}).") from None
    return check_questionnaire(data)


def check_questionnaire(data: Any) -> dict:
    _check_resource(data)
    items = data.get("item")
    if not isinstance(items, list) or not items:
        raise ImportRefused("The Questionnaire has no items (questions) to import.")
    count, bad_types = _count_items(items)
    if count > MAX_ITEMS:
        raise ImportRefused(f"The Questionnaire has {count} items; at most {MAX_ITEMS} can "
                            "be imported.")
    if bad_types:
        shown = ", ".join(bad_types[:5]) + (f" and {len(bad_types) - 5} more"
                                             if len(bad_types) > 5 else "")
        raise ImportRefused(f"{len(bad_types)} item(s) have a type that FHIR R4 does not "
                            f"define: {shown}. Nothing was imported.")
    return data


def _check_resource(data: Any) -> None:
    if not isinstance(data, dict):
        raise ImportRefused("The file is JSON but not a FHIR resource (an object).")
    if data.get("resourceType") != "Questionnaire":
        kind = data.get("resourceType")
        raise ImportRefused(
            f'The file is a FHIR {kind}, not a Questionnaire.' if isinstance(kind, str)
            else "The file is not a FHIR Questionnaire (it has no resourceType).")
    if _depth(data) > MAX_JSON_DEPTH:
        raise ImportRefused(f"The file is nested too deeply (more than {MAX_JSON_DEPTH} "
                            "levels) to be a questionnaire.")


def _count_items(items: list) -> tuple[int, list[str]]:
    """How many items there are, and those whose type FHIR R4 does not define."""
    count, bad_types, stack = 0, [], [(items, 1)]
    while stack:
        level, depth = stack.pop()
        if not isinstance(level, list):
            raise ImportRefused("The Questionnaire's items are not a list.")
        if depth > MAX_ITEM_DEPTH:
            raise ImportRefused(f"Items are nested more than {MAX_ITEM_DEPTH} levels deep; "
                                "no patient form needs that many.")
        for item in level:
            if not isinstance(item, dict):
                raise ImportRefused("An item of the Questionnaire is not an object.")
            count += 1
            item_type = item.get("type")
            # A type that is not a string (an object, say) cannot be looked up in a set.
            if not isinstance(item_type, str) or item_type not in FHIR_ITEM_TYPES:
                bad_types.append(f'{item.get("linkId", "?")!s:.40} ("{item_type!s:.20}")')
            if "item" in item:
                stack.append((item["item"], depth + 1))
    return count, bad_types


# --- Reading a Questionnaire into a plan --------------------------------------------

def _jsonable(value: Any) -> Any:
    """Parsed JSON (numbers read as Decimal) as plain JSON values for a JSONField."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


_text = codec.text


class _Found(NamedTuple):
    """One item extension as the table's readers see it, with the item rule that
    declares its URL (the draft field it fills is ``rule.name``)."""

    rule: rules.Rule
    raw: dict
    link_id: str
    planned: PlannedItem
    extension: Any
    kind: str | None
    value: Any
    help_texts: list[str]


class _Planner:
    def __init__(self, data: dict):
        self.data = data
        self.plan = Plan(form={})
        self.value_sets = {
            r["id"]: r for r in ext.as_list(data.get("contained"))
            if isinstance(r, dict) and r.get("resourceType") == "ValueSet"
            and isinstance(r.get("id"), str)
        }
        self.used_value_sets: set[str] = set()
        self.renamed: dict[str, str] = {}
        self.taken: set[str] = set()

    def note(self, item, message, *, clinical=False):
        self.plan.note(item, message, clinical=clinical)

    def notes(self, problems: list[codec.Problem]) -> None:
        for problem in problems:
            self.plan.note(problem.link_id, problem.message, clinical=problem.clinical)

    # Form level.

    def run(self) -> Plan:
        data = self.data
        self._form_text(data)
        self._code(None, data.get("code"), self.plan.form)
        self._source(data)
        self._form_elements(data)
        self._form_extensions(data)
        for raw in data["item"]:
            self._item(raw, parent=None)
        self._unused_contained(data)
        self._resolve()
        return self.plan

    def _form_text(self, data: dict) -> None:
        form = self.plan.form
        title = _text(data.get("title")) or _text(data.get("name")) or "Imported questionnaire"
        if len(title) > 200:
            self.note(None, "The title was cut to 200 characters.")
        form["title"] = title[:200]
        form["description"] = _text(data.get("description"))
        translations: dict = {}
        merge(translations, "title", self._read(None, "_title", data.get("_title")))
        merge(translations, "description",
              self._read(None, "_description", data.get("_description")))
        form["translations"] = translations

    def _form_elements(self, data: dict) -> None:
        dropped = [key for key in METADATA_KEYS if key in data and key not in SOURCE_KEYS]
        if dropped:
            self.note(None, "Not kept, as a new draft has its own: " + ", ".join(dropped) + ".")
        for key in data:
            if key not in ROOT_KEYS:
                self.note(None, f'The element "{key}" is not supported and was left out.')

    def _form_extensions(self, data: dict) -> None:
        for extension in ext.as_list(data.get("extension")):
            url = codec.url_of(extension)
            if url == ext.FLAG_RULE:
                self._flag_rule(None, extension)
            elif url in FORM_EXTENSIONS:
                self.plan.form.setdefault("fhir_extensions", []).append(_jsonable(extension))
            else:
                self.notes([codec.left_out(None, extension)])

    def _unused_contained(self, data: dict) -> None:
        # An expression may read a contained resource (LHC-Forms' sIRB form prefills
        # from %questionnaire.contained[0]): left out, it would silently give nothing.
        read = "%questionnaire.contained" in json.dumps(
            [data.get("extension"), data.get("item")], default=str)
        for resource in ext.as_list(data.get("contained")):
            rid = resource.get("id") if isinstance(resource, dict) else None
            # An id that is not a string (an object, say) names no value set in use.
            if not isinstance(rid, str) or rid not in self.used_value_sets:
                kind = resource.get("resourceType") if isinstance(resource, dict) else "?"
                name = "with no id" if rid is None else f'"{rid}"'
                if read:
                    self.note(None, f"The contained {kind} {name} was left out, but the "
                                    "form's expressions read %questionnaire.contained: "
                                    "what they work out from it would be empty.",
                              clinical=True)
                else:
                    self.note(None, f"The contained {kind} {name} is not used by any "
                                    "question and was left out.")

    def _source(self, data: dict) -> None:
        form = self.plan.form
        derived = [d for d in ext.as_list(data.get("derivedFrom")) if isinstance(d, str)]
        url, _, version = derived[0].partition("|") if derived else (
            data.get("url"), None, data.get("version"))
        if isinstance(url, str) and url.startswith(f"{settings.SITE_URL}/fhir/Questionnaire/"):
            url = version = None  # one of this platform's own versions: no outside source
        if isinstance(url, str) and url:
            form["source_url"] = url[:500]
        if isinstance(version, str) and version:
            form["source_version"] = version[:100]
        identifiers = [i for i in ext.as_list(data.get("identifier")) if isinstance(i, dict)]
        if identifiers:
            form["source_identifier"] = _jsonable(identifiers[:10])
        if isinstance(data.get("copyright"), str):
            form["copyright"] = data["copyright"][:5000]
    def _read(self, link_id, key: str, value) -> dict[str, str]:
        """The translations on a "_" element; anything else on it is reported."""
        if value is None:
            return {}
        others = [e.get("url") if isinstance(e, dict) else "?"
                  for e in ext.as_list(value.get("extension") if isinstance(value, dict)
                                       else None)
                  if not (isinstance(e, dict) and e.get("url") == TRANSLATION)]
        if others or not isinstance(value, dict):
            self.note(link_id, f'The element "{key}" is not supported (other than its '
                               f"translations) and was left out: {', '.join(map(str, others))}.")
        return read_element(value)

    def _code(self, link_id, codes, target) -> None:
        codes = [c for c in ext.as_list(codes) if isinstance(c, dict) and c.get("code")]
        if not codes:
            return
        first = codes[0]
        target["code"] = self._cut(link_id, "code", str(first["code"]))
        target["code_system"] = self._cut(link_id, "code_system", _text(first.get("system")))
        target["code_display"] = self._cut(link_id, "code_display", _text(first.get("display")))
        if len(codes) > 1:
            kept = ", ".join(str(c["code"]) for c in codes[1:])
            self.note(link_id, f"Only the first code was kept; left out: {kept}.")

    def _cut(self, link_id, name, text: str) -> str:
        limit = LIMITS[name]
        if len(text) > limit:
            self.note(link_id, f"{name.replace('_', ' ')} was cut to {limit} characters.")
        return text[:limit]

    def _link_id(self, raw_id: Any) -> str:
        link_id = raw_id if isinstance(raw_id, str) else ""
        if LINK_ID.match(link_id) and link_id not in self.taken:
            self.taken.add(link_id)
            return link_id
        base = re.sub(r"[^A-Za-z0-9._/-]", "-", link_id).strip("-")[:56] or "item"
        if not LINK_ID.match(base):
            base = "item-" + base
        candidate, n = base[:64], 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base[:56]}-{n}"
        self.taken.add(candidate)
        if link_id:
            self.renamed.setdefault(link_id, candidate)
        self.note(candidate, f'The id "{link_id[:80]}" was changed to "{candidate}" (ids may '
                             "have letters, digits, dots, slashes, hyphens and underscores, "
                             "up to 64, and must be different).")
        return candidate

    # Items.

    def _item(self, raw: dict, *, parent: str | None, depth: int = 0) -> None:
        item_type = raw["type"]
        original_id = _text(raw.get("linkId"))
        if self._refused(raw, original_id, item_type):
            return
        calculation, problems = codec.read_calculation(original_id, raw, item_type,
                                                       calculable=CALCULABLE_TYPES)
        if problems:  # a calculated item that cannot be shown is left out whole
            self.notes(problems)
            return
        link_id = self._link_id(raw.get("linkId"))
        planned = self._planned(raw, original_id, link_id, parent, calculation)
        fields = planned.fields
        self._elements(raw, link_id, fields)
        self._flags(raw, link_id, item_type, fields, calculated=calculation is not None)
        help_texts = self._extensions(raw, link_id, planned)
        nested_questions = self._children(raw, link_id, fields, help_texts, depth)
        self._options(raw, link_id, item_type, planned)
        self._conditions(raw, link_id, planned)
        for child in nested_questions:
            # FHIR's answer.item: kept under the question, so the draft, the patient's
            # page and the QuestionnaireResponse keep the Questionnaire's shape.
            self._item(child, parent=link_id, depth=depth + 1)

    def _refused(self, raw: dict, original_id: str, item_type: str) -> bool:
        """Items that cannot be imported at all, with their sub-items."""
        if item_type not in SUPPORTED_TYPES:
            self.note(original_id or None,
                      f'Left out: the item type "{item_type}" cannot be answered on a '
                      "patient form here" + (" (nor its sub-items)." if raw.get("item")
                                             else "."), clinical=True)
            return True
        if raw.get("modifierExtension"):
            self.note(original_id or None,
                      "Left out: it has a modifier extension, which changes its meaning in "
                      "a way this platform cannot honour.", clinical=True)
            return True
        return False

    def _planned(self, raw, original_id, link_id, parent, calculation) -> PlannedItem:
        fields: dict[str, Any] = {"text": _text(raw.get("text")), "type": raw["type"],
                                  "translations": merge({}, "text", self._read(
                                      original_id, "_text", raw.get("_text")))}
        if ext.extension_value(raw, ext.HIDDEN) is True:
            fields["hidden"] = True
        planned = PlannedItem(link_id=link_id, parent=parent, fields=fields)
        self.plan.items.append(planned)
        if calculation is not None:
            fields["calculation"] = calculation.kind
            if calculation.kind == "formula":
                fields["formula"] = calculation.formula
            elif calculation.kind == "score-sum":
                planned.score_items = list(calculation.score_items)
        return planned

    def _elements(self, raw, link_id, fields) -> None:
        for key in raw:
            if key not in ITEM_KEYS:
                self.note(link_id, f'The element "{key}" is not supported and was left out.')
        if raw.get("prefix") is not None:
            fields["prefix"] = self._cut(link_id, "prefix", _text(raw.get("prefix")))
        self._code(link_id, raw.get("code"), fields)
        if not fields["text"].strip() and fields["type"] != "group":
            if fields.get("code_display"):
                fields["text"] = fields["code_display"]
                self.note(link_id, "It has no text: its code's display was used; check the "
                                   "words patients will see.")
            else:
                self.note(link_id, "It has no text; write the words patients will see before "
                                   "publishing.")

    def _children(self, raw, link_id, fields, help_texts, depth) -> list[dict]:
        """Imports a group's sub-items and reads help from display children; returns a
        question's own sub-items, imported after its options and conditions."""
        item_type = raw["type"]
        help_translations: list[dict[str, str]] = []
        children = ext.as_list(raw.get("item"))
        nested_questions = []
        for child in children:
            if rules.is_help_child(child, item_type):
                self._help_child(link_id, child, help_texts, help_translations)
            elif item_type == "group":
                self._item(child, parent=link_id, depth=depth + 1)
            else:
                nested_questions.append(child)
        help_text = "\n\n".join(t for t in help_texts if t.strip())
        if help_text:
            fields["help_text"] = help_text
            self._help_translations(fields, help_translations)
        if item_type == "display" and children:
            self.note(link_id, "Text to read cannot hold items; its sub-items were left out.")
        return nested_questions

    def _help_child(self, link_id, child, help_texts, help_translations) -> None:
        # FHIR shows a question's display children next to it: its help text.
        help_texts.append(_text(child.get("text")))
        help_translations.append(self._read(link_id, "_text", child.get("_text")))
        extra = set(child) - {"linkId", "text", "type", "extension", "_text"}
        if extra or any(e.get("url") != ext.ITEM_CONTROL
                        for e in ext.as_list(child.get("extension")) if isinstance(e, dict)):
            self.note(link_id, f'Its help text "{child.get("linkId")}" was kept as text '
                               "only; its other elements were left out.")

    @staticmethod
    def _help_translations(fields, found: list[dict[str, str]]) -> None:
        """Help from several display children is joined as its English is; so are its
        translations, for the languages every part has."""
        translated = [part for part in found if part]
        if not translated:
            return
        common = set.intersection(*(set(part) for part in found)) if found else set()
        merge(fields["translations"], "help_text",
              {language: "\n\n".join(part[language] for part in found)
               for language in sorted(common)})

    def _not_boolean(self, raw, link_id) -> None:
        for key, meaning in (("required", "required"), ("repeats", "repeating")):
            if raw.get(key) is not None and not isinstance(raw[key], bool):
                # "true" as text (LHC-Forms' own test forms have it) is not JSON's
                # true: read as false, a required question would be optional and a
                # several-answer one take one answer, so staff must look.
                written = json.dumps(_jsonable(raw[key]))[:40]
                self.note(link_id, f"{key} is {written}, not true or false, "
                                   f"so it was not read: the question is imported as not "
                                   f"{meaning}.", clinical=True)

    def _flags(self, raw, link_id, item_type, fields, *, calculated) -> None:
        self._not_boolean(raw, link_id)
        if raw.get("required") is True:
            if item_type == "display" or calculated:
                self.note(link_id, "required was left out: only questions and groups can "
                                   "be required.", clinical=True)
            else:
                fields["required"] = True
        if raw.get("repeats") is True:
            if item_type == "choice":
                fields["type"] = "multiple-choice"
            elif item_type in v.REPEATABLE_TYPES:
                fields["repeats"] = True  # a list of instances, "Add another" (engine.repeats)
            else:
                self.note(link_id, "Repeated answers are not supported for this type: "
                                   "imported as a question answered once.", clinical=True)
        if raw.get("readOnly") is True and not calculated and item_type != "display":
            self.note(link_id, "readOnly was left out: patients can answer this question.")
        max_length = raw.get("maxLength")
        if max_length is not None:
            # The engine's reader of it; the note is the import report's own.
            kept, _ = rules.read_whole(link_id, rules.MAX_LENGTH.name, max_length)
            if kept is not None and rules.MAX_LENGTH.applies_to(item_type):
                fields["max_length"] = kept
            else:
                self.note(link_id, "maxLength was left out: it needs a whole number on a text "
                                   "question.", clinical=True)  # a check on the answer

    # Item extensions: one reader per url (READERS, below the readers); each returns
    # whether it could use the extension, and an unused one is reported.

    def _extensions(self, raw, link_id, planned) -> list[str]:
        help_texts: list[str] = []
        for extension in ext.as_list(raw.get("extension")):
            url = codec.url_of(extension)
            if url in (ext.COMPUTED, ext.HIDDEN) or (
                    url == ext.CALCULATED_EXPRESSION
                    and planned.fields.get("calculation") != "expression"):
                continue  # read by codec.read_calculation and _planned
            kind, value = ext.value_of(extension) if isinstance(extension, dict) \
                else (None, None)
            rule = rules.BY_URL.get(url) if url else None
            found = _Found(rule, raw, link_id, planned, extension, kind, value, help_texts)
            reader = _Planner._keep if url in ext.KEPT_EXTENSIONS else self.READERS.get(rule)
            if reader is None or not reader(self, found):
                self.notes([codec.left_out(link_id, extension)])
        return help_texts

    def _keep(self, found: _Found) -> bool:
        # The expressions, attachment limits and entry format the engine evaluates.
        found.planned.fields.setdefault("fhir_extensions", []).append(
            _jsonable(found.extension))
        return True

    def _control(self, found: _Found) -> bool:
        code = ext.item_control(found.raw)
        fields = found.planned.fields
        if code in CONTROLS and v.applies(rules.CONTROL, fields["type"]):
            fields["control"] = CONTROLS[code]
        else:
            self.note(found.link_id, f'The display control "{code}" is not supported; the '
                                     "item is shown the usual way.")
        return True

    def _limit(self, found: _Found) -> bool:
        name = found.rule.name
        text = v.answer_text(found.kind, found.value) if found.kind else ""
        try:
            v.limit_value(found.planned.fields["type"], text)
        except ValueError as error:
            self.note(found.link_id, f"{name.replace('_', ' ')} was left out: {error}.",
                      clinical=True)
        else:
            found.planned.fields[name] = text
        return True

    def _occurs(self, found: _Found) -> bool:
        name = found.rule.name
        value, problems = codec.read_occurs(found.link_id, found.raw, name, found.value)
        self.notes(problems)
        if value is not None:
            found.planned.fields[name] = value
        return True

    def _whole(self, found: _Found) -> bool:
        # The engine's reader, not strict (a JSON true still counts as 1 here); one it
        # refuses is reported as left out, by the caller.
        kept, _ = rules.read_whole(found.link_id, found.rule.name, found.value,
                                   strict=False)
        if kept is None:
            return False
        found.planned.fields[found.rule.name] = kept
        return True

    def _flag(self, found: _Found) -> bool:
        if not isinstance(found.value, bool):
            return False
        found.planned.fields[found.rule.name] = found.value
        return True

    def _string(self, found: _Found) -> bool:
        if not isinstance(found.value, str):
            return False
        fields, name = found.planned.fields, found.rule.name
        fields[name] = self._cut(found.link_id, name, found.value)
        if found.rule in TRANSLATED_RULES:
            merge(fields["translations"], name,
                  read_element(found.extension.get("_valueString")))
        return True

    def _help_text(self, found: _Found) -> bool:
        if not isinstance(found.value, str):
            return False
        found.help_texts.append(found.value)
        merge(found.planned.fields["translations"], "help_text",
              read_element(found.extension.get("_valueString")))
        return True

    def _answer_expression(self, found: _Found) -> bool:
        if is_form_internal(found.extension, self.data):
            # Options from the form's own answers: kept and evaluated as written.
            return self._keep(found)
        # Options from outside the form (the patient's record): without them the
        # question cannot be answered as its author wrote it.
        self.note(found.link_id, "Its answer options come from an SDC answerExpression "
                                 "that reads from outside the form, which is not "
                                 "supported: list the options before publishing, or "
                                 "accept this note.", clinical=True)
        return True

    def _unit(self, found: _Found) -> bool:
        link_id, fields = found.link_id, found.planned.fields
        # The engine's reader, not strict: a code that is not text is written as text.
        unit, _ = rules.read_unit(link_id, found.value, strict=False)
        if unit is None:
            return False
        fields["unit_code"] = self._cut(link_id, "unit_code", str(unit["code"]))
        fields["unit_display"] = self._cut(link_id, "unit_display", _text(unit.get("display")))
        fields["unit_system"] = self._cut(link_id, "unit_system", _text(unit.get("system")))
        return True

    def _input_format(self, found: _Found) -> bool:
        fields = found.planned.fields
        # The draft's type: a second input-format finds it already set, and is reported.
        if not rules.fits_input_format(found.value, fields["type"]):
            return False
        fields["type"] = found.value
        return True

    def _band_reader(self, found: _Found) -> bool:
        band, problems = codec.read_band(found.link_id, found.extension)
        self.notes(problems)
        if band is not None:
            found.planned.bands.append({"label": band.label[:200], "min_score": band.min,
                                        "max_score": band.max})
        return True

    def _flag_rule_reader(self, found: _Found) -> bool:
        self._flag_rule(found.link_id, found.extension)
        return True

    # By item rule (item_rules.BY_URL finds the rule of an extension's URL); a rule with
    # no reader here (a kept one, or one the draft has no field for) is left out.
    READERS = {
        rules.CONTROL: _control,
        rules.MIN_VALUE: _limit, rules.MAX_VALUE: _limit,
        rules.OCCURS: _occurs, rules.MAX_OCCURS: _occurs,
        rules.MIN_LENGTH: _whole, rules.PLACES: _whole,
        **dict.fromkeys(TRANSLATED_RULES | {rules.REGEX}, _string),
        rules.ANSWER_EXPRESSION: _answer_expression,
        rules.OBSERVATION_EXTRACT: _flag, rules.NOT_IN_FUTURE: _flag,
        rules.HELP_TEXT: _help_text,
        rules.UNIT: _unit,
        rules.INPUT_FORMAT: _input_format,
        rules.BANDS: _band_reader,
        rules.FLAG_RULE: _flag_rule_reader,
    }

    def _flag_rule(self, link_id, extension) -> None:
        rule, problems = codec.read_flag_rule(link_id, extension)
        self.notes(problems)
        if rule is None:
            return
        conditions = [(question, operator, v.answer_text(kind, value) if kind else "")
                      for question, operator, kind, value in rule.conditions]
        self.plan.flag_rules.append(PlannedRule(rule.code[:64], rule.severity, rule.message,
                                                rule.behavior, link_id, conditions))

    # Options and conditions.

    def _options(self, raw, link_id, item_type, planned) -> None:
        if item_type not in ("choice", "open-choice"):
            for key in ("answerOption", "answerValueSet"):
                if key in raw:
                    # R4 lets a string, integer, date or time question list its
                    # permitted answers; here only choice questions have options, so
                    # without them the patient could give an answer the author never
                    # allowed (and a condition or score on the list may never be met).
                    self.note(link_id, f"{key} was left out: only choice questions have "
                                       "options here, so the patient could give any "
                                       "answer, not only the ones listed; make it a "
                                       "choice question with those options.",
                              clinical=True)
            if raw.get("initial"):
                self._initial(raw, link_id, planned)
            return
        options: list[codec.OptionReading] = []
        if raw.get("answerOption") is not None:
            for index, option in enumerate(ext.as_list(raw.get("answerOption"))):
                self._add_option(link_id, options, option, index)
        elif raw.get("answerValueSet") is not None:
            options = self._value_set(link_id, raw.get("answerValueSet"))
        self._keep_options(link_id, options, planned)
        if raw.get("initial"):
            self._initial(raw, link_id, planned)
        if not planned.options and ext.extension(raw, ext.ANSWER_EXPRESSION) is None:
            self.note(link_id, "It has no answer options that could be imported; add them "
                               "before publishing.")

    def _add_option(self, link_id, options: list, option: Any, index: int) -> None:
        reading, problems = codec.read_option(link_id, option, index)
        self.notes(problems)
        if reading is not None:
            options.append(reading)

    def _keep_options(self, link_id, options: list[codec.OptionReading], planned) -> None:
        codes: set[str] = set()
        for option in options:
            if option.code in codes:
                self.note(link_id, f'A second option with the code "{option.code}" was '
                                   "left out.", clinical=True)
                continue
            codes.add(option.code)
            if option.selected and "initial" not in planned.fields:
                planned.fields["initial"] = option.code
            elif option.selected:
                self.note(link_id, "Only the first initially selected option was kept.")
            planned.options.append(_option_row(option))

    def _value_set(self, link_id, reference) -> list[codec.OptionReading]:
        if not isinstance(reference, str) or not reference.startswith("#"):
            self.note(link_id, f"Its options come from the value set {reference!s:.200}, which "
                               "is not in the file and cannot be looked up here.")
            return []
        value_set = self.value_sets.get(reference[1:])
        if value_set is None:
            self.note(link_id, f'Its value set "{reference}" is not in the file.')
            return []
        self.used_value_sets.add(reference[1:])
        codings, problems = codec.value_set_codings(link_id, reference, value_set)
        self.notes(problems)
        options: list[codec.OptionReading] = []
        for coding in codings:
            self._add_option(link_id, options, {"valueCoding": coding}, len(options))
        return options

    def _initial(self, raw, link_id, planned) -> None:
        texts = []
        for initial in ext.as_list(raw.get("initial")):
            kind, value = ext.value_of(initial if isinstance(initial, dict) else {})
            texts.append(v.answer_text(kind, value) if kind else "")
        # A repeating question keeps every initial value, one per line (see
        # values.initial_texts); any other keeps the first.
        if not (planned.fields.get("repeats") is True
                and planned.fields["type"] not in v.CHOICE_TYPES):
            if len(texts) > 1:
                self.note(link_id, "Only the first initial value was kept.")
            texts = texts[:1]
        if "initial" in planned.fields:
            self.note(link_id, "Its initial value was left out: an option is already "
                               "selected initially.")
            return
        kept = []
        for text in texts:
            error = "it has more than one line" if "\n" in text else \
                self._initial_error(planned, text)
            if error:
                self.note(link_id, f"Its initial value was left out: {error}.")
            else:
                kept.append(text)
        if kept:
            planned.fields["initial"] = self._cut(link_id, "initial", "\n".join(kept))

    @staticmethod
    def _initial_error(planned, text: str) -> str | None:
        item_type = planned.fields["type"]
        try:
            if item_type in v.CHOICE_TYPES:
                if not any(o["code"] == text for o in planned.options):
                    raise ValueError(f'"{text}" is not one of its options')
            else:
                probe = type("Probe", (), {"type": item_type, "unit_code": "",
                                           "unit_display": "", "unit_system": ""})()
                v.initial_value(probe, [], text)
        except ValueError as error:
            return str(error)
        return None

    def _conditions(self, raw, link_id, planned) -> None:
        behavior, conditions, problems = codec.read_enable_when(link_id, raw)
        if behavior is not None:
            planned.fields["enable_behavior"] = behavior
        self.notes(problems)
        planned.conditions += [(question, operator, v.answer_text(kind, value))
                               for question, operator, kind, value in conditions]

    # References between items.

    def _resolve(self) -> None:
        planned_ids = {item.link_id for item in self.plan.items}

        def resolve(link_id):
            link_id = self.renamed.get(link_id, link_id)
            return link_id if link_id in planned_ids else None

        for item in self.plan.items:
            self._resolve_item(item, resolve)
        for rule in self.plan.flag_rules:
            rule.item = resolve(rule.item) if rule.item else None
            targets = [(resolve(q), op, answer) for q, op, answer in rule.conditions]
            if any(t[0] is None for t in targets):
                self.note(rule.item, f'Flag rule "{rule.code}" names a question that was not '
                                     "imported; that condition was left out.", clinical=True)
            rule.conditions = [t for t in targets if t[0]]
        self._one_rule_per_code()

    def _resolve_item(self, item: PlannedItem, resolve) -> None:
        kept = []
        for question, operator, answer in item.conditions:
            target = resolve(question)
            if target is None:
                self.note(item.link_id, f'Its condition on "{question}" was left out, as '
                                        "that question was not imported: the item is "
                                        "shown more often than the source intended; "
                                        "review it.", clinical=True)
                continue
            kept.append((target, operator, answer))
        item.conditions = kept
        targets = [resolve(link_id) for link_id in item.score_items]
        if None in targets:
            self.note(item.link_id, "Its sum names questions that were not imported; "
                                    "they were left out of the sum.", clinical=True)
        item.score_items = [t for t in targets if t]

    def _one_rule_per_code(self) -> None:
        codes: set[str] = set()
        rules = []
        for rule in self.plan.flag_rules:
            if rule.code in codes or not rule.conditions:
                self.note(rule.item, f'Flag rule "{rule.code}" was left out (a duplicate code '
                                     "or no conditions left).", clinical=True)
                continue
            codes.add(rule.code)
            rules.append(rule)
        self.plan.flag_rules = rules


def _option_row(option: codec.OptionReading) -> dict[str, Any]:
    """An option as the draft's AnswerOption row (services.import_questionnaire)."""
    row: dict[str, Any] = {"value_type": option.value_type, "code": option.code,
                           "display": option.display, "system": option.system}
    if option.coding is not None:
        row["translations"] = merge({}, "display", read_element(option.coding.get("_display")))
    row["score"] = option.score
    row["exclusive"] = option.exclusive
    return row


def plan_questionnaire(data: dict) -> Plan:
    """Read a checked Questionnaire (see check_questionnaire) into a plan and report."""
    return _Planner(check_questionnaire(data)).run()
