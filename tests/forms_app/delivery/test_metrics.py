"""Deliveries are counted by channel and outcome (forms_app/metrics.py), one at a time
and in batches."""

import datetime

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from forms_app.delivery import services
from forms_app.models import DeliveryAttempt
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db

NAME = "patient_forms_deliveries_total"


def counts(channel="sms"):
    return {outcome: REGISTRY.get_sample_value(NAME, {"channel": channel, "outcome": outcome})
            or 0 for outcome in ("sent", "failed", "not_sent")}


def invitation(demo, opted_out_since=False):
    user, _, team, version = demo
    patient = PatientFactory(organisation=team.organisation, care_teams=[team])
    issued = services.issue_and_deliver(
        version=version, patient=patient, care_team=team, by=user, channel="sms",
        expires_at=timezone.now() + datetime.timedelta(days=3), enqueue=False)
    if opted_out_since:  # after the message was queued, before it went
        patient.sms_opt_out = True
        patient.save(update_fields=["sms_opt_out"])
    return DeliveryAttempt.objects.get(link=issued.link)


def test_one_at_a_time(demo, notify):
    before = counts()
    services.send_message(attempt_id=invitation(demo).pk)
    notify.mode = "400"
    services.send_message(attempt_id=invitation(demo).pk)
    services.send_message(attempt_id=invitation(demo, opted_out_since=True).pk)
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {"sent": 1, "failed": 1, "not_sent": 1}


def test_in_a_batch(demo, notify):
    before = counts()
    invitation(demo)
    invitation(demo, opted_out_since=True)
    services.send_batch(pending=DeliveryAttempt.objects.all(), limit=10)
    after = counts()
    assert {k: after[k] - before[k] for k in after} == {"sent": 1, "failed": 0, "not_sent": 1}
