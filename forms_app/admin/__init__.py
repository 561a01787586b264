"""Admin registrations, one module per area."""

from forms_app.admin import api, core, delivery, filing, retention  # noqa: F401
