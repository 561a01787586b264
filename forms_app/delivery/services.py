"""Write operations for delivery: issue and send, resend, extend, remind, receipts, codes.

Keyword-only, one transaction each, the audit event in the same transaction. The link's
URL is put into a message body here and nowhere else: it is never logged, stored in
clear or shown in an error.
"""

import datetime
import hmac
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.crypto import salted_hmac

from config.celery import enqueue
from forms_app import metrics
from forms_app import services as core
from forms_app.delivery import messages
from forms_app.delivery.backends import (
    DeliveryError,
    PermanentDeliveryError,
    backend_for,
)
from forms_app.models import (
    DeliveryAttempt,
    Link,
    LinkSecret,
    MessageTemplate,
    OneTimeCode,
    Submission,
)
from forms_app.models.delivery import Channel, Purpose
from patients.models import AuditEvent
from patients.services import record_audit

logger = logging.getLogger(__name__)


def template_for(*, organisation, purpose, channel) -> tuple[str, str]:
    """The organisation's own (subject, body) for this message, else the default."""
    own = MessageTemplate.objects.filter(organisation=organisation, purpose=purpose,
                                         channel=channel).first()
    if own is not None:
        return own.subject, own.body
    return messages.DEFAULTS[(purpose, channel)]


def render_message(*, organisation, purpose, channel, values: dict) -> messages.Message:
    template = template_for(organisation=organisation, purpose=purpose, channel=channel)
    return messages.fill(template, purpose=purpose, values=values)


MESSAGE_CHANNELS = {Channel.SMS, Channel.EMAIL}
CLOSED_SUBMISSION_STATES = [Submission.State.SUBMITTED, Submission.State.FILED,
                            Submission.State.FAILED]


# --- Who can be sent what ----------------------------------------------------------

def contact_for(patient, channel) -> str:
    return patient.mobile if channel == Channel.SMS else patient.email


def channel_problem(patient, channel) -> str | None:
    """Why this patient cannot be sent a message by this channel, or None."""
    if channel == Channel.SMS and patient.sms_opt_out:
        return "opted_out"
    if channel == Channel.EMAIL and patient.email_opt_out:
        return "opted_out"
    if not contact_for(patient, channel):
        return "no_contact"
    return None


CHANNEL_PROBLEM_TEXT = {
    "opted_out": "The patient has asked not to be contacted this way.",
    "no_contact": "The patient has no {what} on record.",
}


def channel_problem_text(patient, channel) -> str | None:
    problem = channel_problem(patient, channel)
    if problem is None:
        return None
    what = "mobile number" if channel == Channel.SMS else "email address"
    return CHANNEL_PROBLEM_TEXT[problem].format(what=what)


def link_is_closed(link: Link, now) -> bool:
    """Revoked, expired or submitted: nothing more is sent for it."""
    if not link.is_open_at(now):
        return True
    return Submission.objects.filter(link=link, state__in=CLOSED_SUBMISSION_STATES).exists()


# --- Issuing and sending -----------------------------------------------------------

@transaction.atomic
def issue_and_deliver(*, version, patient, care_team, by, channel,
                      expires_at=None, enqueue: bool = True,
                      appointment=None) -> core.IssuedLink:
    """Issue a link and, for a text message or email, queue its delivery.

    Refuses (and issues nothing) when the patient cannot be reached by that channel;
    every refusal is raised before the first write. `enqueue=False` leaves the message
    pending for a caller that sends in bulk (clinic lists).
    """
    if channel in MESSAGE_CHANNELS:
        problem = channel_problem_text(patient, channel)
        if problem:
            raise core.ServiceError(problem)
    issued = core.issue_link(version=version, patient=patient, care_team=care_team, by=by,
                             channel=channel, expires_at=expires_at, appointment=appointment)
    if channel in MESSAGE_CHANNELS:
        LinkSecret.objects.create(link=issued.link, token=issued.token)
        queue_message(link=issued.link, purpose=Purpose.INVITATION, channel=channel, by=by,
                      enqueue=enqueue)
    return issued


def queue_message(*, link, purpose, channel, by, sequence=0,
                  enqueue: bool = True) -> DeliveryAttempt:
    """Record a message to send and send it by task once the transaction commits."""
    attempt = DeliveryAttempt.objects.create(
        patient=link.patient, link=link, purpose=purpose, channel=channel,
        sequence=sequence, requested_by=None if isinstance(by, str) else by)
    if enqueue:
        transaction.on_commit(lambda: enqueue_send(attempt.pk))
    return attempt


