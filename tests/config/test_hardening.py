"""Headers, CSP, no caching, rate limits, and logs and error pages free of tokens."""

import logging
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from forms_app import selectors, services
from forms_app.views import patient as patient_views
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world():
    return build_world()


def _pages(world):
    return {
        "admin index": reverse("admin:index"),
        "patients": reverse("admin:patients_patient_changelist"),
        "patient": reverse("admin:patients_patient_change", args=[world.patient.pk]),
        "submission": reverse("admin:forms_app_submission_change", args=[world.submission.pk]),
        "record": reverse("admin:patients_recordentry_change", args=[world.record_entry.pk]),
        "form": reverse("admin:forms_app_form_change", args=[world.form.pk]),
        "item": reverse("admin:forms_app_item_change", args=[world.item.pk]),
        "issue link": reverse("admin:forms_app_formversion_issue_link",
                              args=[world.link.version.pk]),
        "passkeys": reverse("account:passkeys"),
    }


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_staff_pages_send_strict_headers_and_no_inline_script(client, world):
    verified(client, world.users["right_team"])
    for name, url in _pages(world).items():
        response = client.get(url)
        assert response.status_code == 200, name
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, name
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        # same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null"
        # with form posts and Django's CSRF check refuses every one (config/settings.py).
        assert response["Referrer-Policy"] == "same-origin"
        assert "no-store" in response["Cache-Control"], name
        html = response.content.decode()
        assert not INLINE_SCRIPT.findall(html), (name, INLINE_SCRIPT.findall(html))
        assert not INLINE_HANDLER.findall(html), name


def test_patient_pages_are_not_cached(client, world):
    response = client.get(reverse("patient:start", kwargs={"token": world.token}))
    assert "no-store" in response["Cache-Control"]
    response = client.get(reverse("patient:verify"))
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response


def test_session_and_csrf_cookies_are_http_only(client, world, settings):
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    response = client.get(reverse("account:login"))
    assert response.cookies["csrftoken"]["httponly"]


def test_link_opening_is_rate_limited_per_ip(client, settings, world):
    settings.RATELIMIT_LINK_OPEN = "3/m"
    for _ in range(3):
        assert client.get("/l/not-a-token/").status_code == 404
    assert client.get("/l/not-a-token/").status_code == 429
    # Another address is not affected.
    assert client.get("/l/not-a-token/", REMOTE_ADDR="10.1.2.3").status_code == 404


def test_identity_checks_are_rate_limited_per_ip(client, settings, world):
    settings.RATELIMIT_IDENTITY_CHECK = "2/m"
    issued = services.issue_link(version=world.link.version, patient=world.patient,
                                 care_team=world.team, by=world.users["right_team"])
    client.get(reverse("patient:start", kwargs={"token": issued.token}))
    wrong = {"day": "1", "month": "1", "year": "1999"}
    for _ in range(2):
        assert client.post(reverse("patient:verify"), wrong).status_code == 400
    assert client.post(reverse("patient:verify"), wrong).status_code == 429


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record) + repr(record.args) + repr(
            getattr(record, "request", None)))


def test_no_token_in_any_log_record_or_error_page(client, world, monkeypatch):
    capture = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("django.request"),
               logging.getLogger("django.server")]
    for logger in loggers:
        logger.addHandler(capture)

    def boom(token):
        raise RuntimeError("database went away")

    monkeypatch.setattr(patient_views, "find_link_by_token", boom)
    client.raise_request_exception = False
    try:
        response = client.get(reverse("patient:start", kwargs={"token": world.token}))
        assert response.status_code == 500
        monkeypatch.setattr(patient_views, "find_link_by_token",
                            selectors.find_link_by_token)
        client.get(reverse("patient:start", kwargs={"token": world.token + "x"}))  # 404
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    assert capture.lines, "the 500 was not logged at all"
    assert any("/l/[redacted]/" in line for line in capture.lines)
    for line in capture.lines:
        assert world.token not in line
    body = response.content.decode()
    assert world.token not in body and "Traceback" not in body
