"""Retention: drafts and answers past their time are deleted, and the deletion audited."""

import datetime

import pytest
from django.utils import timezone

from forms_app import services
from forms_app.models import RetentionPolicy, Submission
from forms_app.retention import apply_retention
from forms_app.tasks import apply_retention_task
from patients.models import AuditEvent, RecordEntry
from tests.factories.world import ANSWER_MARKER, build_world

pytestmark = pytest.mark.django_db


def _draft(world, *, expires_in_days):
    issued = services.issue_link(version=world.link.version, patient=world.patient,
                                 care_team=world.team, by=world.users["right_team"],
                                 expires_at=timezone.now() + datetime.timedelta(
                                     days=expires_in_days))
    services.verify_identity(link_id=issued.link.pk, date_of_birth=world.patient.date_of_birth)
    submission = Submission.objects.get(link=issued.link)
    services.save_progress(submission_id=submission.pk, wizard_state={"step": "page"},
                           draft_answers={"notes": "half written"})
    return submission


def test_answers_are_kept_until_the_form_retention_then_deleted_and_audited():
    world = build_world()
    policy = world.retention
    now = timezone.now()
    assert apply_retention(now=now) == {"drafts_deleted": 0, "answers_deleted": 0}
    later = world.submission.filed_at + datetime.timedelta(days=policy.days_after_filing + 1)
    totals = apply_retention(now=later)
    assert totals["answers_deleted"] == 1
    submission = Submission.objects.get(pk=world.submission.pk)
    assert submission.answers is None
    assert submission.state == Submission.State.FILED and submission.evaluation is not None
    # The record keeps its copy (records management decides its lifetime).
    assert ANSWER_MARKER in str(RecordEntry.objects.get(pk=world.record_entry.pk).resource)
    event = AuditEvent.objects.get(action=AuditEvent.Action.RETENTION_APPLIED)
    assert event.actor_label == "system" and event.detail["answers_deleted"] == 1
    assert event.object_id == str(world.form.pk)
    assert apply_retention(now=later)["answers_deleted"] == 0  # idempotent


def test_expired_drafts_are_deleted_open_ones_kept():
    world = build_world()
    RetentionPolicy.objects.filter(form=world.form).update(draft_days=2)
    open_draft = _draft(world, expires_in_days=10)
    closing = _draft(world, expires_in_days=1)
    totals = apply_retention(now=timezone.now() + datetime.timedelta(days=4))
    assert totals["drafts_deleted"] == 1
    closing.refresh_from_db()
    open_draft.refresh_from_db()
    assert closing.draft_answers is None and closing.wizard_state is None
    assert open_draft.draft_answers == {"notes": "half written"}


def test_forms_without_a_policy_use_the_defaults(settings):
    world = build_world()
    world.retention.delete()
    settings.RETENTION_DAYS_AFTER_FILING = 1
    assert apply_retention_task.delay().get()["answers_deleted"] == 0
    later = timezone.now() + datetime.timedelta(days=2)
    assert apply_retention(now=later)["answers_deleted"] == 1


def test_the_task_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["apply-retention"]["task"] == (
        "forms_app.tasks.apply_retention_task")


def test_the_task_forgets_dead_staff_sessions(settings):
    from patients.models import StaffSession
    from tests.factories.patients import UserFactory

    user = UserFactory(password=None)
    old = timezone.now() - datetime.timedelta(seconds=settings.STAFF_SESSION_MAX_SECONDS + 60)
    StaffSession.objects.create(session_key="old", user=user, started_at=old)
    StaffSession.objects.create(session_key="live", user=user)
    apply_retention_task.delay()
    assert list(StaffSession.objects.values_list("session_key", flat=True)) == ["live"]
