"""Write operations of form design: import, copy, retire, add from the library.

As forms_app.services: keyword-only, one transaction each, taking the actor (`by`) and
writing the audit event in the same transaction.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from forms_app.design.export import draft_to_questionnaire
from forms_app.design.importer import METADATA_KEYS, Plan, plan_questionnaire
from forms_app.design.translations import languages as translation_languages
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Form,
    FormVersion,
    Item,
    ItemCondition,
    ScoreBand,
)
from patients.models import AuditEvent
from patients.services import record_audit

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"
# The ready-made forms: file name -> what staff see in the library list.
LIBRARY = {
    "phq9": "PHQ-9: depression severity (9 questions, score 0-27, flags question 9)",
    "gad7": "GAD-7: anxiety severity (7 questions, score 0-21)",
}


@dataclass(frozen=True)
class Imported:
    form: Form
    report: list[dict]


def _create_draft(plan: Plan, *, organisation) -> Form:
    form = Form.objects.create(organisation=organisation, import_report=plan.report,
                               **plan.form)
    items: dict[str, Item] = {}
    positions: dict[str | None, int] = {}
    for planned in plan.items:
        position = positions.get(planned.parent, 0)
        positions[planned.parent] = position + 1
        items[planned.link_id] = Item.objects.create(
            form=form, parent=items.get(planned.parent) if planned.parent else None,
            position=position, link_id=planned.link_id, **planned.fields)
    options, conditions, bands = [], [], []
    for planned in plan.items:
        item = items[planned.link_id]
        options += [AnswerOption(item=item, position=n, **option)
                    for n, option in enumerate(planned.options)]
        conditions += [ItemCondition(item=item, question=items[question], operator=operator,
                                     answer=answer[:255], position=n)
                       for n, (question, operator, answer) in enumerate(planned.conditions)]
        bands += [ScoreBand(item=item, position=n, **band)
                  for n, band in enumerate(planned.bands)]
        if planned.score_items:
            item.score_items.set([items[link_id] for link_id in planned.score_items])
    AnswerOption.objects.bulk_create(options)
    ItemCondition.objects.bulk_create(conditions)
    ScoreBand.objects.bulk_create(bands)
    for position, planned_rule in enumerate(plan.flag_rules):
        rule = FlagRule.objects.create(
            form=form, item=items.get(planned_rule.item) if planned_rule.item else None,
            code=planned_rule.code, severity=planned_rule.severity,
            message=planned_rule.message, enable_behavior=planned_rule.enable_behavior,
            position=position)
        FlagCondition.objects.bulk_create(
            FlagCondition(rule=rule, question=items[question], operator=operator,
                          answer=answer[:255], position=n)
            for n, (question, operator, answer) in enumerate(planned_rule.conditions))
    return form


@transaction.atomic
def import_questionnaire(*, data: dict, organisation, by, source: str = "") -> Imported:
    """A new draft form from a FHIR Questionnaire, with the report of what was left out.

    ``data`` must have passed importer.parse_upload / check_questionnaire (callers
    handle ImportRefused, raised before anything is written).
    """
    plan = plan_questionnaire(data)
    form = _create_draft(plan, organisation=organisation)
    record_audit(by=by, action=AuditEvent.Action.FORM_IMPORTED, organisation=organisation,
                 obj=form, detail={"source": source[:200], "items": len(plan.items),
                                   "report_entries": len(plan.report)})
    return Imported(form=form, report=plan.report)


@transaction.atomic
def accept_import_notes(*, form: Form, by) -> int:
    """Staff accept the import notes that change clinical meaning (having put right what
    they could), so that the form can be published. Each entry records who and when;
    returns how many were accepted."""
    form = Form.objects.select_for_update().select_related("organisation").get(pk=form.pk)
    now = timezone.now()
    accepted = 0
    for entry in form.import_report:
        if entry.get("clinical") and not entry.get("accepted_at"):
            entry["accepted_at"] = now.isoformat()
            entry["accepted_by"] = getattr(by, "username", str(by))
            accepted += 1
    if accepted:
        form.save(update_fields=["import_report", "updated_at"])
        record_audit(by=by, action=AuditEvent.Action.FORM_CHANGED,
                     organisation=form.organisation, obj=form,
                     detail={"accepted_clinical_import_notes": accepted})
    return accepted


@transaction.atomic
def copy_form(*, form: Form, by, title: str | None = None) -> Form:
    """A new draft with everything the form's draft has, to start a new form from."""
    data = draft_to_questionnaire(form, version_number=0)
    # The copy has its own id, url and version: nothing to report about those.
    plan = plan_questionnaire({k: v for k, v in data.items() if k not in METADATA_KEYS})
    plan.form["title"] = (title or f"Copy of {form.title}")[:200]
    # The draft's own export reads back whole (tested); what an unfinished draft lacks
    # (e.g. a choice question with no options yet) is kept in the copy's report.
    copy = _create_draft(plan, organisation=form.organisation)
    record_audit(by=by, action=AuditEvent.Action.FORM_COPIED, organisation=form.organisation,
                 obj=copy, detail={"from_form": str(form.pk)})
    return copy


