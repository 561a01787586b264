"""Admin registrations, one module per area."""

from forms_app.admin import (
    core,  # noqa: F401
    filing,  # noqa: F401
)
