"""Bulk sending of a clinic list's invitations: the same checks as one message at a time."""

import datetime

import pytest
from django.utils import timezone

from forms_app import services as core
from forms_app.delivery import services
from forms_app.models import DeliveryAttempt, Link, LinkSecret
from patients.models import AuditEvent
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db


def pending_invitations(demo, count):
    user, _, team, version = demo
    attempts = []
    for _ in range(count):
        patient = PatientFactory(organisation=team.organisation, care_teams=[team])
        issued = services.issue_and_deliver(
            version=version, patient=patient, care_team=team, by=user, channel="sms",
            expires_at=timezone.now() + datetime.timedelta(days=3), enqueue=False)
        attempts.append(DeliveryAttempt.objects.get(link=issued.link))
    return attempts


def test_send_batch_sends_skips_and_sorts_failures(demo, notify):
    ok, revoked, opted_out, no_secret = pending_invitations(demo, 4)
    core.revoke_link(link=revoked.link, by=demo[0])
    opted_out.patient.sms_opt_out = True
    opted_out.patient.save(update_fields=["sms_opt_out"])
    LinkSecret.objects.filter(link=no_secret.link).delete()
    taken, retry = services.send_batch(pending=DeliveryAttempt.objects.all(), limit=10)
    assert (taken, retry) == (4, [])
    states = {a.pk: (a.status, a.last_error) for a in DeliveryAttempt.objects.all()}
    assert states[ok.pk] == ("sent", "")
    assert states[revoked.pk] == ("not_sent", "link closed")
    assert states[opted_out.pk] == ("not_sent", "opted out")
    assert states[no_secret.pk] == ("not_sent", "nothing to send")
    assert len(notify.requests) == 1
    # A second run sends nothing again.
    assert services.send_batch(pending=DeliveryAttempt.objects.all(), limit=10) == (0, [])
    assert len(notify.requests) == 1


@pytest.mark.parametrize("mode,status,retried", [("400", "failed", False),
                                                 ("500", "pending", True)])
def test_send_batch_failures_fail_or_go_to_retry(demo, notify, mode, status, retried):
    (attempt,) = pending_invitations(demo, 1)
    notify.mode = mode
    _, retry = services.send_batch(pending=DeliveryAttempt.objects.all(), limit=10)
    attempt.refresh_from_db()
    assert attempt.status == status and attempt.tries == 1
    assert (retry == [attempt.pk]) is retried
    assert AuditEvent.objects.filter(action="message.failed").exists() is not retried
    assert Link.objects.get(pk=attempt.link_id).delivered_at is None
