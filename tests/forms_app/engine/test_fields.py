"""Each question type: its widget, its answer shape and its validation messages."""

import datetime as dt

import pytest
from django.utils import timezone

from .helpers import bound, choice, coding, compiled, errors, ext, group, question, std_ext


def one(item: dict):
    """A compiled form whose single page holds ``item``, and that page's key."""
    form = compiled(group("page", item))
    return form, "page"


def submit(item: dict, data: dict):
    form, page = one(item)
    return bound(form, page, data)


def widget_types(item: dict) -> dict[str, str]:
    form, page = one(item)
    instance = form.form_class(page)()
    return {bf.name: bf.widget_type for bf in instance}


# Text.


def test_string_answer_label_and_help():
    item = question(
        "name",
        "string",
        text="What is your name?",
        item=[
            question(
                "name-help",
                "display",
                text="As on your passport",
                extension=[
                    std_ext(
                        "questionnaire-itemControl",
                        valueCodeableConcept={"coding": [{"code": "help"}]},
                    )
                ],
            )
        ],
    )
    form, page = one(item)
    instance = form.form_class(page)()
    assert instance["name"].label == "What is your name?"
    assert instance["name"].help_text == "As on your passport"
    assert instance["name"].widget_type == "text"
    assert submit(item, {"name": "  Ada  "}).cleaned_data == {"name": "Ada"}
    assert submit(item, {}).cleaned_data == {"name": None}


def test_required_string_message_uses_short_label():
    item = question(
        "name",
        "string",
        required=True,
        extension=[ext("short-label", valueString="your full name")],
    )
    assert errors(submit(item, {"name": "  "})) == {"name": ["Enter your full name"]}


def test_required_message_override():
    item = question(
        "smoke",
        "boolean",
        required=True,
        extension=[ext("required-message", valueString="Select whether you smoke")],
    )
    assert errors(submit(item, {})) == {"smoke": ["Select whether you smoke"]}


def test_text_is_a_textarea_with_default_limit():
    item = question("story", "text")
    assert widget_types(item) == {"story": "textarea"}
    assert submit(item, {"story": "x" * 10_000}).is_valid()
    assert errors(submit(item, {"story": "x" * 10_001})) == {
        "story": ["Question story must be 10000 characters or fewer"]
    }


@pytest.mark.parametrize(
    "item_type", ["string", "text", "integer", "decimal", "date", "time", "quantity", "url"]
)
def test_nul_byte_is_rejected_with_a_message(item_type):
    item = question("q", item_type)
    data = {"q": "ab\x00c", "q_day": "1\x00", "q_month": "2", "q_year": "1990"}
    found = errors(submit(item, data))
    assert list(found) == ["q"]
    assert "control characters" in found["q"][0]


@pytest.mark.parametrize("item_type", ["integer", "decimal", "time", "quantity"])
def test_overlong_short_input_is_rejected_quickly(item_type):
    found = errors(submit(question("q", item_type), {"q": "9" * 100_000}))
    assert found["q"][0].endswith("must be 100 characters or fewer")


def test_max_and_min_length_and_regex():
    item = question(
        "code",
        "string",
        maxLength=6,
        extension=[
            std_ext("minLength", valueInteger=2),
            std_ext("regex", valueString="[A-Z]+"),
            ext("regex-message", valueString="Code must be capital letters"),
        ],
    )
    assert errors(submit(item, {"code": "ABCDEFG"})) == {
        "code": ["Question code must be 6 characters or fewer"]
    }
    assert errors(submit(item, {"code": "A"})) == {
        "code": ["Question code must be 2 characters or more"]
    }
    assert errors(submit(item, {"code": "abc"})) == {"code": ["Code must be capital letters"]}
    assert submit(item, {"code": "ABC"}).cleaned_data == {"code": "ABC"}


