"""The NHS number: ten digits, the last a Modulus 11 check digit.

Pure functions, used by the Patient model and by the form engine's NHS number questions.
"""

import re

_SEPARATORS = re.compile(r"[\s-]")
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_nhs_number(value: str) -> str:
    """Strip the spaces and hyphens people type ("943 476 5919")."""
    return _SEPARATORS.sub("", (value or "").strip())


def is_valid_nhs_number(value: str) -> bool:
    digits = normalise_nhs_number(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    # A remainder giving 10 means no valid check digit exists for these nine digits.
    return check != 10 and check == int(digits[9])


def format_nhs_number(digits: str) -> str:
    """The 3-3-4 grouping NHS.UK uses when showing a number back to someone."""
    if len(digits) != 10:
        return digits
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
