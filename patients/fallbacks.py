"""When a backing service is lost, the platform falls back and says so: here, once.

Every fallback (the shared cache unreachable, a database request retried or answered
"try again") goes through `record_fallback`, which

- counts it in `FALLBACKS` (a process-local count, read by tests and by anyone
  debugging), and in the Prometheus counter `patient_forms_fallbacks_total{service,
  reason}` once prometheus_client is installed (django-prometheus brings it and exports
  the default registry at /metrics: nothing more to register);
- logs a warning, at most once per service and reason every LOG_EVERY_SECONDS so that an
  outage under load does not flood the log. The warning names the service and the
  reason only: never a key, a path, a token or patient data.
"""

import logging
import threading
import time
from collections import Counter

logger = logging.getLogger("patients.fallbacks")

LOG_EVERY_SECONDS = 30.0

try:  # The metrics module (ops) installs prometheus_client; until then, counts only.
    from prometheus_client import Counter as PrometheusCounter
except ImportError:  # pragma: no cover - depends on what is installed
    PrometheusCounter = None

METRIC = (PrometheusCounter("patient_forms_fallbacks", "Requests served by a fallback "
                            "because a backing service was unavailable",
                            ["service", "reason"])
          if PrometheusCounter is not None else None)

FALLBACKS: Counter = Counter()
_lock = threading.Lock()
_last_logged: dict[tuple[str, str], float] = {}


def record_fallback(service: str, reason: str, *, error: BaseException | None = None) -> None:
    """Count one fallback and warn about it (rate-limited). `service` and `reason` are
    fixed words ("cache", "unreachable"); `error` contributes its class name only."""
    key = (service, reason)
    now = time.monotonic()
    with _lock:
        FALLBACKS[key] += 1
        due = now - _last_logged.get(key, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS
        if due:
            _last_logged[key] = now
        count = FALLBACKS[key]
    if METRIC is not None:
        METRIC.labels(service=service, reason=reason).inc()
    if due:
        logger.warning("Degraded: %s %s (%s); falling back (%d so far in this process)",
                       service, reason, type(error).__name__ if error else "-", count)


def reset() -> None:
    """Forget counts and log times (tests)."""
    with _lock:
        FALLBACKS.clear()
        _last_logged.clear()
