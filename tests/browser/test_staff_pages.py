"""Every staff page outside the designer in a real Chromium: axe-core (WCAG 2.2 AA) at
1280 px and at 375 px, with data on them (a filed, urgently flagged PHQ-9 against today's
appointment), and a screenshot of each in test-artifacts/screenshots/<test>/."""

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import WorklistTask
from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment
from tests.browser.conftest import check_at_both_widths
from tests.factories.forms_app import PHQ9_SEVERAL_DAYS, library_version, phq9_answers, submitted

pytestmark = pytest.mark.browser


@pytest.fixture
def clinic_day(live_server):
    """The demo team's day: an appointment and a filed PHQ-9 with an urgent flag."""
    user, patient, team, _version = ensure_demo()
    phq9 = library_version("phq9", organisation=team.organisation, by=user)
    upsert_appointment(care_team=team, patient=patient, by=user, details=AppointmentDetails(
        external_id="EHR-1", clinic="Memory Tue AM", location="Room 3",
        starts_at=timezone.localtime().replace(hour=9, minute=30, second=0, microsecond=0)))
    submission = submitted(phq9, patient=patient, care_team=team, by=user,
                           answers=phq9_answers(item9=PHQ9_SEVERAL_DAYS))
    services.file_submission(submission_id=submission.pk)
    issued = services.issue_link(version=phq9, patient=patient, care_team=team, by=user)
    return team, patient, submission, issued


def test_every_staff_page_has_no_axe_violations(
        live_server, staff_page, clinic_day, screenshot, assert_accessible):
    page, _user = staff_page
    team, patient, submission, issued = clinic_day
    assert WorklistTask.objects.filter(care_team=team, acknowledged_at__isnull=True).exists()
    for name, path in (
            ("staff-home", reverse("staff:home")),
            ("find-patient", reverse("clinic:find")),
            ("patient", reverse("clinic:patient", args=[patient.pk])),
            # Loaded again after it was shown once: "already shown" (410), no token.
            ("link-shown-already", reverse("clinic:show_link", args=[issued.link.pk])),
            ("clinic-lists", reverse("clinic:lists")),
            ("worklist", reverse("worklist:list")),
            ("whiteboard", reverse("whiteboard:board", args=[team.pk])),
            ("whiteboard-clinic", reverse("whiteboard:board", args=[team.pk])
             + "?clinic=Memory%20Tue%20AM"),
            ("record", reverse("records:submission", args=[submission.pk])),
            ("kiosk-set-up", reverse("kiosk:start"))):
        response = page.goto(live_server.url + path)
        assert response.status < 400 or name == "link-shown-already", (name, response.status)
        check_at_both_widths(page, screenshot, assert_accessible, name)
