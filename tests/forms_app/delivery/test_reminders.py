"""Reminders under frozen time: on the right days, never after submit, never twice."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from forms_app import services as core
from forms_app.delivery import services
from forms_app.delivery.tasks import mark_closed_links, send_due_reminders
from forms_app.models import DeliveryAttempt, LinkSecret
from tests.forms_app.journey import complete_demo_journey

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def form_with_reminders(demo):
    form = demo[3].form
    form.reminder_days = "3,6"
    form.save(update_fields=["reminder_days"])
    return demo


def issue(demo, channel="sms", days=14):
    user, patient, team, version = demo
    return services.issue_and_deliver(version=version, patient=patient, care_team=team,
                                      by=user, channel=channel,
                                      expires_at=timezone.now() + datetime.timedelta(days=days))


def reminders(link):
    return list(DeliveryAttempt.objects.filter(link=link, purpose="reminder")
                .order_by("sequence").values_list("sequence", flat=True))


def at(days, hours=0):
    return time_machine.travel(T0 + datetime.timedelta(days=days, hours=hours), tick=False)


def test_reminders_go_on_the_set_days_and_never_twice(form_with_reminders,
                                                       django_capture_on_commit_callbacks):
    with at(0):
        link = issue(form_with_reminders).link
    for day, hours, expected in [(1, 0, []), (2, 23, []), (3, 0, [1]), (3, 1, [1]),
                                 (5, 0, [1]), (6, 0, [1, 2]), (6, 5, [1, 2]), (12, 0, [1, 2])]:
        with at(day, hours), django_capture_on_commit_callbacks(execute=True):
            send_due_reminders()
            send_due_reminders()  # a second beat at the same moment sends nothing more
        assert reminders(link) == expected, (day, hours)
    sent = DeliveryAttempt.objects.filter(link=link, purpose="reminder")
    assert {a.status for a in sent} == {"delivered"}  # the console backend


def test_a_missed_beat_sends_only_the_latest_reminder(form_with_reminders):
    with at(0):
        link = issue(form_with_reminders).link
    with at(7):
        send_due_reminders()
    with at(8):
        send_due_reminders()
    assert reminders(link) == [2]


def test_no_reminder_after_the_patient_submits(form_with_reminders, client,
                                               django_capture_on_commit_callbacks):
    with at(0):
        issued = issue(form_with_reminders)
    with at(2, 5), django_capture_on_commit_callbacks(execute=True):
        complete_demo_journey(client, issued.token)
    for day in (3, 6, 9):
        with at(day):
            send_due_reminders()
    assert reminders(issued.link) == []


def test_a_reminder_queued_just_before_submit_is_not_sent(form_with_reminders, client,
                                                          capsys):
    with at(0):
        issued = issue(form_with_reminders)
    with at(3):
        send_due_reminders()  # queued; its task has not run yet
        (attempt,) = DeliveryAttempt.objects.filter(link=issued.link, purpose="reminder")
        complete_demo_journey(client, issued.token)
        capsys.readouterr()
        assert services.send_message(attempt_id=attempt.pk) == services.SendOutcome.NOT_SENT
    attempt.refresh_from_db()
    assert attempt.status == "not_sent" and attempt.last_error == "link closed"
    assert "/l/" not in capsys.readouterr().out


def test_no_reminder_for_revoked_or_expired_links_or_opted_out_patients(form_with_reminders):
    user, patient = form_with_reminders[0], form_with_reminders[1]
    with at(0):
        revoked = issue(form_with_reminders).link
        core.revoke_link(link=revoked, by=user)
        expiring = issue(form_with_reminders, days=4).link
        opted = issue(form_with_reminders, channel="email").link
    with at(3):
        send_due_reminders()
        (queued,) = DeliveryAttempt.objects.filter(link=opted, purpose="reminder")
        # The patient opts out after the reminder was queued, before it is sent.
        patient.email_opt_out = True
        patient.save(update_fields=["email_opt_out"])
        assert services.send_message(attempt_id=queued.pk) == services.SendOutcome.NOT_SENT
        queued.refresh_from_db()
        assert queued.last_error == "opted out"
    with at(6):
        send_due_reminders()
    assert reminders(revoked) == []
    assert reminders(expiring) == [1]  # day 3 was still open; day 6 was not
    assert reminders(opted) == [1]  # and no second one once opted out


def test_forms_without_reminders_and_screen_links_are_not_chased(demo):
    with at(0):
        sms = issue(demo).link
        user, patient, team, version = demo
        screen = core.issue_link(version=version, patient=patient, care_team=team, by=user).link
    with at(10):
        assert send_due_reminders() == 0
    assert reminders(sms) == reminders(screen) == []


def test_closing_links_forgets_their_tokens_and_cancels_pending_messages(demo, settings):
    settings.LINK_SECRET_GRACE_DAYS = 30
    user = demo[0]
    with at(0):
        revoked = issue(demo)
        expired = issue(demo, days=2)
        open_link = issue(demo)
        core.revoke_link(link=revoked.link, by=user)
    with at(3):
        mark_closed_links()
        # Revoked: forgotten at once; expired: kept for the grace period (may be extended).
        assert set(LinkSecret.objects.values_list("link_id", flat=True)) == {
            expired.link.pk, open_link.link.pk}
        pending = DeliveryAttempt.objects.filter(status="pending")
        assert set(pending.values_list("link_id", flat=True)) == {open_link.link.pk}
    with at(40):
        mark_closed_links()
        assert set(LinkSecret.objects.values_list("link_id", flat=True)) == {open_link.link.pk}
