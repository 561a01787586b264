"""Whiteboard pages: the large-screen board, the fragment it polls, and read-only JSON.

Staff only, with a verified second factor, and only for care teams they belong to
(CareTeam.objects.of_user, through selectors.visible_team). Another team's board is a
404, not a 403, so its existence is not revealed.
"""

import datetime
import functools
import gzip
import hashlib
import json
import re
import uuid
from urllib.parse import urlencode

import orjson
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.http import require_GET

from forms_app import metrics
from forms_app.whiteboard import freshness, selectors, sharing
from forms_app.whiteboard.charts import completion_chart
from patients import staff_check
from patients.access import staff_required

MAX_DAYS = 31


class BoardQuery(forms.Form):
    """The board's options, from the query string: a date range, a clinic session and
    privacy mode."""

    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"],
                            error_messages={"invalid": "Enter the start date as a real "
                                                       "date, for example 2026-12-01."})
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"],
                          error_messages={"invalid": "Enter the end date as a real date, "
                                                     "for example 2026-12-01."})
    clinic = forms.CharField(required=False, max_length=100, strip=True,
                             error_messages={"max_length": "Choose a clinic from the list."})
    privacy = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if end and not start:
            self.add_error("start", "Give a start date with an end date.")
        elif start and end and end < start:
            self.add_error("end", "The end date must be on or after the start date.")
        elif start and (end or start) - start > datetime.timedelta(days=MAX_DAYS - 1):
            self.add_error("end", f"Show at most {MAX_DAYS} days at once.")
        return data

    def window(self):
        start = self.cleaned_data.get("start")
        if start is None:
            return selectors.today_window()
        return selectors.date_window(start, self.cleaned_data.get("end"))


def _visible_team(user, team_id):
    """The team if the user is a member: one cache lookup while the answer is fresh.

    The user and their second factor are checked on every request before this (the
    session's user is loaded, active and OTP-verified by the middleware and
    staff_required); only the membership is remembered, for WHITEBOARD_CACHE_SECONDS,
    the time a board's content may be stale anyway. A "not a member" answer is
    remembered as well, so probing other teams' boards costs no query either.
    """
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    if not seconds:
        return selectors.visible_team(user, team_id)
    key = f"whiteboard:member:{user.pk}:{team_id}"
    cached = cache.get(key)
    if cached is None:
        team = selectors.visible_team(user, team_id)
        cached = (team,)
        cache.set(key, cached, seconds)
    return cached[0]


def _team_or_404(request, team_id):
    team = _visible_team(request.user, team_id)
    if team is None:
        raise Http404("No such whiteboard")
    return team


def _key(team_id, generation, *parts) -> str:
    """A cache key for one of the team's boards, of one generation (freshness.py); a
    clinic name may hold any character: hashed, it makes a safe cache key."""
    return _hashed(team_id, generation, *parts)


