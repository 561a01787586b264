"""{% load nhs %}{{ patient.nhs_number|nhs_number }} shows 943 476 5919 (NHS.UK's 3-3-4)."""

from django import template

from patients.nhs_number import format_nhs_number

register = template.Library()


@register.filter(name="nhs_number")
def nhs_number(value) -> str:
    return format_nhs_number(str(value or ""))
