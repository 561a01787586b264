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

import datetime
import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.middleware.csrf import get_token
from django.template.backends.utils import csrf_input
from django.template.defaultfilters import date, linebreaksbr
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup

from patients.templatetags.nhs import nhs_number


@functools.lru_cache(maxsize=512)
def static(path):
    """Django's static(): a file's URL is fixed for the life of the process (the
    manifest is read once), and a page asks for a dozen of them."""
    return django_static(path)


def csrf_once(request):
    """A context processor for these templates: the CSRF field and token made once per
    page. Django's Jinja2 backend gives lazy ones that mask the token again at every
    use, and a patient page uses it three times (language switch, keep-alive, form);
    one masked token per response is what Django's own templates send."""
    return {"csrf_token": SimpleLazyObject(lambda: get_token(request)),
            "csrf_input": SimpleLazyObject(lambda: csrf_input(request))}


def url(name, *args, **kwargs):
    """Django's {% url %}: url("patient:answer") or url("patient:start", token=...)."""
    if args or kwargs:
        # Never cached: a URL with arguments may hold a link token.
        return reverse(name, args=args or None, kwargs=kwargs or None)
    return _plain_url(name, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=256)
def _plain_url(name, prefix, urlconf):
    # A URL without arguments is fixed for a prefix and URL configuration (the key),
    # and a patient page asks for seven of them (issue 12).
    return reverse(name, urlconf=urlconf)


def _gettext(message):
    return _translated(translation.get_language(), message)


@functools.lru_cache(maxsize=4096)
def _translated(language, message):
    # Called only with the active language (_gettext), so Django's answer for that
    # language. The catalogues are read once per process, and a patient page looks up
    # two dozen messages, each through a chain of fallback catalogues (issue 12).
    return translation.gettext(message)


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    # As Django's own caches: tests that change these settings see the change.
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _translated.cache_clear()
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME", "INSTALLED_APPS"}:
        _plain_url.cache_clear()


# Rendered NHS.UK components by (macro, language, parameters). A component macro is a
# pure function of its parameters (and of the language, for the few words it
# translates), and rendering one is most of a question page's cost (several ms for a
# page of radios), while the same parameters recur all the time: every patient's first
# sight of a page, every re-shown page with the same answers. Bounded like the FHIR
# shape cache: cleared when full, so an unusual form cannot grow the process.
MAX_COMPONENTS = 4096
_components: dict = {}


def _frozen(value):
    """A hashable key for component parameters; Markup (HTML passed through, e.g. a
    conditional reveal) is kept apart from a plain string with the same text, which
    the component would escape."""
    if isinstance(value, Markup):
        return ("markup", str(value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(v) for v in value))
    if value is None or isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    raise TypeError  # anything else: render, do not cache


def _carries_answer(name, params) -> bool:
    """True when the parameters hold something the patient entered or chose (a typed
    value, a checked or selected option, a date's parts) or a revealed question's HTML
    (which may hold one). Those are rendered, never kept: no patient's answer stays in
    the process after their request."""
    if not isinstance(params, dict):
        return False
    if params.get("value") not in (None, ""):
        return True
    for item in params.get("items") or ():
        if not isinstance(item, dict):
            continue
        if item.get("checked") or item.get("selected") or item.get("conditional"):
            return True
        if name == "dateInput" and item.get("value") not in (None, ""):
            return True
    return False


def cached_component(render, name, params):
    """``render(name, params)`` (the component macro of includes/fields.html), once per
    distinct (name, language, params), unless it carries the patient's answer."""
    if _carries_answer(name, params):
        return render(name, params)
    try:
        key = (name, translation.get_language(), _frozen(params))
    except TypeError:
        return render(name, params)
    html = _components.get(key)
    if html is None:
        html = render(name, params)
        if len(_components) >= MAX_COMPONENTS:
            _components.clear()
        _components[key] = html
    return html


# Parts of the layout that are the same on every page in a language: the head's links,
# the header and footer, the language list, the session warning's words. A tenth of a
# question page's render was these (2.40 -> 2.16 ms), rebuilt through a dozen static(),
# url() and gettext calls on every request (issue 12). Each is rendered once per process per
# (part, language, key) and kept; what a part depends on besides the language is passed
# as its key. Nothing of a request may be inside one (no CSRF token, no path, nothing of
# the patient's): those stay outside, between parts.
MAX_LAYOUT_PARTS = 256
_layout_parts: dict = {}


def layout_part(name, *key, caller):
    """{% call layout_part("footer", trust) %}...{% endcall %}: the block's HTML, once."""
    cache_key = (name, translation.get_language(), _hashable(key))
    html = _layout_parts.get(cache_key)
    if html is None:
        html = caller()  # Markup: the environment autoescapes
        if len(_layout_parts) >= MAX_LAYOUT_PARTS:
            _layout_parts.clear()
        _layout_parts[cache_key] = html
    return html


def _hashable(value):
    # settings.LANGUAGES is a list of pairs.
    return tuple(map(_hashable, value)) if isinstance(value, list | tuple) else value


@receiver(setting_changed)
def _forget_layout(**kwargs):
    # A test that changes a setting (a static file's URL, the URL patterns) sees it.
    _layout_parts.clear()


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
        _gettext, translation.ngettext, newstyle=False,
        pgettext=translation.pgettext, npgettext=translation.npgettext)
    env.globals.update(
        static=static,
        url=url,
        get_current_language=translation.get_language,
        cached_component=cached_component,
        layout_part=layout_part,
    )
    # Django's own filter (escapes, then <br>): answers and display text keep their lines.
    env.filters["linebreaksbr"] = linebreaksbr
    # Django's date filter: month names in the page's language ("3 Rhagfyr 2026").
    env.filters["date"] = date
    # What Django's templates do by themselves before a filter: an aware time in the
    # installation's time zone (the whiteboard's rows are read in UTC).
    env.filters["localtime"] = _localtime
    env.filters["clock"] = clock
    env.filters["nhs_number"] = nhs_number
    return env


def _localtime(value):
    if isinstance(value, datetime.datetime) and not timezone.is_naive(value):
        return timezone.localtime(value)
    return value


def clock(value) -> str:
    """A time as 24-hour "09:30" in the installation's time zone: what
    ``value|localtime|date("H:i")`` gives, by strftime instead of Django's formatter,
    which was a fifth of rendering a 300-row whiteboard (a time or two a row)."""
    if not value:
        return ""
    return _localtime(value).strftime("%H:%M")
