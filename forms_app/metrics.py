"""The platform's own Prometheus metrics (served at /metrics by config/metrics.py).

Counters count events in the process where they happen: identity checks and whiteboard
reads in web processes, filing and deliveries in workers (or in the web process when
tasks run in-process). With PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps
each process's values in files there and the exporter sums them, so the several
gunicorn workers or Celery pool processes of one host report as one.

Gauges about the backlog are read from the database and the broker when Prometheus
scrapes (BacklogCollector), with queries the indexes answer, so they are right whichever
process last did anything. Labels are fixed vocabularies (destination, channel, cache
layer): never an id, never patient data.
"""

import logging

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

FILING_ATTEMPTS = Counter(
    "patient_forms_filing_attempts", "Filings tried, per destination.", ["destination"])
FILING_FAILURES = Counter(
    "patient_forms_filing_failures",
    "Filings that failed, per destination and kind (transient: retried; permanent: "
    "shown to staff; error: anything else).", ["destination", "kind"])
DELIVERIES = Counter(
    "patient_forms_deliveries",
    "Messages to patients by channel and outcome (sent to the provider, failed for "
    "good, not sent: opted out, no contact, link closed).", ["channel", "outcome"])
IDENTITY_CHECK_FAILURES = Counter(
    "patient_forms_identity_check_failures",
    "Wrong dates of birth or one-time codes entered on a patient link.")
LINK_LOCKOUTS = Counter(
    "patient_forms_link_lockouts", "Links locked after too many failed identity checks.")
WHITEBOARD_CACHE = Counter(
    "patient_forms_whiteboard_cache_requests",
    "Whiteboard reads of the shared cache by layer (board data, rendered HTML, JSON) "
    "and result (hit or miss): hit rate = hits / (hits + misses).", ["layer", "result"])


def count_whiteboard_cache(layer: str, value) -> None:
    WHITEBOARD_CACHE.labels(layer=layer, result="miss" if value is None else "hit").inc()


class BacklogCollector:
    """Gauges computed at scrape time: what waits to be filed, and the broker's queue.

    Registered only on the web's /metrics registry (never the workers'), so each value
    is reported once per web host; alert on max() over hosts. A gauge whose source is
    down is left out of the scrape (and logged) rather than failing the whole scrape:
    the readiness probe and the request metrics still say what is wrong.
    """

    def collect(self):
        for gauges in (self._submissions, self._deliveries, self._queue):
            try:
                yield from list(gauges())
            except Exception as exc:  # a scrape must answer whatever is down
                logger.warning("Metrics: %s could not be read (%s)", gauges.__name__.strip("_"),
                               type(exc).__name__)

    @staticmethod
    def _submissions():
        from django.db.models import Count, Min
        from django.utils import timezone

        from forms_app.models import Submission

        waiting = [Submission.State.SUBMITTED, Submission.State.FAILED]
        # Both use the (state, submitted_at) index: the cost follows the backlog,
        # not the table.
        counts = dict(Submission.objects.order_by().filter(state__in=waiting)
                      .values_list("state").annotate(n=Count("pk")))
        unfiled = GaugeMetricFamily(
            "patient_forms_unfiled_submissions",
            "Submitted forms not yet filed: waiting or retrying (submitted), or given up "
            "on and waiting for staff (failed).", labels=["state"])
        for state in waiting:
            unfiled.add_metric([state], counts.get(state, 0))
        yield unfiled
        oldest = (Submission.objects.order_by().filter(state=Submission.State.SUBMITTED)
                  .aggregate(oldest=Min("submitted_at"))["oldest"])
        age = (timezone.now() - oldest).total_seconds() if oldest else 0
        yield GaugeMetricFamily(
            "patient_forms_oldest_unfiled_submission_age_seconds",
            "Seconds since the oldest submission still waiting to be filed was sent "
            "(0 when none waits).", value=max(age, 0))

    @staticmethod
    def _deliveries():
        from forms_app.models import DeliveryAttempt

        pending = DeliveryAttempt.objects.filter(
            status=DeliveryAttempt.Status.PENDING).count()
        yield GaugeMetricFamily(
            "patient_forms_deliveries_pending", "Messages to patients waiting to be sent.",
            value=pending)

    @staticmethod
    def _queue():
        from django.conf import settings

        if not settings.CELERY_BROKER_URL:
            return  # tasks run in-process: there is no queue
        from celery import current_app as app  # the project's (config/celery.py)

        queue = app.conf.task_default_queue
        with app.connection_for_read(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=0, timeout=settings.READINESS_TIMEOUT_SECONDS)
            try:
                depth = conn.default_channel.queue_declare(queue=queue,
                                                           passive=True).message_count
            except conn.channel_errors:
                # No such queue holds nothing: Redis deletes a queue's list as its last
                # message is taken (so an idle queue is "not found"), and RabbitMQ has
                # none until a worker declares it. A broker that is down raised above.
                depth = 0
        family = GaugeMetricFamily(
            "patient_forms_queue_depth",
            "Tasks waiting in the broker's queue (filing, delivery and the beat tasks "
            "share it; a task a worker holds is not counted).", labels=["queue"])
        family.add_metric([queue], depth)
        yield family
