"""Where messages go: chosen in settings per channel.

DELIVERY_SMS_BACKEND    console | notify
DELIVERY_EMAIL_BACKEND  console | django (Django's EMAIL_BACKEND, e.g. SMTP) | notify

A backend raises TransientDeliveryError for what may work on a retry (timeouts, 429,
5xx) and PermanentDeliveryError for what will not (a refused number, bad credentials).
Neither error ever carries the message or the address.
"""

import sys
import uuid

from celery.utils.log import LoggingProxy
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage

from forms_app.delivery.messages import Message


class DeliveryError(Exception):
    """`reason` is safe to store and show staff: a class or status, never content."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:200]


class TransientDeliveryError(DeliveryError):
    pass


class PermanentDeliveryError(DeliveryError):
    pass


class ConsoleBackend:
    """The embedded run's stand-in for a phone and an inbox: prints the message.

    Development only: this is the message itself, so it goes to standard output, not to
    the log.
    """

    name = "console"
    # The console is the destination itself: what is printed has arrived.
    delivers_immediately = True

    def send(self, *, channel, to, message: Message, reference: str) -> str:
        stream = sys.stdout
        if isinstance(stream, LoggingProxy):
            # A Celery worker turns print() into log records; the message (with its
            # link) goes to the real standard output instead, never into the log.
            stream = sys.__stdout__
        stream.write(f"--- {channel} to {to} (ref {reference}) ---\n")
        if message.subject:
            stream.write(f"Subject: {message.subject}\n")
        stream.write(message.body + "\n---\n")
        stream.flush()
        return f"console-{uuid.uuid4()}"

    def status(self, provider_id: str) -> str | None:
        return None


class DjangoEmailBackend:
    """Email through Django's configured EMAIL_BACKEND (SMTP in production)."""

    name = "django"

    def send(self, *, channel, to, message: Message, reference: str) -> str:
        if channel != "email":
            raise PermanentDeliveryError("django backend sends email only")
        email = EmailMessage(subject=message.subject, body=message.body,
                             from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
                             headers={"X-Patient-Forms-Reference": reference})
        try:
            email.send(fail_silently=False)
        except (OSError, TimeoutError) as exc:
            # smtplib's errors are OSError subclasses: connection refused, timeouts,
            # a server saying "try later".
            raise TransientDeliveryError(type(exc).__name__) from exc
        return f"smtp-{reference}"

    def status(self, provider_id: str) -> str | None:
        return None


# Notify's notification states, mapped to ours (None: still on its way).
NOTIFY_STATUS = {
    "delivered": "delivered",
    "permanent-failure": "failed",
    "temporary-failure": "failed",
    "technical-failure": "failed",
    "created": None,
    "sending": None,
    "pending": None,
    "sent": None,  # international SMS: no receipt will come
}


class NotifyBackend:
    """GOV.UK Notify through its official client.

    The service's templates hold one placeholder each, ((body)) (and ((subject)) for
    email), so the wording stays per organisation in this platform.
    """

    name = "notify"

    def __init__(self):
        from notifications_python_client.notifications import NotificationsAPIClient

        if not settings.NOTIFY_API_KEY:
            raise ImproperlyConfigured("NOTIFY_API_KEY is needed for the notify backend")
        self.client = NotificationsAPIClient(settings.NOTIFY_API_KEY,
                                             base_url=settings.NOTIFY_BASE_URL,
                                             timeout=settings.NOTIFY_TIMEOUT_SECONDS)

    def _call(self, function, **kwargs):
        from notifications_python_client.errors import APIError

        try:
            return function(**kwargs)
        except APIError as exc:
            status = exc.status_code
            # 503 is also what the client reports for a timeout or a refused connection.
            if status == 429 or status >= 500:
                raise TransientDeliveryError(f"notify {status}") from exc
            raise PermanentDeliveryError(f"notify {status}") from exc

    def send(self, *, channel, to, message: Message, reference: str) -> str:
        if channel == "sms":
            response = self._call(self.client.send_sms_notification, phone_number=to,
                                  template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                                  personalisation={"body": message.body},
                                  reference=reference)
        else:
            response = self._call(self.client.send_email_notification, email_address=to,
                                  template_id=settings.NOTIFY_EMAIL_TEMPLATE_ID,
                                  personalisation={"subject": message.subject,
                                                   "body": message.body},
                                  reference=reference)
        try:
            return str(response["id"])
        except (TypeError, KeyError) as exc:
            raise TransientDeliveryError("notify response without an id") from exc

    def status(self, provider_id: str) -> str | None:
        response = self._call(self.client.get_notification_by_id, id=provider_id)
        return NOTIFY_STATUS.get((response or {}).get("status"))


BACKENDS = {"console": ConsoleBackend, "django": DjangoEmailBackend, "notify": NotifyBackend}


def backend_for(channel: str):
    name = (settings.DELIVERY_SMS_BACKEND if channel == "sms"
            else settings.DELIVERY_EMAIL_BACKEND)
    if name not in BACKENDS or (channel == "sms" and name == "django"):
        raise ImproperlyConfigured(f"No {channel} delivery backend called {name!r}")
    return BACKENDS[name]()