def enqueue_send(attempt_id) -> bool:
    # The attempt stays pending if this fails; send_pending_messages sends it later.
    return enqueue("forms_app.delivery.tasks.send_message_task", str(attempt_id),
                   what=f"delivery attempt {attempt_id}")


class SendOutcome:
    SENT = "sent"
    NOT_SENT = "not_sent"
    RETRY = "retry"
    FAILED = "failed"
    ALREADY_DONE = "already_done"


def _link_values(link: Link) -> dict:
    return {"trust_name": settings.TRUST_NAME, "form_title": link.version.title,
            "expires": formats.date_format(timezone.localtime(link.expires_at), "j F Y")}


def _link_url(link: Link, token: str) -> str:
    return settings.SITE_URL + core.IssuedLink(link=link, token=token).path


def _message_for(attempt: DeliveryAttempt) -> messages.Message | None:
    link = attempt.link
    values = _link_values(link)
    if attempt.purpose == Purpose.ONE_TIME_CODE:
        code = getattr(attempt, "one_time_code", None)
        if code is None or code.pending_code is None:
            return None
        values["code"] = code.pending_code
    else:
        secret = LinkSecret.objects.filter(link=link).first()
        if secret is None:
            return None
        values["link"] = _link_url(link, secret.token)
    return render_message(organisation=link.patient.organisation, purpose=attempt.purpose,
                          channel=attempt.channel, values=values)


@transaction.atomic
def send_message(*, attempt_id, final_try: bool = False) -> str:
    """Send one pending message through the configured backend.

    Checks again, at the moment of sending, that the link is still open and the patient
    has not opted out: a reminder queued a second before the patient submitted is not
    sent. The attempt row is locked for the send, so two workers never send it twice.
    """
    attempt = (DeliveryAttempt.objects.select_for_update(of=("self",))
               .select_related("link__version", "link__patient__organisation")
               .get(pk=attempt_id))
    if attempt.status != DeliveryAttempt.Status.PENDING:
        return SendOutcome.ALREADY_DONE
    now = timezone.now()
    reason = None
    if attempt.purpose != Purpose.ONE_TIME_CODE and link_is_closed(attempt.link, now):
        reason = "link closed"
    elif channel_problem(attempt.link.patient, attempt.channel):
        reason = channel_problem(attempt.link.patient, attempt.channel).replace("_", " ")
    message = None if reason else _message_for(attempt)
    if reason is None and message is None:
        reason = "nothing to send"
    if reason:
        attempt.status = DeliveryAttempt.Status.NOT_SENT
        attempt.last_error = reason
        attempt.save(update_fields=["status", "last_error"])
        metrics.DELIVERIES.labels(channel=attempt.channel, outcome="not_sent").inc()
        return SendOutcome.NOT_SENT
    backend = backend_for(attempt.channel)
    attempt.tries += 1
    attempt.backend = backend.name
    try:
        provider_id = backend.send(channel=attempt.channel,
                                   to=contact_for(attempt.link.patient, attempt.channel),
                                   message=message, reference=str(attempt.pk))
    except DeliveryError as exc:
        attempt.last_error = exc.reason
        if isinstance(exc, PermanentDeliveryError) or final_try:
            _mark_failed(attempt, now)
            return SendOutcome.FAILED
        attempt.save(update_fields=["tries", "backend", "last_error"])
        return SendOutcome.RETRY
    attempt.status = DeliveryAttempt.Status.SENT
    metrics.DELIVERIES.labels(channel=attempt.channel, outcome="sent").inc()
    attempt.provider_id = provider_id[:100]
    attempt.sent_at = now
    attempt.last_error = ""
    attempt.save(update_fields=["status", "provider_id", "sent_at", "tries", "backend",
                                "last_error"])
    if attempt.purpose == Purpose.ONE_TIME_CODE:
        # Sent: the clear code is no longer needed anywhere.
        OneTimeCode.objects.filter(delivery=attempt).update(pending_code=None)
    if getattr(backend, "delivers_immediately", False):
        record_delivery_status(provider_id=attempt.provider_id, status="delivered", at=now)
    return SendOutcome.SENT


