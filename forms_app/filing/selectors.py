"""Reads of filing and escalation that need scoping or care."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Min, Q
from django.utils import timezone

from forms_app.models import Submission, WorklistTask


@dataclass(frozen=True)
class OverdueFilings:
    count: int
    failed: int
    waiting: int
    oldest: datetime.datetime | None


def overdue_filings(*, older_than: datetime.timedelta) -> OverdueFilings:
    """Submissions submitted longer ago than `older_than` and still not filed."""
    cutoff = timezone.now() - older_than
    row = (Submission.objects
           .filter(state__in=[Submission.State.SUBMITTED, Submission.State.FAILED],
                   submitted_at__lt=cutoff)
           .aggregate(count=Count("pk"),
                      failed=Count("pk", filter=Q(state=Submission.State.FAILED)),
                      oldest=Min("submitted_at")))
    oldest = timezone.localtime(row["oldest"]) if row["oldest"] else None
    return OverdueFilings(count=row["count"], failed=row["failed"],
                          waiting=row["count"] - row["failed"], oldest=oldest)


def worklist_for(user):
    """The user's teams' worklist: open tasks first, then the latest acknowledged."""
    return (WorklistTask.objects.visible_to(user)
            .select_related("care_team", "patient", "acknowledged_by",
                            "submission__link__version")
            .order_by(F("acknowledged_at").desc(nulls_first=True), "created_at"))
