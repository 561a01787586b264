"""Admin registrations, one module per area."""

from forms_app.admin import api, core, delivery, retention  # noqa: F401
