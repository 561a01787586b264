"""NHS number questions use the record's own rule: one Modulus 11 check for the platform.

`patients.nhs_number` is pure Python with no database access, so the engine stays pure.
"""

from patients.nhs_number import format_nhs_number, is_valid_nhs_number, normalise_nhs_number

__all__ = ["format_nhs_number", "is_valid_nhs_number", "normalise_nhs_number"]
