"""A lost cache falls back to process memory, says so, and the journey goes on."""

import logging
import socket

import pytest
from django.core.cache import caches
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from patients import cache as resilient_cache
from patients import fallbacks
from patients.models import AuditEvent
from tests.factories.patients import UserFactory
from tests.forms_app.journey import complete_demo_journey


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket closes


@pytest.fixture
def dead_cache(settings):
    """The default cache is Redis at an address where nothing answers."""
    settings.CACHES = {"default": {
        "BACKEND": "patients.cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0", "KEY_PREFIX": "pf",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    resilient_cache.reset_breaker()
    fallbacks.reset()
    yield caches["default"]
    caches["default"].clear()
    resilient_cache.reset_breaker()


def test_every_call_falls_back_to_memory(dead_cache):
    assert dead_cache.get("k") is None
    assert dead_cache.add("k", 1, 60) is True
    assert dead_cache.add("k", 1, 60) is False
    assert dead_cache.incr("k") == 2
    dead_cache.set_many({"a": 1, "b": 2})
    assert dead_cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert dead_cache.has_key("a") and dead_cache.touch("a", 60)
    dead_cache.delete_many(["a", "b"])
    assert dead_cache.get("a", "gone") == "gone"
    assert fallbacks.FALLBACKS[("cache", "unreachable")] >= 10


def test_a_counter_begun_in_redis_carries_on_in_memory(dead_cache):
    # add() reached Redis, then Redis went away before incr(): incr starts afresh here
    # rather than fail (django-ratelimit would count a failed incr as over the limit).
    assert dead_cache.incr("started-in-redis") == 1


def test_the_outage_is_logged_once_without_keys(dead_cache, caplog):
    caplog.set_level(logging.WARNING, logger="patients.fallbacks")
    for n in range(20):
        dead_cache.set(f"ratelimit:secret-key-{n}", n)
    warnings = [r for r in caplog.records if r.name == "patients.fallbacks"]
    assert len(warnings) == 1
    assert "cache unreachable" in warnings[0].getMessage()
    assert "secret-key" not in warnings[0].getMessage()


def test_after_a_failure_redis_is_left_alone_for_a_while(dead_cache, monkeypatch):
    dead_cache.get("k")
    tried = []
    monkeypatch.setattr(resilient_cache.RedisCache, "get",
                        lambda *args, **kwargs: tried.append(1))
    dead_cache.get("k")
    assert tried == []  # straight to memory while the breaker is open
    resilient_cache.reset_breaker()
    dead_cache.get("k")
    assert tried == [1]


@pytest.mark.django_db
def test_a_patient_completes_the_journey_with_the_cache_down(client, dead_cache):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    complete_demo_journey(client, issued.token)
    assert fallbacks.FALLBACKS[("cache", "unreachable")] > 0


@pytest.mark.django_db
def test_rate_limits_still_count_per_process_with_the_cache_down(client, settings,
                                                                 dead_cache):
    settings.RATELIMIT_LINK_OPEN = "3/m"
    for _ in range(3):
        assert client.get("/l/not-a-token/").status_code == 404
    assert client.get("/l/not-a-token/").status_code == 429


@pytest.mark.django_db
def test_staff_lockout_holds_with_the_cache_down(client, settings, dead_cache):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("account:login"), {"username": user.username, "password": "no"})
    response = client.post(reverse("account:login"),
                           {"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code == 429  # counted in the database, not the lost cache
    # (the refused sixth attempt is audited as a failure too)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == (
        settings.AXES_FAILURE_LIMIT + 1)


@pytest.mark.django_db
def test_staff_sign_in_works_with_the_cache_down(client, dead_cache):
    user = UserFactory()
    response = client.post(reverse("account:login"),
                           {"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_one_redis_client_serves_every_call(settings):
    """Django builds a redis.Redis per cache call; ours keeps one per pool, and it works
    against a real Redis (the broker's server, a database of this run's own)."""
    settings.CACHES = {"default": {
        "BACKEND": "patients.cache.ResilientRedisCache",
        "LOCATION": settings.CELERY_BROKER_URL, "KEY_PREFIX": "pf-client-test"}}
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("needs Redis: set CELERY_BROKER_URL=redis://...")
    resilient_cache.reset_breaker()
    cache = caches["default"]
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("k", {"v": 1}, 30)
    assert cache.get("k") == {"v": 1}
    assert cache._cache.get_client() is client
    cache.delete("k")
