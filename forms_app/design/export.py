"""The draft as a FHIR R4 Questionnaire in the engine's format (see forms_app.engine).

Export is total: whatever the draft holds it produces a document, so that the checks
before publishing (forms_app.design.checks) and the engine can name what is wrong.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch

from forms_app.design import values as v
from forms_app.design.translation_codec import element
from forms_app.engine import extensions as ext
from forms_app.engine import item_rules as rules
from forms_app.engine.expressions import ExpressionError, parse_expression, to_fhirpath
from forms_app.engine.items import Item as EngineItem
from forms_app.engine.items import Option
from forms_app.engine.rules import designer_value_path
from forms_app.models import FlagRule, Item, ItemCondition

ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
FHIRPATH = "text/fhirpath"
SCORE_TOTAL_EXPRESSION = "%resource.repeat(item).answer.value.ordinal().sum()"


def score_sum_expression(link_ids) -> str:
    # sum() rather than "a + b": in FHIRPath one unanswered term would empty a "+".
    ids = " | ".join(f"'{link_id}'" for link_id in link_ids)
    return f"%resource.repeat(item).where(linkId in ({ids})).answer.value.ordinal().sum()"


def questionnaire_url(form) -> str:
    return f"{settings.SITE_URL}/fhir/Questionnaire/{form.id}"


@dataclass
class Draft:
    """A form's draft loaded in a fixed number of queries, in form (pre-)order."""

    form: object
    items: list = field(default_factory=list)  # pre-order
    children: dict = field(default_factory=dict)  # parent id -> [Item]
    flag_rules: list = field(default_factory=list)

    @property
    def by_id(self):
        return {item.pk: item for item in self.items}


def load_draft(form) -> Draft:
    items = list(
        form.items.order_by("position", "id").prefetch_related(
            "options",
            "bands",
            Prefetch("conditions",
                     queryset=ItemCondition.objects.select_related("question")
                     .prefetch_related("question__options")),
            Prefetch("score_items", queryset=Item.objects.order_by("position", "id")),
        )
    )
    children = defaultdict(list)
    for item in items:
        children[item.parent_id].append(item)
    ordered = []

    def visit(parent_id, seen):
        for item in children.get(parent_id, []):
            if item.pk in seen:  # a cycle in parents: checks report it
                continue
            ordered.append(item)
            visit(item.pk, seen | {item.pk})

    visit(None, frozenset())
    rules = list(
        FlagRule.objects.filter(form=form).select_related("item")
        .prefetch_related("conditions__question__options")
    )
    return Draft(form=form, items=ordered, children=dict(children), flag_rules=rules)


def _extension(url, kind, value) -> dict:
    return {"url": url, f"value{kind}": value}


def _translated(data: dict, name: str, translations, field: str) -> dict:
    """``data`` with the translations of ``field`` on its "_<name>" element."""
    carried = element(translations, field)
    if carried:
        data["_" + name] = carried
    return data


def _coding(system, code, display) -> dict:
    coding = {}
    if system:
        coding["system"] = system
    coding["code"] = code
    if display:
        coding["display"] = display
    return coding


def _answer(question, operator, text) -> tuple[str, object]:
    try:
        return v.condition_answer(question, list(question.options.all()), operator, text)
    except ValueError:
        return "String", text  # the engine names the problem on publishing


def _condition(condition) -> dict:
    kind, value = _answer(condition.question, condition.operator, condition.answer)
    return {"question": condition.question.link_id, "operator": condition.operator,
            f"answer{kind}": value}


def _flag_rule(rule) -> dict:
    parts = [
        _extension("code", "Code", rule.code),
        _extension("severity", "Code", rule.severity),
        _extension("message", "String", rule.message),
        _extension("enableBehavior", "Code", rule.enable_behavior),
    ]
    for condition in rule.conditions.all():
        kind, value = _answer(condition.question, condition.operator, condition.answer)
        parts.append({"url": "condition", "extension": [
            _extension("question", "String", condition.question.link_id),
            _extension("operator", "Code", condition.operator),
            _extension("answer", kind, value),
        ]})
    return {"url": ext.FLAG_RULE, "extension": parts}


def _band(band) -> dict:
    parts = []
    if band.min_score is not None:
        parts.append(_extension("min", *v.number_value(band.min_score.normalize())))
    if band.max_score is not None:
        parts.append(_extension("max", *v.number_value(band.max_score.normalize())))
    parts.append(_extension("label", "String", band.label))
    return {"url": rules.BANDS.key, "extension": parts}


def _option(option, initial: str) -> dict:
    if option.value_type == option.ValueType.STRING:
        data = {"valueString": option.code}
    elif option.value_type == option.ValueType.INTEGER:
        try:
            data = {"valueInteger": int(option.code)}
        except ValueError:
            data = {"valueString": option.code}
    else:
        data = {"valueCoding": _translated(_coding(option.system, option.code, option.display),
                                           "display", option.translations, "display")}
    extensions = []
    if option.score is not None:
        extensions.append(_extension(ext.ORDINAL_VALUE, "Decimal",
                                     v.json_number(option.score.normalize())))
    if option.exclusive:
        extensions.append(_extension(ext.OPTION_EXCLUSIVE, "Boolean", True))
    if extensions:
        data["extension"] = extensions
    if initial and option.code == initial:
        data["initialSelected"] = True
    return data