def test_email():
    item = question("email", "string", extension=[ext("input-format", valueCode="email")])
    form, page = one(item)
    widget = form.form_class(page)()["email"]
    assert widget.widget_type == "email"
    assert widget.field.widget.attrs["autocomplete"] == "email"
    assert submit(item, {"email": "ada@example.org"}).cleaned_data == {"email": "ada@example.org"}
    assert errors(submit(item, {"email": "ada@"})) == {
        "email": ["Enter an email address in the correct format, like name@example.com"]
    }


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("07700 900982", "07700900982"),
        ("+44 7700 900982", "07700900982"),
        ("(01632) 960 001", "01632960001"),
        ("0044 20 7946 0000", "02079460000"),
    ],
)
def test_uk_phone(typed, stored):
    item = question("phone", "string", extension=[ext("input-format", valueCode="uk-phone")])
    form, page = one(item)
    widget = form.form_class(page)()["phone"].field.widget
    assert (type(widget).__name__, widget.input_type) == ("TextInput", "tel")
    assert widget.attrs == {"autocomplete": "tel"}
    assert submit(item, {"phone": typed}).cleaned_data == {"phone": stored}


def test_uk_phone_rejects_non_uk_numbers():
    item = question("phone", "string", extension=[ext("input-format", valueCode="uk-phone")])
    for typed in ("12345", "+1 212 555 0100", "07700 9009821234", "phone me"):
        assert errors(submit(item, {"phone": typed}))["phone"][0].startswith("Enter a UK phone")


def test_nhs_number_field():
    item = question("nhs", "string", extension=[ext("input-format", valueCode="nhs-number")])
    assert submit(item, {"nhs": "943 476 5919"}).cleaned_data == {"nhs": "9434765919"}
    assert errors(submit(item, {"nhs": "943 476 5918"}))["nhs"][0].startswith(
        "Enter a valid NHS number"
    )
    assert errors(submit(item, {"nhs": "943 476"})) == {"nhs": ["NHS number must be 10 numbers"]}


def test_url():
    item = question("site", "url")
    assert submit(item, {"site": "https://www.nhs.uk"}).is_valid()
    assert "web address" in errors(submit(item, {"site": "javascript:alert(1)"}))["site"][0]


# Numbers.


def test_integer_answers():
    item = question(
        "age",
        "integer",
        required=True,
        extension=[
            ext("short-label", valueString="your age"),
            std_ext("minValue", valueInteger=0),
            std_ext("maxValue", valueInteger=120),
        ],
    )
    form, page = one(item)
    field = form.form_class(page)()["age"]
    assert field.widget_type == "text"
    assert field.field.widget.attrs["inputmode"] == "numeric"
    assert submit(item, {"age": " 42 "}).cleaned_data == {"age": 42}
    assert submit(item, {"age": "42.0"}).cleaned_data == {"age": 42}
    assert errors(submit(item, {"age": ""})) == {"age": ["Enter your age"]}
    assert errors(submit(item, {"age": "forty"})) == {"age": ["Your age must be a number"]}
    assert errors(submit(item, {"age": "4.5"})) == {"age": ["Your age must be a whole number"]}
    assert errors(submit(item, {"age": "121"})) == {"age": ["Your age must be 120 or less"]}
    assert errors(submit(item, {"age": "-1"})) == {"age": ["Your age must be 0 or more"]}
    for hostile in ("1e5", "NaN", "Infinity", "0x10", "١٢"):
        assert errors(submit(item, {"age": hostile})) == {"age": ["Your age must be a number"]}


def test_decimal_answers_are_exact_strings():
    item = question(
        "weight",
        "decimal",
        extension=[
            ext("short-label", valueString="your weight"),
            std_ext("maxDecimalPlaces", valueInteger=1),
            std_ext("maxValue", valueDecimal=300),
        ],
    )
    form, page = one(item)
    assert form.form_class(page)()["weight"].field.widget.attrs["inputmode"] == "decimal"
    assert submit(item, {"weight": "72.5"}).cleaned_data == {"weight": "72.5"}
    assert submit(item, {"weight": "1,200"}).is_valid() is False
    assert submit(item, {"weight": "0.1"}).cleaned_data == {"weight": "0.1"}
    assert errors(submit(item, {"weight": "72.55"})) == {
        "weight": ["Your weight must have 1 decimal places or fewer"]
    }
    assert errors(submit(item, {"weight": "300.1"})) == {
        "weight": ["Your weight must be 300 or less"]
    }


