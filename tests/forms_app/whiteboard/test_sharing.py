"""One build of a shared board at a time, off the request path while it is fresh
(forms_app/whiteboard/sharing.py)."""

import datetime
import logging
import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from forms_app.models import Submission
from forms_app.whiteboard import selectors, sharing
from tests.factories.forms_app import make_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(monkeypatch):
    """The boards built from the database, counted."""
    built = []
    real = selectors.build_board

    def counting(**kwargs):
        built.append(kwargs["team"].pk)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "build_board", counting)
    return built


@pytest.fixture
def board(client, demo, otp_login, settings):
    settings.WHITEBOARD_CACHE_SECONDS = 3
    settings.WHITEBOARD_REFRESH_AHEAD_SECONDS = 1
    cache.clear()
    user, _, team, version = demo
    link = make_links(version=version, team=team, count=2)[0]
    otp_login(client, user)
    return team, link


def _later(seconds):
    return time_machine.travel(timezone.now() + datetime.timedelta(seconds=seconds),
                               tick=False)


def _submit(link):
    Submission.objects.create(link=link, state=Submission.State.SUBMITTED,
                              submitted_at=timezone.now())


@pytest.mark.parametrize("name", ["fragment", "data"])
def test_a_board_near_its_end_is_served_and_rebuilt_once_after_the_response(
        client, board, builds, name, django_assert_num_queries):
    team, link = board
    url = reverse(f"whiteboard:{name}", args=[team.pk])
    first = client.get(url).content
    assert len(builds) == 1
    _submit(link)
    with _later(2.5):
        # Due for its refresh: this screen gets the board it was built as, at once...
        assert client.get(url).content == first
        # ...and one rebuild ran after that response (the test client closes it, as
        # the WSGI server does): the next poll has the change, from the cache.
        assert len(builds) == 2
        with django_assert_num_queries(1):  # the session only
            refreshed = client.get(url).content
        assert refreshed != first
        assert client.get(url).content == refreshed
    assert len(builds) == 2


def test_no_refresh_while_another_process_rebuilds(client, board, builds):
    team, link = board
    url = reverse("whiteboard:fragment", args=[team.pk])
    first = client.get(url).content
    _submit(link)
    with _later(2.5):
        # Another web process has claimed the rebuild: this one only answers.
        key = next(k for k in cache._cache if "whiteboard:fragment:" in k
                   and ":building:" not in k).split(":", 2)[2]
        assert cache.add(f"{key}:building:0", 1)
        assert client.get(url).content == first
        assert client.get(url).content == first
    assert len(builds) == 1


def test_an_expired_board_being_built_elsewhere_is_waited_for_not_built_again(
        client, board, builds, monkeypatch):
    team, _ = board
    url = reverse("whiteboard:data", args=[team.pk])
    client.get(url)
    key = next(k for k in cache._cache if k.endswith(":etag")).split(":", 2)[2][:-5]
    entry = cache.get(key)
    cache.delete_many([key, f"{key}:etag"])
    assert cache.add(f"{key}:building:0", 1)  # another process is building it
    waits = []

    def other_process_finishes(seconds):
        waits.append(seconds)
        cache.set(key, entry, 3)

    monkeypatch.setattr(sharing.time, "sleep", other_process_finishes)
    response = client.get(url)
    assert response.status_code == 200 and response["ETag"] == entry[3]
    assert len(waits) == 1 and len(builds) == 1


def test_a_build_that_never_comes_is_done_here_after_the_wait(client, board, builds,
                                                              monkeypatch):
    team, _ = board
    url = reverse("whiteboard:fragment", args=[team.pk])
    monkeypatch.setattr(sharing, "WAIT_SECONDS", 0.05)
    first = client.get(url).content
    cache.clear()
    # A process claimed the board and died: after the wait, this request builds it.
    for prefix in ("whiteboard:fragment:", "whiteboard:boards:"):
        client.get(url)
        key = next(k for k in cache._cache if prefix in k and ":building:" not in k)
        cache.clear()
        assert cache.add(f"{key.split(':', 2)[2]}:building:0", 1)
        assert _without_times(client.get(url).content) == _without_times(first)
    assert len(builds) >= 3


def _without_times(html: bytes) -> bytes:
    # A board built again says when it was read ("updated 19:31:37"): a second may
    # have passed since the first build.
    return re.sub(rb"\d\d:\d\d(:\d\d)?", b"hh:mm", html)


def test_a_change_by_staff_is_not_held_back_by_a_refresh_of_the_old_board(
        client, board, builds):
    from forms_app.whiteboard import freshness

    team, link = board
    url = reverse("whiteboard:data", args=[team.pk])
    client.get(url)
    key = next(k for k in cache._cache if k.endswith(":etag")).split(":", 2)[2][:-5]
    assert cache.add(f"{key}:building:0", 1)  # a refresh of generation 0 under way
    _submit(link)
    freshness.board_changed(team.pk)
    data = client.get(url).json()
    assert data["counts"]["by_status"]["submitted"] == 1
    assert len(builds) == 2


def test_a_failed_refresh_is_logged_without_data_and_frees_the_lock(
        client, board, monkeypatch, caplog):
    team, _ = board
    url = reverse("whiteboard:fragment", args=[team.pk])
    first = client.get(url).content

    def fails(**kwargs):
        raise ValueError("Ada Lovelace 943 476 5919")

    monkeypatch.setattr(selectors, "build_board", fails)
    with _later(2.5), caplog.at_level(logging.WARNING, logger="forms_app.whiteboard"):
        assert client.get(url).content == first
    assert "Whiteboard refresh failed (ValueError)" in caplog.text
    assert "Lovelace" not in caplog.text
    assert not [k for k in cache._cache if ":building:" in k]


def test_entries_are_never_served_past_the_cache_time(client, board, builds):
    team, link = board
    url = reverse("whiteboard:fragment", args=[team.pk])
    client.get(url)
    _submit(link)
    with _later(3.5):
        assert ">Submitted<" in client.get(url).content.decode()
    assert len(builds) == 2


def test_is_current_and_refresh_due(settings):
    settings.WHITEBOARD_REFRESH_AHEAD_SECONDS = 1
    now = timezone.now().timestamp()
    assert sharing.is_current((5, now - 2.9, "x"), 5, 3)
    assert not sharing.is_current((5, now - 3.1, "x"), 5, 3)
    assert not sharing.is_current((4, now, "x"), 5, 3)
    assert not sharing.is_current(None, 5, 3)
    assert not sharing.is_current("<p>old format</p>", 5, 3)
    assert not sharing.refresh_due((5, now - 1.5, "x"), 3)
    assert sharing.refresh_due((5, now - 2.1, "x"), 3)
    # Never more than half the cache time ahead.
    assert not sharing.refresh_due((5, now - 0.4, "x"), 1)
