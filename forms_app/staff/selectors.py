"""What the staff home shows, scoped by the one rule (CareTeam.objects.of_user and the
visible_to querysets), in a fixed number of queries whatever the number of teams."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Min
from django.utils import timezone

from forms_app.models import Appointment, ClinicList, FormVersion, WorklistTask
from forms_app.selectors import current_versions_for
from forms_app.whiteboard.selectors import today_window
from patients.models import CareTeam


@dataclass(frozen=True)
class ClinicSession:
    name: str
    appointments: int
    first_at: datetime.datetime | None


@dataclass
class TeamSummary:
    team: CareTeam
    open_tasks: int = 0
    clinics: list[ClinicSession] = field(default_factory=list)


@dataclass(frozen=True)
class StaffHome:
    teams: list[TeamSummary]
    open_tasks: int
    versions: list[FormVersion]
    clinic_lists: list[ClinicList]
    today: datetime.date


def staff_home(user, *, now=None) -> StaffHome:
    now = now or timezone.now()
    start, end = today_window(now)
    teams = {team.pk: TeamSummary(team=team) for team in
             CareTeam.objects.of_user(user).select_related("organisation")
             .order_by("organisation__name", "name")}
    sessions = (Appointment.objects.filter(care_team__in=list(teams), starts_at__gte=start,
                                           starts_at__lt=end)
                .values("care_team_id", "clinic")
                .annotate(count=Count("pk"), first=Min("starts_at")).order_by("first"))
    for row in sessions:
        teams[row["care_team_id"]].clinics.append(
            ClinicSession(name=row["clinic"], appointments=row["count"], first_at=row["first"]))
    tasks = (WorklistTask.objects.visible_to(user).open().values("care_team_id")
             .annotate(count=Count("pk")).order_by())
    for row in tasks:
        if row["care_team_id"] in teams:
            teams[row["care_team_id"]].open_tasks = row["count"]
    return StaffHome(
        teams=list(teams.values()),
        open_tasks=sum(team.open_tasks for team in teams.values()),
        versions=list(current_versions_for(user)[:50]),
        clinic_lists=list(ClinicList.objects.visible_to(user)
                          .select_related("version", "care_team")[:5]),
        today=timezone.localdate(now),
    )
