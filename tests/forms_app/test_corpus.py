"""Every form of the corpus (tests/corpus) through the whole platform.

Import, publish, the patient's journey in Django's test client, filing (tasks
in-process here; tests/integration files with a real worker), the filed
QuestionnaireResponse validated with fhir.resources, its scores against the
instrument's published scoring, and export then re-import giving the same form.
"""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app import services
from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from patients.models import RecordEntry
from tests.corpus import CASES, load
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify
from tests.forms_app.pages import post_page

pytestmark = pytest.mark.django_db
PASSING = [case for case in CASES if case.blocked is None]
BLOCKED = [case for case in CASES if case.blocked is not None]


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 15


def _items(nodes):
    for node in nodes:
        yield node
        yield from _items(node.get("item", []))
        for answer in node.get("answer", []):
            yield from _items(answer.get("item", []))


def _without_ids(document):
    return {k: v for k, v in document.items() if k not in ("id", "url", "version")}


@pytest.mark.parametrize("case", PASSING, ids=lambda case: case.name)
def test_form_goes_through_the_platform_as_written(case, client,
                                                   django_capture_on_commit_callbacks):
    user, patient, team, _ = ensure_demo()
    source = load(case.name)
    imported = design_services.import_questionnaire(
        data=source, organisation=team.organisation, by=user, source=case.name)
    clinical = [n for n in imported.report if n.get("clinical")]
    assert clinical == [], clinical
    version = services.publish_form(form=imported.form, by=user)
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)

    open_and_verify(client, issued.token)
    for step, data in case.pages:
        response = post_page(client, step, data)
        # The next page (200), or "check your answers" after the last (302); no errors.
        assert response.status_code in (200, 302), step
        assert b"nhsuk-error-summary" not in response.content, (step, _errors(response))
    assert response.status_code == 302 and response.url == reverse("patient:check")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patient:check"))
    assert response.status_code == 302 and response.url == reverse("patient:confirmation")

    submission = Submission.objects.get(link=issued.link)
    assert submission.state == Submission.State.FILED
    evaluation = submission.evaluation
    assert evaluation["scores"] == case.scores
    assert evaluation["bands"] == case.bands
    assert sorted(flag["code"] for flag in evaluation["flags"]) == sorted(case.flags)

    entry = RecordEntry.objects.get(source_id=submission.pk)
    response_resource = entry.resource
    QuestionnaireResponse.model_validate(response_resource)
    if source.get("url"):
        assert response_resource["questionnaire"] == f"{source['url']}|{source['version']}"
    answered = {node["linkId"] for node in _items(response_resource["item"]) if "answer" in node}
    assert set(case.filed) <= answered, (case.filed, answered)
    assert not set(case.not_filed) & answered

    # Export, then import the export: the same form.
    exported = draft_to_questionnaire(imported.form, version_number=1)
    again = design_services.import_questionnaire(
        data=json.loads(json.dumps(exported)), organisation=team.organisation, by=user)
    assert [n for n in again.report if n.get("clinical")] == []
    assert _without_ids(draft_to_questionnaire(again.form, version_number=1)) == \
        _without_ids(exported)


@pytest.mark.parametrize("case", BLOCKED, ids=lambda case: case.name)
def test_form_that_cannot_be_honoured_is_never_published_in_silence(case):
    user, _, team, _ = ensure_demo()
    imported = design_services.import_questionnaire(
        data=load(case.name), organisation=team.organisation, by=user, source=case.name)
    assert any(note.get("clinical") for note in imported.report), imported.report
    with pytest.raises(ValidationError) as refused:
        services.publish_form(form=imported.form, by=user)
    assert any("clinical meaning" in message for message in refused.value.messages)
    # Accepted explicitly (and audited), it publishes.
    assert design_services.accept_import_notes(form=imported.form, by=user) > 0
    services.publish_form(form=imported.form, by=user)


def _errors(response) -> list[str]:
    return re.findall(r'error-message[^>]*>\s*<span[^>]*>[^<]*</span>([^<]*)',
                      response.content.decode())


def test_initial_expressions_prefill_from_the_patients_record(client):
    _, patient, _, _ = ensure_demo()
    issued = corpus_link("demographics-initial")
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer")).content.decode()
    assert f'value="{patient.family_name}"' in page
    assert f'value="{patient.date_of_birth.year}"' in page


def test_a_result_the_author_shows_is_read_back_before_sending(client):
    """SDC: a calculated item is shown unless questionnaire-hidden. The BMI is read
    back on "check your answers", marked as worked out, with nothing to change; the
    hidden PHQ-2 total of another form is not."""
    pages = {}
    for name in ("bmi-variables", "phq2-hidden-total"):
        case = next(case for case in CASES if case.name == name)
        issued = corpus_link(name)
        client.cookies.clear()
        open_and_verify(client, issued.token)
        for step, data in case.pages:
            post_page(client, step, data)
        pages[name] = client.get(reverse("patient:check")).content.decode()
    bmi = pages["bmi-variables"]
    row = bmi[bmi.index("Body mass index (BMI)"):]
    row = row[:row.index("</div>")]
    assert "22.4" in row and "Worked out from your answers" in row and "Change" not in row
    assert "Worked out from your answers" not in pages["phq2-hidden-total"]
