"""The whiteboard's data, read in a fixed number of queries whatever the number of rows.

Callers scope first: `visible_team(user, team_id)` goes through CareTeam.objects.of_user
(the one scoping rule); `build_board` then reads that team's links only. The REST API
can call `build_board` and `board_as_dict` for a team its client is allowed to see.
"""

import datetime
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.db.models.lookups import In
from django.utils import timezone

from forms_app.models import Appointment, Link, LinkStatus
from patients.models import CareTeam

OUTSTANDING = frozenset({LinkStatus.ISSUED, LinkStatus.DELIVERED, LinkStatus.OPENED,
                         LinkStatus.IN_PROGRESS})
COMPLETED = frozenset({LinkStatus.SUBMITTED, LinkStatus.FILED})
# Within the same urgency, what needs a person first: filing failed, then forms still
# to do, then finished ones; closed links last.
_STATUS_RANK = {status: rank for rank, status in enumerate([
    LinkStatus.FAILED, LinkStatus.IN_PROGRESS, LinkStatus.OPENED, LinkStatus.DELIVERED,
    LinkStatus.ISSUED, LinkStatus.SUBMITTED, LinkStatus.FILED, LinkStatus.EXPIRED,
    LinkStatus.REVOKED,
])}
_STATUS_LABELS = {status.value: status.label for status in LinkStatus}

# Only what the board shows: never the encrypted answers or drafts, which would cost a
# decryption per row and are not the board's business.
_ROW_FIELDS = (
    "status",
    "patient__given_name", "patient__family_name", "patient__nhs_number",
    "version__title",
    "appointment__location", "appointment__clinic", "appointment__clinician",
    "submission__worklist_task__acknowledged_by__first_name",
    "submission__worklist_task__acknowledged_by__last_name",
    "submission__worklist_task__acknowledged_by__username",
)
# The row's times, read as text and parsed by datetime.fromisoformat (C): the driver's
# time zone-aware loader (Python) was a third of a 300-row board's CPU, six times a row.
_TIME_FIELDS = (
    "issued_at", "appointment__starts_at", "submission__started_at",
    "submission__submitted_at", "submission__filed_at",
    "submission__worklist_task__acknowledged_at",
)
# The keys and the evaluation as text too: the board only ever shows a key as text, and
# a UUID object made and turned back into text per key, and the JSON field's converter
# per row, were a tenth of a 300-row board's CPU. The evaluation is decoded by
# json.loads here instead, as the field would.
_TEXT_FIELDS = (*_TIME_FIELDS, "id", "patient_id", "submission__evaluation")
_AS_TEXT = {f"text_{name}": Cast(name, TextField()) for name in _TEXT_FIELDS}


def _time(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    value = datetime.datetime.fromisoformat(text)
    # PostgreSQL gives "+00" (the connection's time zone is UTC); SQLite stores UTC
    # without an offset.
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def _uuid_text(text: str) -> str:
    # PostgreSQL writes a uuid with its dashes; SQLite stores 32 hex digits.
    return text if len(text) == 36 else str(uuid.UUID(text))


def visible_team(user, team_id) -> CareTeam | None:
    """The care team, if the user is one of its members; None otherwise."""
    return (CareTeam.objects.of_user(user).select_related("organisation")
            .filter(pk=team_id).first())


def today_window(now: datetime.datetime | None = None):
    """Midnight to midnight today, in the installation's time zone."""
    return date_window(timezone.localdate(now or timezone.now()))


def date_window(first: datetime.date, last: datetime.date | None = None):
    """From the start of `first` to the end of `last` (inclusive), local time."""
    last = last or first
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=tz)
    return start, end


