"""Prometheus metrics: /metrics on web processes, a port of its own on Celery workers.

Who may read them: a client whose address is in METRICS_ALLOWED_IPS (CIDRs), or one
that sends `Authorization: Bearer <METRICS_TOKEN>`. The address is the TCP peer
(REMOTE_ADDR), never a forwarded header: scrape each host directly, and keep the load
balancer's own address out of the list, or everyone behind it would be let in.

What: request counts and latency by view and status (django-prometheus' middleware),
the platform's counters (forms_app/metrics.py), Celery task counts and durations by
task (the signal handlers below, which count in the process that runs the task), and,
on web processes only, the backlog gauges read at scrape time.

Several processes per host (gunicorn workers, Celery's prefork pool): set
PROMETHEUS_MULTIPROC_DIR to an empty directory private to the service (the systemd
units use RuntimeDirectory=), and every process's values are summed from there.
"""

import hmac
import ipaddress
import logging
import os
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.utils.cache import add_never_cache_headers
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)

logger = logging.getLogger(__name__)

TASKS = Counter("patient_forms_celery_tasks",
                "Celery tasks run, by task and final state (SUCCESS, FAILURE, RETRY).",
                ["task", "state"])
TASK_SECONDS = Histogram("patient_forms_celery_task_duration_seconds",
                         "Time a Celery task ran for, by task.", ["task"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))


def allowed(remote_addr: str | None, authorization: str | None) -> bool:
    token = settings.METRICS_TOKEN
    if token and authorization and authorization.startswith("Bearer "):
        return hmac.compare_digest(authorization[len("Bearer "):].encode(), token.encode())
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def process_registry():
    """The counters and histograms of this process, or of every process on this host
    that shares PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics(request):
    """GET /metrics: Prometheus' text format (answered by config.probes first)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not allowed(request.META.get("REMOTE_ADDR"), request.headers.get("Authorization")):
        return HttpResponseForbidden("Metrics are for the monitoring hosts only.\n",
                                     content_type="text/plain")
    from forms_app.metrics import BacklogCollector

    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(BacklogCollector())
    # Two registries in one text page: their metric names are distinct.
    body = generate_latest(process_registry()) + generate_latest(scrape)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response


# --- Celery ----------------------------------------------------------------------

_started: dict[str, float] = {}


def task_started(task_id=None, **kwargs):
    if task_id:
        _started[task_id] = time.monotonic()


def task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # a scrape every 15 s is not news
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def guarded_wsgi_app(registry):
    inner = make_wsgi_app(registry)

    def app(environ, start_response):
        if not allowed(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION")):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Metrics are for the monitoring hosts only.\n"]
        return inner(environ, start_response)

    return app


def start_worker_exporter(**kwargs):
    """On a worker's main process (worker_ready): serve its metrics on
    CELERY_METRICS_PORT, guarded like /metrics. Off when the port is not set."""
    port = settings.CELERY_METRICS_PORT
    if not port:
        return None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning("CELERY_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: tasks run in "
                       "pool processes, whose counts this process cannot see")
    server = make_server(settings.CELERY_METRICS_ADDRESS, port,
                         guarded_wsgi_app(process_registry()),
                         server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("Worker metrics on %s:%s", settings.CELERY_METRICS_ADDRESS,
                server.server_port)
    return server