@transaction.atomic
def send_batch(*, pending, limit: int) -> tuple[int, list]:
    """Send up to `limit` waiting invitations of `pending` (a DeliveryAttempt queryset,
    e.g. a clinic list's) with a few queries for all.

    The same checks as send_message (link still open, patient not opted out, a token to
    send), with the rows loaded, and their outcomes written, in bulk. Rows another
    worker holds are skipped, so several workers share a list without waiting. Returns
    how many were taken, and the ids that need a retry (for send_message_task).
    """
    now = timezone.now()
    attempts = list(
        pending.select_for_update(of=("self",), skip_locked=True)
        .select_related("link__version", "link__patient__organisation")
        .filter(status=DeliveryAttempt.Status.PENDING, tries=0)
        .exclude(purpose=Purpose.ONE_TIME_CODE).order_by("created_at")[:limit])
    link_ids = [a.link_id for a in attempts]
    closed = set(Submission.objects.filter(link_id__in=link_ids,
                                           state__in=CLOSED_SUBMISSION_STATES)
                 .values_list("link_id", flat=True))
    tokens = {s.link_id: s.token for s in LinkSecret.objects.filter(link_id__in=link_ids)}
    templates, backends, retry, delivered = {}, {}, [], []
    for attempt in attempts:
        link, patient = attempt.link, attempt.link.patient
        reason = None
        if not link.is_open_at(now) or link.pk in closed:
            reason = "link closed"
        elif channel_problem(patient, attempt.channel):
            reason = channel_problem(patient, attempt.channel).replace("_", " ")
        elif link.pk not in tokens:
            reason = "nothing to send"
        if reason:
            attempt.status, attempt.last_error = DeliveryAttempt.Status.NOT_SENT, reason
            metrics.DELIVERIES.labels(channel=attempt.channel, outcome="not_sent").inc()
            continue
        key = (patient.organisation_id, attempt.purpose, attempt.channel)
        if key not in templates:
            templates[key] = template_for(organisation=patient.organisation,
                                          purpose=attempt.purpose, channel=attempt.channel)
        message = messages.fill(templates[key], purpose=attempt.purpose,
                                values={**_link_values(link),
                                        "link": _link_url(link, tokens[link.pk])})
        if attempt.channel not in backends:
            backends[attempt.channel] = backend_for(attempt.channel)
        backend = backends[attempt.channel]
        attempt.tries, attempt.backend = 1, backend.name
        try:
            attempt.provider_id = backend.send(
                channel=attempt.channel, to=contact_for(patient, attempt.channel),
                message=message, reference=str(attempt.pk))[:100]
        except PermanentDeliveryError as exc:
            attempt.last_error = exc.reason
            _mark_failed(attempt, now, save=False)
            continue
        except DeliveryError as exc:
            attempt.last_error = exc.reason
            retry.append(attempt.pk)
            continue
        attempt.status, attempt.sent_at, attempt.last_error = (
            DeliveryAttempt.Status.SENT, now, "")
        metrics.DELIVERIES.labels(channel=attempt.channel, outcome="sent").inc()
        if getattr(backend, "delivers_immediately", False):
            attempt.status, attempt.delivered_at = DeliveryAttempt.Status.DELIVERED, now
            delivered.append(link.pk)
    DeliveryAttempt.objects.bulk_update(
        attempts, ["status", "last_error", "tries", "backend", "provider_id", "sent_at",
                   "delivered_at", "failed_at"])
    Link.objects.filter(pk__in=delivered, delivered_at__isnull=True).update(delivered_at=now)
    return len(attempts), retry


def _mark_failed(attempt, now, save=True):
    attempt.status = DeliveryAttempt.Status.FAILED
    attempt.failed_at = now
    metrics.DELIVERIES.labels(channel=attempt.channel, outcome="failed").inc()
    if save:
        attempt.save(update_fields=["status", "failed_at", "tries", "backend", "last_error"])
    record_audit(by="system", action=AuditEvent.Action.MESSAGE_FAILED,
                 patient=attempt.link.patient, obj=attempt,
                 detail={"channel": attempt.channel, "purpose": attempt.purpose,
                         "error": attempt.last_error})


@transaction.atomic
def record_send_failure(*, attempt_id, reason: str) -> None:
    """The task gave up retrying: show staff the message failed."""
    attempt = (DeliveryAttempt.objects.select_for_update(of=("self",))
               .select_related("link__patient").get(pk=attempt_id))
    if attempt.status in {DeliveryAttempt.Status.PENDING, DeliveryAttempt.Status.SENT}:
        attempt.last_error = reason[:200]
        _mark_failed(attempt, timezone.now())


