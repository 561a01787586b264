"""The benchmark baselines exist only when BENCH is on."""

import importlib

import pytest
from django.urls import clear_url_caches

import config.urls
from tests.factories.patients import OrganisationFactory


def _reload_urls(settings, bench):
    settings.BENCH = bench
    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def bench_urls(settings):
    _reload_urls(settings, True)
    yield
    _reload_urls(settings, False)


def test_baselines_are_not_mounted_without_bench(client):
    assert client.get("/bench/bare/").status_code == 404


@pytest.mark.django_db
def test_baselines_when_bench_is_on(client, bench_urls):
    organisation = OrganisationFactory()
    assert client.get("/bench/bare/").content == b"ok"
    response = client.get(f"/bench/pk/{organisation.pk}/")
    assert response.status_code == 200 and organisation.name.encode() in response.content


def test_bench_refused_in_production(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    import config.settings

    for name, value in {"DJANGO_ENV": "production", "BENCH": "1", "SECRET_KEY": "x" * 50,
                        "ALLOWED_HOSTS": "a.example", "DATABASE_URL": "sqlite:///x",
                        "FIELD_ENCRYPTION_KEYS": "k", "DJANGO_DEBUG": "0",
                        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/15"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match="BENCH"):
        importlib.reload(config.settings)
    monkeypatch.undo()
    importlib.reload(config.settings)
