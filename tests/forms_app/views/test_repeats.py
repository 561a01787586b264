"""Repeats on the patient's pages without JavaScript (issue 11, point 3): "Add another"
and "Remove" post the page and it comes back with one instance more or fewer, what was
typed kept and no errors; "check your answers" shows each instance; the filed
QuestionnaireResponse has an item per instance; leaving and coming back keeps them."""

import re

import pytest
from django.urls import reverse

from forms_app import services
from forms_app.engine.repeats import ADD, REMOVE
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Submission
from patients.models import RecordEntry
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import open_and_verify, page_data

pytestmark = pytest.mark.django_db
STEP = "relative"


@pytest.fixture
def journey(client):
    issued = corpus_link("family-history-repeats")
    open_and_verify(client, issued.token)
    return issued


def post(client, data, **button):
    return client.post(reverse("patient:answer"), {**page_data(STEP, data), **button})


def legends(response) -> list[str]:
    return [text.strip() for text in re.findall(
        r'<legend class="nhsuk-fieldset__legend[^"]*">\s*([^<]+)', response.content.decode())]


def value_of(response, name) -> str | None:
    match = re.search(rf'name="{STEP}-{re.escape(name)}"[^>]*value="([^"]*)"',
                      response.content.decode())
    return match[1] if match else None


def test_the_page_starts_with_one_relative_and_an_add_another_button(client, journey):
    response = client.get(reverse("patient:answer"))
    page = response.content.decode()
    assert "Relative 1" in legends(response) and "Relative 2" not in legends(response)
    assert f'name="{ADD}" value="relative"' in page
    assert "Add another relative" in page
    assert f'name="{ADD}" value="relative~0~condition"' in page
    assert f'name="{REMOVE}"' not in page  # nothing to remove below one instance


def test_add_another_keeps_what_was_typed_without_errors(client, journey):
    first = {"relative~n": "1", "relative~0~relation": "Mother",
             "relative~0~condition~n": "1",
             "relative~0~condition~0~condition-name": "Diabetes"}
    response = post(client, first, **{ADD: "relative"})
    assert response.status_code == 200
    assert b"nhsuk-error-summary" not in response.content
    assert "Relative 2" in legends(response)
    assert value_of(response, "relative~n") == "2"
    assert value_of(response, "relative~0~condition~0~condition-name") == "Diabetes"
    assert 'value="Mother" checked' in response.content.decode()
    # The button takes the patient to the new instance (a fragment, no JavaScript).
    page = response.content.decode()
    assert f'name="{ADD}" value="relative" formaction="#repeat-relative~2"' in page
    assert f'name="{REMOVE}" value="relative~1"' in page
    assert "Remove<span class=\"nhsuk-u-visually-hidden\"> relative 2</span>" in page


def test_remove_moves_the_later_instances_up(client, journey):
    data = {"relative~n": "2", "relative~0~relation": "Mother",
            "relative~0~condition~n": "1", "relative~0~condition~0~condition-name": "Gout",
            "relative~1~relation": "Father", "relative~1~condition~n": "1",
            "relative~1~condition~0~condition-name": "Stroke"}
    response = post(client, data, **{REMOVE: "relative~0"})
    assert response.status_code == 200 and b"nhsuk-error-summary" not in response.content
    assert legends(response).count("Relative 2") == 0
    assert value_of(response, "relative~0~condition~0~condition-name") == "Stroke"
    assert 'value="Father" checked' in response.content.decode()


def test_a_tampered_button_goes_back_to_the_page(client, journey):
    response = post(client, {"relative~n": "1"}, **{REMOVE: "../../etc"})
    assert response.status_code == 302 and response.url == reverse("patient:answer")