@transaction.atomic
def retire_version(*, version: FormVersion, by) -> bool:
    """Stop new links being issued for a version; open links keep working. Returns
    False if it was already retired."""
    version = FormVersion.objects.select_for_update().select_related("form__organisation") \
        .get(pk=version.pk)
    if version.retired_at is not None:
        return False
    version.retired_at = timezone.now()
    version.save(update_fields=["retired_at"])
    record_audit(by=by, action=AuditEvent.Action.FORM_RETIRED,
                 organisation=version.form.organisation, obj=version,
                 detail={"number": version.number})
    return True


def library_questionnaire(name: str) -> dict:
    if name not in LIBRARY:
        raise KeyError(name)
    with (LIBRARY_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def add_from_library(*, name: str, organisation, by) -> Imported:
    """A ready-made form (see LIBRARY) as a new draft, through the importer."""
    return import_questionnaire(data=library_questionnaire(name), organisation=organisation,
                                by=by, source=f"library:{name}")


# --- The outline: order, move and add pages and questions ---------------------------

def _audit_change(*, by, form, obj, change: str) -> None:
    record_audit(by=by, action=AuditEvent.Action.FORM_CHANGED, organisation=form.organisation,
                 obj=obj, detail={"form": str(form.pk), "change": change})


def _renumber(form, parent_id, ordered=None) -> None:
    """Positions 0, 1, 2... among the items of one page or group, in their order."""
    siblings = ordered if ordered is not None else list(
        Item.objects.filter(form=form, parent_id=parent_id).order_by("position", "id"))
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])


@transaction.atomic
def move_item(*, item: Item, direction: str, by) -> bool:
    """Swap an item with its neighbour above ("up") or below ("down") in its page (or a
    page with its neighbouring page). False when it is already first or last."""
    if direction not in ("up", "down"):
        raise ValidationError("Choose up or down.")
    form = Form.objects.select_for_update().get(pk=item.form_id)
    siblings = list(Item.objects.filter(form=form, parent_id=item.parent_id)
                    .order_by("position", "id"))
    index = next(n for n, sibling in enumerate(siblings) if sibling.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return False
    siblings[index], siblings[other] = siblings[other], siblings[index]
    _renumber(form, item.parent_id, siblings)
    _audit_change(by=by, form=form, obj=item, change=f"moved {direction}")
    return True


def _descendant_ids(form, item) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Item.objects.filter(form=form).values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), [item.pk]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


@transaction.atomic
def move_to_page(*, item: Item, page: Item | None, by) -> Item:
    """Put an item last on another page or group (``None``: a page of its own)."""
    form = Form.objects.select_for_update().get(pk=item.form_id)
    item = Item.objects.get(pk=item.pk, form=form)
    if page is not None:
        if page.form_id != form.pk or page.type != Item.Type.GROUP:
            raise ValidationError("Choose a page or group of this form.")
        if page.pk == item.pk or page.pk in _descendant_ids(form, item):
            raise ValidationError("A page or group cannot go inside itself.")
    new_parent = page.pk if page is not None else None
    if new_parent == item.parent_id:
        return item
    old_parent = item.parent_id
    last = Item.objects.filter(form=form, parent_id=new_parent).aggregate(n=Max("position"))
    item.parent_id = new_parent
    item.position = (last["n"] if last["n"] is not None else -1) + 1
    item.save(update_fields=["parent", "position"])
    _renumber(form, old_parent)
    _audit_change(by=by, form=form, obj=item, change="moved to another page")
    return item


