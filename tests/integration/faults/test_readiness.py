"""/readyz under gunicorn reports a stopped Redis (cache or broker) and a stopped
PostgreSQL by name, quickly, and recovers when they come back; /healthz stays up."""

import time

import httpx
import pytest

from tests.integration.conftest import wait_for
from tests.integration.faults.conftest import PrivateRedis
from tests.integration.processes import Gunicorn

pytestmark = pytest.mark.integration


@pytest.fixture
def cache_redis(faults_db, tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def web(private_cluster, broker, cache_redis, tmp_path):
    """gunicorn (the repository's configuration, if any, plus a bind of our own) on
    the private cluster, the private broker and a private cache."""
    env = {"DATABASE_URL": private_cluster.url, "CELERY_BROKER_URL": broker.url,
           "REDIS_CACHE_URL": cache_redis.url, "READINESS_TIMEOUT_SECONDS": "1",
           "DATABASE_CONNECT_TIMEOUT": "2"}
    server = Gunicorn(tmp_path / "gunicorn.log", env=env,
                      options=("--workers", "1", "--threads", "2"))
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def probe(base):
    started = time.monotonic()
    # The address as Host, as a load balancer sends it.
    response = httpx.get(f"{base}/readyz", timeout=15)
    return response.status_code, response.json(), time.monotonic() - started


def failing_is(base, names):
    return lambda: probe(base)[1].get("failing") == names


def test_readiness_names_each_stopped_service(web, broker, cache_redis, private_cluster):
    status, body, _ = probe(web)
    assert (status, body["status"]) == (200, "ok"), body
    assert set(body["checks"]) == {"database", "migrations", "encryption", "cache", "broker"}

    cache_redis.stop()
    status, body, took = probe(web)
    assert (status, body["failing"]) == (503, ["cache"])
    assert took < 5
    cache_redis.start()
    wait_for(lambda: probe(web)[0] == 200, timeout=10, what="cache back")

    broker.stop()
    status, body, took = probe(web)
    assert (status, body["failing"]) == (503, ["broker"])
    assert took < 5
    broker.start()
    wait_for(lambda: probe(web)[0] == 200, timeout=10, what="broker back")

    private_cluster.pg_ctl("stop", "-m", "fast")
    try:
        status, body, took = probe(web)
        assert status == 503
        # The migration check passed once already and is not asked again; the canary
        # needs the database too.
        assert body["failing"] == ["database", "encryption"], body
        assert took < 10
        assert httpx.get(f"{web}/healthz", timeout=5).status_code == 200
    finally:
        private_cluster.start()
    wait_for(lambda: probe(web)[0] == 200, timeout=20, what="database back")
