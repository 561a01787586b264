"""gunicorn's settings for the web tier (deploy/systemd/patient-forms-web.service;
docs/deployment.md, "Web hosts and gunicorn").

Sync workers, one request each: the platform's requests are short and wait on
PostgreSQL, and each worker holds one persistent database connection, so
GUNICORN_WORKERS is also this host's share of PostgreSQL's connections. The values
below are the defaults; /etc/patient-forms/web.env overrides them.
"""

import os

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
worker_class = "sync"
# A request still running after this is killed and logged: no page takes seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On TERM (a deploy, a stop) requests in flight get this long; below the unit's
# TimeoutStopSec (35 s), so systemd never kills a worker that is finishing a request.
graceful_timeout = 20
keepalive = 5
# The load balancer's addresses: only requests from them may set the scheme through
# X-Forwarded-Proto. The web hosts must be reachable from the load balancer alone.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Recycle workers now and then, so a slow leak in any library never grows for weeks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# No gunicorn access log: its request line would carry a patient's link token on the
# first request. django-structlog's request_finished line is the access log, in JSON,
# redacted, with the request id (config/logs.py).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "patient-forms-web"


def child_exit(server, worker):
    """A worker's metrics files stay, but its live gauges must not (prometheus_client's
    multiprocess mode; PROMETHEUS_MULTIPROC_DIR is set by the unit)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