# Not frozen: a frozen dataclass sets each of its 22 fields through object.__setattr__,
# a sixth of building a 300-row board. Rows are built here and only read after.
@dataclass(slots=True)
class Row:
    link_id: str
    patient_id: str
    name: str
    initials: str
    nhs_number: str
    form_title: str
    status: str
    status_label: str
    issued_at: datetime.datetime
    appointment_at: datetime.datetime | None
    location: str
    clinic: str
    clinician: str
    started_at: datetime.datetime | None
    submitted_at: datetime.datetime | None
    filed_at: datetime.datetime | None
    scores: dict
    bands: dict
    flags: list
    # When and by whom the worklist task of an urgent form was acknowledged.
    acknowledged_at: datetime.datetime | None = None
    acknowledged_by: str = ""

    # An urgent flag nobody has acknowledged yet: once a clinician has, the row stops
    # counting (and showing) as urgent, and says who took it on. Set by _row, once:
    # sorting, counting and both renderings ask for it.
    urgent: bool = False

    @property
    def urgent_flags(self) -> list:
        return [flag for flag in self.flags if flag.get("severity") == "urgent"]

    @property
    def other_flags(self) -> list:
        return [flag for flag in self.flags if flag.get("severity") != "urgent"]

    @property
    def band_labels(self) -> list[str]:
        """'score: band' for each banded score, e.g. 'phq9 12: moderate'."""
        labels = []
        for key, band in self.bands.items():
            score = self.scores.get(key)
            labels.append(f"{key} {score}: {band}" if score is not None else f"{key}: {band}")
        return labels

    @property
    def when(self) -> datetime.datetime:
        return self.appointment_at or self.issued_at

    def sort_key(self):
        # Unacknowledged urgent forms first, then other flagged ones (an acknowledged
        # urgent form among them); within each, the clinic's running order by
        # appointment time, forms without an appointment by issue time after them.
        return (0 if self.urgent else 1 if self.flags else 2, self.appointment_at is None,
                self.when, _STATUS_RANK.get(self.status, 99), self.link_id)


@dataclass(frozen=True)
class Board:
    team: CareTeam
    start: datetime.datetime
    end: datetime.datetime
    now: datetime.datetime
    rows: list[Row]
    truncated: bool
    counts: dict = field(default_factory=dict)
    clinic: str = ""
    clinics: list[str] = field(default_factory=list)


def _acknowledged_by(values: dict) -> str:
    prefix = "submission__worklist_task__acknowledged_by__"
    full = f"{values[prefix + 'first_name'] or ''} {values[prefix + 'last_name'] or ''}"
    return full.strip() or values[prefix + "username"] or ""


def _evaluation(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        # orjson: a third of the standard decoder's time, once a row. It refuses what
        # the standard library reads (an integer beyond 64 bits): that takes the slow way.
        return orjson.loads(text) or {}
    except orjson.JSONDecodeError:
        return json.loads(text) or {}


def _row(values: dict) -> Row:
    evaluation = _evaluation(values["text_submission__evaluation"])
    given, family = values["patient__given_name"], values["patient__family_name"]
    flags = [flag for flag in evaluation.get("flags") or [] if isinstance(flag, dict)]
    acknowledged_at = _time(values["text_submission__worklist_task__acknowledged_at"])
    return Row(
        link_id=_uuid_text(values["text_id"]),
        patient_id=_uuid_text(values["text_patient_id"]),
        name=f"{given} {family}",
        initials=f"{given[:1]}{family[:1]}".upper(),
        nhs_number=values["patient__nhs_number"],
        form_title=values["version__title"],
        status=values["status"],
        status_label=_STATUS_LABELS[values["status"]],
        issued_at=_time(values["text_issued_at"]),
        appointment_at=_time(values["text_appointment__starts_at"]),
        location=values["appointment__location"] or "",
        clinic=values["appointment__clinic"] or "",
        clinician=values["appointment__clinician"] or "",
        started_at=_time(values["text_submission__started_at"]),
        submitted_at=_time(values["text_submission__submitted_at"]),
        filed_at=_time(values["text_submission__filed_at"]),
        scores=dict(evaluation.get("scores") or {}),
        bands=dict(evaluation.get("bands") or {}),
        flags=flags,
        acknowledged_at=acknowledged_at,
        acknowledged_by=_acknowledged_by(values),
        urgent=acknowledged_at is None and any(
            flag.get("severity") == "urgent" for flag in flags),
    )


def count_rows(rows: list[Row]) -> dict:
    by_status = Counter(row.status for row in rows)
    return {
        "total": len(rows),
        "outstanding": sum(by_status[s] for s in OUTSTANDING),
        "completed": sum(by_status[s] for s in COMPLETED),
        "urgent": sum(1 for row in rows if row.urgent),
        "flagged": sum(1 for row in rows if row.flags),
        "by_status": {status.value: by_status[status.value] for status in LinkStatus},
    }


class _AnyOf(In):
    """`column IN (...)`, written `column = ANY(%s)` on PostgreSQL: the window's
    appointments as one array parameter, not one parameter each. psycopg keeps the
    parsed form of a query of at most 50 parameters only; with a parameter per
    appointment it parsed the 3 KB rows query again on every board."""

    def as_postgresql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet  # as IN () would: no rows, and no query
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))


