import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from forms_app import services
from forms_app.filing import batch
from forms_app.filing import services as filing_services
from forms_app.models import Submission, WorklistTask
from forms_app.tasks import file_waiting_submissions_task, sweep_unfiled_submissions
from patients.models import AuditEvent, RecordEntry
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, phq9_answers, submitted


def submit_phq9(clinic, count=1, **answers):
    user, team, patient, version = clinic
    return [submitted(version, patient=patient, care_team=team, by=user,
                      answers=phq9_answers(**answers)) for _ in range(count)]


def entries_of(submissions):
    return RecordEntry.objects.filter(source_kind=batch.SUBMISSION_SOURCE,
                                      source_id__in=[s.pk for s in submissions])


def test_a_batch_files_each_waiting_submission_once_with_its_audit(clinic):
    waiting = submit_phq9(clinic, count=3)
    result = batch.file_batch(limit=10)

    assert sorted(result.filed) == sorted(s.pk for s in waiting)
    assert entries_of(waiting).count() == 3
    assert set(Submission.objects.values_list("state", "filing_attempts")) == {
        (Submission.State.FILED, 1)}
    filed = AuditEvent.objects.filter(action=AuditEvent.Action.FILED)
    assert filed.count() == 3
    assert {event.organisation_id for event in filed} == {clinic[1].organisation_id}
    # Again: nothing is waiting, nothing is filed twice.
    assert batch.file_batch(limit=10).claimed == 0
    assert entries_of(waiting).count() == 3


def test_queries_per_batch_do_not_grow_with_the_batch(clinic, django_assert_num_queries):
    submit_phq9(clinic, count=2)
    # Lock and load, insert the entries, insert their audit, one update; and the
    # savepoint pair of the test's own transaction (a worker's is its BEGIN/COMMIT).
    with django_assert_num_queries(6):
        assert len(batch.file_batch(limit=50).filed) == 2
    submit_phq9(clinic, count=12)
    with django_assert_num_queries(6):
        assert len(batch.file_batch(limit=50).filed) == 12


def test_flagged_forms_reach_the_worklist_from_a_batch(clinic):
    flagged = submit_phq9(clinic, count=2, item9=PHQ9_SEVERAL_DAYS)
    submit_phq9(clinic)
    batch.file_batch(limit=10)
    assert set(WorklistTask.objects.values_list("submission", flat=True)) == {
        s.pk for s in flagged}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WORKLIST_TASK_CREATED
                                     ).count() == 2


def test_an_invalid_response_fails_alone_and_the_rest_are_filed(clinic, monkeypatch):
    good, bad = submit_phq9(clinic, count=2)
    real = batch.fhir.questionnaire_response

    def build(submission, compiled):
        response = real(submission, compiled)
        if submission.pk == bad.pk:
            response["authored"] = "last Tuesday"
        return response

    monkeypatch.setattr(batch.fhir, "questionnaire_response", build)
    result = batch.file_batch(limit=10)

    assert result.filed == [good.pk]
    bad.refresh_from_db()
    assert bad.state == Submission.State.FAILED
    assert bad.last_error == "The QuestionnaireResponse is not valid FHIR (authored)"
    assert not entries_of([bad]).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FILING_FAILED,
                                     object_id=str(bad.pk)).exists()


def test_a_server_error_leaves_the_batch_to_retry_on_its_own(clinic, fhir_destination):
    first, second = submit_phq9(clinic, count=2)
    fhir_destination.fail_next("500")
    result = batch.file_batch(limit=10)

    # The first POST failed; the second was not tried against a failing server.
    assert fhir_destination.requests == 1
    assert sorted(result.retry) == sorted([first.pk, second.pk])
    assert not RecordEntry.objects.exists()
    for submission in (first, second):
        submission.refresh_from_db()
        assert submission.state == Submission.State.SUBMITTED
        assert submission.filing_attempts == 1
        assert submission.last_error == "The FHIR server answered 500 (retrying)"
    # Batches leave them to their own retries from now on.
    assert batch.file_batch(limit=10).claimed == 0


def test_submissions_locked_elsewhere_are_skipped(clinic):
    submit_phq9(clinic, count=2)
    assert batch.file_batch(limit=1).claimed == 1
    assert batch.file_batch(limit=1).claimed == 1
    assert batch.file_batch(limit=1).claimed == 0


