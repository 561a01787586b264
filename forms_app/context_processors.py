from django.conf import settings


def service(request):
    return {"trust_name": settings.TRUST_NAME, "service_name": settings.SERVICE_NAME}


def patient_session(request):
    """The idle timeout the patient pages' warning counts down (see session-timeout.js)."""
    return {
        "patient_session_seconds": settings.PATIENT_SESSION_SECONDS,
        "patient_session_warning_seconds": settings.PATIENT_SESSION_WARNING_SECONDS,
        # Each language named in itself ("English", "Cymraeg"), never translated: Django's
        # get_available_languages would show "Saesneg" to a Welsh reader looking for English.
        "language_choices": settings.LANGUAGES,
    }