def _limit(url, item_type, text):
    try:
        kind, value = v.limit_value(item_type, text)
    except ValueError:
        kind, value = "String", text
    return _extension(url, kind, value)


def _item_control(code) -> dict:
    return rules.CONTROL.extension({"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]})


def _calculated(item) -> bool:
    return item.is_answerable and bool(item.calculation)


def _elements(item) -> dict:
    """The item's own elements, before its extensions (FHIR's element order)."""
    item_type, _ = v.fhir_type(item.type)
    data = {"linkId": item.link_id}
    if item.prefix:
        data["prefix"] = item.prefix
    if item.text:  # FHIR strings are never empty
        data["text"] = item.text
        _translated(data, "text", item.translations, "text")
    data["type"] = item_type
    if item.code:
        data["code"] = [_coding(item.code_system, item.code, item.code_display)]
    # A required group: at least one of its questions answered (engine.groups).
    if item.required and item.type != Item.Type.DISPLAY and not _calculated(item):
        data["required"] = True
    if item.type == Item.Type.MULTIPLE_CHOICE or item.repeats:
        data["repeats"] = True
    if _calculated(item):
        data["readOnly"] = True
    if item.max_length and v.applies(rules.MAX_LENGTH, item.type):
        data["maxLength"] = item.max_length
    conditions = list(item.conditions.all())
    if conditions:
        data["enableWhen"] = [_condition(condition) for condition in conditions]
        data["enableBehavior"] = item.enable_behavior
    return data


def _text(rule):
    """A writer of a translatable text extension from the rule's draft field."""
    name = rule.name

    def write(item, draft) -> list[dict]:
        if not getattr(item, name):
            return []
        return [_translated(rule.extension(getattr(item, name)), "valueString",
                            item.translations, name)]
    return write


def _plain(rule, present=bool, value=None):
    """A writer of ``rule``'s extension when its draft field is ``present``."""
    name = rule.name

    def write(item, draft) -> list[dict]:
        found = getattr(item, name)
        return [rule.extension(found if value is None else value)] if present(found) else []
    return write


def _write_input_format(item, draft) -> list[dict]:
    input_format = v.fhir_type(item.type)[1]
    return [rules.INPUT_FORMAT.extension(input_format)] if input_format else []


def _write_control(item, draft) -> list[dict]:
    return [_item_control(item.control)] if item.control and item.has_options else []


def _write_limit(rule):
    def write(item, draft) -> list[dict]:
        text = getattr(item, rule.name)
        return [_limit(rule.key, item.type, text)] if text else []
    return write


def _write_unit(item, draft) -> list[dict]:
    if not item.unit_code:
        return []
    return [rules.UNIT.extension(_coding(item.unit_system, item.unit_code,
                                         item.unit_display))]


def _write_help(item, draft) -> list[dict]:
    # A display item cannot hold a help child item (see _children for the others).
    return _text(rules.HELP_TEXT)(item, draft) \
        if item.type == Item.Type.DISPLAY else []


def _write_hidden(item, draft) -> list[dict]:
    # The designer's own scores and formulas are hidden from patients (its item page
    # says so); an imported calculatedExpression is shown or hidden as its author said.
    ours = _calculated(item) and item.calculation != Item.Calculation.EXPRESSION
    return [rules.HIDDEN.extension(True)] if item.hidden or ours else []


def _write_occurs(rule):
    def write(item, draft) -> list[dict]:
        value = getattr(item, rule.name)
        return [rule.extension(value)] if item.repeats and value is not None else []
    return write


def _write_calculation(item, draft) -> list[dict]:
    found = _calculation(item, draft) if _calculated(item) else []
    return found + [e for e in item.fhir_extensions
                    if e.get("url") != ext.CALCULATED_EXPRESSION
                    or item.calculation == Item.Calculation.EXPRESSION]


def _write_bands(item, draft) -> list[dict]:
    return [_band(band) for band in item.bands.all()]


def _write_flag_rules(item, draft) -> list[dict]:
    return [_flag_rule(rule) for rule in draft.flag_rules if rule.item_id == item.pk]


def _is_set(value) -> bool:
    return value is not None


# The draft's fields as item extensions, in the order they are written.
_EXTENSION_WRITERS = (
    _write_input_format,
    _write_control,
    _write_limit(rules.MIN_VALUE),
    _write_limit(rules.MAX_VALUE),
    _plain(rules.MIN_LENGTH),
    _plain(rules.REGEX),
    _text(rules.REGEX_MESSAGE),
    _plain(rules.PLACES, present=_is_set),
    _plain(rules.NOT_IN_FUTURE, value=True),
    _write_unit,
    _text(rules.SHORT_LABEL),
    _text(rules.REQUIRED_MESSAGE),
    _text(rules.OTHER_LABEL),
    _write_help,
    _write_hidden,
    _write_occurs(rules.OCCURS),
    _write_occurs(rules.MAX_OCCURS),
    _plain(rules.OBSERVATION_EXTRACT, value=True),
    _write_calculation,
    _write_bands,
    _write_flag_rules,
)


def _initials(item) -> list[dict]:
    if not (item.initial and item.is_answerable and not _calculated(item)):
        return []
    options = list(item.options.all())
    initials = []
    for text in v.initial_texts(item):
        try:
            initial = v.initial_value(item, options, text)
        except ValueError:
            initial = ("String", text)
        if initial is not None:
            initials.append({f"value{initial[0]}": initial[1]})
    return initials


def _children(item, draft: Draft) -> list[dict]:
    children = [_item(child, draft) for child in draft.children.get(item.pk, [])
                if child in draft.items]
    if item.help_text and item.type != Item.Type.DISPLAY:
        # The SDC way of attaching help: a display child marked with itemControl "help".
        help_item = _translated({"linkId": f"{item.link_id}-help", "text": item.help_text},
                                "text", item.translations, "help_text")
        children.insert(0, {**help_item, "type": "display",
                            "extension": [_item_control("help")]})
    return children


def _item(item, draft: Draft) -> dict:
    data = _elements(item)
    extensions = [found for write in _EXTENSION_WRITERS for found in write(item, draft)]
    if extensions:
        data["extension"] = extensions
    initials = _initials(item)
    if initials:
        data["initial"] = initials
    options = item.options.all() if item.has_options else ()
    if options:  # none: an answerExpression gives them (and FHIR has no empty list)
        data["answerOption"] = [_option(option, item.initial) for option in options]
    children = _children(item, draft)
    if children:
        data["item"] = children
    return data


def _formula_as_fhirpath(item, draft: Draft) -> str | None:
    """The designer's formula compiled to FHIRPath (what other systems evaluate)."""
    try:
        formula = parse_expression(item.formula)
    except ExpressionError:
        return None
    by_link_id = {i.link_id: i for i in draft.items}
    if any(name not in by_link_id for name in formula.references):
        return None

    def value_of(link_id: str) -> str:
        target = by_link_id[link_id]
        kinds = {"coding": "Coding", "string": "String", "integer": "Integer"}
        options = tuple(Option(o.code, o.display, kinds[o.value_type])
                        for o in target.options.all())
        return designer_value_path(EngineItem(link_id, v.fhir_type(target.type)[0],
                                              options=options))

    return to_fhirpath(formula, value_of)


def _calculation(item, draft: Draft) -> list[dict]:
    if item.calculation == Item.Calculation.EXPRESSION:
        return []  # kept verbatim in fhir_extensions
    if item.calculation == Item.Calculation.FORMULA:
        # Both: our formula for the designer, and the same as FHIRPath for everyone else
        # (the engine evaluates the formula's FHIRPath; they cannot disagree).
        found = [_extension(ext.COMPUTED, "String", item.formula)]
        expression = _formula_as_fhirpath(item, draft)
        if expression:
            found.append({"url": ext.CALCULATED_EXPRESSION,
                          "valueExpression": {"language": FHIRPATH, "expression": expression}})
        return found
    if item.calculation == Item.Calculation.SCORE_TOTAL:
        expression = SCORE_TOTAL_EXPRESSION
    else:
        expression = score_sum_expression(i.link_id for i in item.score_items.all())
    return [{"url": ext.CALCULATED_EXPRESSION,
             "valueExpression": {"language": FHIRPATH, "expression": expression}}]


def draft_to_questionnaire(form, *, version_number: int, draft: Draft | None = None) -> dict:
    """The form's draft as a FHIR R4 Questionnaire, as it would be published."""
    draft = draft or load_draft(form)
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": str(form.id),
        "url": questionnaire_url(form),
        "version": str(version_number),
        "name": "".join(ch for ch in form.title.title() if ch.isalnum())[:60] or "Form",
        "title": form.title,
    }
    _translated(questionnaire, "title", form.translations, "title")
    questionnaire["status"] = "active"
    questionnaire["publisher"] = form.organisation.name
    if form.source_url:
        source = form.source_url + (f"|{form.source_version}" if form.source_version else "")
        questionnaire["derivedFrom"] = [source]
    if form.source_identifier:
        questionnaire["identifier"] = form.source_identifier
    if form.description:
        # Shown to patients before page one (the start page), in their language.
        questionnaire["description"] = form.description
        _translated(questionnaire, "description", form.translations, "description")
    if form.copyright:
        questionnaire["copyright"] = form.copyright
    if form.code:
        questionnaire["code"] = [_coding(form.code_system, form.code, form.code_display)]
    root_extensions = list(form.fhir_extensions) + [
        _flag_rule(rule) for rule in draft.flag_rules if rule.item_id is None]
    if root_extensions:
        questionnaire["extension"] = root_extensions
    questionnaire["item"] = [_item(item, draft) for item in draft.children.get(None, [])]
    return questionnaire
