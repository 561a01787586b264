"""The item rule table (forms_app.engine.item_rules): structured problems, and one rule
read by the parser, written by the export and asked by the designer."""

import copy
from types import SimpleNamespace

import pytest

from forms_app.design import values as v
from forms_app.design.checks import reworded
from forms_app.engine import DefinitionError, compile_definition
from forms_app.engine import extensions as ext
from forms_app.engine import item_rules as rules
from forms_app.engine.item_rules import ItemProblem
from tests.forms_app.engine.helpers import question, questionnaire


def _problems(*items) -> list:
    with pytest.raises(DefinitionError) as refused:
        compile_definition(questionnaire(*items))
    return refused.value.problems


def test_a_rules_problem_names_its_item_and_whether_it_is_clinical():
    bad_regex = question("q1", "string", "Postcode", extension=[
        {"url": ext.REGEX, "valueString": "[A-"}])
    bad_unit = question("q2", "quantity", "Weight", extension=[
        {"url": ext.UNIT, "valueString": "kg"}])
    bad_extract = question("q3", "integer", "Total", extension=[
        {"url": ext.OBSERVATION_EXTRACT, "valueBoolean": True}])
    problems = _problems(bad_regex, bad_unit, bad_extract)
    structured = [(p.link_id, p.message, p.clinical) for p in problems
                  if isinstance(p, ItemProblem)]
    assert structured == [
        ("q1", "the regex extension is not a valid regular expression", True),
        ("q2", "questionnaire-unit needs a valueCoding with a code", False),
        ("q3", "observationExtract needs the item's code (e.g. LOINC) for the Observation",
         True),
    ]
    # Still the words staff and the API have always had.
    assert problems[0] == 'Item "q1": the regex extension is not a valid regular expression'


def test_an_item_problem_survives_copying():
    problem = ItemProblem("q1", "minValue is more than maxValue", True)
    for again in (copy.copy(problem), copy.deepcopy(problem)):
        assert again == problem
        assert (again.link_id, again.message, again.clinical) == ("q1", problem.message, True)
    form_wide = ItemProblem(None, "The form has no items")
    assert form_wide == "The form has no items" and form_wide.link_id is None


def test_the_designer_links_an_engine_problem_by_its_link_id_even_when_it_has_quotes():
    """The linkId is carried, not parsed back out of the words, so an id the old
    pattern could not read back (it holds a quote) still reaches its question."""
    item = SimpleNamespace(pk=7, link_id='a"b', type="integer", calculation="", text="Age",
                           parent_id=1)
    problem = reworded(ItemProblem('a"b', "minValue is more than maxValue", True),
                       {'a"b': item})
    assert problem == 'Question "a"b" (Age): minValue is more than maxValue'
    assert problem.item_id == 7 and problem.clinical is True


@pytest.mark.parametrize(("rule", "fits", "does_not_fit"), [
    (rules.REGEX, ["string", "text", "url", "email", "uk-phone", "nhs-number"],
     ["integer", "choice", "open-choice", "date"]),
    (rules.MAX_LENGTH, ["string", "open-choice", "email"], ["choice", "integer"]),
    (rules.PLACES, ["decimal", "quantity"], ["integer", "string"]),
    (rules.NOT_IN_FUTURE, ["date", "dateTime"], ["time", "string"]),
    (rules.CONTROL, ["choice", "multiple-choice", "open-choice"], ["string", "boolean"]),
    (rules.CALCULATED, ["integer", "decimal", "quantity"], ["string", "choice"]),
    (rules.BANDS, ["integer", "decimal"], ["string", "choice"]),
])
def test_a_rule_says_which_draft_types_it_applies_to(rule, fits, does_not_fit):
    assert all(v.applies(rule, draft_type) for draft_type in fits)
    assert not any(v.applies(rule, draft_type) for draft_type in does_not_fit)


def test_what_a_rule_writes_the_parser_reads_back():
    written = [
        rules.MIN_LENGTH.extension(2), rules.REGEX.extension("[A-Z]+"),
        rules.REGEX_MESSAGE.extension("Capitals only"), rules.SHORT_LABEL.extension("Town"),
        rules.REQUIRED_MESSAGE.extension("Enter your town"),
        rules.INPUT_FORMAT.extension("email"), rules.HIDDEN.extension(True),
    ]
    item = compile_definition(questionnaire(
        question("q", "string", "Town", maxLength=20, extension=written))).items["q"]
    assert (item.min_length, item.max_length, item.regex.pattern) == (2, 20, "[A-Z]+")
    assert (item.regex_message, item.short_label, item.required_message) == (
        "Capitals only", "Town", "Enter your town")
    assert item.input_format == "email" and item.hidden is True


def test_every_rule_the_parser_reads_sets_fields_of_the_item():
    """A reader returns Item fields only: a misspelt field name fails here, not in front
    of staff."""
    from dataclasses import fields

    from forms_app.engine.items import Item

    names = {f.name for f in fields(Item)}
    reading = rules.Reading(raw={"linkId": "q", "type": "string"}, link_id="q",
                            item_type="string", value_sets={}, problems=[])
    for rule in rules.READ:
        reading.fields.update(rule.read(reading))
    assert set(reading.fields) <= names
    assert reading.problems == []


