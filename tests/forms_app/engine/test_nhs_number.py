import pytest

from forms_app.engine import is_valid_nhs_number, normalise_nhs_number
from forms_app.engine.nhs_number import format_nhs_number


@pytest.mark.parametrize(
    "number",
    ["9434765919", "4857773457", "943 476 5919", "485-777-3457", " 485 777 3457 ", "4010232137"],
)
def test_valid_numbers(number):
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "4857773456",  # wrong check digit
        "943476591",  # 9 digits
        "94347659190",  # 11 digits
        "",
        "abcdefghij",
        "94347659l9",  # a letter l for a one
        "١٢٣٤٥٦٧٨٩٠",  # non-ASCII digits
        "1234567890",  # check digit would be 10: never valid
    ],
)
def test_invalid_numbers(number):
    assert not is_valid_nhs_number(number)


def test_normalise_and_format():
    assert normalise_nhs_number(" 943-476 5919 ") == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"
