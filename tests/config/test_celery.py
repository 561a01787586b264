"""One enqueue helper: a broker outage is logged and reported, never raised."""

import logging

import pytest

from config.celery import enqueue
from forms_app.tasks import file_submission_task
from patients import fallbacks


def test_a_refused_publish_is_a_warning_and_false(monkeypatch, caplog):
    fallbacks.reset()

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(file_submission_task, "apply_async", refuse)
    caplog.set_level(logging.WARNING)
    assert enqueue("forms_app.tasks.file_submission_task", "abc",
                   what="filing of submission abc") is False
    (record,) = [r for r in caplog.records if r.name == "config.celery"]
    assert record.levelno == logging.WARNING
    assert "filing of submission abc" in record.getMessage()
    assert fallbacks.FALLBACKS[("broker", "publish failed")] == 1


def test_a_publish_passes_its_arguments(monkeypatch):
    sent = []
    monkeypatch.setattr(file_submission_task, "apply_async",
                        lambda args, **options: sent.append((args, options)))
    assert enqueue("forms_app.tasks.file_submission_task", "abc", what="x",
                   countdown=3) is True
    assert sent == [(("abc",), {"countdown": 3})]


def test_a_wrong_task_path_is_a_bug_and_raises():
    with pytest.raises(ImportError):
        enqueue("forms_app.tasks.no_such_task", what="nothing")
