"""The staff check from the cache (patients/staff_check.py) is exactly as strict as the
database: a revoked user, a removed or unconfirmed device, a changed password or team
takes effect on the next request when made through the platform, and within
STAFF_CHECK_CACHE_SECONDS when made behind its back."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice

from forms_app.management.demo_data import ensure_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.STAFF_CHECK_CACHE_SECONDS = 30
    settings.WHITEBOARD_CACHE_SECONDS = 3
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def signed_in(client, otp_login):
    user, _, team, _ = ensure_demo()
    otp_login(client, user)
    url = reverse("whiteboard:data", args=[team.pk])
    assert client.get(url).status_code == 200  # the check is remembered from here
    return client, user, team, url


class FakeClock:
    """The clock of LocMemCache's expiry (the test cache), moved on by hand."""

    def __init__(self, monkeypatch):
        import time

        self.now = time.time()
        monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: self.now)


def test_a_remembered_check_costs_no_user_or_device_query(signed_in,
                                                          django_assert_num_queries):
    client, _, _, url = signed_in
    with django_assert_num_queries(1) as queries:  # the session
        assert client.get(url).status_code == 200
    assert "django_session" in queries.captured_queries[0]["sql"]


def test_deactivating_the_user_applies_on_the_next_request(signed_in):
    client, user, _, url = signed_in
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(url).status_code == 403


def test_taking_away_staff_status_applies_on_the_next_request(signed_in):
    client, user, _, url = signed_in
    user.is_staff = False
    user.save(update_fields=["is_staff"])
    assert client.get(url).status_code == 403


def test_a_changed_password_ends_the_session_on_the_next_request(signed_in):
    client, user, _, url = signed_in
    user.set_password("a new and long passphrase 42")
    user.save(update_fields=["password"])
    assert client.get(url).status_code == 403


def test_a_removed_device_applies_on_the_next_request(signed_in):
    client, user, _, url = signed_in
    StaticDevice.objects.filter(user=user).get().delete()
    assert client.get(url).status_code == 403


def test_an_unconfirmed_device_applies_on_the_next_request(signed_in):
    client, user, _, url = signed_in
    device = StaticDevice.objects.get(user=user)
    device.confirmed = False
    device.save(update_fields=["confirmed"])
    assert client.get(url).status_code == 403


def test_a_device_reset_by_an_administrator_applies_on_the_next_request(signed_in):
    from patients.services import reset_second_factor_devices

    client, user, _, url = signed_in
    reset_second_factor_devices(user=user, by="system")
    assert client.get(url).status_code in (302, 403)


def test_a_change_behind_the_platforms_back_applies_within_the_bound(signed_in,
                                                                     monkeypatch):
    """An UPDATE that sends no signal (a script, SQL): refused once the remembered
    check expires, STAFF_CHECK_CACHE_SECONDS after it was made."""
    client, user, _, url = signed_in
    clock = FakeClock(monkeypatch)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    StaticDevice.objects.filter(user=user).update(confirmed=False)
    clock.now += 29
    assert client.get(url).status_code == 200  # still remembered: inside the bound
    clock.now += 2
    assert client.get(url).status_code == 403


def test_leaving_the_team_applies_within_the_boards_cache_time(signed_in, monkeypatch):
    client, user, team, url = signed_in
    clock = FakeClock(monkeypatch)
    team.members.remove(user)
    clock.now += 4  # WHITEBOARD_CACHE_SECONDS = 3
    assert client.get(url).status_code == 404


def test_another_users_session_does_not_use_the_remembered_check(signed_in, client,
                                                                 otp_login):
    from django.test import Client

    from tests.factories.patients import UserFactory

    _, _user, _, url = signed_in
    other = UserFactory(is_staff=True)
    second = otp_login(Client(), other)
    # A member of no team: the board is not found for them, whatever user 1's cache says.
    assert second.get(url).status_code == 404


def test_a_session_of_the_old_password_is_not_answered_from_the_cache(signed_in,
                                                                      otp_login):
    """Two sessions of one user: the one whose password hash no longer matches is
    refused even though the other refilled the cache after the change."""
    from django.test import Client

    client, user, _, url = signed_in
    user.set_password("another long passphrase 43")
    user.save(update_fields=["password"])
    fresh = otp_login(Client(), user)
    assert fresh.get(url).status_code == 200
    assert client.get(url).status_code == 403


def test_patients_never_touch_the_staff_check_cache(client, monkeypatch):
    calls = []
    real = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda keys, *a, **k: calls.append(keys)
                        or real(keys, *a, **k))
    client.get("/form/answer/")
    assert not [keys for keys in calls if any(k.startswith("staff-check:") for k in keys)]


def test_the_bound_cannot_be_configured_beyond_a_minute(monkeypatch):
    import importlib

    import config.settings

    monkeypatch.setenv("STAFF_CHECK_CACHE_SECONDS", "61")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="STAFF_CHECK_CACHE_SECONDS"):
        importlib.reload(config.settings)
    monkeypatch.delenv("STAFF_CHECK_CACHE_SECONDS")
    importlib.reload(config.settings)


def test_the_cache_holds_no_password_hash_and_no_device_secret(client):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, _, team, _ = ensure_demo()
    device = TOTPDevice.objects.create(user=user, name="Authenticator app")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    url = reverse("whiteboard:data", args=[team.pk])
    assert client.get(url).status_code == 200

    (_, _, cached_user, cached_device) = cache.get(
        f"staff-check:{user.pk}:{device.persistent_id}")
    assert "password" not in cached_user.__dict__
    assert {"key", "last_t", "drift"}.isdisjoint(cached_device.__dict__)
    # Deferred, not lost: whatever needs them reads them from the database.
    assert cached_user.password == get_user_model().objects.get(pk=user.pk).password
    assert cached_device.key == device.key
    assert client.get(url).status_code == 200  # answered from the remembered check
