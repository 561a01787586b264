"""Admin registrations, one module per area."""

from forms_app.admin import core, retention  # noqa: F401
