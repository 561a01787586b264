"""Admin registrations, one module per area."""

from forms_app.admin import core, delivery  # noqa: F401