@transaction.atomic
def record_delivery_status(*, provider_id: str, status: str | None,
                           at: datetime.datetime | None = None) -> bool:
    """A provider's receipt: delivered sets the link's delivered_at; failed shows staff."""
    if status not in {"delivered", "failed"} or not provider_id:
        return False
    attempt = (DeliveryAttempt.objects.select_for_update(of=("self",))
               .select_related("link__patient").filter(provider_id=provider_id).first())
    if attempt is None or attempt.status in {DeliveryAttempt.Status.DELIVERED,
                                             DeliveryAttempt.Status.FAILED}:
        return False
    at = at or timezone.now()
    if status == "delivered":
        attempt.status = DeliveryAttempt.Status.DELIVERED
        attempt.delivered_at = at
        attempt.save(update_fields=["status", "delivered_at"])
        Link.objects.filter(pk=attempt.link_id, delivered_at__isnull=True).update(
            delivered_at=at)
    else:
        attempt.last_error = "provider reported failure"
        _mark_failed(attempt, at)
    return True


# --- Staff actions on a link -------------------------------------------------------

@transaction.atomic
def resend_link(*, link: Link, channel, by) -> DeliveryAttempt:
    """Send the same link again, by the same or the other channel (the fallback)."""
    link = Link.objects.select_for_update().select_related("patient").get(pk=link.pk)
    now = timezone.now()
    if channel not in MESSAGE_CHANNELS:
        raise core.ServiceError("Choose text message or email.")
    if link_is_closed(link, now):
        raise core.ServiceError("This link is closed (submitted, revoked or expired): "
                                "extend it or issue a new one.")
    problem = channel_problem_text(link.patient, channel)
    if problem:
        raise core.ServiceError(problem)
    if not LinkSecret.objects.filter(link=link).exists():
        raise core.ServiceError("This link was shown on screen or printed, so it cannot be "
                                "sent: issue a new link instead.")
    attempt = queue_message(link=link, purpose=Purpose.INVITATION, channel=channel, by=by)
    record_audit(by=by, action=AuditEvent.Action.LINK_RESENT, patient=link.patient, obj=link,
                 detail={"channel": channel})
    return attempt


@transaction.atomic
def extend_link(*, link: Link, expires_at: datetime.datetime, by) -> Link:
    link = Link.objects.select_for_update().select_related("patient").get(pk=link.pk)
    now = timezone.now()
    if link.revoked_at is not None:
        raise core.ServiceError("A revoked link cannot be extended: issue a new one.")
    if Submission.objects.filter(link=link, state__in=CLOSED_SUBMISSION_STATES).exists():
        raise core.ServiceError("This form has already been submitted.")
    if expires_at <= now:
        raise core.ServiceError("The new expiry must be in the future.")
    if expires_at <= link.expires_at:
        raise core.ServiceError("The new expiry must be later than the current one.")
    previous = link.expires_at
    link.expires_at = expires_at
    link.save(update_fields=["expires_at"])
    record_audit(by=by, action=AuditEvent.Action.LINK_EXTENDED, patient=link.patient,
                 obj=link, detail={"from": previous.isoformat(), "to": expires_at.isoformat()})
    return link


# --- Reminders and closing ---------------------------------------------------------

def due_reminder(link: Link, now) -> int | None:
    """The reminder number due now for this link (1-based), or None."""
    schedule = link.version.form.reminder_schedule
    due = [n for n, days in enumerate(schedule, start=1)
           if link.issued_at + datetime.timedelta(days=days) <= now]
    return due[-1] if due else None


@transaction.atomic
def remind(*, link_id, now=None) -> DeliveryAttempt | None:
    """Queue the reminder due for a link, once: a reminder number is unique per link,
    and a later one supersedes any earlier one missed (beat was down)."""
    now = now or timezone.now()
    link = (Link.objects.select_for_update(of=("self",))
            .select_related("version__form", "patient").get(pk=link_id))
    if link.channel not in MESSAGE_CHANNELS or link_is_closed(link, now):
        return None
    if channel_problem(link.patient, link.channel):
        return None  # opted out, or the contact was removed, since the link was issued
    sequence = due_reminder(link, now)
    if sequence is None or link.deliveries.filter(purpose=Purpose.REMINDER,
                                                  sequence__gte=sequence).exists():
        return None
    try:
        with transaction.atomic():
            attempt = queue_message(link=link, purpose=Purpose.REMINDER, channel=link.channel,
                                    by="system", sequence=sequence)
    except IntegrityError:
        return None
    record_audit(by="system", action=AuditEvent.Action.LINK_REMINDED, patient=link.patient,
                 obj=link, detail={"reminder": sequence})
    return attempt


