"""The shared item readers (forms_app.engine.codec): what each reads from a Questionnaire
item's JSON, and the class of each problem it returns: clinical (publishing waits until
staff fix or accept it) or cosmetic."""

from decimal import Decimal

import pytest

from forms_app.engine import codec, item_rules
from forms_app.engine import extensions as ext
from forms_app.engine.conditions import answer_values
from forms_app.engine.items import Band
from forms_app.engine.rules import CALCULABLE_TYPES


def _parts(**values) -> dict:
    return {"url": "x", "extension": [{"url": name, **value} for name, value in values.items()]}


def _classes(problems: list[codec.Problem]) -> list[tuple[str | None, bool]]:
    return [(problem.link_id, problem.clinical) for problem in problems]


# --- Small readers -------------------------------------------------------------------

def test_url_of_only_keys_a_table_by_a_string():
    assert codec.url_of({"url": ext.REGEX}) == ext.REGEX
    assert codec.url_of({"url": {"an": "object"}}) is None
    assert codec.url_of("not an extension") is None


def test_is_int_refuses_true_which_python_counts_as_one():
    assert item_rules.is_int(3) and item_rules.is_int(0)
    assert not item_rules.is_int(True)
    assert not item_rules.is_int(2.5)


def test_a_conditions_answer_kind_is_read_once_for_the_parser_and_the_importer():
    assert answer_values({"question": "a", "answerBoolean": True}) == [("Boolean", True)]
    assert answer_values({"answerNonsense": 1}) == []


def test_help_children_are_display_items_of_a_question_or_help_controls_in_a_group():
    display = {"type": "display", "text": "Help"}
    help_control = {**display, "extension": [{
        "url": ext.ITEM_CONTROL, "valueCodeableConcept": {"coding": [{"code": "flyover"}]}}]}
    assert item_rules.is_help_child(display, "string")
    assert not item_rules.is_help_child(display, "group")
    assert item_rules.is_help_child(help_control, "group")
    assert not item_rules.is_help_child({"type": "string"}, "string")
    assert not item_rules.is_help_child("not an item", "string")


# --- Unusable extensions: which are clinical -----------------------------------------

@pytest.mark.parametrize("url", sorted(codec.CLINICAL_EXTENSIONS))
def test_an_unusable_clinical_extension_is_a_clinical_problem(url):
    problem = codec.left_out("q", {"url": url, "valueString": "?"})
    assert problem.clinical is True
    assert problem.message == f"The extension {url} is not supported and was left out."


@pytest.mark.parametrize("url", [ext.SHORT_LABEL, ext.ITEM_CONTROL, ext.CHOICE_ORIENTATION,
                                 "http://example.org/unknown"])
def test_an_unusable_cosmetic_extension_is_not_clinical(url):
    assert codec.left_out("q", {"url": url}).clinical is False


def test_left_out_names_the_url_as_written_even_an_object():
    problem = codec.left_out("q", {"url": {"a": 1}}, 'Option "x": ')
    assert problem == codec.Problem(
        "q", "Option \"x\": the extension {'a': 1} is not supported and was left out.")


# --- Scores ----------------------------------------------------------------------------

def test_a_band_is_read_as_the_engines_band():
    band, problems = codec.read_band("total", _parts(
        label={"valueString": "Moderate"}, min={"valueInteger": 10},
        max={"valueDecimal": Decimal("14.5")}))
    assert band == Band("Moderate", Decimal(10), Decimal("14.5"))
    assert problems == []


def test_a_band_with_open_ends_keeps_none():
    band, _ = codec.read_band("total", _parts(label={"valueString": "Severe"},
                                              min={"valueInteger": 20}))
    assert band == Band("Severe", Decimal(20), None)


@pytest.mark.parametrize("parts", [
    {"min": {"valueInteger": 1}},  # no label
    {"label": {"valueString": ""}},
    {"label": {"valueString": "Mild"}, "min": {"valueString": "five"}},
    {"label": {"valueString": "Mild"}, "max": {"valueString": " "}},
])
def test_a_band_that_cannot_be_read_is_a_clinical_problem(parts):
    band, problems = codec.read_band("total", _parts(**parts))
    assert band is None
    assert _classes(problems) == [("total", True)]
    assert problems[0].message == "A score band was left out: it needs a label and numbers."


