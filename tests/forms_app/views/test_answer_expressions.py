"""A patient's journey through answer options worked out from their own answers
(SDC answerExpression, corpus form medicines-answer-expression): the medicines they
name are the options of the next page; an option not offered is refused with nothing
saved; changing the medicines asks the question again, and neither "check your
answers" nor the filed response ever shows the answer that no longer fits."""

import re

import pytest
from django.urls import reverse

from forms_app.models import Submission
from patients.models import RecordEntry
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify
from tests.forms_app.pages import post_page

pytestmark = pytest.mark.django_db
TAKING = {"medicines~n": "2", "medicines~0": "Ramipril", "medicines~1": "Metformin",
          "conditions": ["44054006"]}


def _options(html: str, name: str) -> list[str]:
    return re.findall(rf'name="trouble-{name}"[^>]*value="([^"]*)"', html)


def _trouble(answer):
    return {"most-trouble": answer, "worst-condition": "44054006", "side-effects": ""}


def test_the_options_are_the_patients_medicines_and_change_with_them(
        client, django_capture_on_commit_callbacks):
    issued = corpus_link("medicines-answer-expression")
    open_and_verify(client, issued.token)
    page = post_page(client, "taking", TAKING)
    html = page.content.decode()
    assert page.status_code == 200 and "Which one causes you the most trouble?" in html
    assert _options(html, "most-trouble") == ["Ramipril", "Metformin"]
    assert 'type="radio"' in html
    assert "Type 2 diabetes" in html and "High blood pressure" not in html

    # Not one of the options (a forged post): a clear error, nothing saved.
    refused = post_page(client, "trouble", _trouble("Aspirin"))
    assert refused.status_code == 200
    assert "Select an option from the list" in refused.content.decode()
    submission = Submission.objects.get(link=issued.link)
    assert "most-trouble" not in submission.draft_answers

    assert post_page(client, "trouble", _trouble("Metformin")).url == reverse("patient:check")
    check = client.get(reverse("patient:check")).content.decode()
    assert "Metformin" in check[check.index("Which one causes you the most trouble?"):]

    # Metformin stopped: changed from "check your answers", the question is asked again
    # with the one medicine left, and "check your answers" waits until it is.
    client.get(reverse("patient:answer") + "?change=taking")
    again = post_page(client, "taking", {**TAKING, "medicines~n": "1",
                                         "medicines~1": ""})
    assert again.status_code == 200
    assert _options(again.content.decode(), "most-trouble") == ["Ramipril"]
    assert client.get(reverse("patient:check")).url == reverse("patient:answer")
    assert post_page(client, "trouble", _trouble("Ramipril")).url == reverse("patient:check")
    check = client.get(reverse("patient:check")).content.decode()
    assert "Metformin" not in check

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("patient:check"))
    submission.refresh_from_db()
    filed = RecordEntry.objects.get(source_id=submission.pk).resource
    trouble = {node["linkId"]: node["answer"] for node in filed["item"][1]["item"]}
    assert trouble["most-trouble"] == [{"valueString": "Ramipril"}]
    assert trouble["worst-condition"] == [{"valueCoding": {
        "system": "http://snomed.info/sct", "code": "44054006", "display": "Type 2 diabetes"}}]
    assert "Metformin" not in str(filed["item"][1])


def test_nothing_to_choose_from_skips_the_question(client):
    """No condition ticked: "which condition worries you most?" does not apply."""
    issued = corpus_link("medicines-answer-expression")
    open_and_verify(client, issued.token)
    page = post_page(client, "taking", {**TAKING, "conditions": []})
    html = page.content.decode()
    assert "Which one causes you the most trouble?" in html
    assert "Which condition worries you most?" not in html
    done = post_page(client, "trouble", {"most-trouble": "Ramipril"})
    assert done.url == reverse("patient:check")
    assert "Which condition worries you most?" not in \
        client.get(reverse("patient:check")).content.decode()


def test_a_worked_out_option_is_text_never_markup(client):
    """The options are what the patient typed: shown escaped, like any answer."""
    issued = corpus_link("medicines-answer-expression")
    open_and_verify(client, issued.token)
    page = post_page(client, "taking", {**TAKING, "medicines~0": "<b>Ramipril</b>"})
    html = page.content.decode()
    assert "<b>Ramipril</b>" not in html
    assert "&lt;b&gt;Ramipril&lt;/b&gt;" in html
