"""Per-client throttling on the shared cache."""

import subprocess
import sys

import pytest
from django.conf import settings

from forms_app.api.throttling import ApiClientRateThrottle
from tests.factories.forms_app import api_client_for
from tests.forms_app.api.conftest import api_for


@pytest.fixture
def three_a_minute(monkeypatch):
    # DRF reads the rates once at import; set this throttle's own copy.
    monkeypatch.setattr(ApiClientRateThrottle, "THROTTLE_RATES",
                        {**ApiClientRateThrottle.THROTTLE_RATES, "api_client": "3/minute"})


@pytest.mark.django_db
def test_a_client_over_its_rate_gets_429_and_others_do_not(world, three_a_minute):
    for _ in range(3):
        assert world.api.get("/api/v1/forms/").status_code == 200
    response = world.api.get("/api/v1/forms/")
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another client of the same team has its own allowance.
    _, token = api_client_for(world.team, name="Second EHR")
    assert api_for(token).get("/api/v1/forms/").status_code == 200


@pytest.mark.django_db
def test_a_cache_outage_lets_requests_through(world, three_a_minute, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(ApiClientRateThrottle.cache, "get", broken)
    for _ in range(5):
        assert world.api.get("/api/v1/forms/").status_code == 200


def _cache_backend(env):
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            "from django.conf import settings; c=settings.CACHES['default']; "
            "print(c['BACKEND'].rsplit('.', 1)[1], c.get('LOCATION', ''))")
    clean = {"PATH": "/usr/bin:/bin", **env}
    result = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True,
                            text=True, check=True, cwd=settings.BASE_DIR)
    return result.stdout.split()


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ["LocMemCache"]),
    # Never the broker's database: clearing the cache must not drop queued tasks.
    ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, ["LocMemCache"]),
    ({"CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
      "REDIS_CACHE_URL": "redis://127.0.0.1:6379/4"},
     ["ResilientRedisCache", "redis://127.0.0.1:6379/4"]),
    ({"REDIS_URL": "redis://127.0.0.1:6379/5"},
     ["ResilientRedisCache", "redis://127.0.0.1:6379/5"]),
])
def test_cache_setting_follows_the_environment(env, expected):
    assert _cache_backend(env) == expected
