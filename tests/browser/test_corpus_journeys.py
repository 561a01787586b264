"""Forms of the corpus (tests/corpus) filled in Chromium at phone size, with and without
JavaScript: each page axe clean, the answers the case gives typed and clicked as a
patient would, and the scores the instrument's published scoring gives.

tests/forms_app/test_corpus.py takes every form of the corpus through the whole platform
in Django's test client; these take a few chosen for what the browser adds: a total a
patient never sees (PHQ-9), a calculation from two numbers (BMI), a question revealed
on the same page (smoking) and the author's own validation rules (contact details).
"""

import pytest

from forms_app.models import Submission
from tests.browser.test_patient_journey import check_page, fill_dob, save
from tests.corpus import CASES
from tests.factories.forms_app import corpus_link
from tests.forms_app.journey import WIZARD_PREFIX

pytestmark = pytest.mark.browser

CHOSEN = ("phq9-sdc", "bmi-variables", "smoking-same-page", "contact-constraints")
# Without JavaScript, the two whose pages behave differently without it: the revealed
# question comes back with the page, and the constraints are checked by the server only.
WITHOUT_JS = ("smoking-same-page", "contact-constraints")
RUNS = [(name, True) for name in CHOSEN] + [(name, False) for name in WITHOUT_JS]
BY_NAME = {case.name: case for case in CASES}


def _current_step(page) -> str:
    return page.locator(f'input[name="{WIZARD_PREFIX}-current_step"]').input_value()


def _fill(page, name, value) -> bool:
    """Answer one field as a patient would; False when it is not on the page (yet)."""
    fields = page.locator(f'[name="{name}"]')
    if fields.count() == 0:
        return False
    kind = fields.first.get_attribute("type") or fields.first.evaluate(
        "el => el.tagName.toLowerCase()")
    if kind in ("radio", "checkbox"):
        for one in value if isinstance(value, list) else [value]:
            page.locator(f'[name="{name}"][value="{one}"]').check()
    elif kind == "select":
        fields.first.select_option(value)
    else:
        fields.first.fill(value)
    return True


def _answer_page(page, step, answers, shot):
    """Fill the page's answers in order. A question that only appears once an earlier
    answer is sent (without JavaScript) is filled when the page comes back with it."""
    remaining = dict(answers)
    for attempt in range(3):
        assert _current_step(page) == step
        for name in list(remaining):
            if _fill(page, f"{step}-{name}", remaining[name]):
                del remaining[name]
        if attempt == 0:
            shot(f"{step}-answered")
        save(page)
        assert page.locator(".nhsuk-error-summary").count() == 0, \
            page.locator(".nhsuk-error-summary").inner_text()
        if not remaining:
            return
    raise AssertionError(f"never shown on {step}: {sorted(remaining)}")


@pytest.mark.parametrize(("name", "javascript"), RUNS,
                         ids=[f"{name}-{'js' if js else 'nojs'}" for name, js in RUNS])
def test_corpus_form_in_a_phone_browser(request, live_server, name, javascript, screenshot,
                                        assert_accessible, assert_no_js_errors):
    case = BY_NAME[name]
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    issued = corpus_link(name)
    page.goto(live_server.url + issued.path)
    fill_dob(page, 15, 3, 1984)

    def shot(label):
        check_page(page, screenshot, assert_accessible, f"{name}-{label}")

    for step, answers in case.pages:
        shot(step)
        _answer_page(page, step, answers, shot)
    assert "Check your answers" in page.locator("h1").inner_text()
    shot("check-answers")
    page.get_by_role("button", name="Send form").click()
    shot("confirmation")
    if javascript:
        assert_no_js_errors(page)

    submission = Submission.objects.get(link=issued.link)
    assert submission.state != Submission.State.IN_PROGRESS
    assert submission.evaluation["scores"] == case.scores
    assert submission.evaluation["bands"] == case.bands
    assert sorted(flag["code"] for flag in submission.evaluation["flags"]) == \
        sorted(case.flags)