def test_quantity_with_unit():
    item = question(
        "weight",
        "quantity",
        extension=[
            std_ext(
                "questionnaire-unit",
                valueCoding={
                    "system": "http://unitsofmeasure.org",
                    "code": "kg",
                    "display": "kilograms",
                },
            )
        ],
    )
    form, page = one(item)
    field = form.form_class(page)()["weight"]
    assert field.widget_type == "text"
    assert field.field.widget.attrs["data-unit"] == "kilograms"
    assert submit(item, {"weight": "72.5"}).cleaned_data == {
        "weight": {"value": "72.5", "unit": "kg"}
    }


# Yes/no and choices.


def test_boolean():
    item = question("smoke", "boolean", required=True)
    assert widget_types(item) == {"smoke": "radioselect"}
    form, page = one(item)
    choices = list(form.form_class(page)().fields["smoke"].choices)
    assert [value for value, _ in choices] == ["yes", "no"]
    assert submit(item, {"smoke": "yes"}).cleaned_data == {"smoke": True}
    assert submit(item, {"smoke": "no"}).cleaned_data == {"smoke": False}
    assert errors(submit(item, {})) == {"smoke": ["Select yes or no for question smoke"]}
    assert errors(submit(item, {"smoke": "maybe"})) == {"smoke": ["Select an option from the list"]}


def test_single_choice_radio_and_codes():
    item = choice("colour", "red", "green", required=True)
    assert widget_types(item) == {"colour": "radioselect"}
    assert submit(item, {"colour": "green"}).cleaned_data == {"colour": "green"}
    assert errors(submit(item, {})) == {"colour": ["Select question colour"]}
    assert errors(submit(item, {"colour": "blue\x00"})) == {
        "colour": ["Select an option from the list"]
    }


def test_long_list_or_drop_down_is_a_select():
    codes = [f"c{n}" for n in range(25)]
    assert widget_types(choice("c", *codes)) == {"c": "select"}
    drop_down = std_ext(
        "questionnaire-itemControl", valueCodeableConcept={"coding": [{"code": "drop-down"}]}
    )
    assert widget_types(choice("c", "a", "b", extension=[drop_down])) == {"c": "select"}
    assert submit(choice("c", *codes), {"c": ""}).cleaned_data == {"c": None}


def test_multiple_choice_checkboxes_and_exclusive_option():
    none_of_these = coding("none", "None of these")
    none_of_these["extension"] = [std_ext("questionnaire-optionExclusive", valueBoolean=True)]
    item = question(
        "symptoms",
        "choice",
        repeats=True,
        required=True,
        answerOption=[coding("cough"), coding("fever"), none_of_these],
    )
    assert widget_types(item) == {"symptoms": "checkboxselectmultiple"}
    assert submit(item, {"symptoms": ["fever", "cough"]}).cleaned_data == {
        "symptoms": ["cough", "fever"]
    }
    assert errors(submit(item, {})) == {"symptoms": ["Select question symptoms"]}
    assert errors(submit(item, {"symptoms": ["cough", "none"]})) == {
        "symptoms": ['Select "None of these" or other options, not both']
    }


def test_answer_option_kinds_and_value_set():
    item = question("n", "choice", answerOption=[{"valueInteger": 1}, {"valueInteger": 2}])
    assert submit(item, {"n": "2"}).cleaned_data == {"n": "2"}
    item = question("s", "choice", answerOption=[{"valueString": "Tea"}, {"valueString": "Coffee"}])
    assert submit(item, {"s": "Tea"}).cleaned_data == {"s": "Tea"}
    value_set = {
        "resourceType": "ValueSet",
        "id": "yn",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": "http://example.org/yn",
                    "concept": [
                        {"code": "Y", "display": "Yes please"},
                        {"code": "N", "display": "No thanks"},
                    ],
                }
            ]
        },
    }
    form = compiled(question("vs", "choice", answerValueSet="#yn"), contained=[value_set])
    assert [o.display for o in form.items["vs"].options] == ["Yes please", "No thanks"]
    assert bound(form, "vs", {"vs": "N"}).cleaned_data == {"vs": "N"}


