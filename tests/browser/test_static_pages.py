"""The accessibility statement and privacy notice, at phone size, with and without JavaScript.

These prove the browser harness (Chromium, screenshots, axe-core) and the NHS.UK layout in
templates/base.html: styles and scripts load from our own static files, the NHS.UK
components start, and no page has an accessibility violation.
"""

import pytest
from django.urls import reverse

# The URLconf beside this file, whether or not tests/ is a package.
URLCONF = __name__.rpartition(".")[0] + ".urls_static" if "." in __name__ else "urls_static"

pytestmark = [pytest.mark.browser, pytest.mark.urls(URLCONF)]

PAGES = [
    ("accessibility", "Accessibility statement for"),
    ("privacy", "Privacy notice"),
]


@pytest.mark.parametrize(("url_name", "heading"), PAGES)
def test_static_page_on_a_phone(
    live_server, phone, screenshot, assert_accessible, assert_no_js_errors, url_name, heading
):
    response = phone.goto(live_server.url + reverse(url_name))
    assert response.status == 200

    assert heading in phone.locator("h1").inner_text()
    assert phone.title().endswith(" - NHS")
    # The NHS.UK stylesheet is ours and applied: the header is NHS blue.
    header_colour = phone.locator("header.nhsuk-header").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert header_colour == "rgb(0, 94, 184)"
    # static/js/app.js marked the page and the NHS.UK frontend module initialised components.
    assert "nhsuk-frontend-supported" in phone.locator("body").get_attribute("class")
    phone.wait_for_selector("[data-nhsuk-skip-link-init]", state="attached")
    # The page fits the phone's width: nothing scrolls sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    screenshot(phone, url_name)
    assert_accessible(phone)
    assert_no_js_errors(phone)

    # The footer links to both pages.
    footer = phone.locator("footer")
    assert footer.get_by_role("link", name="Accessibility statement").count() == 1
    assert footer.get_by_role("link", name="Privacy notice").count() == 1


@pytest.mark.parametrize(("url_name", "heading"), PAGES)
def test_static_page_without_javascript(
    live_server, phone_nojs, screenshot, assert_accessible, url_name, heading
):
    response = phone_nojs.goto(live_server.url + reverse(url_name))
    assert response.status == 200
    assert heading in phone_nojs.locator("h1").inner_text()
    assert "js-enabled" not in (phone_nojs.locator("body").get_attribute("class") or "")

    screenshot(phone_nojs, url_name + "-nojs")
    assert_accessible(phone_nojs)


def test_skip_link_moves_to_main_content(live_server, phone):
    phone.goto(live_server.url + reverse("privacy"))
    phone.keyboard.press("Tab")
    skip_link = phone.get_by_role("link", name="Skip to main content")
    assert skip_link.evaluate("el => el === document.activeElement")
    phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.id") == "maincontent"
