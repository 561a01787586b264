"""The Jinja2 environment of the patient pages (docs/adr/0012-jinja2-for-patient-pages.md).

Templates under jinja2/ (same names as Django's would have: forms_app/patient/page.html)
are Jinja; the admin and staff pages stay Django templates under templates/. The
NHS.UK components come from nhsuk-frontend-jinja (the NHS's own Jinja port, pinned to
the release that matches static/nhsuk/VERSION), imported as
``{% from "nhsuk/components/radios/macro.jinja" import radios %}``.

Globals give the templates what Django's tags gave them: ``static()``, ``url()``,
``_()``/``gettext()``/``ngettext()`` through Django's own translation (so the Welsh
catalogue in locale/ serves both engines), and ``get_current_language()``. The request,
``csrf_input`` and ``csrf_token`` are added by Django's Jinja2 backend itself.
"""

from django.template.defaultfilters import date, linebreaksbr
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader


def url(name, *args, **kwargs):
    """Django's {% url %}: url("patient:answer") or url("patient:start", token=...)."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options) -> Environment:
    # nhsuk-frontend-jinja's macros read optional parameters as chains (params.hint.text),
    # which ChainableUndefined allows; it says so in its README.
    options["undefined"] = ChainableUndefined  # Django sets (Debug)Undefined by default
    options.setdefault("extensions", ["jinja2.ext.i18n", "jinja2.ext.do"])
    options.pop("autoescape", None)  # always on, as Django's Jinja2 backend sets it
    options.setdefault("trim_blocks", True)
    options.setdefault("lstrip_blocks", True)
    env = Environment(autoescape=True, **options)
    env.loader = ChoiceLoader([env.loader, PackageLoader("nhsuk_frontend_jinja")])
    # Old-style gettext: the message is looked up as written (the same msgids as the
    # Django templates had) and autoescaped like any other string; placeholders are
    # filled with the format filter.
    env.install_gettext_callables(
        translation.gettext, translation.ngettext, newstyle=False,
        pgettext=translation.pgettext, npgettext=translation.npgettext)
    env.globals.update(
        static=static,
        url=url,
        get_current_language=translation.get_language,
    )
    # Django's own filter (escapes, then <br>): answers and display text keep their lines.
    env.filters["linebreaksbr"] = linebreaksbr
    # Django's date filter: month names in the page's language ("3 Rhagfyr 2026").
    env.filters["date"] = date
    return env
