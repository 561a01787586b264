"""Item types and controls in Chromium at phone size (375 px), JavaScript on and off,
each page axe clean (issue 11):

- the attachment question of tests/corpus/questionnaires/wound-photo-attachment.json:
  the NHS.UK file input, a file refused for its type, a photo attached and read back;
- tests/corpus/questionnaires/gp-registration-controls.json: the autocomplete list (a
  box with suggestions with JavaScript, the drop-down without), a required group's
  error, and choices side by side.
"""

import pytest

from forms_app.models import Submission
from tests.browser.test_patient_journey import check_page, fill_dob, save
from tests.corpus import JPEG
from tests.factories.forms_app import corpus_link

pytestmark = pytest.mark.browser
MODES = [True, False]
IDS = ["js", "nojs"]


def _open(request, live_server, name, javascript):
    page = request.getfixturevalue("phone" if javascript else "phone_nojs")
    issued = corpus_link(name)
    page.goto(live_server.url + issued.path)
    fill_dob(page, 15, 3, 1984)
    return page, issued


@pytest.mark.parametrize("javascript", MODES, ids=IDS)
def test_the_attachment_page_in_a_phone_browser(request, live_server, javascript,
                                                screenshot, assert_accessible,
                                                assert_no_js_errors, tmp_path):
    page, issued = _open(request, live_server, "wound-photo-attachment", javascript)

    def shot(label):
        check_page(page, screenshot, assert_accessible, f"wound-{label}")

    shot("page")
    file_input = page.locator('input[type="file"][name="wound-photo"]')
    assert file_input.get_attribute("accept") == "image/jpeg"
    assert page.get_by_label("A photo of your wound").count() == 1
    # A document where a photo is asked for: refused by its content, with the reason.
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"not a photo at all")
    page.get_by_label("Better").check()
    file_input.set_input_files(str(text))
    save(page)
    assert page.locator(".nhsuk-error-summary").count() == 1
    assert "JPG" in page.locator(".nhsuk-error-summary").inner_text()
    shot("wrong-type")
    photo = tmp_path / "wound.jpg"
    photo.write_bytes(JPEG)
    page.locator('input[type="file"][name="wound-photo"]').set_input_files(str(photo))
    save(page)
    assert page.locator(".nhsuk-error-summary").count() == 0
    assert "Check your answers" in page.locator("h1").inner_text()
    assert "wound.jpg" in page.locator("main").inner_text()
    shot("check-answers")
    page.get_by_role("button", name="Send form").click()
    shot("confirmation")
    if javascript:
        assert_no_js_errors(page)
    submission = Submission.objects.get(link=issued.link)
    assert submission.state != Submission.State.IN_PROGRESS


@pytest.mark.parametrize("javascript", MODES, ids=IDS)
def test_autocomplete_required_group_and_layout_in_a_phone_browser(
        request, live_server, javascript, screenshot, assert_accessible,
        assert_no_js_errors):
    page, issued = _open(request, live_server, "gp-registration-controls", javascript)

    def shot(label):
        check_page(page, screenshot, assert_accessible, f"gp-{label}")

    shot("about")
    if javascript:
        # A box to type into, labelled by the question; the drop-down it stands for is
        # hidden from sight and from assistive technology.
        box = page.get_by_label("Which country were you born in?")
        assert box.evaluate("el => el.tagName") == "INPUT"
        assert page.get_by_text("Start typing, then choose from the list").count() == 2
        assert page.locator("#id_about-country-of-birth-options option").count() == 30
        box.fill("Poland")
        page.get_by_label("What is your main language?").fill("Polish")
        assert not page.locator('select[name="about-country-of-birth"]').is_visible()
    else:
        page.get_by_label("Which country were you born in?").select_option("PL")
        page.get_by_label("What is your main language?").select_option("Polish")
    save(page)
    assert page.locator(".nhsuk-error-summary").count() == 0

    save(page)  # no way to contact the patient given
    summary = page.locator(".nhsuk-error-summary")
    assert "Answer at least one question in how we can contact you" in summary.inner_text()
    shot("contact-error")
    summary.get_by_role("link").click()
    if javascript:
        assert page.evaluate("document.activeElement.id") == "id_contact-mobile"
    page.get_by_label("Email address").fill("sal@example.com")
    save(page)

    shot("health")
    assert page.locator(".nhsuk-radios--inline input[name='health-general-health']").count() == 5
    assert page.locator(".nhsuk-radios--inline input[name='health-smoke']").count() == 0
    page.get_by_label("Good", exact=True).check()
    page.locator("input[name='health-smoke'][value='no']").check()
    page.get_by_label("Asthma").check()
    save(page)
    assert "Check your answers" in page.locator("h1").inner_text()
    main = page.locator("main").inner_text()
    assert "Poland" in main and "Polish" in main and "Asthma" in main
    shot("check-answers")
    page.get_by_role("button", name="Send form").click()
    if javascript:
        assert_no_js_errors(page)
    submission = Submission.objects.get(link=issued.link)
    assert submission.state != Submission.State.IN_PROGRESS
