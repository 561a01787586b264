"""The exporter, the designer's item checks and condition answers, pinned before their
item rules moved into one table (see tests/pins/__init__.py)."""

import itertools
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from forms_app.design import services as design_services
from forms_app.design import values as v
from forms_app.design.checks import draft_problems
from forms_app.design.export import draft_to_questionnaire
from forms_app.design.validation import clean_item
from forms_app.management.demo_data import ensure_demo
from forms_app.models import AnswerOption, FlagRule, Form, Item, ItemCondition, ScoreBand
from tests.pins.canon import check, digest
from tests.pins.test_engine_pins import _documents

TYPES = [value for value, _ in Item.Type.choices]
# Each draft field set on its own, to a value that fits some types and not others.
SETTINGS = {
    "plain": {},
    "min_value_int": {"min_value": "1"}, "min_value_dec": {"min_value": "1.5"},
    "min_value_date": {"min_value": "2020-01-01"},
    "max_value_dt": {"max_value": "2020-01-01T09:00:00+00:00"},
    "max_value_naive": {"max_value": "2020-01-01T09:00:00"},
    "max_value_time": {"max_value": "09:30"}, "max_value_bad": {"max_value": "soon"},
    "min_length": {"min_length": 2}, "max_length": {"max_length": 5},
    "lengths_crossed": {"min_length": 6, "max_length": 5},
    "regex": {"regex": "[A-Z]+", "regex_message": "Capitals"},
    "regex_bad": {"regex": "[A-"}, "regex_message": {"regex_message": "Only"},
    "places": {"max_decimal_places": 2}, "future": {"not_in_future": True},
    "unit": {"unit_code": "kg", "unit_display": "kilograms", "unit_system": "http://u"},
    "control": {"control": "drop-down"},
    "calc_formula": {"calculation": "formula", "formula": "a + 1"},
    "calc_formula_bad": {"calculation": "formula", "formula": "a +"},
    "calc_total": {"calculation": "score_total"},
    "formula_only": {"formula": "a"},
    "initial_text": {"initial": "hello"}, "initial_number": {"initial": "3"},
    "initial_decimal": {"initial": "2.5"}, "initial_bool": {"initial": "yes"},
    "initial_date": {"initial": "2020-01-02"}, "initial_time": {"initial": "09:00"},
    "initial_dt": {"initial": "2020-01-02T09:00:00+00:00"},
    "initial_lines": {"initial": "1\n2\n\n3", "repeats": True},
    "initial_calc": {"initial": "1", "calculation": "score_total"},
    "repeats": {"repeats": True}, "repeats_calc": {"repeats": True, "calculation": "formula",
                                                   "formula": "1"},
    "occurs": {"repeats": True, "min_occurs": 1, "max_occurs": 3},
    "occurs_crossed": {"repeats": True, "min_occurs": 4, "max_occurs": 3},
    "occurs_zero": {"repeats": True, "max_occurs": 0},
    "occurs_no_repeat": {"min_occurs": 1},
    "extract": {"observation_extract": True},
    "extract_coded": {"observation_extract": True, "code": "1-1", "code_system": "http://l",
                      "code_display": "One"},
    "required": {"required": True}, "hidden": {"hidden": True},
    "help": {"help_text": "Some help"}, "prefix": {"prefix": "1."},
    "labels": {"short_label": "S", "required_message": "R", "other_label": "O"},
    "kept_extensions": {"fhir_extensions": [
        {"url": "http://hl7.org/fhir/StructureDefinition/entryFormat", "valueString": "nn"},
        {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                "sdc-questionnaire-calculatedExpression",
         "valueExpression": {"language": "text/fhirpath", "expression": "1"}}]},
    "calc_expression": {"calculation": "expression", "fhir_extensions": [
        {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                "sdc-questionnaire-calculatedExpression",
         "valueExpression": {"language": "text/fhirpath", "expression": "1"}}]},
    "translated": {"text": "Words", "help_text": "Help", "regex_message": "Rm",
                   "short_label": "Sl", "translations": {"cy": {
                       "text": "Geiriau", "help_text": "Cymorth", "regex_message": "Neges",
                       "short_label": "Byr"}}},
}


def _clean_errors(item) -> dict:
    try:
        clean_item(item)
    except ValidationError as error:
        return error.message_dict
    return {}


def test_the_designers_item_checks_are_as_pinned():
    found = {}
    for item_type in TYPES:
        found[item_type] = digest({
            name: _clean_errors(Item(link_id="q", type=item_type, **{"text": "Q", **settings}))
            for name, settings in SETTINGS.items()})
    check("clean_item", found)


OPERATORS = ["exists", "=", "!=", ">", "<", ">=", "<="]
TEXTS = ["", "true", "no", "maybe", "3", "2.5", "a", "b", " a ", "2020-01-02",
         "2020-01-02T09:00:00+00:00", "2020-01-02T09:00:00", "09:30", "25:00", "other"]


