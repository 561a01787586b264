"""The address a request came from: one rule for the audit trail, rate limits and axes.

Behind a reverse proxy REMOTE_ADDR is the proxy's address, so the real client is read
from the header the proxy sets (settings.CLIENT_IP_META_KEY, e.g. HTTP_X_FORWARDED_FOR).
X-Forwarded-For is a list that the client can start itself ("forged, client, proxy1"):
only the entries appended by our own proxies can be trusted, so the client is the
CLIENT_IP_TRUSTED_PROXIES-th entry from the right (the last one behind one proxy).

django-ratelimit (RATELIMIT_IP_META_KEY), django-axes (AXES_CLIENT_IP_CALLABLE) and the
API's anonymous throttle point here; nothing else reads REMOTE_ADDR.
"""

import ipaddress

from django.conf import settings


def _valid(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address, or None when the request carries none (no request, or a
    Unix-socket server without a proxy header). Never raises on a malformed header: the
    audit trail stores an IP field, and a bad value there would fail the whole write."""
    if request is None:
        return None
    meta = request.META
    key = settings.CLIENT_IP_META_KEY
    if key != "REMOTE_ADDR":
        entries = [part for part in meta.get(key, "").split(",") if part.strip()]
        position = max(1, settings.CLIENT_IP_TRUSTED_PROXIES)
        if len(entries) >= position:
            found = _valid(entries[-position])
            if found:
                return found
        # No usable header: the request did not come through the proxy (a health check
        # on the host itself, say), so the connection's own address is the client.
    return _valid(meta.get("REMOTE_ADDR"))


def ratelimit_ip(request) -> str:
    """client_ip for django-ratelimit, which needs an address to mask and count: requests
    with none share one bucket rather than raising."""
    return client_ip(request) or "0.0.0.0"  # noqa: S104 (a bucket name, not a bind address)
