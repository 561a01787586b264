"""Admin registrations, one module per area."""

from forms_app.admin import api, core, retention  # noqa: F401
