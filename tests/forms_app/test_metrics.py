"""The platform's own metrics (forms_app/metrics.py): identity checks and lockouts, the
whiteboard cache, and the backlog gauges read at scrape time."""

import datetime
import uuid

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.metrics import BacklogCollector
from forms_app.models import DeliveryAttempt, Submission
from tests.conftest import service_unavailable
from tests.factories.forms_app import make_links

pytestmark = pytest.mark.django_db


def value(name, labels=None, registry=REGISTRY):
    return registry.get_sample_value(name, labels or {}) or 0


@pytest.fixture
def demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return ensure_demo()


def test_wrong_dates_of_birth_and_the_lockout_are_counted(demo, settings):
    user, patient, team, version = demo
    settings.LINK_MAX_FAILED_CHECKS = 3
    link = services.issue_link(version=version, patient=patient, care_team=team, by=user).link
    failures = value("patient_forms_identity_check_failures_total")
    lockouts = value("patient_forms_link_lockouts_total")
    wrong = patient.date_of_birth - datetime.timedelta(days=1)
    outcomes = [services.verify_identity(link_id=link.pk, date_of_birth=wrong)
                for _ in range(4)]
    assert outcomes[-2:] == [services.IdentityCheck.LOCKED] * 2
    # Three wrong answers, the third locking; the fourth is refused before it is checked.
    assert value("patient_forms_identity_check_failures_total") == failures + 3
    assert value("patient_forms_link_lockouts_total") == lockouts + 1


def test_whiteboard_cache_hits_and_misses(client, demo, otp_login):
    user, _, team, _ = demo
    otp_login(client, user)
    cache.clear()
    url = reverse("whiteboard:data", args=[team.pk])

    def counted(result):
        return value("patient_forms_whiteboard_cache_requests_total",
                     {"layer": "json", "result": result})

    before = counted("hit"), counted("miss")
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    assert (counted("hit") - before[0], counted("miss") - before[1]) == (1, 1)


def scrape():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BacklogCollector())
    return registry


def test_backlog_gauges(demo):
    _user, patient, team, version = demo
    Submission.objects.filter(state__in=["submitted", "failed"]).delete()
    links = make_links(version=version, team=team, count=3, patients=[patient])
    now = timezone.now()
    Submission.objects.create(link=links[0], state=Submission.State.SUBMITTED,
                              submitted_at=now - datetime.timedelta(minutes=10))
    Submission.objects.create(link=links[1], state=Submission.State.SUBMITTED,
                              submitted_at=now - datetime.timedelta(minutes=1))
    Submission.objects.create(link=links[2], state=Submission.State.FAILED, submitted_at=now)
    DeliveryAttempt.objects.create(patient=patient, link=links[0], purpose="invitation",
                                   channel="sms")

    registry = scrape()
    assert value("patient_forms_unfiled_submissions", {"state": "submitted"}, registry) == 2
    assert value("patient_forms_unfiled_submissions", {"state": "failed"}, registry) == 1
    age = value("patient_forms_oldest_unfiled_submission_age_seconds", registry=registry)
    assert 600 <= age < 700
    assert value("patient_forms_deliveries_pending", registry=registry) >= 1


def test_nothing_waiting_is_age_zero(demo):
    Submission.objects.filter(state="submitted").delete()
    registry = scrape()
    assert value("patient_forms_oldest_unfiled_submission_age_seconds", registry=registry) == 0
    assert value("patient_forms_unfiled_submissions", {"state": "submitted"}, registry) == 0


@override_settings(CELERY_BROKER_URL=None)
def test_no_broker_no_queue_gauge(demo):
    names = {m.name for m in scrape().collect()}
    assert "patient_forms_queue_depth" not in names
    assert "patient_forms_unfiled_submissions" in names


def test_a_source_that_is_down_is_left_out(demo, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    with override_settings(CELERY_BROKER_URL=None):
        families = list(scrape().collect())
    assert families == []
    assert "could not be read" in caplog.text


def test_an_idle_queue_is_depth_zero(demo, settings, monkeypatch):
    # Redis deletes a queue's list as its last message is taken: a passive declare of
    # an idle queue is "not found", which is a depth of 0, not a missing gauge.
    if not settings.CELERY_BROKER_URL:
        service_unavailable("the queue gauge needs CELERY_BROKER_URL")
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_default_queue", f"idle-{uuid.uuid4().hex}")
    registry = scrape()
    assert value("patient_forms_queue_depth", {"queue": app.conf.task_default_queue},
                 registry) == 0
    assert "patient_forms_queue_depth" in {m.name for m in registry.collect()}
