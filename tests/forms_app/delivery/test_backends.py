"""Delivery through GOV.UK Notify (a fake server over real HTTP) and Django's email."""

import pytest
from django.core import mail
from django.urls import reverse

from forms_app.delivery import services
from forms_app.delivery.tasks import poll_delivery_statuses, send_message_task
from forms_app.models import DeliveryAttempt, Link
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_retries():
    """Eager retries re-run at once; a Retry must not propagate out of the eager call."""
    from config.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def issue(demo, channel="sms"):
    user, patient, team, version = demo
    issued = services.issue_and_deliver(version=version, patient=patient, care_team=team,
                                        by=user, channel=channel)
    return issued, DeliveryAttempt.objects.get(link=issued.link)


def test_sms_through_notify_carries_the_link_and_nothing_else(demo, notify):
    issued, attempt = issue(demo)
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.SENT
    attempt.refresh_from_db()
    assert attempt.status == "sent" and attempt.backend == "notify" and attempt.tries == 1
    (request,) = notify.requests
    assert request["path"] == "/v2/notifications/sms"
    assert request["auth"].startswith("Bearer ")
    body = request["json"]["personalisation"]["body"]
    assert issued.url in body
    assert request["json"]["phone_number"] == demo[1].mobile
    assert request["json"]["reference"] == str(attempt.pk)
    assert attempt.provider_id in notify.statuses


def test_email_through_notify_has_subject_and_body(demo, notify):
    issued, attempt = issue(demo, "email")
    services.send_message(attempt_id=attempt.pk)
    (request,) = notify.requests
    assert request["path"] == "/v2/notifications/email"
    assert request["json"]["email_address"] == demo[1].email
    assert request["json"]["personalisation"]["subject"].startswith("Please fill in")
    assert issued.url in request["json"]["personalisation"]["body"]


@pytest.mark.parametrize("mode", ["400", "403"])
def test_notify_refusal_fails_at_once_and_shows_staff(demo, notify, mode):
    _, attempt = issue(demo)
    notify.mode = mode
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.FAILED
    attempt.refresh_from_db()
    assert attempt.status == "failed" and attempt.last_error == f"notify {mode}"
    assert AuditEvent.objects.filter(action="message.failed", object_id=str(attempt.pk)).exists()


@pytest.mark.parametrize("mode", ["429", "500", "slow"])
def test_notify_transient_errors_and_timeouts_are_retried(demo, notify, mode):
    _, attempt = issue(demo)
    notify.mode = mode
    notify.slow_seconds = 1.5  # the client gives up after 0.5 s
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.RETRY
    attempt.refresh_from_db()
    assert attempt.status == "pending" and attempt.tries == 1
    assert attempt.last_error == ("notify 503" if mode == "slow" else f"notify {mode}")
    # The provider recovers: the retry sends it.
    notify.mode = "ok"
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.SENT


def test_the_task_retries_with_backoff_then_marks_the_message_failed(
        demo, notify, settings, eager_retries):
    settings.DELIVERY_MAX_RETRIES = 2
    settings.DELIVERY_RETRY_BASE_SECONDS = 0
    _, attempt = issue(demo)
    notify.mode = "500"
    # Eagerly, each retry runs at once (the countdown is what a worker would wait).
    send_message_task.apply(args=[str(attempt.pk)], throw=False)
    attempt.refresh_from_db()
    assert attempt.status == "failed" and attempt.tries == 3
    assert len(notify.requests) == 3


def test_a_failed_text_falls_back_to_email(demo, notify):
    user = demo[0]
    issued, attempt = issue(demo)
    notify.mode = "400"
    services.send_message(attempt_id=attempt.pk)
    notify.mode = "ok"
    fallback = services.resend_link(link=issued.link, channel="email", by=user)
    assert services.send_message(attempt_id=fallback.pk) == services.SendOutcome.SENT
    assert notify.requests[-1]["path"] == "/v2/notifications/email"


def test_delivery_receipt_callback_sets_delivered(demo, notify, client, settings):
    settings.NOTIFY_CALLBACK_TOKEN = "callback-secret-token"
    issued, attempt = issue(demo)
    services.send_message(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    url = reverse("clinic:notify_callback")
    payload = {"id": attempt.provider_id, "reference": str(attempt.pk), "status": "delivered",
               "to": demo[1].mobile, "notification_type": "sms"}
    assert client.post(url, payload, content_type="application/json").status_code == 401
    assert client.post(url, payload, content_type="application/json",
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer callback-secret-token"}
    assert client.post(url, "not json", content_type="application/json",
                       headers=auth).status_code == 400
    assert client.post(url, payload, content_type="application/json",
                       headers=auth).status_code == 204
    attempt.refresh_from_db()
    link = Link.objects.with_status().get(pk=issued.link.pk)
    assert attempt.status == "delivered" and link.delivered_at is not None
    assert link.status == "delivered"


def test_status_polling_records_receipts(demo, notify):
    issued, attempt = issue(demo)
    services.send_message(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert poll_delivery_statuses() == 0  # still sending
    notify.statuses[attempt.provider_id] = "permanent-failure"
    assert poll_delivery_statuses() == 1
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert Link.objects.get(pk=issued.link.pk).delivered_at is None


def test_email_through_djangos_backend(demo, settings):
    settings.DELIVERY_EMAIL_BACKEND = "django"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    issued, attempt = issue(demo, "email")
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.SENT
    (message,) = mail.outbox
    assert message.to == [demo[1].email]
    assert issued.url in message.body
    assert message.subject == f"Please fill in your form: {demo[3].title}"


def test_smtp_connection_failure_is_transient(demo, settings):
    settings.DELIVERY_EMAIL_BACKEND = "django"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    _, attempt = issue(demo, "email")
    assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.RETRY
    attempt.refresh_from_db()
    assert attempt.last_error == "ConnectionRefusedError"


def test_the_link_is_never_logged(demo, notify, caplog, settings, eager_retries):
    settings.DELIVERY_MAX_RETRIES = 1
    settings.DELIVERY_RETRY_BASE_SECONDS = 0
    caplog.set_level("DEBUG")
    issued, attempt = issue(demo)
    notify.mode = "500"
    send_message_task.apply(args=[str(attempt.pk)], throw=False)
    notify.mode = "ok"
    again = services.resend_link(link=issued.link, channel="sms", by=demo[0])
    send_message_task.apply(args=[str(again.pk)], throw=False)
    assert "/v2/notifications/sms" in caplog.text  # the client did log its requests
    assert issued.token not in caplog.text and demo[1].mobile not in caplog.text
