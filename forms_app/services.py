"""Write operations of the forms app.

Each is a keyword-only function in one transaction, taking the actor (`by`: a staff
user, "patient" or "system") and recording its audit event in that same transaction.
Views, admin actions and tasks call these and hold no rules of their own.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from forms_app import fhir, metrics
from forms_app.design import checks
from forms_app.design.checks import publish_problems
from forms_app.design.export import load_draft
from forms_app.models import Form, FormVersion, Link, Submission, hash_token
from forms_app.selectors import compiled_version
from patients.models import AuditEvent, RecordEntry
from patients.services import record_audit

logger = logging.getLogger(__name__)

SUBMISSION_SOURCE = "forms_app.submission"


class ServiceError(Exception):
    """A request the rules refuse; the message is safe to show to the person."""


class AlreadySubmitted(ServiceError):
    pass


class LinkClosed(ServiceError):
    pass


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
               expires_at: datetime.datetime | None = None) -> IssuedLink:
    """Create a one-time link; the token is returned here once and never stored."""
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
    token = Link.new_token()
    link = Link(version=version, patient=patient, care_team=care_team, channel=channel,
                issued_by=by if not isinstance(by, str) else None, expires_at=expires_at)
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
        link.locked_until = now + datetime.timedelta(minutes=settings.LINK_LOCK_MINUTES)
        link.failed_checks = 0
        update_fields.append("locked_until")
        metrics.LINK_LOCKOUTS.inc()
    link.save(update_fields=update_fields)
    locked = "locked_until" in update_fields
    record_audit(by="patient",
                 action=(AuditEvent.Action.LINK_LOCKED if locked
                         else AuditEvent.Action.IDENTITY_FAILED),
                 patient=link.patient, obj=link, ip_address=ip_address)
    return IdentityCheck.LOCKED if locked else IdentityCheck.WRONG


def confirm_identity(*, link: Link, ip_address=None) -> None:
    """The whole identity check passed (the caller holds the link's row lock)."""
    link.failed_checks = 0
    link.locked_until = None
    link.save(update_fields=["failed_checks", "locked_until"])
    Submission.objects.get_or_create(link=link)
    record_audit(by="patient", action=AuditEvent.Action.IDENTITY_VERIFIED,
                 patient=link.patient, obj=link, ip_address=ip_address)


@transaction.atomic
def save_progress(*, submission_id, wizard_state: dict, draft_answers: dict) -> bool:
    """Keep the patient's place and answers so far; False once the form is submitted."""
    updated = Submission.objects.filter(
        pk=submission_id, state=Submission.State.IN_PROGRESS
    ).update(wizard_state=wizard_state, draft_answers=draft_answers,
             updated_at=timezone.now())
    return bool(updated)


@transaction.atomic
def submit(*, submission_id, answers: dict, ip_address=None) -> Submission:
    """The patient's final submit: answers and state in one transaction, then filing.

    The submission row is the outbox: filing is enqueued only once this commits, and
    the sweeper re-enqueues it if that publish is lost.
    """
    submission = (Submission.objects.select_for_update()
                  .select_related("link__version", "link__patient").get(pk=submission_id))
    if submission.state != Submission.State.IN_PROGRESS:
        raise AlreadySubmitted("This form has already been submitted.")
    now = timezone.now()
    link = submission.link
    if not link.is_open_at(now):
        raise LinkClosed("This link has expired or been withdrawn.")
    compiled = compiled_version(link.version)
    kept = compiled.prune(answers)
    submission.answers = kept
    submission.evaluation = compiled.evaluate(kept).as_dict()
    submission.state = Submission.State.SUBMITTED
    submission.submitted_at = now
    submission.updated_at = now
    submission.wizard_state = None
    submission.draft_answers = None
    submission.save(update_fields=["answers", "evaluation", "state", "submitted_at",
                                   "updated_at", "wizard_state", "draft_answers"])
    record_audit(by="patient", action=AuditEvent.Action.SUBMITTED, patient=link.patient,
                 obj=submission, ip_address=ip_address)
    transaction.on_commit(lambda: enqueue_filing(submission.pk))
    return submission


def enqueue_filing(submission_id) -> bool:
    """Publish the filing task; a broker outage is logged, never raised to the patient."""
    from forms_app.tasks import file_submission_task

    try:
        file_submission_task.delay(str(submission_id))
    except Exception:
        # The submission is safely stored; the sweeper will enqueue it again.
        logger.warning("Could not enqueue filing of submission %s", submission_id,
                       exc_info=True)
        return False
    return True


# --- Filing ------------------------------------------------------------------------

@transaction.atomic
def file_submission(*, submission_id, by="system"):
    """File a submitted form into every configured destination, exactly once.

    The submission row is locked for the whole filing, so two workers given the same
    task run one after the other, and the second finds it filed and does nothing. An
    external FHIR server is protected by its conditional create instead: if this
    transaction dies after the POST (worker killed, database restarted), the retry's
    POST finds the first one by its identifier and creates nothing.
    Returns the internal record entry (None when the internal record is not a
    destination).
    """
    from forms_app.filing import hooks
    from forms_app.filing.destinations import Filing, configured_destinations, file_into
    from forms_app.filing.services import escalate_flags, validated_response

    hooks.pause("before-lock")
    submission = (Submission.objects.select_for_update(of=("self",))
                  .select_related("link__version", "link__patient", "link__care_team")
                  .get(pk=submission_id))
    if submission.state == Submission.State.IN_PROGRESS:
        raise ServiceError("This submission has not been submitted yet.")
    if submission.state == Submission.State.FILED:
        return RecordEntry.objects.filter(source_kind=SUBMISSION_SOURCE,
                                          source_id=submission.pk).first()
    compiled = compiled_version(submission.link.version)
    from forms_app.filing.pdf import submission_pdf

    filing = Filing(
        submission=submission, patient=submission.link.patient,
        questionnaire_response=validated_response(fhir.questionnaire_response(
            submission, compiled)),
        evaluation=submission.evaluation, pdf=submission_pdf(submission, compiled), by=by)
    results = {d.name: file_into(d, filing) for d in configured_destinations(SUBMISSION_SOURCE)}
    hooks.pause("after-destinations")
    submission.state = Submission.State.FILED
    submission.filed_at = timezone.now()
    submission.filing_attempts += 1
    submission.last_error = ""
    submission.save(update_fields=["state", "filed_at", "filing_attempts", "last_error"])
    if "fhir" in results:
        # (The internal record audits its own entry in add_record_entry.)
        record_audit(by=by, action=AuditEvent.Action.FILED_EXTERNALLY,
                     patient=submission.link.patient, obj=submission,
                     detail={"status": results["fhir"]["status"],
                             "location": results["fhir"]["location"]})
    escalate_flags(submission=submission, by=by)
    return results["internal"]["entry"] if "internal" in results else None


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
