"""The weight of a typical question page on a phone: every byte the browser fetched,
as it would cross the wire gzip-compressed (level 6, what nginx and WhiteNoise's
pre-compressed files give). Prints a table and writes test-artifacts/page-weight.txt.

    CI=true DATABASE_URL=... .venv/bin/pytest tests/browser/test_page_weight.py -s
"""

import gzip
from pathlib import Path

import pytest

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from tests.browser.test_patient_journey import answer_about_you, fill_dob

pytestmark = pytest.mark.browser

# A budget for an old phone on a poor connection (GOV.UK aims for pages well under this).
BUDGET_GZIP_BYTES = 120 * 1024


def test_a_question_page_is_light(live_server, phone, request):
    user, patient, team, version = ensure_demo()
    issued = services.issue_link(version=version, patient=patient, care_team=team, by=user)
    phone.goto(live_server.url + issued.path)
    fill_dob(phone, 15, 3, 1984)
    answer_about_you(phone)  # page 2 of 3: radios, checkboxes

    # A first visit: nothing cached, as for a patient opening a link for the first time.
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    # Let the previous page finish (its late favicon request) before counting this one.
    phone.wait_for_load_state("networkidle")
    fetched = []
    phone.on("response", lambda response: fetched.append(response))
    phone.goto(live_server.url + "/form/answer/")
    phone.wait_for_load_state("networkidle")
    assert "Page 2 of 3" in phone.locator("main").inner_text()

    rows, total_raw, total_gzip = [], 0, 0
    for response in fetched:
        if 300 <= response.status < 400:
            continue  # a redirect has no body to weigh (and Chromium keeps none)
        body = response.body()
        packed = len(gzip.compress(body, compresslevel=6))
        total_raw += len(body)
        total_gzip += packed
        path = response.url.replace(live_server.url, "")
        rows.append(f"{packed:>9,} {len(body):>10,}  {response.request.resource_type:<10} {path}")
    report = "\n".join([
        "Question page (demo form, page 2 of 3) at 375x667, JavaScript on, cache empty",
        f"{'gzip':>9} {'raw':>10}  {'type':<10} url",
        *rows,
        f"{total_gzip:>9,} {total_raw:>10,}  total ({len(rows)} requests)",
    ])
    out = request.config.rootpath / "test-artifacts" / "page-weight.txt"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(report + "\n")
    print("\n" + report)
    assert total_gzip < BUDGET_GZIP_BYTES, report
