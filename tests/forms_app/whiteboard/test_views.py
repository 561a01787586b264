import datetime
import json
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_app.models import Submission
from forms_app.whiteboard import services as whiteboard_services
from forms_app.whiteboard import views as whiteboard_views
from patients.nhs_number import format_nhs_number
from tests.factories.forms_app import make_links
from tests.factories.patients import CareTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _urls(team):
    return {name: reverse(f"whiteboard:{name}", args=[team.pk])
            for name in ("board", "fragment", "data")}


def test_password_alone_reaches_no_board(client, demo):
    user, _, team, _ = demo
    client.force_login(user)  # no verified second factor
    urls = _urls(team)
    response = client.get(urls["board"])
    assert response.status_code == 302 and response.url.startswith(("/account/", "/admin/login/"))
    assert client.get(urls["fragment"]).status_code == 302
    response = client.get(urls["data"])
    assert response.status_code == 403 and "error" in response.json()


def test_another_teams_board_is_not_found(client, demo, otp_login):
    _, _, team, _ = demo
    outsider = UserFactory()
    CareTeamFactory(organisation=team.organisation, members=[outsider])
    otp_login(client, outsider)
    urls = _urls(team)
    assert client.get(urls["board"]).status_code == 404
    assert client.get(urls["fragment"]).status_code == 404
    assert client.get(urls["data"]).status_code == 404


def test_board_page_shows_rows_counts_chart_and_refresh(client, demo, otp_login):
    user, patient, team, version = demo
    link = make_links(version=version, team=team, count=1, patients=[patient])[0]
    Submission.objects.create(link=link, state=Submission.State.SUBMITTED,
                              submitted_at=timezone.now(), evaluation={
                                  "scores": {"phq9": 21}, "bands": {"phq9": "severe"},
                                  "flags": [{"code": "q9", "severity": "urgent",
                                             "message": "Thoughts of self-harm"}]})
    otp_login(client, user)
    response = client.get(_urls(team)["board"])
    assert response.status_code == 200
    html = response.content.decode()
    assert str(patient) in html and format_nhs_number(patient.nhs_number) in html
    assert "Urgent: Thoughts of self-harm" in html and "phq9 21: severe" in html
    assert "<svg" in html and "<polyline" in html
    assert 'data-whiteboard-fragment="' in html and "js/whiteboard.js" in html
    assert '<noscript><meta http-equiv="refresh" content="12"></noscript>' in html
    # No inline script or style: a strict CSP is coming.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html and "<style" not in html
    # Patient names on a shared screen: never stored by a browser or proxy.
    assert "private" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]


def test_privacy_mode_shows_initials_time_and_bed_not_names(client, demo, otp_login):
    user, patient, team, version = demo
    link = make_links(version=version, team=team, count=1, patients=[patient])[0]
    appointment_at = timezone.localtime().replace(hour=9, minute=30, second=0)
    whiteboard_services.set_appointment(link=link, by=user, starts_at=appointment_at,
                                        location="Bay 3 bed 2")
    otp_login(client, user)
    html = client.get(_urls(team)["board"] + "?privacy=on").content.decode()
    # The page's content (the footer names the trust, "Demo Teaching Hospitals").
    html = html.split('id="maincontent"', 1)[1].split("</main>", 1)[0]
    assert patient.given_name not in html and patient.family_name not in html
    assert patient.nhs_number not in html
    assert patient.initials in html and "09:30" in html and "Bay 3 bed 2" in html
    data = client.get(_urls(team)["data"] + "?privacy=on").json()
    assert data["rows"][0]["patient"] == {"initials": patient.initials}


def test_fragment_is_the_refreshing_part_only(client, demo, otp_login):
    user, _, team, version = demo
    make_links(version=version, team=team, count=2)
    otp_login(client, user)
    response = client.get(_urls(team)["fragment"])
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "wb-counts" in html and "<table" in html


def test_a_submit_shows_on_the_next_refresh(client, demo, otp_login, settings):
    settings.WHITEBOARD_CACHE_SECONDS = 0
    user, _, team, version = demo
    link = make_links(version=version, team=team, count=1)[0]
    otp_login(client, user)
    assert ">Issued<" in client.get(_urls(team)["fragment"]).content.decode()
    Submission.objects.create(link=link, state=Submission.State.SUBMITTED,
                              submitted_at=timezone.now())
    assert ">Submitted<" in client.get(_urls(team)["fragment"]).content.decode()


