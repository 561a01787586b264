"""Write operations of the forms app.

Each is a keyword-only function in one transaction, taking the actor (`by`: a staff
user, "patient" or "system") and recording its audit event in that same transaction.
Views, admin actions and tasks call these and hold no rules of their own.
"""

import datetime
import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from config.celery import enqueue
from forms_app import fhir, metrics
from forms_app.design import checks
from forms_app.design.checks import publish_problems
from forms_app.design.export import load_draft
from forms_app.filing.batch import SUBMISSION_SOURCE, file_batch
from forms_app.models import (
    Appointment,
    Form,
    FormVersion,
    Link,
    Submission,
    SubmissionFile,
    hash_token,
)
from forms_app.selectors import compiled_version
from patients.errors import DomainError
from patients.models import AuditEvent, RecordEntry
from patients.services import record_audit

logger = logging.getLogger(__name__)



class ServiceError(DomainError):
    """A request the rules refuse; the message is safe to show to the person."""


class AlreadySubmitted(ServiceError):
    status_code = 409
    code = "conflict"


class LinkClosed(ServiceError):
    status_code = 409
    code = "conflict"


# --- Form design -------------------------------------------------------------------

@transaction.atomic
def publish_form(*, form: Form, by, change_note: str = "") -> FormVersion:
    """Freeze the draft into a new immutable version, refusing an invalid draft."""
    # Lock the form so two publishers cannot take the same version number.
    form = Form.objects.select_for_update().select_related("organisation").get(pk=form.pk)
    number = (form.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = load_draft(form)
    definition = fhir.draft_to_questionnaire(form, version_number=number, draft=draft)
    problems = publish_problems(form, definition, draft)
    if problems:
        raise ValidationError(problems)
    version = FormVersion.objects.create(
        form=form, number=number, title=form.title, definition=definition,
        change_note=change_note, published_by=by,
    )
    record_audit(by=by, action=AuditEvent.Action.FORM_PUBLISHED,
                 organisation=form.organisation, obj=version, detail={"number": number})
    return version


def draft_problems(form: Form) -> list[str]:
    """What the draft model knows is wrong that the definition alone cannot show."""
    return checks.draft_problems(form)


# --- Links -------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedLink:
    link: Link
    token: str

    @property
    def path(self) -> str:
        return reverse("patient:start", kwargs={"token": self.token})

    @property
    def url(self) -> str:
        return settings.SITE_URL + self.path


@transaction.atomic
def issue_link(*, version: FormVersion, patient, care_team, by,
               channel: str = Link.Channel.SCREEN,
               expires_at: datetime.datetime | None = None,
               appointment: Appointment | None = None) -> IssuedLink:
    """Create a one-time link; the token is returned here once and never stored.

    The link is for `appointment`, or else for the patient's next appointment with the
    team (so whiteboards show it against that appointment), or for none.
    """
    now = timezone.now()
    if not version.is_live:
        raise ServiceError("This form version has been retired; issue the current version.")
    if care_team.organisation_id != patient.organisation_id:
        raise ServiceError("The patient and the care team belong to different organisations.")
    if version.form.organisation_id != care_team.organisation_id:
        raise ServiceError("This form belongs to another organisation.")
    if expires_at is None:
        expires_at = now + datetime.timedelta(days=settings.LINK_DEFAULT_DAYS)
    if expires_at <= now:
        raise ServiceError("The expiry must be in the future.")
    if appointment is None:
        appointment = Appointment.objects.next_for(care_team=care_team, patient=patient,
                                                   now=now)
    elif appointment.care_team_id != care_team.pk or appointment.patient_id != patient.pk:
        raise ServiceError("This appointment is not the patient's with this care team.")
    token = Link.new_token()
    link = Link(version=version, patient=patient, care_team=care_team, channel=channel,
                issued_by=by if not isinstance(by, str) else None, expires_at=expires_at,
                appointment=appointment)
    link.token_hash = hash_token(token)
    link.save()
    patient.care_teams.add(care_team)
    record_audit(by=by, action=AuditEvent.Action.LINK_ISSUED, patient=patient, obj=link,
                 detail={"version": str(version.pk), "channel": channel})
    return IssuedLink(link=link, token=token)


@transaction.atomic
def revoke_link(*, link: Link, by) -> Link:
    link = Link.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        record_audit(by=by, action=AuditEvent.Action.LINK_REVOKED, patient=link.patient,
                     obj=link)
    return link


@transaction.atomic
def unlock_link(*, link: Link, by) -> Link:
    """The clinic lets the patient try again at once (a phone call has confirmed who
    they are): the lock, the wrong tries and the lock's escalation start again."""
    link = Link.objects.select_for_update().get(pk=link.pk)
    link.failed_checks, link.locked_until, link.lockouts = 0, None, 0
    link.save(update_fields=["failed_checks", "locked_until", "lockouts"])
    record_audit(by=by, action=AuditEvent.Action.LINK_UNLOCKED, patient=link.patient,
                 obj=link)
    return link


# --- The patient's journey ---------------------------------------------------------

def record_link_opened(*, link: Link) -> None:
    """Note the first time a patient followed the link (staff see it as "opened")."""
    Link.objects.filter(pk=link.pk, first_opened_at__isnull=True).update(
        first_opened_at=timezone.now())


class IdentityCheck:
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"


@transaction.atomic
def verify_identity(*, link_id, date_of_birth: datetime.date, ip_address=None,
                    final: bool = True) -> str:
    """Check the patient's date of birth against the link's patient.

    Failures are counted on the link, whatever the IP address; too many lock it for a
    while. On success the link's submission (the patient's draft) exists. With
    `final=False` (a one-time code must follow) a match leaves the failure count as it
    is, so that the code's wrong guesses count against the same lockout.
    """
    now = timezone.now()
    link = Link.objects.select_for_update().select_related("patient").get(pk=link_id)
    if link.is_locked_at(now):
        return IdentityCheck.LOCKED
    if link.patient.date_of_birth != date_of_birth:
        return count_failed_check(link=link, now=now, ip_address=ip_address)
    if final:
        confirm_identity(link=link, ip_address=ip_address)
    return IdentityCheck.VERIFIED


def count_failed_check(*, link: Link, now, ip_address=None) -> str:
    """One wrong answer to the identity check (the caller holds the link's row lock)."""
    link.failed_checks += 1
    update_fields = ["failed_checks"]
    metrics.IDENTITY_CHECK_FAILURES.inc()
    if link.failed_checks >= settings.LINK_MAX_FAILED_CHECKS:
        link.lockouts += 1
        link.locked_until = now + datetime.timedelta(minutes=lock_minutes(link.lockouts))
        link.failed_checks = 0
        update_fields += ["locked_until", "lockouts"]
        metrics.LINK_LOCKOUTS.inc()
    link.save(update_fields=update_fields)
    locked = "locked_until" in update_fields
    record_audit(by="patient",
                 action=(AuditEvent.Action.LINK_LOCKED if locked
                         else AuditEvent.Action.IDENTITY_FAILED),
                 patient=link.patient, obj=link, ip_address=ip_address)
    return IdentityCheck.LOCKED if locked else IdentityCheck.WRONG


def lock_minutes(lockouts: int) -> int:
    """How long the link's n-th lock lasts: short at first, doubling, capped."""
    return min(settings.LINK_LOCK_MINUTES,
               settings.LINK_LOCK_FIRST_MINUTES * 2 ** max(lockouts - 1, 0))


def confirm_identity(*, link: Link, ip_address=None) -> None:
    """The whole identity check passed (the caller holds the link's row lock)."""
    link.failed_checks = 0
    link.locked_until = None
    link.lockouts = 0
    link.save(update_fields=["failed_checks", "locked_until", "lockouts"])
    Submission.objects.get_or_create(link=link)
    record_audit(by="patient", action=AuditEvent.Action.IDENTITY_VERIFIED,
                 patient=link.patient, obj=link, ip_address=ip_address)


@transaction.atomic
@transaction.atomic
def claim_device(*, link_id, ip_address=None) -> str:
    """Make the session that has just passed the identity check the link's one active
    device; returns the token that session keeps. Any other session holding the link
    is turned away on its next request (forms_app.views.patient, _verified_submission).
    Taking the form over from another device is audited: the trail then shows when a
    second browser carried on with a patient's answers."""
    token = secrets.token_urlsafe(32)
    submission = (Submission.objects.select_for_update(of=("self",))
                  .select_related("link__patient")
                  .filter(link_id=link_id, state=Submission.State.IN_PROGRESS).first())
    if submission is None:
        return token
    if submission.device:
        record_audit(by="patient", action=AuditEvent.Action.DEVICE_TAKEN_OVER,
                     patient=submission.link.patient, obj=submission,
                     ip_address=ip_address)
    submission.device = device_fingerprint(token)
    submission.save(update_fields=["device"])
    return token


def device_fingerprint(token: str) -> str:
    """What the submission row keeps of a device's token: its SHA-256, so that a copy of
    the database (a backup, a read replica, a support query) holds nothing a browser
    could present to carry on with a patient's form."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def save_progress(*, submission_id, wizard_state: dict, draft_answers: dict,
                  device: str | None = None) -> bool:
    """Keep the patient's place and answers so far; False once the form is submitted, or
    (with ``device``, the row's device fingerprint as the caller read it) once another
    device has taken the form over."""
    # The UPDATE the ORM would make of filter(pk, state, device__in).update(...), its
    # SQL written once: every page a patient saves runs it, and the ORM took longer to
    # build it than PostgreSQL to run it (issue 12). The values go through the fields'
    # own preparation (the drafts are encrypted by theirs).
    connection = transaction.get_connection()
    fields = Submission._meta
    values = [fields.get_field(name).get_db_prep_save(value, connection) for name, value in (
        ("wizard_state", wizard_state), ("draft_answers", draft_answers),
        ("updated_at", timezone.now()), ("id", submission_id),
        ("state", Submission.State.IN_PROGRESS))]
    if device is not None:
        values.append(fields.get_field("device").get_db_prep_save(device, connection))
    with connection.cursor() as cursor:
        cursor.execute(_progress_sql(connection.vendor, device is not None), values)
        return cursor.rowcount == 1


@functools.cache
def _progress_sql(vendor, with_device: bool) -> str:
    connection = transaction.get_connection()
    quote, meta = connection.ops.quote_name, Submission._meta

    def column(name):
        return quote(meta.get_field(name).column)

    # Names from the model's own metadata, never from input; the values are parameters.
    sql = (f"UPDATE {quote(meta.db_table)} SET {column('wizard_state')} = %s, "  # noqa: S608
           f"{column('draft_answers')} = %s, {column('updated_at')} = %s "
           f"WHERE {column('id')} = %s AND {column('state')} = %s")
    if with_device:
        sql += f" AND {column('device')} IN (%s, '')"
    return sql


@transaction.atomic
def store_attachment(*, submission_id, link_id: str, upload) -> dict | None:
    """Keep a file the patient attached (an engine UploadedAttachment, already checked),
    encrypted, in place of any earlier one for the same question; its stored answer.
    None once the form is submitted (nothing is written then)."""
    submission = (Submission.objects.select_for_update(of=("self",))
                  .filter(pk=submission_id, state=Submission.State.IN_PROGRESS)
                  .only("id").first())
    if submission is None:
        return None
    SubmissionFile.objects.filter(submission=submission, link_id=link_id).delete()
    stored = SubmissionFile.objects.create(submission=submission, link_id=link_id,
                                           content=upload.content)
    return upload.answer(str(stored.pk))


@transaction.atomic
def submit(*, submission_id, answers: dict, ip_address=None,
           submission: Submission | None = None) -> Submission:
    """The patient's final submit: answers and state in one transaction, then filing.

    The submission row is the outbox: filing is enqueued only once this commits, and
    the sweeper re-enqueues it if that publish is lost. ``submission`` is the row the
    caller has already read (with link__version and link__patient__organisation), so
    it is not read again.
    """
    now = timezone.now()
    if submission is None or submission.pk != submission_id:
        submission = (Submission.objects
                      .select_related("link__version", "link__patient__organisation")
                      .get(pk=submission_id))
    link = submission.link
    if submission.state != Submission.State.IN_PROGRESS:
        raise AlreadySubmitted("This form has already been submitted.")
    if not link.is_open_at(now):
        raise LinkClosed("This link has expired or been withdrawn.")
    compiled = compiled_version(link.version)
    kept = compiled.prune(answers)
    evaluation = compiled.evaluate(kept).as_dict()
    # One conditional UPDATE is the lock: it changes the row only while it is in progress
    # and its link still open, so of two submits at once exactly one wins.
    updated = Submission.objects.filter(
        pk=submission.pk, state=Submission.State.IN_PROGRESS,
        link__revoked_at__isnull=True, link__expires_at__gt=now,
    ).update(answers=kept, evaluation=evaluation, state=Submission.State.SUBMITTED,
             submitted_at=now, updated_at=now, wizard_state=None, draft_answers=None)
    if not updated:
        if Submission.objects.filter(pk=submission.pk).exclude(
                state=Submission.State.IN_PROGRESS).exists():
            raise AlreadySubmitted("This form has already been submitted.")
        raise LinkClosed("This link has expired or been withdrawn.")
    submission.answers, submission.evaluation = kept, evaluation
    submission.state, submission.submitted_at = Submission.State.SUBMITTED, now
    submission.updated_at, submission.wizard_state, submission.draft_answers = now, None, None
    record_audit(by="patient", action=AuditEvent.Action.SUBMITTED, patient=link.patient,
                 organisation=link.patient.organisation, obj=submission,
                 ip_address=ip_address)
    transaction.on_commit(wake_filing)
    return submission


# --- Filing ------------------------------------------------------------------------

def file_submission(*, submission_id, by="system"):
    """File one submitted form into every configured destination, exactly once.

    The submission row is locked for the whole filing (forms_app.filing.batch), so
    two workers given the same submission run one after the other, and the second
    finds it filed and does nothing. An external FHIR server is protected by its
    conditional create instead: if this transaction dies after the POST (worker
    killed, database restarted), the retry's POST finds the first one by its
    identifier and creates nothing. A filing error is raised, nothing written.
    Returns the internal record entry (None when the internal record is not a
    destination).
    """
    result = file_batch(submission_ids=[submission_id], by=by, raise_errors=True)
    if not result.claimed:
        raise Submission.DoesNotExist(f"No submission {submission_id}")
    if result.not_submitted:
        raise ServiceError("This submission has not been submitted yet.")
    if result.already_filed:
        return RecordEntry.objects.filter(source_kind=SUBMISSION_SOURCE,
                                          source_id=submission_id).first()
    return next(iter(result.entries.values()), None)


WAKE_TASK = "forms_app.tasks.file_waiting_submissions_task"
WAKE_SLOT_KEY = "filing-wake-{}"


def wake_filing() -> bool:
    """Have a filing worker file what is waiting (the patient's submit calls this once
    it commits; the submission row itself is the outbox).

    With a shared cache, at most FILING_WAKE_SLOTS wake-ups wait in the queue at once:
    each takes a slot, which its task gives back as it starts and before it claims
    anything, so a submission committed before that is claimed by it, and one after
    finds a slot free and publishes. A backlog of thousands is then a handful of
    messages, not one each. A failed publish gives its slot back at once (so the next
    submit publishes again); a task that finds its slot already gone has others
    re-checked once every slot has expired (forms_app.tasks); whatever is left the
    sweeper files.
    """
    slot = _take_wake_slot()
    if slot is False:
        return True  # enough wake-ups already waiting: they will claim this one
    if enqueue(WAKE_TASK, slot, what="a filing wake-up"):
        return True
    release_wake_slot(slot)
    return False


def wake_filing_again(*, after_seconds=None) -> bool:
    """A wake-up holding no slot: a task's successor (at once), or a re-check."""
    return enqueue(WAKE_TASK, what="a filing wake-up", countdown=after_seconds)


def wake_filing_after_slots_expire() -> bool:
    """A wake-up once every slot taken so far has expired: from then on the next
    submit finds a slot free, and anything committed before is claimed by this one."""
    return wake_filing_again(after_seconds=settings.FILING_WAKE_TTL_SECONDS + 1)


def _take_wake_slot():
    """A free slot's key, None when not deduplicating, False when all are taken."""
    if not settings.FILING_WAKE_DEDUP:
        return None
    from django.core.cache import cache

    try:
        for number in range(settings.FILING_WAKE_SLOTS):
            key = WAKE_SLOT_KEY.format(number)
            if cache.add(key, 1, timeout=settings.FILING_WAKE_TTL_SECONDS):
                return key
    except Exception:
        logger.warning("Cache unavailable: waking the filing workers regardless",
                       exc_info=True)
        return None
    return False


def release_wake_slot(slot) -> bool:
    """Give a wake-up slot back. True only if this process's cache held it: False
    means it had expired, or was taken in a cache this process does not share (the
    web's own memory while Redis was down, or a worker not given REDIS_CACHE_URL), and
    may then still be held, keeping submits from waking anyone until it expires."""
    if not slot:
        return False
    from django.core.cache import cache

    try:
        return bool(cache.delete(slot))
    except Exception:
        # It frees itself after FILING_WAKE_TTL_SECONDS.
        logger.warning("Could not release a filing wake-up slot", exc_info=True)
        return False


@transaction.atomic
def record_filing_failure(*, submission_id, error: Exception, final: bool = True) -> None:
    """Show staff that a filing attempt failed, and, when final, that filing failed.

    The message is our own FilingError text (written to carry no patient data) or
    just the error's class name for anything else.
    """
    from forms_app.filing.destinations import FilingError

    submission = (Submission.objects.select_for_update(of=("self",))
                  .select_related("link__patient").get(pk=submission_id))
    if submission.state == Submission.State.FILED:
        return
    message = str(error) if isinstance(error, FilingError) else type(error).__name__
    submission.filing_attempts += 1
    submission.last_error = message if final else f"{message} (retrying)"
    fields = ["filing_attempts", "last_error"]
    if final:
        submission.state = Submission.State.FAILED
        fields.append("state")
    submission.save(update_fields=fields)
    if final:
        record_audit(by="system", action=AuditEvent.Action.FILING_FAILED,
                     patient=submission.link.patient, obj=submission,
                     detail={"error": message})