def _hashed(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def _cached(kind, key, generation, max_age, build):
    """The cache's entry for key if it is current, or one built now (once across the
    web processes, sharing.build_once); and whether the cache's was current."""
    entry = cache.get(key)
    current = sharing.is_current(entry, generation, max_age)
    metrics.count_whiteboard_cache(kind, entry if current else None)
    if not current:
        entry = sharing.build_once(key, generation, max_age, build)
    return entry, current


def _board(team, start, end, clinic="", *, generation=None, max_age=None):
    """The built board, shared for a few seconds by every screen showing it.

    Many screens poll the same board; a short cache turns their polls into one build.
    The cache time plus the refresh interval stays within the 15 seconds in which a
    change must show (settings.WHITEBOARD_CACHE_SECONDS, WHITEBOARD_REFRESH_SECONDS).
    A refresh asks for a younger board (max_age) than a request does (sharing.py).
    """
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    if not seconds:
        return selectors.build_board(team=team, start=start, end=end, clinic=clinic)
    if generation is None:
        generation = freshness.board_generation(team.pk)
    max_age = seconds if max_age is None else max_age
    key = "whiteboard:boards:" + _key(team.pk, generation, start.isoformat(),
                                      end.isoformat(), clinic)

    def build():
        board = selectors.build_board(team=team, start=start, end=end, clinic=clinic)
        entry = (generation, board.now.timestamp(), board)
        cache.set(key, entry, seconds)
        return entry

    return _cached("board", key, generation, max_age, build)[0][2]


def _query(request):
    query = BoardQuery(request.GET)
    query.is_valid()
    return query


class _TodayQuery:
    """The options of a poll without a query string (today, everything, names shown):
    what BoardQuery gives for no data, without building and validating a form on every
    poll of every screen."""

    def __init__(self):
        self.errors, self.cleaned_data = {}, {}

    @staticmethod
    def window():
        return selectors.today_window()


def _poll_query(request):
    # Once a request: the staff check has asked for it already on a JSON poll.
    query = getattr(request, "_whiteboard_poll_query", None)
    if query is None:
        query = _TodayQuery() if not request.GET else _query(request)
        request._whiteboard_poll_query = query
    return query


def _render_fragment(board, team, start, end, privacy) -> str:
    return render_to_string("forms_app/whiteboard/_board.html", {
        "board": board,
        "team": team,
        "privacy": privacy,
        "chart": completion_chart(board),
        "window_end": end - datetime.timedelta(microseconds=1),
        "single_day": end - start <= datetime.timedelta(days=1),
    })


def _fragment_html(team, start, end, privacy, clinic="", *, board=None, generation=None,
                   after=None) -> str:
    """The refreshing part of the board, rendered once per board and privacy mode.

    It depends on nothing in the request (no CSRF token, no user), so every screen
    polling the same board shares one rendering for the cache's few seconds; rendering
    hundreds of rows costs far more than reading them. Near the end of its time, one
    process renders it again after its response (into `after`, sharing.py).
    """
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    if not seconds:
        board = board or selectors.build_board(team=team, start=start, end=end,
                                               clinic=clinic)
        return _render_fragment(board, team, start, end, privacy)
    if generation is None:
        generation = freshness.board_generation(team.pk)
    key = "whiteboard:fragment:" + _key(team.pk, generation, start.isoformat(),
                                        end.isoformat(), f"{privacy:d}", clinic)

    def build(max_age=seconds, given=None):
        built = given or _board(team, start, end, clinic, generation=generation,
                                max_age=max_age)
        entry = (generation, built.now.timestamp(),
                 _render_fragment(built, team, start, end, privacy))
        cache.set(key, entry, seconds)
        return entry

    entry, current = _cached("html", key, generation, seconds,
                             functools.partial(build, given=board))
    if current and after is not None and sharing.refresh_due(entry, seconds):
        sharing.refresh_later(after, key, generation,
                              functools.partial(build, sharing.reuse_age(seconds)))
    return entry[2]


def _context(request, team, query):
    start, end = query.window()
    privacy = query.cleaned_data.get("privacy", False)
    clinic = query.cleaned_data.get("clinic", "")
    params = request.GET.urlencode()
    suffix = f"?{params}" if params else ""
    base = {"start": timezone.localdate(start).isoformat(),
            "end": (timezone.localdate(end) - datetime.timedelta(days=1)).isoformat(),
            **({"clinic": clinic} if clinic else {})}
    toggled = {**base, **({} if privacy else {"privacy": "on"})}
    generation = (freshness.board_generation(team.pk) if settings.WHITEBOARD_CACHE_SECONDS
                  else None)
    board = _board(team, start, end, clinic, generation=generation)
    return {
        "board_html": _fragment_html(team, start, end, privacy, clinic, board=board,
                                     generation=generation),
        "team": team,
        "privacy": privacy,
        "clinic": clinic,
        "clinics": board.clinics,
        "refresh_seconds": settings.WHITEBOARD_REFRESH_SECONDS,
        "fragment_url": reverse("whiteboard:fragment", args=[team.pk]) + suffix,
        "data_url": reverse("whiteboard:data", args=[team.pk]) + suffix,
        "privacy_toggle_url": (reverse("whiteboard:board", args=[team.pk]) + "?"
                               + urlencode(toggled)),
        "query": query,
    }


def _private(response):
    # Patient data: never stored by shared caches, always revalidated by the browser.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Cookie"])
    return response


@require_GET
@staff_required
def board(request, team_id):
    team = _team_or_404(request, team_id)
    query = _query(request)
    if query.errors:
        return _private(render(request, "forms_app/whiteboard/board.html",
                               {"team": team, "query": query}, status=400))
    return _private(render(request, "forms_app/whiteboard/board.html",
                           _context(request, team, query)))


@require_GET
@staff_required
def fragment(request, team_id):
    team = _team_or_404(request, team_id)
    query = _poll_query(request)
    if query.errors:
        return _private(render(request, "forms_app/whiteboard/_errors.html",
                               {"query": query}, status=400))
    start, end = query.window()
    after = []
    html = _fragment_html(team, start, end, query.cleaned_data.get("privacy", False),
                          query.cleaned_data.get("clinic", ""), after=after)
    return sharing.send_then_run(_private(HttpResponse(html)), after)


def _json_keys(team_id, query):
    """The JSON's cache keys (body, tag): of the team and the board's options, not of
    its generation, so one round trip can read them with the generation and the
    membership; each value carries the generation it was built for instead. Worked
    out once a request (the staff check's prefetch asks first)."""
    known = getattr(query, "_json_keys", None)
    if known is not None and known[0] == str(team_id):
        return known[1]
    start, end = query.window()
    parts = (team_id, start.isoformat(), end.isoformat(),
             f"{query.cleaned_data.get('privacy', False):d}",
             query.cleaned_data.get("clinic", ""))
    key = "whiteboard:json-shared:" + _hashed(*parts)
    query._json_keys = (str(team_id), (key, f"{key}:etag"))
    return key, f"{key}:etag"


def _build_json(team, query, generation, max_age=None):
    """The board as gzipped JSON and its ETag, built once per cache time for every
    screen and every web process (the cache is Redis in production): a 300-row board
    is ~160 KB of JSON, ~15 KB gzipped, so the cache holds and sends the small one.
    Returns the body's entry: (generation, built_at, gzipped body, ETag)."""
    start, end = query.window()
    board = _board(team, start, end, query.cleaned_data.get("clinic", ""),
                   generation=generation, max_age=max_age)
    data = selectors.board_as_dict(board, privacy=query.cleaned_data.get("privacy", False))
    body = _encode(data)
    # mtime=0: the same board gives the same bytes in every process. Level 1: a 400-row
    # board in 1 ms instead of 2.6 (level 6), 39 KB instead of 34.
    compressed = gzip.compress(body, compresslevel=1, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    built_at = board.now.timestamp()
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    if seconds:
        key, etag_key = _json_keys(team.pk, query)
        cache.set_many({key: (generation, built_at, compressed, etag),
                        etag_key: (generation, built_at, etag)}, seconds)
    return generation, built_at, compressed, etag


class _BoardEncoder(DjangoJSONEncoder):
    """The standard library's encoder, writing a datetime as orjson does (isoformat:
    microseconds kept, "+00:00"), where Django's would cut to milliseconds and write Z."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


_DJANGO_DEFAULT = DjangoJSONEncoder().default


def _encode(data) -> bytes:
    """Compact JSON as bytes: orjson, 0.3 ms for a 300-row board where the standard
    library's encoder took 2 (an eighth of the uncached poll's CPU), and the board's
    datetimes written in C (selectors.board_as_dict). The same text either way; the
    standard encoder is kept for what orjson refuses (an integer beyond 64 bits in a
    score)."""
    try:
        return orjson.dumps(data, default=_DJANGO_DEFAULT)
    except orjson.JSONEncodeError:
        return json.dumps(data, cls=_BoardEncoder, separators=(",", ":")).encode()


def _refresh_json(user, team_id, query, generation):
    """A refresh after the response: the team is loaded with the membership checked
    again, as for any build."""
    team = selectors.visible_team(user, team_id)
    if team is not None:
        _build_json(team, query, generation,
                    sharing.reuse_age(settings.WHITEBOARD_CACHE_SECONDS))


def _accepts_gzip(request) -> bool:
    return any(coding.split(";")[0].strip() == "gzip" for coding in
               request.headers.get("Accept-Encoding", "").split(","))


def _lookup_keys(user_id, team_id, query, request):
    """(membership, generation, JSON body or tag) keys of a poll."""
    wanted = None
    if not query.errors:
        key, etag_key = _json_keys(team_id, query)
        wanted = etag_key if "If-None-Match" in request.headers else key
    return (f"whiteboard:member-of:{user_id}:{team_id}", freshness.generation_key(team_id),
            wanted)


@functools.cache
def _data_path():
    sample = uuid.UUID(int=0)
    prefix, suffix = reverse("whiteboard:data", args=[sample]).split(str(sample))
    return re.compile(f"{re.escape(prefix)}({_UUID}){re.escape(suffix)}")


_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def staff_check_prefetch(request, user_id):
    """The keys a JSON poll reads, for the staff check to read in its own round trip
    (patients.staff_check.register_prefetch, from forms_app.apps): one MGET a poll."""
    if not settings.WHITEBOARD_CACHE_SECONDS or request.method != "GET":
        return None
    match = _data_path().fullmatch(request.path)
    if match is None:
        return None
    return [key for key in _lookup_keys(user_id, match[1], _poll_query(request), request)
            if key]


def _json_lookup(request, team_id, query):
    """One cache round trip for a poll: the membership, the team's generation and the
    JSON (only its tag when the screen sends If-None-Match), read with the staff check
    when it has (staff_check_prefetch). Returns (member or not, generation, cached tag
    or body entry if current for this generation, or None).

    The membership is kept as a yes or no, not as the team: a poll answered from the
    cache needs no team object, and the build that does need one loads it with the
    membership checked again (selectors.visible_team)."""
    member_key, generation_key, wanted = _lookup_keys(request.user.pk, team_id, query,
                                                      request)
    keys = [member_key, generation_key, *([wanted] if wanted else [])]
    found = staff_check.prefetched(request, keys)
    if found is None:
        found = cache.get_many(keys)
    member = found.get(member_key)
    if member is None:
        member = selectors.visible_team(request.user, team_id) is not None
        cache.set(member_key, member, settings.WHITEBOARD_CACHE_SECONDS)
    generation = found.get(generation_key, 0)
    entry = found.get(wanted) if wanted else None
    if not sharing.is_current(entry, generation, settings.WHITEBOARD_CACHE_SECONDS):
        entry = None  # expired, or built before staff changed the board
    return member, generation, entry


def _json_response(request, compressed, etag):
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _not_modified(not_modified, etag)
    if _accepts_gzip(request):
        response = HttpResponse(compressed, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(compressed), content_type="application/json")
    response["ETag"] = etag
    patch_vary_headers(response, ["Accept-Encoding"])
    return _private(response)


def _query_errors(query):
    return JsonResponse({"errors": {name: [str(e) for e in errors]
                                    for name, errors in query.errors.items()}},
                        status=400)


def _no_board():
    return JsonResponse({"error": "No such whiteboard."}, status=404)


def _uncached_json(request, team_id, query):
    team = selectors.visible_team(request.user, team_id)
    if team is None:
        return _no_board()
    if query.errors:
        return _query_errors(query)
    return _json_response(request, *_build_json(team, query, 0)[2:])


@require_GET
@staff_required(json_response=True)
def data(request, team_id):
    """Read-only JSON of the board, with an ETag: 304 when nothing has changed, answered
    from the cached tag alone, without loading or building the body."""
    query = _poll_query(request)
    if not settings.WHITEBOARD_CACHE_SECONDS:
        return _uncached_json(request, team_id, query)
    member, generation, entry = _json_lookup(request, team_id, query)
    # Membership first: another team's board is a 404 whatever its options.
    if not member:
        return _no_board()
    if query.errors:
        return _query_errors(query)
    metrics.count_whiteboard_cache("json", entry)
    after = []
    if entry is not None and sharing.refresh_due(entry, settings.WHITEBOARD_CACHE_SECONDS):
        sharing.refresh_later(after, _json_keys(team_id, query)[0], generation,
                              functools.partial(_refresh_json, request.user, team_id, query,
                                      generation))
    return sharing.send_then_run(_json_answer(request, team_id, query, generation, entry),
                                 after)


def _json_answer(request, team_id, query, generation, entry):
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    if entry is not None and len(entry) == 3:  # the tag alone (If-None-Match)
        not_modified = get_conditional_response(request, etag=entry[2])
        if not_modified is not None:
            return _not_modified(not_modified, entry[2])
        entry = cache.get(_json_keys(team_id, query)[0])
        entry = entry if sharing.is_current(entry, generation, seconds) else None
    if entry is None:
        team = selectors.visible_team(request.user, team_id)
        if team is None:  # left the team since the membership was remembered
            return _no_board()
        entry = sharing.build_once(_json_keys(team_id, query)[0], generation, seconds,
                                   functools.partial(_build_json, team, query, generation))
    return _json_response(request, entry[2], entry[3])


def _not_modified(response, etag):
    response["ETag"] = etag
    patch_vary_headers(response, ["Accept-Encoding"])
    return _private(response)
