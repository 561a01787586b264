"""The form designer in a real Chromium, as a clinician new to it uses it: make a form,
give it two pages with a condition in plain words, translate it into Welsh, see the
problems and the phone preview beside the editor. axe-core (WCAG 2.2 AA) on every
designer page at 1280 px and at 375 px; screenshots in test-artifacts/screenshots/."""

import pytest

from forms_app.models import Form
from tests.browser.conftest import check_at_both_widths
from tests.forms_app.design.test_admin_designer import mood_check

pytestmark = pytest.mark.browser


def build_smoking_form(page, base, check=lambda name: None) -> Form:
    """In the designer: a form of two pages, "Do you smoke?" then "How many cigarettes a
    day?" shown when the answer is Yes. ``check(name)`` runs at each new kind of page."""
    page.goto(base + "/admin/forms_app/form/add/")
    check("add-form")
    page.locator("#id_organisation").select_option(index=1)
    page.get_by_label("Title").fill("Smoking check")
    page.get_by_label("Description").fill("Two short questions about smoking.")
    page.get_by_role("button", name="Save and add pages and questions").click()
    page.wait_for_url("**/change/")
    form = Form.objects.get(title="Smoking check")

    # Page one and its question in one go, then page two.
    page.get_by_label("Page title").fill("About you")
    page.get_by_label("First question").fill("Do you smoke?")
    page.locator("#add-page-type").select_option("boolean")
    page.get_by_role("button", name="Add the page and its question").click()
    page.wait_for_load_state("load")
    page.get_by_label("Page title").fill("Smoking")
    page.get_by_label("First question").fill("How many cigarettes a day?")
    page.locator("#add-page-type").select_option("integer")
    page.get_by_role("button", name="Add the page and its question").click()
    page.wait_for_load_state("load")
    outline = page.locator("#outline")
    assert outline.get_by_role("link", name="Do you smoke?").is_visible()
    check("outline")

    # The condition, chosen from earlier questions and their answers.
    page.get_by_role("link", name="How many cigarettes a day?").click()
    page.wait_for_load_state("load")
    check("question")
    assert page.get_by_text("Unit (numbers with a unit)").count() == 0
    question_select = page.locator("#id_conditions-0-question")
    labels = question_select.locator("option").all_inner_texts()
    assert "Do you smoke?" in labels and "How many cigarettes a day?" not in labels
    question_select.select_option(label="Do you smoke?")
    page.locator("#id_conditions-0-answer_choice").select_option(label="Yes")
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Shown when Do you smoke? is Yes").first.is_visible()

    return form


def translate_smoking_form(page):
    """On the form's translations page: its title and first question in Welsh."""
    page.get_by_label("Cymraeg: Title").fill("Gwiriad ysmygu")
    page.get_by_label("Cymraeg: Question 1.1: Words").fill("Ydych chi'n ysmygu?")
    page.get_by_role("button", name="Save translations").click()
    page.wait_for_load_state("load")


def test_a_clinician_builds_a_two_page_form_with_a_condition_and_welsh(
        live_server, staff_page, screenshot, assert_accessible):
    page, _user = staff_page
    base = live_server.url
    page.goto(base + "/admin/forms_app/form/")
    check_at_both_widths(page, screenshot, assert_accessible, "forms")

    form = build_smoking_form(
        page, base, lambda name: check_at_both_widths(page, screenshot, assert_accessible, name))

    page.goto(base + f"/admin/forms_app/form/{form.pk}/change/")
    assert page.get_by_text("Shown when Do you smoke? is Yes").is_visible()
    assert page.locator("iframe[title='Preview of the draft at phone width']").is_visible()
    check_at_both_widths(page, screenshot, assert_accessible, "form-with-condition")

    # Welsh: the page shows what is still untranslated.
    page.get_by_role("link", name="Translations").first.click()
    page.wait_for_load_state("load")
    check_at_both_widths(page, screenshot, assert_accessible, "translations")
    translate_smoking_form(page)
    form.refresh_from_db()
    assert form.translations == {"cy": {"title": "Gwiriad ysmygu"}}
    assert page.get_by_text("2 of 6 texts translated").is_visible()


def test_every_other_designer_page_has_no_axe_violations(
        live_server, staff_page, screenshot, assert_accessible):
    page, user = staff_page
    form = mood_check(user.care_teams.first().organisation)
    base = live_server.url + "/admin/forms_app/"
    interest = form.items.get(link_id="interest")
    total = form.items.get(link_id="total")
    rule = form.flag_rules.get()
    for name, path in (("mood-check", f"form/{form.pk}/change/"),
                       ("choice-question", f"item/{interest.pk}/change/"),
                       ("score", f"item/{total.pk}/change/"),
                       ("flag-rule", f"flagrule/{rule.pk}/change/"),
                       ("publish", f"form/{form.pk}/publish/"),
                       ("import", "form/import/"),
                       ("library", "form/library/"),
                       ("translations-missing", f"form/{form.pk}/translations/?missing=1")):
        page.goto(base + path)
        check_at_both_widths(page, screenshot, assert_accessible, name)
    page.goto(base + f"form/{form.pk}/preview/")
    page.set_viewport_size({"width": 375, "height": 667})
    screenshot(page, "preview-375")
    assert_accessible(page)