def _rows_query(*, team_id, start, end, now, booked, clinic_only, limit):
    in_booked = Q(_AnyOf(F("appointment_id"), booked))
    if clinic_only:
        in_window = in_booked
    else:
        in_window = Q(issued_at__gte=start, issued_at__lt=end)
        if booked:
            in_window |= in_booked
    return (Link.objects.with_status(now).filter(care_team_id=team_id).filter(in_window)
            .order_by("issued_at", "id").values(*_ROW_FIELDS, **_AS_TEXT)[:limit + 1])


_compiled = threading.local()  # per thread: a compiler belongs to its connection


def _compiled_rows_query(shape):
    """The rows query's SQL, its parameters' places and its converters, compiled once
    per shape (filter by clinic or not, how many appointments, the row limit) with
    stand-in values: building and compiling the ORM query (with_status' nine cases,
    twenty joined columns) cost as much CPU as reading the 300 rows."""
    clinic_only, booked_count, limit, alias = shape
    stand_in = datetime.datetime(1901, 1, 1, tzinfo=datetime.UTC)
    slots = {uuid.uuid4(): "team", stand_in: "start",
             stand_in + datetime.timedelta(seconds=1): "end",
             stand_in + datetime.timedelta(seconds=2): "now"}
    # Appointments have integer keys; no other integer is a parameter of this query.
    booked = [-(10**12) - i for i in range(booked_count)]
    slots.update({pk: ("booked", i) for i, pk in enumerate(booked)})  # IN (%s, ...)
    named = {value: key for key, value in slots.items()}
    query = _rows_query(team_id=named["team"], start=named["start"], end=named["end"],
                        now=named["now"], booked=booked, clinic_only=clinic_only,
                        limit=limit).query
    compiler = query.get_compiler(using=alias)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None  # a clinic with no appointments: the ORM answers without a query
    places = _places(params, slots, booked)
    expected = {"team", "now", *(() if clinic_only else ("start", "end"))}
    found = {place for place in places if place[0] is not None}
    if found not in ({*expected, *(("booked", i) for i in range(booked_count))},
                     {*expected, *((("booked", None),) if booked_count else ())}):
        # A stand-in the backend changed on the way (SQLite stores times and UUIDs as
        # text) or left out: compile every time rather than send the wrong value.
        return None
    names = (list(query.selected) if query.selected else
             [*query.extra_select, *query.values_select, *query.annotation_select])
    converters = compiler.get_converters([col[0] for col in
                                          compiler.select[:compiler.col_count]])
    return sql, places, names, compiler, converters


