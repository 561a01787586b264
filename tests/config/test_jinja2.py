"""The patient pages' Jinja2 environment (config/jinja2.py): Django's translations,
static files and URLs, and every patient string translated into Welsh."""

import datetime
import zoneinfo
from pathlib import Path

import pytest
from django.template import engines
from django.template.defaultfilters import date
from django.utils import timezone, translation
from markupsafe import Markup

from config import jinja2 as jinja_config

JINJA_DIR = Path(__file__).resolve().parents[2] / "jinja2"


def jinja():
    return engines["jinja2"].env


def template_messages() -> set[str | tuple[str, str]]:
    """Every gettext message in the patient templates, as Jinja itself reads them: a
    string, or (singular, plural) for ngettext."""
    env = jinja()
    found = set()
    for path in JINJA_DIR.rglob("*.html"):
        for _line, _function, message in env.extract_translations(path.read_text()):
            if isinstance(message, tuple):
                found.add(tuple(m for m in message if m)[:2])
            elif message:
                found.add(message)
    return found


def template_strings() -> set[str]:
    strings = set()
    for message in template_messages():
        strings.update(message if isinstance(message, tuple) else (message,))
    return strings


def test_the_templates_carry_their_strings():
    strings = template_strings()
    assert {"Save and continue", "There is a problem", "What is your date of birth?",
            "Check your answers before sending your form"} <= strings


@pytest.mark.parametrize("message", sorted(template_messages(), key=str), ids=str)
def test_every_patient_string_is_translated_into_welsh(message):
    with translation.override("cy"):
        if isinstance(message, tuple) and len(message) == 2:
            singular, plural = message
            for n in (1, 2):
                english = singular if n == 1 else plural
                assert translation.ngettext(singular, plural, n) != english, \
                    f"no Welsh for {english!r}"
        else:
            (text,) = message if isinstance(message, tuple) else (message,)
            assert translation.gettext(text) != text, f"no Welsh for {text!r}"


def test_django_helpers_in_templates():
    template = jinja().from_string(
        "{{ static('css/app.css') }} {{ url('patient:answer') }} {{ _('Back') }}")
    with translation.override("cy"):
        assert template.render() == "/static/css/app.css /form/answer/ Yn ôl"


def test_translated_text_is_escaped():
    # Old-style gettext: a translation is text, never trusted HTML.
    assert jinja().from_string("{{ _('<b>') }}").render() == "&lt;b&gt;"


def test_the_nhs_components_come_from_nhsuk_frontend_jinja():
    template = jinja().from_string(
        '{% from "nhsuk/components/inset-text/macro.jinja" import insetText %}'
        '{{ insetText({"text": "Hello"}) }}')
    assert 'class="nhsuk-inset-text"' in template.render()


def test_components_are_rendered_once_per_parameters_and_kept_apart(monkeypatch):
    from markupsafe import Markup

    from config import jinja2 as environment

    monkeypatch.setattr(environment, "_components", {})
    calls = []

    def render(name, params):
        calls.append(name)
        return f"<p>{params.get('html', '')}</p>"

    plain = environment.cached_component(render, "x", {"html": "<b>"})
    again = environment.cached_component(render, "x", {"html": "<b>"})
    markup = environment.cached_component(render, "x", {"html": Markup("<b>")})
    with translation.override("cy"):
        environment.cached_component(render, "x", {"html": "<b>"})
    assert plain is again and len(calls) == 3  # str and Markup, English and Welsh apart
    assert markup == plain  # (this fake renders both alike; the keys still differ)
    assert len(environment._components) == 3
    monkeypatch.setattr(environment, "MAX_COMPONENTS", 3)
    environment.cached_component(render, "y", {})
    assert len(environment._components) == 1  # full: cleared, then the new one kept


@pytest.mark.parametrize(("name", "params"), [
    ("input", {"name": "weight", "value": "72.5"}),
    ("radios", {"items": [{"value": "yes", "checked": True}, {"value": "no"}]}),
    ("select", {"items": [{"value": "a", "selected": True}]}),
    ("dateInput", {"items": [{"name": "day", "value": "15"}]}),
    ("radios", {"items": [{"value": "yes", "conditional": {"html": "<input value=12>"}}]}),
])
def test_a_component_holding_the_patients_answer_is_never_kept(monkeypatch, name, params):
    from config import jinja2 as environment

    monkeypatch.setattr(environment, "_components", {})
    calls = []
    environment.cached_component(lambda n, p: calls.append(n) or "<p></p>", name, params)
    environment.cached_component(lambda n, p: calls.append(n) or "<p></p>", name, params)
    assert calls == [name, name] and environment._components == {}


