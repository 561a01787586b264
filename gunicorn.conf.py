"""gunicorn's settings for the web tier (deploy/systemd/patient-forms-web.service;
docs/deployment.md, "Web hosts and gunicorn").

Sync workers, one request each: the platform's requests are short and wait on
PostgreSQL, and each worker holds one persistent database connection, so
GUNICORN_WORKERS is also this host's share of PostgreSQL's connections. The values
below are the defaults; /etc/patient-forms/web.env overrides them.

gunicorn reads ./gunicorn.conf.py by default, so every harness that starts gunicorn from
the repository's root (the fault suite, the operations test, the cluster run, the
benchmarks) runs with this file too; their command-line options take precedence.

The access log is on, and every line of it and of the error log goes through the
platform's one redaction rule (patients/log_filters.py): a patient link's token is in
its path (/l/<token>/), and gunicorn's own logs are not Django's, so the LOGGING filters
in config/settings.py never see them. With settings.LOG_FORMAT json, access lines are
JSON objects like every other line the platform writes.
"""

import datetime
import json
import os

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from patients.log_filters import RedactLinkTokens, redact

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
# The access log, redacted by RedactingLogger below ("-": standard output, the journal).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "patient-forms-web"


def post_worker_init(worker):
    """Compile the templates before this worker takes a request (config/warm.py): a
    recycled worker's first patient otherwise waited 1.4 s of CPU for it."""
    from config.warm import warm

    warm()


def child_exit(server, worker):
    """A worker's metrics files stay, but its live gauges must not (prometheus_client's
    multiprocess mode; PROMETHEUS_MULTIPROC_DIR is set by the unit)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def _log_format():
    # Asked in the worker, where config.wsgi has loaded the settings: LOG_FORMAT is
    # defined once, there.
    from django.conf import settings

    return settings.LOG_FORMAT if settings.configured else "plain"


class RedactingLogger(Logger):
    """gunicorn's logger with link tokens and secrets taken out of every line."""

    def setup(self, cfg):
        super().setup(cfg)
        # The error log writes request URIs too ("Error handling request /l/...").
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactLinkTokens) for f in log.filters):
                log.addFilter(RedactLinkTokens())

    def atoms(self, resp, req, environ, request_time):
        # Every atom (request line, path, query, Referer, any header or environ value a
        # format names) redacted before formatting.
        return {name: redact(value)
                for name, value in super().atoms(resp, req, environ, request_time).items()}

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled or _log_format() != "json":
            return super().access(resp, req, environ, request_time)
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info(json.dumps({
            "event": "access",
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            "level": "info",
            "logger": "gunicorn.access",
            "request": atoms["r"],
            "status": str(atoms["s"]),
            "bytes": atoms["b"],
            "duration_ms": atoms["M"],
            "referer": atoms["f"],
            "user_agent": atoms["a"],
        }))


logger_class = RedactingLogger