def test_required_question_in_an_instance_names_itself(client, journey):
    response = post(client, {"relative~n": "1", "relative~0~condition~n": "1",
                             "relative~0~condition~0~condition-name": "Asthma"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "nhsuk-error-summary" in page and 'href="#' in page
    assert not Submission.objects.get(link=journey.link).draft_answers


def test_two_relatives_checked_filed_and_kept_on_resume(client, journey,
                                                       django_capture_on_commit_callbacks):
    data = {"relative~n": "2", "relative~0~relation": "Mother",
            "relative~0~condition~n": "2",
            "relative~0~condition~0~condition-name": "Type 2 diabetes",
            "relative~0~condition~0~age-at-diagnosis": "52",
            "relative~0~condition~1~condition-name": "High blood pressure",
            "relative~1~relation": "Brother", "relative~1~condition~n": "1",
            "relative~1~condition~0~condition-name": "Asthma"}
    response = post(client, data)
    assert response.status_code == 302 and response.url == reverse("patient:check")

    check = client.get(reverse("patient:check")).content.decode()
    for title in ("Relative 1", "Relative 1, condition they had 2", "Relative 2"):
        assert f'<h3 class="nhsuk-heading-s">{title}</h3>' in check
    assert "High blood pressure" in check and "Brother" in check

    # Coming back to the page (another day, another device) shows both relatives.
    again = client.get(reverse("patient:answer") + f"?change={STEP}")
    assert legends(again) == ["Relative 1", "Relationship", "Condition they had 1",
                              "Condition they had 2", "Relative 2", "Relationship",
                              "Condition they had 1"]
    assert value_of(again, "relative~1~condition~0~condition-name") == "Asthma"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patient:check"))
    assert response.status_code == 302
    submission = Submission.objects.get(link=journey.link)
    assert submission.state == Submission.State.FILED
    assert len(submission.answers["relative"]) == 2
    filed = RecordEntry.objects.get(source_id=submission.pk).resource
    relatives = [item for item in filed["item"] if item["linkId"] == "relative"]
    assert len(relatives) == 2
    assert [[c["linkId"] for c in r["item"]] for r in relatives] == [
        ["relation", "condition", "condition"], ["relation", "condition"]]
    assert relatives[0]["item"][1]["item"][1]["answer"] == [{"valueInteger": 52}]


def test_a_new_instance_can_grow_its_own_list(client, journey):
    """The count of a list inside a just-added instance is on the page too (it was left
    blank, so "Add another condition" in a new relative did nothing)."""
    response = post(client, {"relative~n": "1", "relative~0~relation": "Mother",
                             "relative~0~condition~n": "1"}, **{ADD: "relative"})
    assert value_of(response, "relative~1~condition~n") == "1"
    again = post(client, {"relative~n": "2", "relative~0~relation": "Mother",
                          "relative~0~condition~n": "1",
                          "relative~1~condition~n": value_of(response,
                                                             "relative~1~condition~n")},
                 **{ADD: "relative~1~condition"})
    assert value_of(again, "relative~1~condition~n") == "2"
    assert "Condition they had 2" in legends(again)


def _family_link(client):
    from tests.factories.forms_app import version_from_definition
    from tests.forms_app.engine.test_repeats import family

    user, patient, team, _ = ensure_demo()
    version = version_from_definition(team.organisation, family(), by=user)
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    open_and_verify(client, issued.token)
    return issued


def _conditional(page: str, option_id: str) -> str:
    start = page.index(f'id="conditional-{option_id}"')
    return page[start:page.index("</fieldset>", start)]


def test_a_question_enabled_by_its_own_instance_is_revealed_under_that_answer(client):
    """SDC: "What did they die of?" is asked of the relative who is not alive. It sits in
    the NHS.UK conditional reveal of that relative's own "No" (JavaScript shows it in
    place; without it, it is there), never in another relative's."""
    issued = _family_link(client)
    page = client.get(reverse("patient:answer")).content.decode()
    option = f"id_{STEP}-relative~0~alive-2"  # the second radio: "No"
    assert f'data-aria-controls="conditional-{option}"' in page
    assert f'name="{STEP}-relative~0~cause"' in _conditional(page, option)
    data = {"relative~n": "2", "relative~0~relation": "mother", "relative~0~alive": "yes",
            "relative~0~condition~n": "1", "relative~1~relation": "father",
            "relative~1~alive": "no", "relative~1~condition~n": "1"}
    response = post(client, data)
    page = response.content.decode()
    # Required for the father only: the error is in his reveal, none for the mother.
    assert response.status_code == 200 and "nhsuk-error-summary" in page
    assert f'id="id_{STEP}-relative~1~cause-error"' in _conditional(
        page, f"id_{STEP}-relative~1~alive-2")
    assert "relative~0~cause-error" not in page
    assert 'id="new-questions"' not in page  # it was on the page all along
    done = post(client, {**data, "relative~1~cause": "Stroke",
                         "relative~0~cause": "typed, then Yes chosen"})
    assert done.url == reverse("patient:answer")
    assert 'name="answer_wizard-current_step" value="more"' in client.get(done.url).content.decode()
    saved = Submission.objects.get(link=issued.link).draft_answers
    assert [r.get("cause") for r in saved["relative"]] == [None, "Stroke"]


def test_a_question_an_expression_enables_in_its_instance_comes_back_shown(client):
    """An enableWhenExpression (asked only of a relative whose cancer was found before
    50) cannot be revealed in place: the page comes back with it shown for that
    relative, with no error, and what was typed kept."""
    issued = corpus_link("family-cancer-per-relative")
    open_and_verify(client, issued.token)
    data = {"relative~n": "2", "relative~0~relation": "MTH", "relative~0~living": "yes",
            "relative~0~had-cancer": "yes", "relative~0~cancer-type": "254837009",
            "relative~0~cancer-age": "44", "relative~1~relation": "FTH",
            "relative~1~living": "yes", "relative~1~had-cancer": "yes",
            "relative~1~cancer-type": "399068003", "relative~1~cancer-age": "70"}
    response = post(client, data)
    page = response.content.decode()
    assert response.status_code == 200 and "nhsuk-error-summary" not in page
    assert 'id="new-questions"' in page
    assert page.count("genetic test") == 1  # the mother's only
    assert 'name="engine_shown" value="relative~0~genetic-test"' in page
    assert value_of(response, "relative~0~cancer-age") == "44"
    done = post(client, {**data, "relative~0~genetic-test": "no"},
                engine_shown=["relative~0~genetic-test"])
    assert done.status_code == 302 and done.url == reverse("patient:check")
    check = client.get(done.url).content.decode()
    # Each relative's points are read back in their own group, worked out, not changed.
    mother = check[check.index("Close relative 1"):check.index("Close relative 2")]
    father = check[check.index("Close relative 2"):]
    points = mother[mother.index("Points for this relative"):]
    points = points[:points.index("</div>")]
    assert "6" in points and "Worked out from your answers" in points  # found at 44
    assert "Change" not in points
    assert "Points for this relative" in father  # his own: 2, found at 70
    assert "Family history score" in check
    saved = Submission.objects.get(link=issued.link).draft_answers
    assert [r.get("genetic-test") for r in saved["relative"]] == [False, None]