def new_link_id(form, text: str) -> str:
    """A readable id from the words ("Do you smoke?" -> "do-you-smoke"), unique in the
    form, so that staff need not invent one."""
    base = slugify(text)[:40].strip("-") or "question"
    if not re.match(r"^[A-Za-z0-9]", base):
        base = "q-" + base
    taken = set(Item.objects.filter(form=form).values_list("link_id", flat=True))
    taken |= {f"{link_id}-help" for link_id in taken}  # help texts take "<id>-help"
    candidate, n = base, 1
    while candidate in taken or f"{candidate}-help" in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _append(form, *, parent, text: str, item_type: str) -> Item:
    last = Item.objects.filter(form=form, parent=parent).aggregate(n=Max("position"))
    item = Item(form=form, parent=parent, text=text.strip(), type=item_type,
                position=(last["n"] if last["n"] is not None else -1) + 1,
                link_id=new_link_id(form, text))
    # Field checks only: what a type needs beyond its words (a unit, options) is asked
    # for on the question's own page and listed among the draft's problems until given.
    item.clean_fields()
    item.validate_unique()
    item.save()
    return item


@transaction.atomic
def add_question(*, form: Form, page: Item | None, text: str, item_type: str, by) -> Item:
    """A new question, last on ``page`` (``None``: a page of its own)."""
    form = Form.objects.select_for_update().get(pk=form.pk)
    if page is not None and (page.form_id != form.pk or page.type != Item.Type.GROUP):
        raise ValidationError("Choose a page of this form.")
    if item_type == Item.Type.GROUP:
        raise ValidationError("Add a page with 'Add a page'.")
    item = _append(form, parent=page, text=text, item_type=item_type)
    _audit_change(by=by, form=form, obj=item, change="added")
    return item


@transaction.atomic
def add_page(*, form: Form, title: str, question_text: str, item_type: str,
             by) -> tuple[Item, Item]:
    """A new last page with its first question, in one go."""
    form = Form.objects.select_for_update().get(pk=form.pk)
    if item_type == Item.Type.GROUP:
        raise ValidationError("A page's first item is a question or text to read.")
    page = _append(form, parent=None, text=title, item_type=Item.Type.GROUP)
    question = _append(form, parent=page, text=question_text, item_type=item_type)
    _audit_change(by=by, form=form, obj=page, change="added")
    _audit_change(by=by, form=form, obj=question, change="added")
    return page, question


# --- Translations ---------------------------------------------------------------------

@transaction.atomic
def save_translations(*, form: Form, language: str, changes: list, by) -> int:
    """Store translations: ``changes`` is [(translations.Text, new text)], the texts taken
    from this form's draft. An empty text removes the translation. Returns how many
    texts changed."""
    if language not in dict(translation_languages()):
        raise ValidationError(f'"{language}" is not a language forms are translated into.')
    form = Form.objects.select_for_update().get(pk=form.pk)
    changed = 0
    for text, value in changes:
        obj = form if isinstance(text.obj, Form) else text.obj
        owner = obj.pk if isinstance(obj, Form) else (
            obj.form_id if isinstance(obj, Item) else obj.item.form_id)
        if owner != form.pk:
            raise ValidationError("That text is not in this form.")
        current = dict(obj.translations or {})
        fields = dict(current.get(language) or {})
        value = value.strip()
        if fields.get(text.field, "") == value:
            continue
        if value:
            fields[text.field] = value
        else:
            fields.pop(text.field, None)
        if fields:
            current[language] = fields
        else:
            current.pop(language, None)
        obj.translations = current
        obj.save(update_fields=["translations"])
        changed += 1
    if changed:
        record_audit(by=by, action=AuditEvent.Action.FORM_CHANGED,
                     organisation=form.organisation, obj=form,
                     detail={"form": str(form.pk), "change": "translated",
                             "language": language, "texts": changed})
    return changed
