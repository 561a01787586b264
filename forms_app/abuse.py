"""Per-IP rate limits on the patient's link and identity check (django-ratelimit).

The per-link lockout (services.verify_identity) stops guessing one patient's date of
birth; these limits stop one address from trying many links, or many checks, quickly.
Counters live in the shared cache (settings "Caches"), so every web process counts.
"""

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

from forms_app.selectors import lock_minutes_left


def over_limit(request, *, group: str, rate: str) -> bool:
    return is_ratelimited(request, group=group, key="ip", rate=rate, increment=True)


def link_open_limited(request) -> bool:
    return over_limit(request, group="patient-link-open", rate=settings.RATELIMIT_LINK_OPEN)


def identity_check_limited(request) -> bool:
    return over_limit(request, group="patient-identity-check",
                      rate=settings.RATELIMIT_IDENTITY_CHECK)


def too_many_requests(request):
    return render(request, "forms_app/patient/rate_limited.html", status=429)


def link_locked(request, link_id):
    """The link is paused after too many wrong answers: how long for, in the page."""
    return render(request, "forms_app/patient/locked.html",
                  {"minutes": lock_minutes_left(link_id)}, status=429)