def _answer(question, options, operator, text):
    try:
        return v.condition_answer(question, options, operator, text)
    except ValueError as error:
        return {"refused": str(error)}


def test_condition_answers_are_as_pinned():
    options = {
        "coding": [SimpleNamespace(code="a", value_type="coding", system="http://s"),
                   SimpleNamespace(code="b", value_type="coding", system="")],
        "string": [SimpleNamespace(code="a", value_type="string", system="")],
        "integer": [SimpleNamespace(code="3", value_type="integer", system="")],
        "none": [],
    }
    found = {}
    for item_type, (kind, opts) in itertools.product(TYPES, options.items()):
        question = SimpleNamespace(type=item_type)
        found[f"{item_type}/{kind}"] = digest({
            f"{operator} {text}": _answer(question, opts, operator, text)
            for operator, text in itertools.product(OPERATORS, TEXTS)})
    check("condition_answer", found)


def _without_ids(document):
    return {k: value for k, value in document.items() if k not in ("id", "url")}


@pytest.mark.django_db
def test_every_corpus_form_exports_as_pinned():
    user, _, team, _ = ensure_demo()
    found = {}
    for name, document in _documents().items():
        imported = design_services.import_questionnaire(
            data=json.loads(json.dumps(document)), organisation=team.organisation, by=user)
        exported = draft_to_questionnaire(imported.form, version_number=1)
        found[name] = digest(_without_ids(exported))
        found[name + "/problems"] = digest([str(p) for p in draft_problems(imported.form)])
    check("export", found)


def _designer_form(organisation) -> Form:
    """A draft with every type and every field setting, as staff could build it."""
    form = Form.objects.create(organisation=organisation, title="Every setting",
                               translations={"cy": {"title": "Pob"}})
    page = Item.objects.create(form=form, link_id="page", text="Page", type="group",
                               position=0)
    position = itertools.count(1)
    made = []
    for item_type, (name, settings) in itertools.product(TYPES, SETTINGS.items()):
        if item_type == "group":
            continue
        item = Item.objects.create(
            form=form, parent=page, link_id=f"{item_type}.{name}"[:64], type=item_type,
            position=next(position), **{"text": "Q", **settings})
        made.append(item)
        if item.has_options:
            AnswerOption.objects.create(item=item, position=0, code="a", display="A",
                                        score=Decimal("1.5"), exclusive=True,
                                        translations={"cy": {"display": "Ay"}})
            AnswerOption.objects.create(item=item, position=1, code="7", display="Seven",
                                        value_type="integer")
            AnswerOption.objects.create(item=item, position=2, code="x", display="X",
                                        value_type="string", system="http://s")
            AnswerOption.objects.create(item=item, position=3, code="n", display="N",
                                        value_type="integer")
    return form, page, made


@pytest.mark.django_db
def test_a_draft_with_every_setting_exports_as_pinned():
    _, _, team, _ = ensure_demo()
    form, page, made = _designer_form(team.organisation)
    by_id = {item.link_id: item for item in made}
    choice, number = by_id["choice.plain"], by_id["integer.plain"]
    total = by_id["integer.calc_total"]
    total.score_items.set([choice])
    summed = Item.objects.create(form=form, parent=page, link_id="summed", text="Sum",
                                 type="decimal", calculation="score_sum", position=999)
    summed.score_items.set([choice, by_id["choice.control"]])
    ScoreBand.objects.create(item=summed, min_score=Decimal("0"), max_score=Decimal("4.5"),
                             label="Low")
    ScoreBand.objects.create(item=summed, min_score=Decimal("5"), label="High", position=1)
    for n, (question, operator, answer) in enumerate([
            (choice, "=", "a"), (choice, "=", "7"), (choice, ">", "1"), (number, ">=", "3"),
            (by_id["boolean.plain"], "=", "yes"), (by_id["date.plain"], "<", "2020-01-01"),
            (by_id["dateTime.plain"], "=", "2020-01-01"), (by_id["time.plain"], "=", "09:00"),
            (by_id["string.plain"], "exists", ""), (by_id["string.plain"], ">", "bad"),
            (by_id["open-choice.plain"], "=", "free")]):
        target = made[-1 - n]
        ItemCondition.objects.create(item=target, question=question, operator=operator,
                                     answer=answer)
    rule = FlagRule.objects.create(form=form, item=total, code="high", severity="urgent",
                                   message="Call")
    rule.conditions.create(question=number, operator=">", answer="5")
    root_rule = FlagRule.objects.create(form=form, code="root", severity="routine",
                                        message="Note", enable_behavior="any")
    root_rule.conditions.create(question=choice, operator="=", answer="a")
    exported = draft_to_questionnaire(form, version_number=3)
    check("designer-export", {"document": digest(_without_ids(exported)),
                              "problems": digest([str(p) for p in draft_problems(form)])})