def test_open_choice():
    item = question(
        "where",
        "open-choice",
        required=True,
        answerOption=[coding("home"), coding("work")],
        extension=[ext("other-label", valueString="Somewhere else")],
    )
    form, page = one(item)
    field = form.form_class(page)()["where"]
    assert field.widget_type == "openchoice"
    assert list(field.field.widget.choices)[-1] == ("__other__", "Somewhere else")
    assert submit(item, {"where": "home"}).cleaned_data == {"where": "home"}
    assert submit(item, {"where": "__other__", "where_other": "Park"}).cleaned_data == {
        "where": {"other": "Park"}
    }
    assert submit(item, {"where_other": "Park"}).cleaned_data == {"where": {"other": "Park"}}
    assert errors(submit(item, {"where": "__other__"})) == {
        "where": ['Enter your answer for "Somewhere else"']
    }
    assert errors(submit(item, {})) == {"where": ["Select question where"]}
    assert errors(submit(item, {"where": "moon"})) == {"where": ["Select an option from the list"]}


def test_open_choice_with_repeats():
    item = question(
        "pets", "open-choice", repeats=True, answerOption=[coding("cat"), coding("dog")]
    )
    data = {"pets": ["dog", "cat", "__other__"], "pets_other": "Snake"}
    assert submit(item, data).cleaned_data == {"pets": ["cat", "dog", {"other": "Snake"}]}


# Dates and times.


def date_item(**extra):
    return question(
        "dob",
        "date",
        required=True,
        extension=[
            ext("short-label", valueString="your date of birth"),
            ext("not-in-future", valueBoolean=True),
        ],
        **extra,
    )


def date_data(day, month, year):
    return {"dob_day": day, "dob_month": month, "dob_year": year}


def test_date_parts_widget():
    form, page = one(date_item())
    field = form.form_class(page)()["dob"]
    assert field.widget_type == "dateparts"
    assert [w.attrs["inputmode"] for w in field.field.widget.widgets] == ["numeric"] * 3
    assert submit(date_item(), date_data("3", "3", "1990")).cleaned_data == {"dob": "1990-03-03"}
    assert submit(date_item(), date_data("03", "mar", "1990")).cleaned_data == {"dob": "1990-03-03"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (date_data("", "", ""), "Enter your date of birth"),
        (date_data("31", "2", "1990"), "Your date of birth must be a real date"),
        (date_data("aa", "bb", "cccc"), "Your date of birth must be a real date"),
        (date_data("1", "13", "1990"), "Your date of birth must be a real date"),
        (date_data("1", "2", "90"), "Year must include 4 numbers"),
        (date_data("1", "2", "19900"), "Year must include 4 numbers"),
        (date_data("1", "", "1990"), "Your date of birth must include a month"),
        (date_data("", "", "1990"), "Your date of birth must include a day and month"),
        (date_data("1", "1", "2999"), "Your date of birth must be today or in the past"),
    ],
)
def test_date_errors(data, message):
    assert errors(submit(date_item(), data)) == {"dob": [message]}


def test_date_min_and_max():
    item = question(
        "d",
        "date",
        extension=[
            std_ext("minValue", valueDate="2000-01-01"),
            std_ext("maxValue", valueDate="2000-12-31"),
        ],
    )
    assert errors(submit(item, {"d_day": "31", "d_month": "12", "d_year": "1999"})) == {
        "d": ["Question d must be the same as or after 1 January 2000"]
    }
    assert errors(submit(item, {"d_day": "1", "d_month": "1", "d_year": "2001"})) == {
        "d": ["Question d must be the same as or before 31 December 2000"]
    }


def test_today_is_not_in_the_future():
    today = timezone.localdate()
    data = date_data(str(today.day), str(today.month), str(today.year))
    assert submit(date_item(), data).is_valid()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("14:30", "14:30"),
        ("9.05", "09:05"),
        ("2pm", "14:00"),
        ("2:30 PM", "14:30"),
        ("12am", "00:00"),
        ("23:59:30", "23:59:30"),
    ],
)
def test_time(typed, stored):
    assert submit(question("t", "time"), {"t": typed}).cleaned_data == {"t": stored}