def links_to_remind(now):
    """Open links sent by message whose form has reminders and the first is due."""
    return (Link.objects.filter(revoked_at__isnull=True, expires_at__gt=now,
                                channel__in=list(MESSAGE_CHANNELS))
            .exclude(version__form__reminder_days="")
            .exclude(submission__state__in=CLOSED_SUBMISSION_STATES)
            .filter(issued_at__lte=now - datetime.timedelta(days=1)))


@transaction.atomic
def mark_closed_links(*, now=None) -> int:
    """Forget the tokens of closed links and cancel their unsent messages.

    Revoked and submitted links close at once; expired ones after a grace period in
    which staff may still extend and resend them.
    """
    now = now or timezone.now()
    grace = now - datetime.timedelta(days=settings.LINK_SECRET_GRACE_DAYS)
    closed = (Link.objects.filter(revoked_at__isnull=False)
              | Link.objects.filter(expires_at__lte=grace)
              | Link.objects.filter(submission__state__in=CLOSED_SUBMISSION_STATES))
    deleted, _ = LinkSecret.objects.filter(link__in=closed.values("pk")).delete()
    # Unsent invitations and reminders of any closed or expired link are cancelled.
    unsendable = (Link.objects.filter(revoked_at__isnull=False)
                  | Link.objects.filter(expires_at__lte=now)
                  | Link.objects.filter(submission__state__in=CLOSED_SUBMISSION_STATES))
    DeliveryAttempt.objects.filter(
        status=DeliveryAttempt.Status.PENDING, link__in=unsendable.values("pk"),
    ).exclude(purpose=Purpose.ONE_TIME_CODE).update(
        status=DeliveryAttempt.Status.NOT_SENT, last_error="link closed")
    return deleted


# --- One-time codes ----------------------------------------------------------------

def _hash_code(code_id, code: str) -> str:
    # Keyed with SECRET_KEY: a database copy alone cannot test the million codes.
    return salted_hmac("forms_app.one_time_code", f"{code_id}:{code}").hexdigest()


def code_channel(link: Link) -> str | None:
    """The link's own channel if it is a message channel, else whichever works."""
    preferred = [link.channel] if link.channel in MESSAGE_CHANNELS else []
    for channel in [*preferred, Channel.SMS, Channel.EMAIL]:
        if channel_problem(link.patient, channel) is None:
            return channel
    return None


@transaction.atomic
def send_one_time_code(*, link_id, ip_address=None) -> OneTimeCode | None:
    """Create a six-digit code for the identity check and queue it to the contact on
    record. None if the patient has no contact it may be sent to. A code sent in the
    last minute is not sent again (a double click, a reload)."""
    now = timezone.now()
    link = Link.objects.select_for_update().select_related("patient").get(pk=link_id)
    recent = (link.one_time_codes.filter(used_at__isnull=True,
                                         created_at__gt=now - datetime.timedelta(minutes=1))
              .first())
    if recent is not None:
        return recent
    channel = code_channel(link)
    if channel is None:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    # Any earlier code stops working: only the newest may be entered.
    link.one_time_codes.filter(used_at__isnull=True).update(used_at=now)
    otc = OneTimeCode(link=link, channel=channel, pending_code=code,
                      expires_at=now + datetime.timedelta(
                          minutes=settings.ONE_TIME_CODE_MINUTES))
    otc.code_hash = _hash_code(otc.pk, code)
    otc.delivery = queue_message(link=link, purpose=Purpose.ONE_TIME_CODE, channel=channel,
                                 by="system")
    otc.save()
    record_audit(by="patient", action=AuditEvent.Action.CODE_SENT, patient=link.patient,
                 obj=link, ip_address=ip_address, detail={"channel": channel})
    return otc


@transaction.atomic
def verify_one_time_code(*, link_id, code: str, ip_address=None) -> str:
    """Check the code; wrong codes count against the date-of-birth lockout."""
    now = timezone.now()
    link = Link.objects.select_for_update().select_related("patient").get(pk=link_id)
    if link.is_locked_at(now):
        return core.IdentityCheck.LOCKED
    otc = link.one_time_codes.filter(used_at__isnull=True, expires_at__gt=now).first()
    if otc is None or not hmac.compare_digest(otc.code_hash, _hash_code(otc.pk, code)):
        return core.count_failed_check(link=link, now=now, ip_address=ip_address)
    otc.used_at = now
    otc.pending_code = None
    otc.save(update_fields=["used_at", "pending_code"])
    core.confirm_identity(link=link, ip_address=ip_address)
    return core.IdentityCheck.VERIFIED
