"""Browser tests: a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Fixtures:
  browser            session-wide Chromium; skips the test when Playwright or Chromium is
                     missing, but fails it when the CI environment variable is set
  phone              a fresh context and page at a 375x667 phone viewport (JavaScript on)
  phone_nojs         the same with JavaScript disabled
  screenshot         screenshot(page, name) saves a full-page PNG to
                     test-artifacts/screenshots/<test name>/<NN>-<name>.png
  assert_accessible  assert_accessible(page) runs the vendored axe-core against WCAG 2.0,
                     2.1 and 2.2 A and AA rules and fails with a readable list of violations
  assert_no_js_errors  assert_no_js_errors(page) fails on console errors, uncaught page
                     errors and CSP violations seen by that page so far

Browser tests use pytest-django's ``live_server`` and the ``browser`` mark:

    pytestmark = pytest.mark.browser

    def test_start_page(live_server, phone, screenshot, assert_accessible):
        phone.goto(live_server.url + "/start/")
        screenshot(phone, "start")
        assert_accessible(phone)
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from forms_app.management.demo_data import ensure_demo

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home: the network reaches package registries only
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "timezone_id": "Europe/London",
}
DEFAULT_TIMEOUT_MS = 10_000


def _unavailable(reason):
    """Skip on a developer's machine without a browser; never let CI pass by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    # Playwright's sync API runs an asyncio event loop in this (the test) thread, and that
    # loop stays marked as running between calls for as long as Playwright is started.
    # Django then sees every ORM call from a test or fixture as "called from an async
    # context" and raises SynchronousOnlyOperation, although nothing here is concurrent:
    # Playwright only drives the browser, and the live server answers in its own thread.
    # So Django's check is switched off while Playwright runs, and restored afterwards.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(request):
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    playwright = request.getfixturevalue("_playwright")
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    except Exception as exc:  # a broken install reads better as one line than a traceback
        _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    yield chromium
    chromium.close()


# Console errors, page errors and CSP violations seen by each open page.
_JS_ERRORS = {}
# Pages opened with JavaScript disabled: axe cannot run in them (see assert_accessible).
_NO_JS_PAGES = set()


def _open_phone(browser, *, javascript):
    context = browser.new_context(java_script_enabled=javascript, **PHONE)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    errors = _JS_ERRORS[page] = []
    # Pages answered with a 4xx on purpose (a form with errors is a 400, an unknown link a
    # 404): Chromium logs "Failed to load resource" for them, which is no script's error.
    error_documents = set()
    page.on(
        "response",
        lambda response: error_documents.add(response.url)
        if response.request.resource_type == "document" and 400 <= response.status < 500
        else None,
    )

    def on_console(message):
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") in error_documents
        ):
            return
        errors.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    if not javascript:
        _NO_JS_PAGES.add(page)
    return context, page


@pytest.fixture
def phone(browser):
    """A new page at phone size, in a fresh context (no cookies shared with other tests)."""
    context, page = _open_phone(browser, javascript=True)
    yield page
    _JS_ERRORS.pop(page, None)
    context.close()


@pytest.fixture
def phone_nojs(browser):
    """A new page at phone size with JavaScript disabled: every patient page must work so."""
    context, page = _open_phone(browser, javascript=False)
    yield page
    _JS_ERRORS.pop(page, None)
    _NO_JS_PAGES.discard(page)
    context.close()


@pytest.fixture
def assert_no_js_errors():
    def check(page):
        errors = _JS_ERRORS.get(page, [])
        assert not errors, "JavaScript errors on " + page.url + ":\n  " + "\n  ".join(errors)

    return check


@pytest.fixture
def screenshot(request):
    """screenshot(page, name) -> Path of a full-page PNG, numbered in the order taken."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    folder = request.config.rootpath / "test-artifacts" / "screenshots" / test_name
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pictures
    taken = 0

    def take(page, name):
        nonlocal taken
        taken += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        path = folder / f"{taken:02d}-{slug}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


_AXE_SOURCE = None

_AXE_RUN = """
async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
}
"""


def _format_violations(url, violations):
    lines = [f"{len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:160]}")
            for detail in (node["summary"] or "").splitlines()[1:3]:
                lines.append(f"       {detail.strip()}")
    return "\n".join(lines)


@pytest.fixture
def assert_accessible():
    """assert_accessible(page) runs axe-core on the page as it is now."""

    def check(page):
        violations = _axe_on_a_copy(page) if page in _NO_JS_PAGES else _run_axe(page)
        assert not violations, _format_violations(page.url, violations)

    return check


def _run_axe(page):
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE_JS.read_text(encoding="utf-8")
    # Evaluated through the DevTools protocol, not added as a <script>: the page's
    # Content-Security-Policy (rightly) refuses inline scripts.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("() => {\n" + _AXE_SOURCE + "\n}")
    return page.evaluate(_AXE_RUN, AXE_TAGS)


def _axe_on_a_copy(page):
    """axe on a page whose JavaScript is off, run on an exact copy of its DOM.

    With scripting disabled Chromium runs no timers or promise jobs, so axe.run never
    finishes there. The copy is served at the same URL (so its stylesheets load and
    colour contrast is measured) in a context with JavaScript on, but with every script
    request refused: the page's own scripts never run and the DOM stays the no-JS one.
    """
    url, html = page.url, page.content()
    context = page.context.browser.new_context(java_script_enabled=True, **PHONE)
    try:

        def serve(route):
            request = route.request
            if request.url == url and request.resource_type == "document":
                route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
            elif request.resource_type == "script":
                route.abort()
            else:
                route.continue_()

        context.route("**/*", serve)
        copy = context.new_page()
        copy.set_default_timeout(DEFAULT_TIMEOUT_MS)
        copy.goto(url)
        return _run_axe(copy)
    finally:
        context.close()


# --- Staff pages ------------------------------------------------------------------------

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB",
           "timezone_id": "Europe/London"}
WIDTHS = (1280, 375)


@pytest.fixture
def staff_page(browser, live_server, otp_login):
    """A desktop page signed in as the demo clinician (password and second factor)."""
    user, *_ = ensure_demo()
    client = otp_login(Client(), user)
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    page = context.new_page()
    yield page, user
    context.close()


def check_at_both_widths(page, screenshot, assert_accessible, name):
    """axe at desktop and phone width, a screenshot of each, and no sideways scrolling
    of the page itself at desktop width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 667})
        page.wait_for_load_state("load")
        screenshot(page, f"{name}-{width}")
        assert_accessible(page)
        if width == 1280:
            scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
            assert scroll_width <= 1280, f"{name} is {scroll_width}px wide at 1280px"
    page.set_viewport_size(DESKTOP["viewport"])