@pytest.mark.parametrize(("extension", "score"), [
    ({"url": ext.ORDINAL_VALUE, "valueDecimal": Decimal("2.5")}, Decimal("2.5")),
    ({"url": ext.ITEM_WEIGHT, "valueInteger": 3}, Decimal(3)),
    ({"url": ext.ORDINAL_VALUE, "valueDecimal": "x"}, None),  # once a server error
    ({"url": ext.ORDINAL_VALUE, "valueString": "3"}, None),
    ({"url": ext.OPTION_EXCLUSIVE, "valueBoolean": True}, None),
])
def test_option_score(extension, score):
    assert codec.option_score(extension) == score


# --- Calculations ----------------------------------------------------------------------

def _calculated(expression: str) -> dict:
    return {"extension": [{"url": ext.CALCULATED_EXPRESSION, "valueExpression": {
        "language": "text/fhirpath", "expression": expression}}]}


def _calculation(raw, item_type="integer"):
    return codec.read_calculation("total", raw, item_type, calculable=CALCULABLE_TYPES)


def test_no_calculation():
    assert _calculation({}) == (None, [])


def test_the_designers_formula():
    raw = {"extension": [{"url": ext.COMPUTED, "valueString": "a + b"}]}
    assert _calculation(raw) == (codec.CalculationReading("formula", formula="a + b"), [])


def test_the_designers_total_of_every_score():
    calculation, _ = _calculation(_calculated(
        "%resource.repeat(item).answer.value.ordinal().sum()"))
    assert calculation == codec.CalculationReading("score-total")


def test_the_designers_sum_of_named_questions_with_any_spacing():
    calculation, _ = _calculation(_calculated(
        "%resource.repeat(item).where(linkId in ('q1' | 'q2')).answer.value.ordinal().sum()"))
    assert calculation == codec.CalculationReading("score-sum", score_items=("q1", "q2"))


def test_a_sum_of_terms():
    term = "%resource.item.where(linkId = '{}').answer.value.weight()"
    calculation, _ = _calculation(_calculated(f"({term.format('a')} + {term.format('b')})"))
    assert calculation == codec.CalculationReading("score-sum", score_items=("a", "b"))


def test_any_other_fhirpath_is_kept_as_an_expression():
    calculation, problems = _calculation(_calculated("(%weight / %height.power(2)).round(1)"))
    assert calculation == codec.CalculationReading("expression")
    assert problems == []


def test_a_calculated_item_of_a_type_that_cannot_be_shown_is_a_clinical_problem():
    calculation, problems = _calculation(_calculated("1"), item_type="attachment")
    assert calculation is None
    assert _classes(problems) == [("total", True)]


# --- Conditions and flags ----------------------------------------------------------------

def test_enable_when_keeps_comparable_conditions():
    behavior, conditions, problems = codec.read_enable_when("b", {
        "enableBehavior": "any",
        "enableWhen": [{"question": "a", "operator": "=", "answerBoolean": True},
                       {"question": "c", "operator": "exists", "answerBoolean": True}]})
    assert behavior == "any"
    assert conditions == [("a", "=", "Boolean", True), ("c", "exists", "Boolean", True)]
    assert problems == []


@pytest.mark.parametrize("condition", [
    {"operator": "=", "answerBoolean": True},  # names no question
    {"question": "a", "operator": "~", "answerBoolean": True},
    {"question": "a", "operator": {"an": "object"}, "answerBoolean": True},  # once a 500
    {"question": "a", "operator": "="},  # no answer
    {"question": "a", "operator": "=", "answerReference": {"reference": "Patient/1"}},
])
def test_a_condition_that_cannot_be_kept_is_a_clinical_problem(condition):
    behavior, conditions, problems = codec.read_enable_when(
        "b", {"enableBehavior": "sometimes", "enableWhen": [condition, "not a condition"]})
    assert (behavior, conditions) == (None, [])
    assert _classes(problems) == [("b", True)]


