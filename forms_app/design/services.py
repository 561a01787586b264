"""Write operations of form design: import, copy, retire, add from the library.

As forms_app.services: keyword-only, one transaction each, taking the actor (`by`) and
writing the audit event in the same transaction.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from forms_app.design.export import draft_to_questionnaire
from forms_app.design.importer import METADATA_KEYS, Plan, plan_questionnaire
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
