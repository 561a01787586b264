import os

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from config.celery import app as celery_app


def service_unavailable(reason: str):
    """A test that needs a service fails in CI and skips on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits, throttles and lockouts count in the cache; every test starts at zero,
    # or tests that all come from 127.0.0.1 would trip each other's limits.
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    # Only integration tests talk to the real broker and worker; everything else runs
    # tasks in-process so that a stray publish never leaks into another test's queue.
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def otp_login():
    """Log a staff user in with a verified second factor (a static backup device)."""

    def login(client, user):
        device, _ = StaticDevice.objects.get_or_create(user=user, name="test")
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return login