def _flag_rule(**overrides) -> dict:
    parts = {"code": {"valueString": "chest-pain"}, "severity": {"valueString": "urgent"},
             "message": {"valueString": "Chest pain: call the patient today"}} | overrides
    condition = _parts(question={"valueString": "pain"}, operator={"valueCode": "="},
                       answer={"valueBoolean": True})
    flag = _parts(**parts)
    flag["extension"].append({"url": "condition", "extension": condition["extension"]})
    return flag


def test_a_flag_rule_is_read_with_its_conditions():
    rule, problems = codec.read_flag_rule(None, _flag_rule())
    assert rule == codec.FlagRuleReading("chest-pain", "urgent",
                                         "Chest pain: call the patient today", "all",
                                         (("pain", "=", "Boolean", True),))
    assert problems == []


@pytest.mark.parametrize("override", [
    {"severity": {"valueString": "whenever"}},
    {"message": {"valueString": ""}},
    {"enableBehavior": {"valueCode": "most"}},
])
def test_a_flag_rule_that_cannot_be_read_is_a_clinical_problem(override):
    rule, problems = codec.read_flag_rule("pain", _flag_rule(**override))
    assert rule is None
    assert _classes(problems) == [("pain", True)]
    assert problems[0].message.startswith('The flag rule "chest-pain" was left out')


def test_a_flag_rule_with_an_object_as_operator_is_a_problem_not_a_server_error():
    flag = _flag_rule()
    flag["extension"][-1]["extension"][1] = {"url": "operator", "valueCoding": {"a": 1}}
    rule, problems = codec.read_flag_rule("pain", flag)
    assert rule is None
    assert _classes(problems) == [("pain", True)]


@pytest.mark.parametrize(("raw", "value", "kept"), [
    ({"repeats": True}, 3, 3),
    ({"repeats": True}, 0, 0),
    ({"repeats": True}, True, None),
    ({"repeats": True}, 40000, None),
    ({}, 3, None),  # an item answered once has no occurrences
])
def test_occurs(raw, value, kept):
    found, problems = codec.read_occurs("relatives", raw, "max_occurs", value)
    assert found == kept
    assert _classes(problems) == ([] if kept is not None else [("relatives", True)])


# --- Answer options ----------------------------------------------------------------------

def test_a_coded_option_with_its_score_and_flags():
    coding = {"system": "http://loinc.org", "code": "LA6568-5", "display": "Not at all",
              "extension": [{"url": ext.ORDINAL_VALUE, "valueDecimal": Decimal(0)}]}
    option, problems = codec.read_option("q1", {
        "valueCoding": coding, "initialSelected": True,
        "extension": [{"url": ext.OPTION_EXCLUSIVE, "valueBoolean": True}]}, 0)
    assert option == codec.OptionReading(
        "coding", "LA6568-5", "Not at all", "http://loinc.org", coding=coding,
        score=Decimal(0), exclusive=True, selected=True)
    assert problems == []


def test_text_and_whole_number_options():
    assert codec.read_option("q", {"valueString": "Daily"}, 0) == (
        codec.OptionReading("string", "Daily", "Daily"), [])
    assert codec.read_option("q", {"valueInteger": 4}, 0) == (
        codec.OptionReading("integer", "4", "4"), [])


def test_a_coded_option_without_display_shows_its_code():
    option, _ = codec.read_option("q", {"valueCoding": {"code": 7}}, 0)
    assert (option.code, option.display, option.system) == ("7", "7", "")


@pytest.mark.parametrize(("option", "message"), [
    ("yes", "Answer option 2 is not an object; left out."),
    ({"valueString": "x" * 256}, "Answer option 2 is longer than 255 characters; left out."),
    ({"valueDate": "2024-01-01"}, "Answer option 2 (valueDate) is not supported; left out. "
                                  "Options must be codings, text or whole numbers."),
    ({}, "Answer option 2 (no value) is not supported; left out. Options must be codings, "
         "text or whole numbers."),
])
def test_an_option_that_cannot_be_read_is_cosmetic(option, message):
    # The question still has its other options, and a choice with none is reported and
    # refused at publishing anyway.
    reading, problems = codec.read_option("q", option, 1)
    assert reading is None
    assert problems == [codec.Problem("q", message)]


