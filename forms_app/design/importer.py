"""A FHIR R4 Questionnaire (JSON) into a plan for a new draft, with a report.

``parse_upload`` refuses what is not a Questionnaire at all (not JSON, too big, too
deep, not a Questionnaire, invalid item types) with one clear message, so nothing is
created. ``plan_questionnaire`` then reads everything it can into a ``Plan``; whatever
the draft cannot represent is named in ``Plan.report``, by item, and never dropped
silently. services.import_questionnaire turns a plan into rows.

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
from typing import Any

from django.conf import settings

from forms_app.design import values as v
from forms_app.design.translation_codec import TRANSLATION, merge, read_element
from forms_app.engine import extensions as ext
from forms_app.engine.rules import CALCULABLE_TYPES

# The calculatedExpressions the designer writes for its own kinds of total
# (export.SCORE_TOTAL_EXPRESSION, export.score_sum_expression, and the sum of terms it
# wrote before), read back into those kinds so that staff can go on editing them. Every
# other FHIRPath calculation is kept verbatim and evaluated as FHIRPath.
_SUM_ALL = re.compile(
    r"%resource\.(?:item|repeat\(item\))\.answer\.value\.(?:ordinal|weight)\(\)\.sum\(\)"
)
_SUM_OF = re.compile(
    r"%resource\.repeat\(item\)\.where\(linkIdin\((?P<ids>'[^']+'(?:\|'[^']+')*)\)\)"
    r"\.answer\.value\.(?:ordinal|weight)\(\)\.sum\(\)"
)
_TERM = re.compile(
    r"%resource(?:\.(?:item|repeat\(item\))|\.where\(linkId\s*=\s*'[^']+'\))*"
    r"\.where\(linkId\s*=\s*'(?P<link_id>[^']+)'\)\.answer\.value\.(?:ordinal|weight)\(\)"
)

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
OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})
ANSWER_KINDS = ("Boolean", "Decimal", "Integer", "Date", "DateTime", "Time", "String",
                "Coding", "Quantity", "Reference")
LINK_ID = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._/-]{0,63}$")
CONTROLS = {"radio-button": "radio-button", "drop-down": "drop-down"}
OCCURS = {ext.MIN_OCCURS: "min_occurs", ext.MAX_OCCURS: "max_occurs"}
HELP_CONTROLS = frozenset({"help", "flyover"})

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
STRING_EXTENSIONS = {
    ext.SHORT_LABEL: "short_label",
    ext.REQUIRED_MESSAGE: "required_message",
    ext.REGEX_MESSAGE: "regex_message",
    ext.OTHER_LABEL: "other_label",
    ext.REGEX: "regex",
}
# Our text extensions whose "_valueString" carries translations, and the draft field each
# fills (the pattern itself, regex, is not text patients read).
TRANSLATED_EXTENSIONS = {url: name for url, name in STRING_EXTENSIONS.items()
                         if name != "regex"} | {ext.HELP_TEXT: "help_text"}
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
    items = data.get("item")
    if not isinstance(items, list) or not items:
        raise ImportRefused("The Questionnaire has no items (questions) to import.")
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
            if item_type not in FHIR_ITEM_TYPES:
                bad_types.append(f'{item.get("linkId", "?")!s:.40} ("{item_type!s:.20}")')
            if "item" in item:
                stack.append((item["item"], depth + 1))
    if count > MAX_ITEMS:
        raise ImportRefused(f"The Questionnaire has {count} items; at most {MAX_ITEMS} can "
                            "be imported.")
    if bad_types:
        shown = ", ".join(bad_types[:5]) + (f" and {len(bad_types) - 5} more"
                                             if len(bad_types) > 5 else "")
        raise ImportRefused(f"{len(bad_types)} item(s) have a type that FHIR R4 does not "
                            f"define: {shown}. Nothing was imported.")
    return data


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


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _value(element: dict, prefix: str) -> tuple[str | None, Any]:
    for key, value in element.items():
        if key.startswith(prefix) and key[len(prefix):] in ANSWER_KINDS:
            return key[len(prefix):], value
    return None, None


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

    # Form level.

    def run(self) -> Plan:
        data, plan = self.data, self.plan
        title = _text(data.get("title")) or _text(data.get("name")) or "Imported questionnaire"
        if len(title) > 200:
            self.note(None, "The title was cut to 200 characters.")
        plan.form["title"] = title[:200]
        plan.form["description"] = _text(data.get("description"))
        translations: dict = {}
        merge(translations, "title", self._read(None, "_title", data.get("_title")))
        merge(translations, "description",
              self._read(None, "_description", data.get("_description")))
        plan.form["translations"] = translations
        self._code(None, data.get("code"), plan.form)
        self._source(data)
        dropped = [key for key in METADATA_KEYS if key in data and key not in SOURCE_KEYS]
        if dropped:
            self.note(None, "Not kept, as a new draft has its own: " + ", ".join(dropped) + ".")
        for key in data:
            if key not in ROOT_KEYS:
                self.note(None, f'The element "{key}" is not supported and was left out.')
        for extension in ext.as_list(data.get("extension")):
            url = extension.get("url") if isinstance(extension, dict) else None
            if url == ext.FLAG_RULE:
                self._flag_rule(None, extension)
            elif url in FORM_EXTENSIONS:
                plan.form.setdefault("fhir_extensions", []).append(_jsonable(extension))
            else:
                self.note(None, f"The extension {url} is not supported and was left out.")
        for raw in data["item"]:
            self._item(raw, parent=None)
        for resource in ext.as_list(data.get("contained")):
            rid = resource.get("id") if isinstance(resource, dict) else None
            if rid not in self.used_value_sets:
                kind = resource.get("resourceType") if isinstance(resource, dict) else "?"
                self.note(None, f'The contained {kind} "{rid}" is not used by any question '
                                "and was left out.")
        self._resolve()
        return plan

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
        original_id = raw.get("linkId")
        if item_type not in SUPPORTED_TYPES:
            self.note(_text(original_id) or None,
                      f'Left out: the item type "{item_type}" cannot be answered on a '
                      "patient form here" + (" (nor its sub-items)." if raw.get("item")
                                             else "."), clinical=True)
            return
        if raw.get("modifierExtension"):
            self.note(_text(original_id) or None,
                      "Left out: it has a modifier extension, which changes its meaning in "
                      "a way this platform cannot honour.", clinical=True)
            return
        calculation = self._calculation_of(raw, _text(original_id), item_type)
        if calculation is False:
            return
        link_id = self._link_id(original_id)
        fields: dict[str, Any] = {"text": _text(raw.get("text")), "type": item_type,
                                  "translations": merge({}, "text", self._read(
                                      _text(original_id), "_text", raw.get("_text")))}
        if ext.extension_value(raw, ext.HIDDEN) is True:
            fields["hidden"] = True
        planned = PlannedItem(link_id=link_id, parent=parent, fields=fields)
        self.plan.items.append(planned)
        if calculation:
            kind, detail = calculation
            fields["calculation"] = kind
            if kind == "formula":
                fields["formula"] = detail
            elif kind == "score-sum":
                planned.score_items = list(detail)
        for key in raw:
            if key not in ITEM_KEYS:
                self.note(link_id, f'The element "{key}" is not supported and was left out.')
        if raw.get("prefix") is not None:
            fields["prefix"] = self._cut(link_id, "prefix", _text(raw.get("prefix")))
        self._code(link_id, raw.get("code"), fields)
        if not fields["text"].strip() and item_type != "group":
            if fields.get("code_display"):
                fields["text"] = fields["code_display"]
                self.note(link_id, "It has no text: its code's display was used; check the "
                                   "words patients will see.")
            else:
                self.note(link_id, "It has no text; write the words patients will see before "
                                   "publishing.")
        self._flags(raw, link_id, item_type, fields, calculated=bool(calculation))
        help_texts = self._extensions(raw, link_id, planned)
        help_translations: list[dict[str, str]] = []
        children = ext.as_list(raw.get("item"))
        nested_questions = []
        for child in children:
            is_display = child.get("type") == "display"
            if is_display and (item_type != "group"
                               or ext.item_control(child) in HELP_CONTROLS):
                # FHIR shows a question's display children next to it: its help text.
                help_texts.append(_text(child.get("text")))
                help_translations.append(self._read(link_id, "_text", child.get("_text")))
                extra = set(child) - {"linkId", "text", "type", "extension", "_text"}
                if extra or any(e.get("url") != ext.ITEM_CONTROL
                                for e in ext.as_list(child.get("extension"))
                                if isinstance(e, dict)):
                    self.note(link_id, f'Its help text "{child.get("linkId")}" was kept as '
                                       "text only; its other elements were left out.")
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
        self._options(raw, link_id, item_type, planned)
        self._conditions(raw, link_id, planned)
        for child in nested_questions:
            # FHIR's answer.item: kept under the question, so the draft, the patient's
            # page and the QuestionnaireResponse keep the Questionnaire's shape.
            self._item(child, parent=link_id, depth=depth + 1)

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

    def _calculation_of(self, raw, link_id, item_type):
        computed = ext.extension_value(raw, ext.COMPUTED)
        expression = ext.extension_value(raw, ext.CALCULATED_EXPRESSION)
        if computed is None and expression is None:
            return None
        if item_type not in CALCULABLE_TYPES:
            self.note(link_id, f"Left out: a calculated {item_type} item cannot be shown.",
                      clinical=True)
            return False
        if isinstance(computed, str) and item_type in ("integer", "decimal"):
            return "formula", computed
        text = expression.get("expression") if isinstance(expression, dict) else None
        text = re.sub(r"\s+", "", text) if isinstance(text, str) else ""
        if _SUM_ALL.fullmatch(text):
            return "score-total", None
        if match := _SUM_OF.fullmatch(text):
            return "score-sum", [part.strip("'") for part in match["ids"].split("|")]
        body = text[1:-1] if text.startswith("(") and text.endswith(")") else text
        matches = [_TERM.fullmatch(term) for term in body.split("+")] if body else []
        if matches and all(matches):
            return "score-sum", [match["link_id"] for match in matches if match]
        # Any other FHIRPath: kept verbatim (_extensions) and evaluated as written.
        return "expression", None

    def _flags(self, raw, link_id, item_type, fields, *, calculated) -> None:
        if raw.get("required") is True:
            if item_type in ("group", "display") or calculated:
                self.note(link_id, "required was left out: only questions can be required.",
                          clinical=True)
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
            if isinstance(max_length, int) and not isinstance(max_length, bool) \
                    and max_length > 0 and item_type in v.TEXT_TYPES | {"open-choice"}:
                fields["max_length"] = max_length
            else:
                self.note(link_id, "maxLength was left out: it needs a whole number on a text "
                                   "question.")

    def _extensions(self, raw, link_id, planned) -> list[str]:
        fields, help_texts = planned.fields, []
        for extension in ext.as_list(raw.get("extension")):
            url = extension.get("url") if isinstance(extension, dict) else None
            kind, value = ext.value_of(extension) if isinstance(extension, dict) else (None, None)
            if url == ext.COMPUTED or (url == ext.CALCULATED_EXPRESSION
                                       and fields.get("calculation") != "expression"):
                continue  # read by _calculation_of
            if url == ext.HIDDEN:
                continue  # read by _item
            if url in ext.KEPT_EXTENSIONS:
                fields.setdefault("fhir_extensions", []).append(_jsonable(extension))
                continue
            if url == ext.ITEM_CONTROL:
                code = ext.item_control(raw)
                if code in CONTROLS and fields["type"] in v.CHOICE_TYPES:
                    fields["control"] = CONTROLS[code]
                else:
                    self.note(link_id, f'The display control "{code}" is not supported; the '
                                       "item is shown the usual way.")
            elif url in (ext.MIN_VALUE, ext.MAX_VALUE):
                name = "min_value" if url == ext.MIN_VALUE else "max_value"
                text = v.answer_text(kind, value) if kind else ""
                try:
                    v.limit_value(fields["type"], text)
                except ValueError as error:
                    self.note(link_id, f"{name.replace('_', ' ')} was left out: {error}.",
                              clinical=True)
                else:
                    fields[name] = text
            elif url in OCCURS:
                self._occurs(raw, link_id, fields, OCCURS[url], value)
            elif url == ext.MIN_LENGTH and isinstance(value, int) and value >= 0:
                fields["min_length"] = value
            elif url == ext.MAX_DECIMAL_PLACES and isinstance(value, int) and value >= 0:
                fields["max_decimal_places"] = value
            elif url in STRING_EXTENSIONS and isinstance(value, str):
                name = STRING_EXTENSIONS[url]
                fields[name] = self._cut(link_id, name, value)
                if url in TRANSLATED_EXTENSIONS:
                    merge(fields["translations"], name,
                          read_element(extension.get("_valueString")))
            elif url == ext.ANSWER_EXPRESSION:
                # Its options are computed: without them the question cannot be
                # answered as its author wrote it.
                self.note(link_id, "Its answer options come from an SDC answerExpression, "
                                   "which is not supported: list the options before "
                                   "publishing, or accept this note.", clinical=True)
            elif url == ext.OBSERVATION_EXTRACT and isinstance(value, bool):
                fields["observation_extract"] = value
            elif url == ext.NOT_IN_FUTURE and isinstance(value, bool):
                fields["not_in_future"] = value
            elif url == ext.HELP_TEXT and isinstance(value, str):
                help_texts.append(value)
                merge(fields["translations"], "help_text",
                      read_element(extension.get("_valueString")))
            elif url == ext.UNIT and isinstance(value, dict) and value.get("code"):
                fields["unit_code"] = self._cut(link_id, "unit_code", str(value["code"]))
                fields["unit_display"] = self._cut(link_id, "unit_display",
                                                   _text(value.get("display")))
                fields["unit_system"] = self._cut(link_id, "unit_system",
                                                  _text(value.get("system")))
            elif url == ext.INPUT_FORMAT and value in ext.INPUT_FORMATS \
                    and fields["type"] == "string":
                fields["type"] = value
            elif url == ext.SCORE_BAND:
                self._band(link_id, extension, planned)
            elif url == ext.FLAG_RULE:
                self._flag_rule(link_id, extension)
            else:
                self.note(link_id, f"The extension {url} is not supported and was left out.")
        return help_texts

    def _occurs(self, raw, link_id, fields, name: str, value) -> None:
        if raw.get("repeats") is True and isinstance(value, int) \
                and not isinstance(value, bool) and 0 <= value <= 32767:
            fields[name] = value
        else:
            self.note(link_id, f"{name.replace('_', ' ')} was left out: it needs a whole "
                               "number on an item that repeats.", clinical=True)

    def _band(self, link_id, extension, planned) -> None:
        label = ext.extension_value(extension, "label")
        low, high = (ext.extension_value(extension, name) for name in ("min", "max"))
        try:
            low_n = None if low is None else v.parse_number(str(low))
            high_n = None if high is None else v.parse_number(str(high))
        except ValueError:
            low_n = high_n = label = None
        if not isinstance(label, str) or not label:
            self.note(link_id, "A score band was left out: it needs a label and numbers.")
            return
        planned.bands.append({"label": label[:200], "min_score": low_n, "max_score": high_n})

    def _flag_rule(self, link_id, extension) -> None:
        code = ext.extension_value(extension, "code")
        severity = ext.extension_value(extension, "severity")
        message = ext.extension_value(extension, "message")
        behavior = ext.extension_value(extension, "enableBehavior") or "all"
        conditions = []
        for part in ext.extensions(extension, "condition"):
            kind, value = ext.value_of(ext.extension(part, "answer"))
            conditions.append((ext.extension_value(part, "question"),
                               ext.extension_value(part, "operator"),
                               v.answer_text(kind, value) if kind else ""))
        if not (isinstance(code, str) and code and severity in ("urgent", "routine")
                and isinstance(message, str) and message and behavior in ("all", "any")
                and conditions and all(isinstance(q, str) and op in OPERATORS
                                       for q, op, _ in conditions)):
            self.note(link_id, f'The flag rule "{code}" was left out: it needs a code, a '
                               "severity, a message and conditions.", clinical=True)
            return
        self.plan.flag_rules.append(PlannedRule(code[:64], severity, message, behavior,
                                                link_id, conditions))

    # Options and conditions.

    def _options(self, raw, link_id, item_type, planned) -> None:
        if item_type not in ("choice", "open-choice"):
            for key in ("answerOption", "answerValueSet"):
                if key in raw:
                    self.note(link_id, f"{key} was left out: only choice questions have "
                                       "options.")
            if raw.get("initial"):
                self._initial(raw, link_id, planned)
            return
        options: list[dict] = []
        if raw.get("answerOption") is not None:
            for index, option in enumerate(ext.as_list(raw.get("answerOption"))):
                parsed = self._option(link_id, option, index)
                if parsed is not None:
                    options.append(parsed)
        elif raw.get("answerValueSet") is not None:
            options = self._value_set(link_id, raw.get("answerValueSet"))
        codes: set[str] = set()
        for option in options:
            if option["code"] in codes:
                self.note(link_id, f'A second option with the code "{option["code"]}" was '
                                   "left out.", clinical=True)
                continue
            codes.add(option["code"])
            selected = option.pop("selected", False)
            if selected and "initial" not in planned.fields:
                planned.fields["initial"] = option["code"]
            elif selected:
                self.note(link_id, "Only the first initially selected option was kept.")
            planned.options.append(option)
        if raw.get("initial"):
            self._initial(raw, link_id, planned)
        if not planned.options:
            self.note(link_id, "It has no answer options that could be imported; add them "
                               "before publishing.")

    def _option(self, link_id, option, index) -> dict | None:
        if not isinstance(option, dict):
            self.note(link_id, f"Answer option {index + 1} is not an object; left out.")
            return None
        carriers = [option]
        coding = option.get("valueCoding")
        result: dict[str, Any]
        if isinstance(coding, dict) and coding.get("code"):
            carriers.append(coding)
            result = {"value_type": "coding", "code": str(coding["code"])[:255],
                      "display": (_text(coding.get("display")) or str(coding["code"]))[:500],
                      "system": _text(coding.get("system"))[:200],
                      "translations": merge({}, "display",
                                            read_element(coding.get("_display")))}
        elif isinstance(option.get("valueString"), str) and option["valueString"].strip():
            text = option["valueString"]
            if len(text) > 255:
                self.note(link_id, f"Answer option {index + 1} is longer than 255 characters; "
                                   "left out.")
                return None
            result = {"value_type": "string", "code": text, "display": text, "system": ""}
        elif isinstance(option.get("valueInteger"), int) \
                and not isinstance(option["valueInteger"], bool):
            number = str(option["valueInteger"])
            result = {"value_type": "integer", "code": number, "display": number,
                      "system": ""}
        else:
            kinds = [k for k in option if k.startswith("value")] or ["no value"]
            self.note(link_id, f"Answer option {index + 1} ({kinds[0]}) is not supported; "
                               "left out. Options must be codings, text or whole numbers.")
            return None
        result["score"] = None
        result["exclusive"] = False
        result["selected"] = option.get("initialSelected") is True
        for carrier in carriers:
            for extension in ext.as_list(carrier.get("extension")):
                url = extension.get("url") if isinstance(extension, dict) else None
                kind, value = ext.value_of(extension) if url else (None, None)
                if url in (ext.ORDINAL_VALUE, ext.ITEM_WEIGHT) and kind in ("Decimal",
                                                                             "Integer"):
                    result["score"] = Decimal(str(value))
                elif url == ext.OPTION_EXCLUSIVE and isinstance(value, bool):
                    result["exclusive"] = value
                else:
                    self.note(link_id, f'Option "{result["code"]}": the extension {url} is '
                                       "not supported and was left out.")
        return result

    def _value_set(self, link_id, reference) -> list[dict]:
        if not isinstance(reference, str) or not reference.startswith("#"):
            self.note(link_id, f"Its options come from the value set {reference!s:.200}, which "
                               "is not in the file and cannot be looked up here.")
            return []
        value_set = self.value_sets.get(reference[1:])
        if value_set is None:
            self.note(link_id, f'Its value set "{reference}" is not in the file.')
            return []
        self.used_value_sets.add(reference[1:])
        entries: list[tuple[dict, str | None]] = []
        expansion = value_set.get("expansion")
        if isinstance(expansion, dict) and isinstance(expansion.get("contains"), list):
            entries = [(entry, None) for entry in expansion["contains"]]
        else:
            compose = value_set.get("compose") if isinstance(value_set.get("compose"),
                                                             dict) else {}
            for include in ext.as_list(compose.get("include")):
                if not isinstance(include, dict) or include.get("filter") \
                        or include.get("valueSet") or not include.get("concept"):
                    self.note(link_id, f'Its value set "{reference}" includes codes by rule or '
                                       "from another value set; only listed codes were kept.")
                    continue
                entries += [(c, include.get("system")) for c in ext.as_list(include["concept"])]
            if compose.get("exclude"):
                self.note(link_id, f'Its value set "{reference}" excludes codes; the exclusions '
                                   "were left out.")
        options = []
        for entry, system in entries:
            if not isinstance(entry, dict) or not entry.get("code"):
                continue
            coding = {"code": entry["code"], "display": entry.get("display"),
                      "system": entry.get("system", system), "extension": entry.get("extension")}
            option = self._option(link_id, {"valueCoding": {
                k: val for k, val in coding.items() if val is not None}}, len(options))
            if option is not None:
                options.append(option)
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
        behavior = raw.get("enableBehavior")
        if behavior in ("all", "any"):
            planned.fields["enable_behavior"] = behavior
        for condition in ext.as_list(raw.get("enableWhen")):
            if not isinstance(condition, dict):
                continue
            question, operator = condition.get("question"), condition.get("operator")
            kind, value = _value(condition, "answer")
            if not isinstance(question, str) or operator not in OPERATORS or kind is None \
                    or kind == "Reference":
                self.note(link_id, "A condition was left out (it names no question, has an "
                                   "unknown operator or compares a reference): the item is "
                                   "shown more often than the source intended; review it.",
                          clinical=True)
                continue
            planned.conditions.append((question, operator, v.answer_text(kind, value)))

    # References between items.

    def _resolve(self) -> None:
        planned_ids = {item.link_id for item in self.plan.items}

        def resolve(link_id):
            link_id = self.renamed.get(link_id, link_id)
            return link_id if link_id in planned_ids else None

        for item in self.plan.items:
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
        for rule in self.plan.flag_rules:
            rule.item = resolve(rule.item) if rule.item else None
            targets = [(resolve(q), op, answer) for q, op, answer in rule.conditions]
            if any(t[0] is None for t in targets):
                self.note(rule.item, f'Flag rule "{rule.code}" names a question that was not '
                                     "imported; that condition was left out.", clinical=True)
            rule.conditions = [t for t in targets if t[0]]
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


def plan_questionnaire(data: dict) -> Plan:
    """Read a checked Questionnaire (see check_questionnaire) into a plan and report."""
    return _Planner(check_questionnaire(data)).run()
