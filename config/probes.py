"""The operations endpoints, answered before any other middleware.

A load balancer probes each web host by its address (`Host: 10.0.0.5:8000`) over plain
HTTP, and Prometheus scrapes it the same way. Through the ordinary stack those requests
would be refused by ALLOWED_HOSTS (400) or redirected to https (301), and would open
sessions and count towards rate limits. These paths build no absolute URL and set no
cookie, so the Host header cannot poison anything: they are answered here, first, and
nothing else in the stack sees them. /metrics guards itself (config/metrics.py).
"""

from django.utils.module_loading import import_string

# path -> view; config/urls.py mounts the same views, so reverse() and the URL walk
# know them.
PROBES = {
    "/healthz": "config.health.healthz",
    "/readyz": "config.health.readyz",
    "/metrics": "config.metrics.metrics",
}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.views = {path: import_string(name) for path, name in PROBES.items()}

    def __call__(self, request):
        view = self.views.get(request.path_info.rstrip("/"))
        if view is not None:
            return view(request)
        return self.get_response(request)
