"""Every publishable form of the corpus (tests/corpus), sent by a patient and filed by a
real Celery worker process: one record entry each, a QuestionnaireResponse that
fhir.resources accepts, and the scores of the instrument's published scoring.

tests/forms_app/test_corpus.py runs the same forms with tasks in-process and checks
their shape in detail; this is the same path with the worker, the broker and the
batched filing as they run in production."""

import pytest
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app.models import Submission
from patients.models import RecordEntry
from tests.corpus import CASES
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify
from tests.forms_app.pages import post_page
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def _send(case) -> Submission:
    issued = corpus_link(case.name)
    client = Client()
    open_and_verify(client, issued.token)
    for step, data in case.pages:
        post_page(client, step, data)
    response = client.post(reverse("patient:check"))
    assert response.status_code == 302 and response.url == reverse("patient:confirmation"), \
        case.name
    return Submission.objects.get(link=issued.link)


def test_the_corpus_is_filed_by_a_real_worker(celery_worker_process):
    cases = [case for case in CASES if case.blocked is None]
    sent = {case.name: _send(case) for case in cases}

    ids = [submission.pk for submission in sent.values()]
    wait_for(lambda: RecordEntry.objects.filter(source_id__in=ids).count() == len(ids),
             timeout=120, what="the worker to file every corpus form")
    for case in cases:
        submission = Submission.objects.get(pk=sent[case.name].pk)
        assert submission.state == Submission.State.FILED, case.name
        assert submission.evaluation["scores"] == case.scores, case.name
        entries = RecordEntry.objects.filter(source_id=submission.pk)
        assert entries.count() == 1, case.name
        QuestionnaireResponse.model_validate(entries.get().resource)
    assert celery_worker_process.poll() is None, "the worker died"