def test_the_pdf_is_attached_after_the_filing_commits(clinic,
                                                     django_capture_on_commit_callbacks):
    (submission,) = submit_phq9(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        batch.file_batch(limit=10)
        assert entries_of([submission]).get().attachments is None
    (attachment,) = entries_of([submission]).get().attachments
    assert attachment["title"] == f"Form {submission.reference}.pdf"
    # Rendering again changes nothing: it only fills entries still without one.
    assert filing_services.attach_documents(submission_ids=[submission.pk]) == 0


def test_the_sweeper_renders_documents_whose_task_was_lost(clinic, settings):
    settings.FILING_SWEEP_AFTER_MINUTES = 1
    (submission,) = submit_phq9(clinic)
    batch.file_batch(limit=10)  # its on-commit rendering never runs here: lost
    RecordEntry.objects.update(filed_at=timezone.now() - datetime.timedelta(minutes=2))

    sweep_unfiled_submissions()  # eager: the re-enqueued rendering runs at once
    assert entries_of([submission]).get().attachments


@pytest.fixture
def wake_dedup(settings):
    settings.FILING_WAKE_DEDUP = True
    settings.FILING_WAKE_SLOTS = 2
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def published(monkeypatch):
    """The wake-ups published (their args and options), none of them run."""
    sent = []

    def apply_async(args=(), **options):
        sent.append((tuple(args), options))

    monkeypatch.setattr(file_waiting_submissions_task, "apply_async", apply_async)
    return sent


def test_wake_ups_are_few_while_they_wait(clinic, wake_dedup, published):
    for _ in range(5):
        assert services.wake_filing()
    assert [args for args, _ in published] == [("filing-wake-0",), ("filing-wake-1",)]
    # A task gives its slot back as it starts: the next submit wakes another.
    assert services.release_wake_slot("filing-wake-0") is True
    services.wake_filing()
    assert published[-1][0] == ("filing-wake-0",)


def test_a_failed_publish_gives_its_slot_back(clinic, wake_dedup, monkeypatch):
    def broker_down(args=(), **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(file_waiting_submissions_task, "apply_async", broker_down)
    assert services.wake_filing() is False
    assert cache.get("filing-wake-0") is None
    assert cache.get("filing-wake-1") is None


def test_a_failed_publish_does_not_stop_the_next_submit_waking(clinic, wake_dedup,
                                                                monkeypatch, published):
    working = file_waiting_submissions_task.apply_async

    def broker_down(args=(), **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(file_waiting_submissions_task, "apply_async", broker_down)
    for _ in range(3):
        assert services.wake_filing() is False
    monkeypatch.setattr(file_waiting_submissions_task, "apply_async", working)
    assert services.wake_filing()
    assert [args for args, _ in published] == [("filing-wake-0",)]


def test_a_task_whose_slot_is_not_in_its_cache_wakes_again_once_slots_expire(
        clinic, wake_dedup, settings, published):
    # Taken where this worker cannot release it (the web's memory while Redis was
    # down, or a worker without REDIS_CACHE_URL): the submits that find it taken wake
    # nobody until it expires, so the task has the waiting re-checked after that.
    settings.FILING_WAKE_TTL_SECONDS = 30
    (waiting,) = submit_phq9(clinic)
    assert file_waiting_submissions_task.apply(args=("filing-wake-0",)).get() == 1
    assert published == [((), {"countdown": 31})]
    assert entries_of([waiting]).count() == 1


def test_a_task_that_gives_its_slot_back_wakes_nothing_more(clinic, wake_dedup, published):
    cache.add("filing-wake-0", 1, timeout=30)
    submit_phq9(clinic)
    assert file_waiting_submissions_task.apply(args=("filing-wake-0",)).get() == 1
    assert cache.get("filing-wake-0") is None
    assert published == []
    # Nor does one without a slot (dedup off, a successor or a re-check itself).
    submit_phq9(clinic)
    assert file_waiting_submissions_task.apply().get() == 1
    assert published == []


def test_the_wake_up_task_files_every_waiting_batch(clinic, settings):
    settings.FILING_BATCH_SIZE = 2
    waiting = submit_phq9(clinic, count=5)
    assert file_waiting_submissions_task.delay().get() == 5
    assert entries_of(waiting).count() == 5


def test_a_worker_process_loads_the_fhir_models_then_freezes_its_startup_heap():
    """A full garbage collection in a filing worker walked every object Django and
    fhir.resources had loaded; frozen, it walks only what filing itself allocates."""
    import gc

    from celery import signals

    from forms_app.filing import observations, validation

    validation._response_class.cache_clear()
    gc.unfreeze()
    try:
        signals.worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 0
        assert validation._response_class.cache_info().currsize == 1
        assert observations.observation_class.cache_info().currsize == 1
    finally:
        gc.unfreeze()
