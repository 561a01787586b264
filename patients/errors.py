"""The one root of the project's domain errors, and what each means over HTTP.

A service raises a `DomainError` subclass when the rules refuse a request; the message
is written for the person who asked and is safe to show them (no patient data the asker
may not see). Views never pick a status code for one: the DRF exception handler
(`config.errors.api_exception_handler`) and the page middleware
(`config.errors.DomainErrorMiddleware`) read `status_code`, `code` and `attr` from here,
so one refusal answers the same everywhere.

`patients` is the lower layer, so the root lives here and `forms_app` subclasses it.
"""


class DomainError(Exception):
    """A request the rules refuse: nothing was changed."""

    status_code = 400
    code = "refused"
    # The request field the refusal is about, when there is one (the JSON error's attr).
    attr: str | None = None

    def __init__(self, message: str = "", *, attr: str | None = None):
        super().__init__(message or self.default_message())
        if attr is not None:
            self.attr = attr

    @classmethod
    def default_message(cls) -> str:
        return "This request was refused."

    @property
    def detail(self) -> str:
        return str(self)


class NotFound(DomainError):
    """The object does not exist, or the asker may not see it: the same answer."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The object's state forbids the request (already submitted, already filed)."""

    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"