def test_a_rendered_component_is_the_macro_output(rf):
    """The page renders through the cache exactly what the macro gives."""
    env = jinja()
    template = env.from_string(
        '{% from "nhsuk/components/input/macro.jinja" import input %}'
        '{% macro component(name, params) %}{{ input(params) }}{% endmacro %}'
        '{{ cached_component(component, "input", params) }}|{{ component("input", params) }}')
    params = {"id": "a", "name": "a", "label": {"text": "Your <name>"}, "value": "x"}
    first, second = template.render(params=params).split("|")
    assert first == second and "Your &lt;name&gt;" in first


def test_the_csrf_field_is_masked_once_per_page(rf):
    """Django's lazy field masks the token again at every use: three different values
    on one page. One is made per page here (config.jinja2.csrf_once)."""
    import re

    template = engines["jinja2"].from_string("{{ csrf_input }}{{ csrf_input }}")
    fields = re.findall(r'value="([^"]+)"', template.render(request=rf.get("/")))
    assert len(fields) == 2 and fields[0] == fields[1]


def test_cached_messages_and_urls_follow_the_active_language_and_settings(settings):
    # config/jinja2.py answers gettext and argument-free url() from a per-process cache
    # (issue 12): keyed by the language, and forgotten when the settings change.
    from config import jinja2 as patient_jinja

    template = jinja().from_string('{{ _("Save and continue") }} {{ url("patient:answer") }}')
    with translation.override("en"):
        english = template.render()
    with translation.override("cy"):
        welsh = template.render()
    assert english.startswith("Save and continue") and not welsh.startswith("Save and")
    assert welsh.split()[-1] == english.split()[-1] == "/form/answer/"
    settings.FORCE_SCRIPT_NAME = "/forms"
    assert patient_jinja._plain_url.cache_info().currsize == 0


def _timeout_page(**context):
    template = jinja().from_string(
        '{% extends "forms_app/patient/layout.html" %}{% block content %}x{% endblock %}')
    return template.render({"session_timeout": True, "patient_session_seconds": 1200,
                            "patient_session_warning_seconds": 120,
                            "language_choices": [("en-gb", "English"), ("cy", "Cymraeg")],
                            "csrf_input": "", "language_next": "/", **context})


def test_layout_parts_are_kept_per_language_and_hold_no_token():
    """config.jinja2.layout_part: the layout's fixed parts are rendered once per
    language; the CSRF field between them is the page's own every time."""
    first = _timeout_page(csrf_input=Markup('<input name="csrfmiddlewaretoken" value="A">'))
    second = _timeout_page(csrf_input=Markup('<input name="csrfmiddlewaretoken" value="B">'))
    assert 'value="A"' in first and 'value="A"' not in second and 'value="B"' in second
    assert first.replace('value="A"', "") == second.replace('value="B"', "")
    with translation.override("cy"):
        welsh = _timeout_page()
    assert 'aria-current="true">Cymraeg' in welsh
    assert 'aria-current="true">English' in _timeout_page()
    assert "data-seconds=\"1200\"" in _timeout_page()
    assert "data-seconds=\"900\"" in _timeout_page(patient_session_seconds=900)
    kept = "".join(jinja_config._layout_parts.values())
    assert "csrfmiddlewaretoken" not in kept


@pytest.mark.parametrize("when", [
    datetime.datetime(2026, 12, 4, 0, 5, tzinfo=datetime.UTC),
    datetime.datetime(2026, 7, 1, 8, 30, 59, tzinfo=datetime.UTC),  # 09:30 in summer
    datetime.datetime(2026, 3, 29, 0, 59, tzinfo=datetime.UTC),  # the hour the clocks go on
    datetime.datetime(2026, 10, 25, 1, 0, tzinfo=datetime.UTC),  # and back
    datetime.datetime(2026, 6, 1, 23, 45, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
])
def test_the_clock_filter_writes_what_djangos_date_filter_writes(when):
    """jinja2/forms_app/whiteboard/_board.html's times: clock is localtime|date("H:i")."""
    assert jinja_config.clock(when) == date(timezone.localtime(when), "H:i")
    assert jinja_config.clock(None) == ""
