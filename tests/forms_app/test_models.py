import datetime

import pytest
from django.utils import timezone

from forms_app import services
from forms_app.management.demo_data import DEMO_PATIENT_DOB, ensure_demo
from forms_app.models import Link, LinkStatus, Submission

pytestmark = pytest.mark.django_db


def _statuses(link):
    now = timezone.now()
    in_python = Link.objects.get(pk=link.pk).status_at(now)
    in_sql = Link.objects.with_status(now).get(pk=link.pk).status
    return in_python, in_sql


def test_link_status_follows_the_journey_in_python_and_sql():
    user, patient, team, version = ensure_demo()
    link = services.issue_link(version=version, patient=patient, care_team=team, by=user).link
    assert _statuses(link) == (LinkStatus.ISSUED,) * 2
    Link.objects.filter(pk=link.pk).update(delivered_at=timezone.now())
    assert _statuses(link) == (LinkStatus.DELIVERED,) * 2
    services.record_link_opened(link=link)
    assert _statuses(link) == (LinkStatus.OPENED,) * 2
    services.verify_identity(link_id=link.pk, date_of_birth=DEMO_PATIENT_DOB)
    assert _statuses(link) == (LinkStatus.IN_PROGRESS,) * 2
    Link.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert _statuses(link) == (LinkStatus.EXPIRED,) * 2
    for state in ("submitted", "filed", "failed"):
        Submission.objects.filter(link=link).update(state=state)
        assert _statuses(link) == (LinkStatus(state),) * 2
    Link.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    assert _statuses(link) == (LinkStatus.REVOKED,) * 2
