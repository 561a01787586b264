"""The check page and the final submit reuse the validation done when the last page was
saved, while nothing has changed since; anything changed is validated again, so no
invalid answer is ever accepted (issue 12)."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app.engine import CompiledForm
from forms_app.models import Submission
from forms_app.views.patient import VALIDATED
from tests.forms_app.journey import open_and_verify, page_data
from tests.forms_app.views.test_patient_queries import PER_PAGE, definition
from tests.forms_app.views.test_same_page_conditions import issue

pytestmark = pytest.mark.django_db


def completed(client):
    issued = issue(definition(10))
    open_and_verify(client, issued.token)
    for p in range(2):
        response = client.post(reverse("patient:answer"),
                               page_data(f"p{p}", {f"q{p}-{i}": str(p + i)
                                                   for i in range(PER_PAGE)}))
    assert response.status_code == 302 and response.url == reverse("patient:check")
    return Submission.objects.get(link=issued.link)


def pages_built():
    return mock.patch.object(CompiledForm, "form_class", autospec=True,
                             side_effect=CompiledForm.form_class)


def test_unchanged_pages_are_not_validated_again(client):
    submission = completed(client)
    assert submission.wizard_state["extra_data"][VALIDATED]
    with pages_built() as built:
        assert client.get(reverse("patient:check")).status_code == 200
        response = client.post(reverse("patient:check"))
    assert built.call_count == 0
    assert response.status_code == 302 and response.url == reverse("patient:confirmation")
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED
    assert submission.answers == {f"q{p}-{i}": p + i for p in range(2) for i in range(PER_PAGE)}


def test_a_page_changed_since_is_validated_again_and_never_accepted_invalid(client):
    submission = completed(client)
    state = submission.wizard_state
    state["step_data"]["p1"]["p1-q1-0"] = ["not a number"]
    Submission.objects.filter(pk=submission.pk).update(wizard_state=state)
    with pages_built() as built:
        response = client.post(reverse("patient:check"))
    assert built.call_count >= 1
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    submission.refresh_from_db()
    assert submission.state == Submission.State.IN_PROGRESS


def test_answers_changed_without_their_pages_are_validated_again(client):
    submission = completed(client)
    Submission.objects.filter(pk=submission.pk).update(
        draft_answers={**submission.draft_answers, "q0-0": 99})
    with pages_built() as built:
        client.post(reverse("patient:check"))
    assert built.call_count >= 1
    submission.refresh_from_db()
    # What the pages say is what is submitted, not the altered answers.
    assert submission.answers["q0-0"] == 0


def test_another_day_validates_again(client):
    # A date limit ("not in the future") is checked against today.
    submission = completed(client)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.localdate", return_value=tomorrow), \
            pages_built() as built:
        assert client.get(reverse("patient:check")).status_code == 200
    assert built.call_count >= 1
    assert Submission.objects.get(pk=submission.pk).state == Submission.State.IN_PROGRESS
