"""Where the project's domain errors (`patients.errors.DomainError`) become HTTP answers.

The API and the pages read the status, code, message and field from the error itself,
here and nowhere else, so a refusal answers the same on every route.
"""

from django.shortcuts import render
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from patients.errors import DomainError


def api_exception(error: DomainError) -> exceptions.APIException:
    """The DRF exception for a domain error: a refusal about a field (400, 422) names
    it as a validation error does; any other keeps its own status and code."""
    detail = ErrorDetail(error.detail, code=error.code)
    if error.status_code in (400, 422):
        converted = exceptions.ValidationError({error.attr or "non_field_errors": [detail]})
    else:
        converted = exceptions.APIException(detail=detail, code=error.code)
    converted.status_code = error.status_code
    return converted


class DomainExceptionHandler(ExceptionHandler):
    """drf-standardized-errors' handler (DRF_STANDARDIZED_ERRORS's EXCEPTION_HANDLER_CLASS)
    that knows the project's domain errors; the JSON shape stays the package's."""

    def convert_known_exceptions(self, exc):
        if isinstance(exc, DomainError):
            return api_exception(exc)
        return super().convert_known_exceptions(exc)


class DomainErrorMiddleware:
    """A domain error that reaches a page view unhandled is a refusal, not a 500: the
    person sees the error's own message with its status (the transaction that raised it
    has rolled back, so nothing was changed)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        return render(request, "refused.html", {"message": exception.detail},
                      status=exception.status_code)
