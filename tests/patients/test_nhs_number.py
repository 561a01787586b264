import pytest
from django.core.exceptions import ValidationError

from patients.nhs_number import is_valid_nhs_number, normalise_nhs_number
from patients.validators import validate_nhs_number


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_valid_nhs_numbers(value):
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize("value", [
    "9434765918",      # wrong check digit
    "943476591",       # too short
    "94347659190",     # too long
    "",                # empty
    "94347659l9",      # a letter
    "١٢٣٤٥٦٧٨٩٠",      # non-ASCII digits
    "1000000010",      # check digit would be 10: never valid
])
def test_invalid_nhs_numbers(value):
    assert not is_valid_nhs_number(value)


def test_normalise_strips_spaces_and_hyphens():
    assert normalise_nhs_number(" 943 476-5919 ") == "9434765919"


def test_validator_gives_a_clear_message():
    with pytest.raises(ValidationError, match="valid 10-digit NHS number"):
        validate_nhs_number("1234567890")
