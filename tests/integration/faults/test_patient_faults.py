"""What patients see under a fault: 100 journeys over real HTTP through gunicorn, with
real workers filing, while the cache Redis is stopped or PostgreSQL is restarted.

No patient may see a 500, lose their place, or be told "Form sent" for a form that is
not then filed exactly once.
"""

import json

import pytest

from tests.integration.faults.conftest import (
    PrivateRedis,
    record_journeys,
    run_driver,
    wait_until,
)
from tests.integration.faults.journeys import run_journeys

pytestmark = pytest.mark.integration

JOURNEYS = 100

FILED_BY_TOKEN = """
    SELECT l.token_hash, s.state,
           (SELECT count(*) FROM patients_recordentry r
            WHERE r.source_kind = 'forms_app.submission' AND r.source_id = s.id)
    FROM forms_app_link l LEFT JOIN forms_app_submission s ON s.link_id = l.id
    WHERE l.token_hash = ANY(%s)
"""


def _hash(token):
    from forms_app.models import hash_token

    return hash_token(token)


def filing_of(cluster, tokens):
    """{token hash: (submission state, record entries)} for the given tokens."""
    with cluster.connect() as conn, conn.cursor() as cursor:
        cursor.execute(FILED_BY_TOKEN, ([_hash(t) for t in tokens],))
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def outcome(cluster, tally):
    """(lost, duplicates): told "sent" but not filed once, and filed more than once."""
    told = tally.told_sent

    def all_filed():
        return all(state == "filed" for state, _ in filing_of(cluster, told).values())

    wait_until(all_filed, timeout=120, what="every form the patients were told was sent "
               "to be filed")
    filing = filing_of(cluster, told)
    lost = sum(1 for t in told if filing.get(_hash(t), (None, 0))[1] == 0)
    duplicates = sum(1 for state, entries in filing.values() if entries > 1)
    return lost, duplicates


def _note(tally, extra):
    problems = ", ".join(f"{k} x{n}" for k, n in tally.problems.most_common(3))
    return (f"{len(tally.told_sent)} told sent, {tally.try_again_pages} try-again pages, "
            f"{tally.reopened} reopened, {tally.requests} requests in {tally.seconds}s"
            f"{'; ' + problems if problems else ''}; {extra}")


@pytest.fixture
def clinic(private_cluster, broker, workers, web_servers, tmp_path):
    """Gunicorn and a worker on the private cluster, with their own cache Redis."""
    cache = PrivateRedis(tmp_path)
    cache.start()
    workers.start("a", concurrency=2, DATABASE_URL=private_cluster.url)
    server = web_servers(DATABASE_URL=private_cluster.url, CELERY_BROKER_URL=broker.url,
                         REDIS_CACHE_URL=cache.url)
    tokens = json.loads(run_driver(private_cluster.url, broker.url, "links", JOURNEYS))
    yield server, cache, tokens
    cache.stop()


# 100 real journeys through gunicorn on a private PostgreSQL cluster: minutes on a
# busy 2-core machine, so more than the suite's 300 s per test.
@pytest.mark.timeout(600)
def test_cache_redis_stopped_during_100_journeys(private_cluster, clinic):
    server, cache, tokens = clinic
    events = []

    def fault(done):
        if done >= 20 and not events:
            cache.stop()
            events.append(("stopped", done))
        elif done >= 70 and len(events) == 1:
            cache.start()
            events.append(("started", done))

    tally = run_journeys(server.url, tokens, during=fault)
    lost, duplicates = outcome(private_cluster, tally)
    log = server.log_text()
    record_journeys("cache Redis stopped (journeys 20-70 of 100)", journeys=JOURNEYS,
                    server_errors=tally.server_errors, lost=lost, duplicates=duplicates,
                    note=_note(tally, f"{log.count('Degraded: cache unreachable')} "
                               "degraded warnings logged"))
    assert [e for e, _ in events] == ["stopped", "started"]
    assert tally.server_errors == 0, tally.problems
    assert tally.reopened == 0 and not tally.unfinished, tally.problems
    assert len(tally.told_sent) == JOURNEYS
    assert (lost, duplicates) == (0, 0)
    assert "Degraded: cache unreachable" in log
    assert "Traceback" not in log


# 100 real journeys through gunicorn on a private PostgreSQL cluster: minutes on a
# busy 2-core machine, so more than the suite's 300 s per test.
@pytest.mark.timeout(600)
def test_postgresql_restarted_during_100_journeys(private_cluster, clinic):
    server, _cache, tokens = clinic
    restarts = []

    def fault(done):
        # Twice, so that requests are caught at every stage of a journey.
        if (done >= 25 and not restarts) or (done >= 60 and len(restarts) == 1):
            private_cluster.restart()
            restarts.append(done)

    tally = run_journeys(server.url, tokens, during=fault)
    lost, duplicates = outcome(private_cluster, tally)
    log = server.log_text()
    # Warnings are logged at most every 30 s per process and kind: at least one shows
    # that requests did meet the restart (and were retried, or answered "try again").
    warnings = log.count("Degraded: database")
    record_journeys("PostgreSQL restarted twice (after journeys 25 and 60 of 100)",
                    journeys=JOURNEYS, server_errors=tally.server_errors, lost=lost,
                    duplicates=duplicates,
                    note=_note(tally, f"fast restarts; {warnings} degraded warnings logged"))
    assert len(restarts) == 2
    assert warnings >= 1, "no request met the restart: the test proved nothing"
    assert "Traceback" not in log
    assert tally.server_errors == 0, tally.problems
    assert tally.reopened == 0 and not tally.unfinished, tally.problems
    assert len(tally.told_sent) == JOURNEYS
    assert (lost, duplicates) == (0, 0)
