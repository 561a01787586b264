"""A new web process compiles its templates before its first request (config/warm.py,
called from gunicorn.conf.py's post_worker_init)."""

import pytest
from django.template import engines
from jinja2 import Environment

from config import warm
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify


@pytest.fixture
def cold():
    """A process whose Jinja templates were never compiled."""
    env = engines["jinja2"].env
    env.cache.clear()
    yield env
    env.cache.clear()


@pytest.mark.django_db
def test_after_warming_a_patient_journey_compiles_no_template(cold, client, monkeypatch):
    warmed = warm.warm_templates()
    assert "forms_app/patient/page.html" in warmed
    assert "nhsuk/components/radios/macro.jinja" in warmed  # imported by includes/fields

    def compile_(*args, **kwargs):
        raise AssertionError(f"compiled during a request: {args[1:3]}")

    monkeypatch.setattr(Environment, "compile", compile_)
    open_and_verify(client, corpus_link("gp-registration-controls").token)
    page = client.get("/form/answer/")
    assert page.status_code == 200 and b"nhsuk-form-group" in page.content


@pytest.mark.django_db
def test_a_cold_process_compiles_on_its_first_request(cold, client, monkeypatch):
    """The test above can fail: without warming, the same journey compiles templates."""
    compiled = []
    real = Environment.compile

    def compile_(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", compile_)
    open_and_verify(client, corpus_link("gp-registration-controls").token)
    assert client.get("/form/answer/").status_code == 200
    assert "forms_app/patient/page.html" in compiled


def test_warming_needs_no_database():
    """Without the django_db mark any query raises here: warm() runs in every new
    worker, and must not depend on (or wait for) PostgreSQL being up."""
    warm.warm()