def test_every_problem_the_parser_finds_in_an_item_is_structured():
    from tests.pins.test_engine_pins import VARIANTS, _shape_of_one

    bad_options = {
        "options-not-list": {"linkId": "q", "type": "choice", "answerOption": {}},
        "option-no-code": {"linkId": "q", "type": "choice", "answerOption": [{"valueCoding": {}}]},
        "value-set-not-contained": {"linkId": "q", "type": "choice", "answerValueSet": "http://x"},
    }
    found = []
    for raw in {**VARIANTS, **bad_options}.values():
        found += _shape_of_one(raw).get("problems", [])
    item_problems = [p for p in found if p.startswith('Item "')]
    assert len(item_problems) > 40
    assert all(isinstance(p, ItemProblem) and p == f'Item "{p.link_id}": {p.message}'
               for p in item_problems), [p for p in item_problems
                                         if not isinstance(p, ItemProblem)]
    # Answer options carry scores: a problem with them is clinical; a group's shape is not.
    assert {p.clinical for p in item_problems if "answer" in p.message} == {True}
    assert {p.clinical for p in item_problems if "group has no items" in p} == {False}


# --- One declaration of each item extension (issue 11) ----------------------------------

def test_every_item_extension_the_importer_reads_is_declared_by_a_rule():
    # The importer finds its reader through the rule of an extension's URL: a reader
    # keyed by anything else would never be reached.
    from forms_app.design.importer import _Planner

    assert set(_Planner.READERS) <= set(rules.BY_URL.values())
    assert rules.BY_URL[ext.MAX_VALUE] is rules.MAX_VALUE  # not VALUES, its check


def test_a_rules_name_is_the_draft_field_it_fills():
    from forms_app.models import Item

    draft_fields = {f.name for f in Item._meta.get_fields()}
    for rule in rules.BY_URL.values():
        if rule not in (rules.CALCULATED, rules.FLAG_RULE, rules.ANSWER_EXPRESSION,
                        rules.ORIENTATION, rules.MAX_SIZE, rules.MIME_TYPES, rules.BANDS,
                        rules.INPUT_FORMAT, rules.UNIT):
            assert rule.name in draft_fields, rule


def test_the_importer_and_the_engine_agree_which_input_formats_they_check():
    assert rules.fits_input_format("nhs-number", "string")
    assert not rules.fits_input_format("nhs-number", "text")
    assert not rules.fits_input_format("postcode", "string")
    assert not rules.fits_input_format(["email"], "string")  # untrusted JSON


# --- One reader for the parser and the importer ------------------------------------
# Each shared reader is strict for the engine and not for the importer; these pin where
# the two still differ, so that unifying them changed neither.

def _band(**values) -> dict:
    return {"url": ext.SCORE_BAND, "extension": [
        {"url": name, **value} for name, value in values.items()]}


def test_a_band_with_min_above_max_is_refused_by_the_engine_and_kept_by_the_importer():
    band = _band(label={"valueString": "Odd"}, min={"valueInteger": 9},
                 max={"valueInteger": 2})
    assert rules.read_band("t", band) == (None, [ItemProblem(
        "t", 'score-band "Odd" has min more than max', True)])
    kept, problems = rules.read_band("t", band, strict=False)
    assert (kept.min, kept.max, problems) == (9, 2, [])


def test_a_band_limit_as_a_quantity_is_read_by_the_engine_only():
    band = _band(label={"valueString": "Q"}, min={"valueQuantity": {"value": 3}})
    assert rules.read_band("t", band)[0].min == 3
    assert rules.read_band("t", band, strict=False)[0] is None


@pytest.mark.parametrize(("name", "value", "strict", "kept"), [
    ("max_length", 0, True, None),
    ("max_length", 1, True, 1),
    ("min_length", 0, True, 0),
    ("min_length", True, True, None),
    ("min_length", True, False, True),  # the importer's JSON true as 1
    ("max_decimal_places", -1, False, None),
])
def test_whole_numbers(name, value, strict, kept):
    found, problems = rules.read_whole("q", name, value, strict=strict)
    assert found is kept or found == kept
    assert [p.clinical for p in problems] == ([] if kept is not None else [True])


@pytest.mark.parametrize(("name", "value", "strict", "kept"), [
    ("max_occurs", 0, True, None),
    ("max_occurs", 0, False, 0),
    ("max_occurs", 40000, True, 40000),
    ("max_occurs", 40000, False, None),  # more than the draft's column holds
    ("min_occurs", 0, True, 0),
])
def test_occurrences(name, value, strict, kept):
    assert rules.read_occurs("q", {"repeats": True}, name, value, strict=strict)[0] == kept


def test_a_unit_whose_code_is_not_text_is_read_by_the_importer_only():
    assert rules.read_unit("q", {"code": 5})[0] is None
    assert rules.read_unit("q", {"code": 5}, strict=False)[0] == {"code": 5}
    assert rules.read_unit("q", {"code": ""}, strict=False)[0] is None