@pytest.mark.parametrize("typed", ["25:00", "14", "noon", "13pm", "12:60"])
def test_bad_time(typed):
    assert errors(submit(question("t", "time"), {"t": typed})) == {
        "t": ["Question t must be a real time, like 09:30 or 2:30pm"]
    }


def test_date_time():
    item = question("when", "dateTime")
    assert widget_types(item) == {"when": "datetimeparts"}
    data = {"when_day": "1", "when_month": "7", "when_year": "2024", "when_time": "14:30"}
    stored = submit(item, data).cleaned_data["when"]
    assert stored == "2024-07-01T14:30:00+01:00"  # British Summer Time
    assert dt.datetime.fromisoformat(stored).utcoffset() == dt.timedelta(hours=1)
    missing_time = {**data, "when_time": ""}
    assert errors(submit(item, missing_time)) == {"when": ["Question when must include a time"]}


# --- choiceOrientation and the autocomplete control (issue 11) ---------------------------

def _component(form, name):
    field = form[name]
    return field.field.nhsuk_component(field)


def _orientation_form(orientation=None, item_type="choice", **extra):
    from tests.forms_app.engine.helpers import choice, compiled, group, question, std_ext

    extensions = [std_ext("questionnaire-choiceOrientation", valueCode=orientation)] \
        if orientation else []
    item = (choice("q", "a", "b", "c", extension=extensions, **extra)
            if item_type == "choice" else
            question("q", item_type, extension=extensions, **extra))
    form = compiled(group("page", item))
    return form.form_class("page", answers={})()


def test_choice_orientation_horizontal_puts_the_options_side_by_side():
    assert _component(_orientation_form("horizontal"), "q")[1]["inline"] is True
    boxes = _component(_orientation_form("horizontal", repeats=True), "q")
    assert boxes[0] == "checkboxes" and boxes[1]["inline"] is True


def test_choice_orientation_vertical_stacks_even_a_yes_or_no():
    assert _component(_orientation_form(item_type="boolean"), "q")[1]["inline"] is True
    assert _component(_orientation_form("vertical", item_type="boolean"), "q")[1]["inline"] \
        is False


def test_an_unknown_orientation_is_ignored_and_a_reveal_always_stacks():
    from forms_app.engine import compile_definition
    from tests.forms_app.engine.helpers import questionnaire

    form = _orientation_form("diagonal")
    assert _component(form, "q")[1]["inline"] is False
    assert _component(_orientation_form({"not": "a code"}), "q")[1]["inline"] is False
    definition = questionnaire({"linkId": "page", "type": "group", "text": "P", "item": [
        {"linkId": "q", "type": "boolean", "text": "Smoke?", "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-choiceOrientation",
             "valueCode": "horizontal"}]}]})
    page = compile_definition(definition).form_class("page", answers={})()
    _name, params = page["q"].field.nhsuk_component(page["q"], conditional={"yes": "<p>"})
    assert params["inline"] is False


def test_the_autocomplete_control_is_a_select_that_app_js_enhances():
    from tests.forms_app.engine.helpers import choice, compiled, group

    control = {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
               "valueCodeableConcept": {"coding": [
                   {"system": "http://hl7.org/fhir/questionnaire-item-control",
                    "code": "autocomplete"}]}}
    form = compiled(group("page", choice("country", "gb", "pl", extension=[control])))
    page = form.form_class("page", answers={})(data={"country": "pl"})
    name, params = page["country"].field.nhsuk_component(page["country"])
    assert name == "select"
    assert params["attributes"] == {"data-module": "app-autocomplete",
                                    "data-hint": "Start typing, then choose from the list"}
    assert [i["value"] for i in params["items"]] == ["", "gb", "pl"]
    assert page.is_valid() and page.cleaned_data["country"] == "pl"
    wrong = form.form_class("page", answers={})(data={"country": "Atlantis"})
    assert not wrong.is_valid()
