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


def test_bench_run_stops_at_once_and_says_so_without_wrk(monkeypatch, tmp_path):
    """`make bench` on a machine without Debian's wrk: one clear line before anything
    is dropped, seeded or started, not a traceback half way through the run."""
    import runpy
    import shutil
    import subprocess

    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    module = runpy.run_path(str(root / "bench" / "run.py"), run_name="bench_run")
    ran = []
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(SystemExit) as stopped:
        module["main"]()
    assert "wrk" in str(stopped.value) and "apt-get install wrk" in str(stopped.value)
    assert ran == []  # no database dropped, no Redis flushed
