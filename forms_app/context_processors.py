from django.conf import settings
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext, gettext_noop

from forms_app import selectors

# The session key of the link a patient opened (forms_app.views.patient.SESSION_LINK,
# which imports far more than a context processor should).
SESSION_LINK = "patient_link"


# The default service name, for the catalogue: a SERVICE_NAME set in the environment is
# shown as set unless the catalogue has it too.
gettext_noop("Patient forms")


def service(request):
    return {"trust_name": settings.TRUST_NAME, "service_name": gettext(settings.SERVICE_NAME)}


def patient_session(request):
    """The idle timeout the patient pages' warning counts down (see session-timeout.js)."""
    return {
        "patient_session_seconds": settings.PATIENT_SESSION_SECONDS,
        "patient_session_warning_seconds": settings.PATIENT_SESSION_WARNING_SECONDS,
        # Each language named in itself ("English", "Cymraeg"), never translated: Django's
        # get_available_languages would show "Saesneg" to a Welsh reader looking for English.
        "language_choices": settings.LANGUAGES,
        # Read only by a page that shows it (includes/clinic_contact.html).
        "clinic_contact": SimpleLazyObject(lambda: selectors.clinic_contact(
            request.session.get(SESSION_LINK) if request is not None else None)),
    }