def test_an_unreadable_score_on_an_option_is_a_clinical_problem():
    option, problems = codec.read_option("q", {"valueCoding": {"code": "a", "extension": [
        {"url": ext.ORDINAL_VALUE, "valueDecimal": "not a number"}]}}, 0)
    assert option.score is None
    assert problems == [codec.Problem(
        "q", f'Option "a": the extension {ext.ORDINAL_VALUE} is not supported and was left '
             "out.", clinical=True)]


def test_an_unknown_extension_on_an_option_is_cosmetic():
    _, problems = codec.read_option("q", {"valueString": "a", "extension": [
        {"url": "http://example.org/colour", "valueString": "red"}]}, 0)
    assert _classes(problems) == [("q", False)]


# --- Contained value sets ----------------------------------------------------------------

def test_a_value_sets_expansion_comes_first():
    codings, problems = codec.value_set_codings("q", "#vs", {
        "expansion": {"contains": [{"system": "s", "code": "a", "display": "A"},
                                   {"display": "no code"}, "not a concept"]},
        "compose": {"include": [{"concept": [{"code": "ignored"}]}]}})
    assert codings == [{"code": "a", "display": "A", "system": "s"}]
    assert problems == []


def test_a_value_sets_listed_concepts_keep_their_system_and_scores():
    weight = {"url": ext.ITEM_WEIGHT, "valueInteger": 2}
    codings, problems = codec.value_set_codings("q", "#vs", {"compose": {"include": [
        {"system": "http://loinc.org", "concept": [{"code": "b", "extension": [weight]}]}]}})
    assert codings == [{"code": "b", "system": "http://loinc.org", "extension": [weight]}]
    assert problems == []


def test_codes_by_rule_and_exclusions_are_cosmetic_problems():
    codings, problems = codec.value_set_codings("q", "#vs", {"compose": {
        "include": [{"system": "http://snomed.info/sct", "filter": [{"op": "is-a"}]},
                    {"concept": [{"code": "c"}]}],
        "exclude": [{"concept": [{"code": "d"}]}]}})
    assert codings == [{"code": "c"}]
    assert [p.message for p in problems] == [
        'Its value set "#vs" includes codes by rule or from another value set; only '
        "listed codes were kept.",
        'Its value set "#vs" excludes codes; the exclusions were left out.']
    assert _classes(problems) == [("q", False), ("q", False)]


def test_the_clinical_extensions_are_those_the_item_rules_call_clinical():
    # Derived from item_rules.BY_URL since issue 11; the import report's classes of its
    # notes are unchanged (the set as it was written out by hand before).
    written_out = {
        ext.MIN_LENGTH, ext.MAX_DECIMAL_PLACES, ext.REGEX, ext.INPUT_FORMAT,
        ext.NOT_IN_FUTURE, ext.OBSERVATION_EXTRACT, ext.MIN_VALUE, ext.MAX_VALUE,
        ext.ORDINAL_VALUE, ext.ITEM_WEIGHT, ext.SCORE_BAND, ext.FLAG_RULE,
        ext.CALCULATED_EXPRESSION, ext.COMPUTED, ext.ENABLE_WHEN_EXPRESSION, ext.MIN_OCCURS,
        ext.MAX_OCCURS, ext.TARGET_CONSTRAINT, ext.ANSWER_EXPRESSION}
    assert written_out == codec.CLINICAL_EXTENSIONS


def test_a_codec_problem_is_the_engines_item_problem():
    # One kind of problem for the import report, the designer and the publish check.
    from forms_app.engine.errors import ItemProblem

    problem = codec.Problem("q", "A score band was left out.", clinical=True)
    assert isinstance(problem, ItemProblem)
    assert (problem.link_id, problem.message, problem.clinical) == (
        "q", "A score band was left out.", True)
