import datetime

import pytest
from django.utils import timezone

from forms_app.models import Appointment, Link, LinkStatus, Submission
from forms_app.whiteboard import selectors
from forms_app.whiteboard.charts import completion_chart
from tests.factories.forms_app import make_links
from tests.factories.patients import CareTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _submit(link, *, state=Submission.State.SUBMITTED, evaluation=None, at=None):
    at = at or timezone.now()
    return Submission.objects.create(
        link=link, state=state, evaluation=evaluation or {}, started_at=at,
        submitted_at=at if state != Submission.State.IN_PROGRESS else None)


def test_visible_team_only_for_members(demo):
    user, _, team, _ = demo
    stranger = UserFactory()
    assert selectors.visible_team(user, team.pk) == team
    assert selectors.visible_team(stranger, team.pk) is None
    other = CareTeamFactory(organisation=team.organisation)
    assert selectors.visible_team(user, other.pk) is None


def test_board_has_todays_links_with_status_urgent_first_and_counts(demo):
    _, _, team, version = demo
    now = timezone.now()
    plain, flagged, urgent, waiting, expired = make_links(version=version, team=team,
                                                         count=5)
    _submit(plain, state=Submission.State.FILED)
    _submit(flagged, evaluation={"scores": {"phq9": 7}, "bands": {"phq9": "mild"},
                                 "flags": [{"code": "bmi", "severity": "routine",
                                            "message": "BMI over 40"}]})
    _submit(urgent, evaluation={"scores": {"phq9": 21}, "bands": {"phq9": "severe"},
                                "flags": [{"code": "q9", "severity": "urgent",
                                           "message": "Thoughts of self-harm"}]})
    expired.expires_at = now - datetime.timedelta(minutes=1)
    expired.save(update_fields=["expires_at"])
    yesterday = make_links(version=version, team=team, count=1,
                           issued_at=now - datetime.timedelta(days=2))[0]
    other_team = make_links(version=version, count=1,
                            team=CareTeamFactory(organisation=team.organisation))[0]

    board = selectors.build_board(team=team, now=now)

    ids = [row.link_id for row in board.rows]
    assert str(yesterday.pk) not in ids and str(other_team.pk) not in ids
    assert ids[:2] == [str(urgent.pk), str(flagged.pk)]
    by_id = {row.link_id: row for row in board.rows}
    assert by_id[str(plain.pk)].status == LinkStatus.FILED
    assert by_id[str(waiting.pk)].status == LinkStatus.ISSUED
    assert by_id[str(expired.pk)].status == LinkStatus.EXPIRED
    assert by_id[str(urgent.pk)].band_labels == ["phq9 21: severe"]
    assert board.counts["total"] == 5
    assert board.counts["urgent"] == 1 and board.counts["flagged"] == 2
    assert board.counts["completed"] == 3 and board.counts["outstanding"] == 1
    assert board.counts["by_status"]["expired"] == 1


def test_status_matches_the_one_rule_on_the_model(demo):
    _, _, team, version = demo
    now = timezone.now()
    links = make_links(version=version, team=team, count=3)
    _submit(links[0], state=Submission.State.IN_PROGRESS)
    links[1].first_opened_at = now
    links[1].save(update_fields=["first_opened_at"])
    board = selectors.build_board(team=team, now=now)
    for row in board.rows:
        link = next(link for link in links if str(link.pk) == row.link_id)
        link.refresh_from_db()
        assert row.status == link.status_at(now)


def test_a_link_issued_earlier_for_an_appointment_today_is_on_the_board(demo):
    _, _, team, version = demo
    now = timezone.now()
    link = make_links(version=version, team=team, count=1,
                      issued_at=now - datetime.timedelta(days=5))[0]
    link.appointment = Appointment.objects.create(
        care_team=team, patient=link.patient, starts_at=now, location="Bay 2 bed 4")
    link.save(update_fields=["appointment"])
    board = selectors.build_board(team=team, now=now)
    assert [row.location for row in board.rows] == ["Bay 2 bed 4"]


