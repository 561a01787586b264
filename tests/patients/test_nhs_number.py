import pytest
from django.core.exceptions import ValidationError

from patients.nhs_number import format_nhs_number, is_valid_nhs_number, normalise_nhs_number
from patients.validators import validate_nhs_number


@pytest.mark.parametrize("value", ["9434765919", "4857773457", "943 476 5919", "485-777-3457",
                                   " 485 777 3457 ", "4010232137"])
def test_valid_nhs_numbers(value):
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize("value", [
    "9434765918",      # wrong check digit
    "4857773456",      # wrong check digit
    "943476591",       # too short
    "94347659190",     # too long
    "",                # empty
    "abcdefghij",      # letters
    "94347659l9",      # a letter l for a one
    "١٢٣٤٥٦٧٨٩٠",      # non-ASCII digits
    "1000000010",      # check digit would be 10: never valid
])
def test_invalid_nhs_numbers(value):
    assert not is_valid_nhs_number(value)


def test_normalise_strips_spaces_and_hyphens():
    assert normalise_nhs_number(" 943 476-5919 ") == "9434765919"


def test_format_groups_three_three_four():
    assert format_nhs_number("9434765919") == "943 476 5919"


def test_validator_gives_a_clear_message():
    with pytest.raises(ValidationError, match="valid 10-digit NHS number"):
        validate_nhs_number("1234567890")