def test_json_with_etag_and_304_when_nothing_changed(client, demo, otp_login, settings):
    settings.WHITEBOARD_CACHE_SECONDS = 0
    user, _, team, version = demo
    link = make_links(version=version, team=team, count=2)[0]
    otp_login(client, user)
    url = _urls(team)["data"]
    first = client.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    data = json.loads(first.content)
    assert data["counts"]["total"] == 2 and data["team"]["id"] == str(team.pk)
    assert {row["status"] for row in data["rows"]} == {"issued"}
    etag = first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    Submission.objects.create(link=link, state=Submission.State.IN_PROGRESS)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize("query, field", [
    ("?start=2026-13-01", "start"),
    ("?start=2026-11-10&end=2026-11-01", "end"),
    ("?end=2026-11-01", "start"),
    ("?start=2026-01-01&end=2026-03-01", "end"),
])
def test_bad_query_gives_clear_errors(client, demo, otp_login, query, field):
    user, _, team, _ = demo
    otp_login(client, user)
    urls = _urls(team)
    response = client.get(urls["data"] + query)
    assert response.status_code == 400 and field in response.json()["errors"]
    page = client.get(urls["board"] + query)
    assert page.status_code == 400 and b"There is a problem" in page.content
    assert client.get(urls["fragment"] + query).status_code == 400


def test_date_range_shows_earlier_days(client, demo, otp_login):
    user, _, team, version = demo
    earlier = timezone.now() - datetime.timedelta(days=3)
    make_links(version=version, team=team, count=2, issued_at=earlier)
    otp_login(client, user)
    day = timezone.localdate(earlier).isoformat()
    data = client.get(_urls(team)["data"] + f"?start={day}&end={day}").json()
    assert data["counts"]["total"] == 2
    assert client.get(_urls(team)["data"]).json()["counts"]["total"] == 0


@pytest.mark.parametrize("name", ["board", "fragment", "data"])
def test_query_count_flat_as_rows_grow(client, demo, otp_login, settings,
                                       django_assert_num_queries, name):
    settings.WHITEBOARD_CACHE_SECONDS = 0
    user, _, team, version = demo
    otp_login(client, user)
    url = _urls(team)[name]
    client.get(url)  # warm the session
    make_links(version=version, team=team, count=10)
    # The session, the team, the window's appointments, the rows: the user and their
    # device come from the staff check's cache (patients/staff_check.py).
    with django_assert_num_queries(4) as small:
        assert client.get(url).status_code == 200
    make_links(version=version, team=team, count=490)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


def test_set_appointment_refuses_naive_times_and_audits(demo):
    from forms_app.services import ServiceError
    from patients.models import AuditEvent

    user, _, team, version = demo
    link = make_links(version=version, team=team, count=1)[0]
    with pytest.raises(ServiceError):
        whiteboard_services.set_appointment(link=link, by=user,
                                            starts_at=datetime.datetime(2026, 1, 1, 9))
    with pytest.raises(ServiceError):
        whiteboard_services.set_appointment(link=link, by=user, location="x" * 41)
    assert not hasattr(link, "appointment") or link.appointment is None
    whiteboard_services.set_appointment(link=link, by=user, location="Bed 1")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.APPOINTMENT_SET).count() == 1


def test_screens_share_one_build_within_the_cache_time(client, demo, otp_login, settings,
                                                       django_assert_num_queries):
    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, team, version = demo
    make_links(version=version, team=team, count=3)
    otp_login(client, user)
    urls = _urls(team)
    first = client.get(urls["fragment"]).content
    # Later polls within the cache time: the session only (the user and device are in
    # the staff check's cache, the team membership is cached with the board).
    with django_assert_num_queries(1):
        assert client.get(urls["fragment"]).content == first
    with django_assert_num_queries(1):
        assert first.decode() in client.get(urls["board"]).content.decode()


def test_json_is_gzipped_for_clients_that_accept_it(client, demo, otp_login, settings):
    import gzip

    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, team, version = demo
    make_links(version=version, team=team, count=3)
    otp_login(client, user)
    url = _urls(team)["data"]
    plain = client.get(url)
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="br, gzip;q=0.9")
    assert "Content-Encoding" not in plain and zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] == plain["ETag"]
    assert "Accept-Encoding" in zipped["Vary"] and "Cookie" in zipped["Vary"]


def test_a_matching_etag_is_answered_without_the_body(client, demo, otp_login, settings,
                                                      monkeypatch,
                                                      django_assert_num_queries):
    from django.core.cache import cache

    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, team, version = demo
    make_links(version=version, team=team, count=3)
    otp_login(client, user)
    url = _urls(team)["data"]
    etag = client.get(url)["ETag"]
    loaded = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: loaded.append(key)
                        or real_get(key, *a, **k))
    with django_assert_num_queries(1):  # the session (user and device: staff check cache)
        response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response["ETag"] == etag
    assert [key for key in loaded if key.startswith("whiteboard:json")] == [
        key for key in loaded if key.endswith(":etag")]


def test_membership_is_cached_but_deactivation_applies_at_once(client, demo, otp_login,
                                                               settings):
    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, team, _ = demo
    otp_login(client, user)
    url = _urls(team)["data"]
    assert client.get(url).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(url).status_code == 403