def test_date_range_window(demo):
    _, _, team, version = demo
    now = timezone.now()
    make_links(version=version, team=team, count=2,
               issued_at=now - datetime.timedelta(days=3))
    today = timezone.localdate(now)
    start, end = selectors.date_window(today - datetime.timedelta(days=4), today)
    assert len(selectors.build_board(team=team, start=start, end=end, now=now).rows) == 2
    assert selectors.build_board(team=team, now=now).rows == []


def test_privacy_mode_json_has_initials_and_no_identity(demo):
    _, _, team, version = demo
    make_links(version=version, team=team, count=2)
    data = selectors.board_as_dict(selectors.build_board(team=team), privacy=True)
    for row in data["rows"]:
        assert set(row["patient"]) == {"initials"}
    full = selectors.board_as_dict(selectors.build_board(team=team))
    assert {"name", "nhs_number", "initials", "id"} == set(full["rows"][0]["patient"])


@pytest.mark.parametrize("rows", [10, 500])
def test_board_query_count_is_flat(demo, django_assert_num_queries, rows):
    _, _, team, version = demo
    now = timezone.now()
    links = make_links(version=version, team=team, count=rows)
    Submission.objects.bulk_create(
        Submission(link=link, state=Submission.State.SUBMITTED, submitted_at=now,
                   evaluation={"flags": [{"code": "x", "severity": "urgent",
                                          "message": "m"}]})
        for link in links[::2])
    appointments = Appointment.objects.bulk_create(
        Appointment(care_team=team, patient=link.patient, starts_at=now, location="B1")
        for link in links[::3])
    for link, appointment in zip(links[::3], appointments, strict=True):
        link.appointment = appointment
    Link.objects.bulk_update(links[::3], ["appointment"])
    with django_assert_num_queries(2):
        board = selectors.build_board(team=team, now=now)
    assert len(board.rows) == rows


def test_truncated_beyond_the_row_limit(demo, settings):
    settings.WHITEBOARD_MAX_ROWS = 3
    _, _, team, version = demo
    make_links(version=version, team=team, count=5)
    board = selectors.build_board(team=team)
    assert board.truncated and len(board.rows) == 3


def test_completion_chart_counts_issued_started_submitted(demo):
    _, _, team, version = demo
    now = timezone.now()
    links = make_links(version=version, team=team, count=4)
    _submit(links[0])
    _submit(links[1], state=Submission.State.IN_PROGRESS)
    chart = completion_chart(selectors.build_board(team=team, now=now))
    assert {s.key: s.total for s in chart.series} == {
        "issued": 4, "started": 2, "submitted": 1}
    for series in chart.series:
        points = [tuple(map(float, p.split(","))) for p in series.points.split()]
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        assert xs == sorted(xs)
        assert ys == sorted(ys, reverse=True)  # cumulative: never goes down (SVG y is down)
    assert "Issued: 4" in chart.description


def _boards_both_ways(monkeypatch, **kwargs):
    """The board through the once-compiled rows query and through the ORM each time."""
    monkeypatch.setattr(selectors, "_compiled", __import__("threading").local())
    compiled = selectors.build_board(**kwargs)
    with monkeypatch.context() as patched:
        patched.setattr(selectors, "_compiled_rows_query", lambda shape: None)
        patched.setattr(selectors, "_compiled", __import__("threading").local())
        orm = selectors.build_board(**kwargs)
    return compiled, orm


