from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from patients.nhs_number import is_valid_nhs_number


def validate_nhs_number(value):
    if not is_valid_nhs_number(value):
        raise ValidationError(
            _("Enter a valid 10-digit NHS number"), code="invalid_nhs_number"
        )
