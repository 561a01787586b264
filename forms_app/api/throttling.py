"""Per-client rate limits, counted in the shared cache (Redis in production), so that
every web process enforces the same limit."""

import logging

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from forms_app.models import ApiClient
from patients.client_ip import client_ip

logger = logging.getLogger(__name__)


class _FailOpen:
    """A cache outage must not take the API down with it: throttling is abuse control,
    not access control, so when the cache cannot be reached the request goes through
    and the outage is logged."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("Throttle cache unavailable; allowing the request", exc_info=True)
            return True


class ApiClientRateThrottle(_FailOpen, SimpleRateThrottle):
    scope = "api_client"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiAnonRateThrottle(_FailOpen, AnonRateThrottle):
    """Requests without a client token (the schema and docs pages), per IP address."""

    scope = "api_anon"

    def get_ident(self, request):
        # The platform's one proxy-aware rule rather than DRF's own NUM_PROXIES.
        return client_ip(request) or "unknown"
