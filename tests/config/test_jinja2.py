"""The patient pages' Jinja2 environment (config/jinja2.py): Django's translations,
static files and URLs, and every patient string translated into Welsh."""

from pathlib import Path

import pytest
from django.template import engines
from django.utils import translation

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