def test_the_compiled_rows_query_gives_what_the_orm_gives(demo, monkeypatch):
    """Compiled once with stand-ins, then run with each board's own team, window,
    time and appointments: never another board's rows."""
    from django.db import connection

    _, _, team, version = demo
    now = timezone.now()
    other = CareTeamFactory(organisation=team.organisation)
    links = make_links(version=version, team=team, count=6)
    for link in make_links(version=version, team=other, count=4)[:2]:
        # Two appointments each: the same shape of query for both teams' boards.
        appointment = Appointment.objects.create(care_team=other, patient=link.patient,
                                                 starts_at=now, clinic="Other clinic")
        Link.objects.filter(pk=link.pk).update(appointment=appointment)
    _submit(links[0], evaluation={"flags": [{"severity": "urgent", "message": "m"}]})
    _submit(links[1], state=Submission.State.FILED, at=now)
    Link.objects.filter(pk=links[2].pk).update(expires_at=now - datetime.timedelta(1))
    yesterday = now - datetime.timedelta(days=1)
    for i, link in enumerate(links[3:5]):
        appointment = Appointment.objects.create(
            care_team=team, patient=link.patient, starts_at=now, clinic=f"Clinic {i}")
        Link.objects.filter(pk=link.pk).update(appointment=appointment, issued_at=yesterday)
    for kwargs in ({"team": team}, {"team": other}, {"team": team, "clinic": "Clinic 1"},
                   {"team": team, "clinic": "No such clinic"}):
        compiled, orm = _boards_both_ways(monkeypatch, now=now, **kwargs)
        assert compiled.rows == orm.rows and compiled.counts == orm.counts, kwargs
    board, _ = _boards_both_ways(monkeypatch, team=team, now=now)
    assert len(board.rows) == 6 and board.counts["urgent"] == 1
    assert board.counts["by_status"]["expired"] == 1
    assert len(_boards_both_ways(monkeypatch, team=other, now=now)[0].rows) == 4
    assert [r.clinic for r in _boards_both_ways(monkeypatch, team=team, now=now,
                                                clinic="Clinic 1")[0].rows] == ["Clinic 1"]
    # The same shape for the second team reuses the first one's compiled query.
    monkeypatch.setattr(selectors, "_compiled", __import__("threading").local())
    selectors.build_board(team=team, now=now)
    second = selectors.build_board(team=other, now=now)
    assert len(second.rows) == 4 and all(r.link_id not in {str(x.pk) for x in links}
                                         for r in second.rows)
    assert len(selectors._compiled.queries) == 1
    if connection.vendor == "postgresql":
        assert all(value is not None for value in selectors._compiled.queries.values())


def test_row_keys_read_as_text_are_the_uuids_text(demo):
    """Keys are read as text (no UUID object per key): with dashes, as str(uuid) gives
    them, whether the database writes them so (PostgreSQL) or not (SQLite)."""
    import uuid

    _, _, team, version = demo
    links = make_links(version=version, team=team, count=2)
    _submit(links[0], evaluation={"scores": {"phq9": 12}, "bands": {"phq9": "moderate"}})
    rows = {row.link_id: row for row in selectors.build_board(team=team).rows}
    assert set(rows) == {str(link.pk) for link in links}
    assert rows[str(links[0].pk)].patient_id == str(links[0].patient_id)
    assert rows[str(links[0].pk)].scores == {"phq9": 12}
    assert rows[str(links[1].pk)].scores == {} and rows[str(links[1].pk)].flags == []
    key = uuid.uuid4()
    assert selectors._uuid_text(key.hex) == selectors._uuid_text(str(key)) == str(key)


def test_the_windows_appointments_are_one_array_parameter(demo, django_assert_num_queries):
    """= ANY(%s) on PostgreSQL, not IN with a parameter per appointment (which psycopg
    parsed again on every board): the same rows, and a clinic without appointments
    still costs no rows query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, _, team, version = demo
    now = timezone.now()
    links = make_links(version=version, team=team, count=3)
    for link in links[:2]:
        appointment = Appointment.objects.create(
            care_team=team, patient=link.patient, starts_at=now, clinic="Clinic A")
        Link.objects.filter(pk=link.pk).update(
            appointment=appointment, issued_at=now - datetime.timedelta(days=2))
    with CaptureQueriesContext(connection) as queries:
        board = selectors.build_board(team=team, now=now)
    assert {row.link_id for row in board.rows} == {str(link.pk) for link in links}
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries.captured_queries[-1]["sql"]
    clinic = selectors.build_board(team=team, now=now, clinic="Clinic A")
    assert {row.link_id for row in clinic.rows} == {str(link.pk) for link in links[:2]}
    with django_assert_num_queries(1):  # the appointments only
        assert selectors.build_board(team=team, now=now, clinic="No such clinic").rows == []
