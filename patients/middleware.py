"""Staff session limits and no caching of dynamic pages."""

import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.cache import add_never_cache_headers

SESSION_STARTED = "staff_session_started"
SESSION_SEEN = "staff_session_seen"
# Write "last seen" at most this often, so an active user does not save the session on
# every request.
_SEEN_RESOLUTION = 30


class StaffSessionMiddleware:
    """Ends a signed-in session that has been idle too long or lived too long.

    After AuthenticationMiddleware and OTPMiddleware. The session is flushed, so the
    request carries on as anonymous and any staff page sends it to the login.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(SESSION_STARTED, now)
            seen = session.get(SESSION_SEEN, now)
            if (now - seen > settings.STAFF_SESSION_IDLE_SECONDS
                    or now - started > settings.STAFF_SESSION_MAX_SECONDS):
                session.flush()
                request.user = AnonymousUser()
            elif now - seen >= _SEEN_RESOLUTION or SESSION_SEEN not in session:
                session[SESSION_SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """No page from the application is kept by a browser or proxy cache: staff pages,
    patient pages and exports may all hold patient data. Static files are served before
    this (WhiteNoise) and keep their long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # max-age=0, no-cache, no-store, must-revalidate, private
        add_never_cache_headers(response)
        return response