def test_a_non_member_is_refused_from_the_cache_too(client, demo, otp_login, settings):
    from tests.factories.patients import CareTeamFactory

    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, _team, _ = demo
    other = CareTeamFactory()
    otp_login(client, user)
    url = _urls(other)["data"]
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("conditional", [False, True])
def test_a_json_poll_from_the_cache_is_one_cache_round_trip(client, demo, otp_login,
                                                            settings, monkeypatch,
                                                            conditional,
                                                            django_assert_num_queries):
    """The poll's keys are read in the staff check's own MGET (staff_check_prefetch)."""
    from django.core.cache import cache

    settings.WHITEBOARD_CACHE_SECONDS = 3
    user, _, team, version = demo
    make_links(version=version, team=team, count=3)
    otp_login(client, user)
    url = _urls(team)["data"]
    first = client.get(url)
    headers = {"HTTP_IF_NONE_MATCH": first["ETag"]} if conditional else {}
    client.get(url, **headers)  # the staff check's answer is remembered by now
    batches, single = [], []
    real_get, real_get_many = cache.get, cache.get_many

    def get_many(keys, *args, **kwargs):
        batches.append(list(keys))
        return real_get_many(keys, *args, **kwargs)

    monkeypatch.setattr(cache, "get_many", get_many)
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: single.append(key)
                        or real_get(key, *a, **k))
    with django_assert_num_queries(1):  # the session
        response = client.get(url, **headers)
    assert response.status_code == (304 if conditional else 200)
    assert response["ETag"] == first["ETag"]
    # One batch: the staff check's two keys and the poll's three (the memory cache of
    # the tests reads a batch key by key, Redis in one MGET).
    assert len(batches) == 1 and len(batches[0]) == 5
    assert set(single) <= set(batches[0])


def test_the_prefetch_concerns_json_polls_only(rf, settings):
    from forms_app.whiteboard.views import staff_check_prefetch

    settings.WHITEBOARD_CACHE_SECONDS = 3
    team = "6f0c8f56-5a43-4a0e-9d4b-3e1f2a7b9c10"
    assert staff_check_prefetch(rf.get(f"/whiteboard/{team}/fragment/"), "1") is None
    assert staff_check_prefetch(rf.post(f"/whiteboard/{team}/data.json"), "1") is None
    keys = staff_check_prefetch(rf.get(f"/whiteboard/{team}/data.json"), "1")
    assert keys[0] == f"whiteboard:member-of:1:{team}" and len(keys) == 3
    settings.WHITEBOARD_CACHE_SECONDS = 0
    assert staff_check_prefetch(rf.get(f"/whiteboard/{team}/data.json"), "1") is None


def test_the_fragment_shows_times_in_the_local_time_zone(client, demo, otp_login):
    """The fragment is a Jinja template, which does not convert aware times by itself
    as Django's templates do: in summer an appointment at 08:30 UTC is at 09:30."""
    user, _, team, version = demo
    starts = datetime.datetime(2026, 7, 1, 8, 30, tzinfo=datetime.UTC)
    link = make_links(version=version, team=team, count=1, issued_at=starts)[0]
    whiteboard_services.set_appointment(link=link, by=user, starts_at=starts,
                                        location="Bed 4")
    otp_login(client, user)
    html = client.get(_urls(team)["fragment"] + "?start=2026-07-01").content.decode()
    assert "09:30" in html and "08:30" not in html
    assert "Wednesday 1 July 2026" in html


@pytest.mark.parametrize("huge", [0, 2**70])  # 2**70: beyond orjson, the fallback
@pytest.mark.parametrize("when", [
    datetime.datetime(2026, 12, 4, 0, 36, 35, 289424, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 4, 9, 0, tzinfo=datetime.UTC),  # no microseconds
    datetime.datetime(2026, 7, 1, 9, 30, 0, 5, tzinfo=zoneinfo.ZoneInfo("Europe/London")),
])
def test_the_boards_times_are_written_as_isoformat_writes_them(when, huge):
    """board_as_dict hands the encoder datetimes: both of its paths write isoformat()'s
    text (a poll's JSON is read by screens that parse it; Django's encoder would cut the
    microseconds and write Z)."""
    body = whiteboard_views._encode({"rows": [{"issued_at": when, "scores": {"x": huge}}]})
    assert json.loads(body)["rows"][0]["issued_at"] == when.isoformat()


@pytest.mark.parametrize("data", [
    {"team": {"name": "Ward 7 \u2013 Ysbyty Gwynedd \u2603"}, "rows": [{"scores": {"phq9": 12.5}}]},
    {"rows": [{"scores": {"huge": 2**70}}]},  # beyond orjson's 64 bits: the fallback
])
def test_the_json_encoder_gives_what_the_standard_one_gives(data):
    body = whiteboard_views._encode(data)
    assert isinstance(body, bytes)
    assert json.loads(body) == data
    assert json.loads(body) == json.loads(json.dumps(data, separators=(",", ":")))