def _places(params, slots, booked) -> list:
    """Where each compiled parameter comes from: a stand-in's slot, ("booked", None)
    for the appointments' array (= ANY(%s)), or (None, value) for a constant."""
    return [("booked", None) if booked and param == booked else
            slots.get(param, (None, param)) if _hashable(param) else (None, param)
            for param in params]


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _link_rows(*, team, start, end, now, booked, clinic_only, limit) -> list[dict]:
    """The board's rows as dicts, as `_rows_query(...)` would give them."""
    alias = router.db_for_read(Link)
    shape = (clinic_only, len(booked), limit, alias)
    cache = getattr(_compiled, "queries", None)
    if cache is None:
        cache = _compiled.queries = {}
    if shape not in cache:
        if len(cache) > 64:  # a few shapes a day per board: never grows without end
            cache.clear()
        cache[shape] = _compiled_rows_query(shape)
    compiled = cache[shape]
    if compiled is None:
        return list(_rows_query(team_id=team.pk, start=start, end=end, now=now,
                                booked=booked, clinic_only=clinic_only, limit=limit))
    sql, places, names, compiler, converters = compiled
    actual = {"team": team.pk, "start": start, "end": end, "now": now}
    params = [place[1] if place[0] is None else
              (booked if place[1] is None else booked[place[1]]) if place[0] == "booked"
              else actual[place]
              for place in places]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [dict(zip(names, row, strict=True)) for row in rows]


def build_board(*, team: CareTeam, start=None, end=None, now=None, clinic: str = "") -> Board:
    """The team's links for the window (issued in it, or with an appointment in it);
    with `clinic`, only the links for that clinic session's appointments in it.

    Two queries whatever the number of rows: the appointment ids in the window, then
    the rows with their status computed by Link.objects.with_status (the one rule).
    Ordering (urgent flags first) is done here, not in SQL, so it needs no JSON
    operators and runs the same on SQLite.
    """
    now = now or timezone.now()
    if start is None or end is None:
        start, end = today_window(now)
    limit = settings.WHITEBOARD_MAX_ROWS
    # A separate small query keeps the main one to index conditions on links only, so
    # PostgreSQL can combine (care_team, issued_at) with the primary key in one scan.
    # The same query names the window's clinic sessions, for the board's filter.
    in_window_appointments = list(Appointment.objects.filter(
        care_team=team, starts_at__gte=start, starts_at__lt=end,
    ).values_list("pk", "clinic")[:limit])
    clinics = sorted({name for _, name in in_window_appointments if name})
    booked = [pk for pk, name in in_window_appointments if not clinic or name == clinic]
    values = _link_rows(team=team, start=start, end=end, now=now, booked=booked,
                        clinic_only=bool(clinic), limit=limit)
    truncated = len(values) > limit
    rows = sorted((_row(v) for v in values[:limit]), key=Row.sort_key)
    return Board(team=team, start=start, end=end, now=now, rows=rows, truncated=truncated,
                 counts=count_rows(rows), clinic=clinic, clinics=clinics)


def board_as_dict(board: Board, *, privacy: bool = False) -> dict:
    """The board as JSON data; in privacy mode, initials instead of identity. Times are
    aware datetimes, which the board's encoder (views._encode) writes as ISO 8601, as
    datetime.isoformat() would: orjson writes them in C, where isoformat() was 2.7 us
    a call, 15 us of a row's 17 in this function on a 300-row board.

    Nothing here changes unless the board does (no "generated at" time), so a hash of
    it serves as the ETag.
    """
    rows = []
    for row in board.rows:
        patient = ({"initials": row.initials} if privacy else
                   {"id": row.patient_id, "name": row.name, "initials": row.initials,
                    "nhs_number": row.nhs_number})
        rows.append({
            "link": row.link_id,
            "patient": patient,
            "form": row.form_title,
            "status": row.status,
            "appointment_at": row.appointment_at,
            "location": row.location,
            "clinic": row.clinic,
            "clinician": row.clinician,
            "issued_at": row.issued_at,
            "started_at": row.started_at,
            "submitted_at": row.submitted_at,
            "filed_at": row.filed_at,
            "urgent": row.urgent,
            "scores": row.scores,
            "bands": row.bands,
            "flags": row.flags,
            "acknowledged_at": row.acknowledged_at,
        })
    return {
        "team": {"id": str(board.team.pk), "name": board.team.name},
        "window": {"start": board.start, "end": board.end},
        "clinic": board.clinic,
        "clinics": board.clinics,
        "privacy": privacy,
        "truncated": board.truncated,
        "counts": board.counts,
        "rows": rows,
    }
