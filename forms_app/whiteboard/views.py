"""Whiteboard pages: the large-screen board, the fragment it polls, and read-only JSON.

Staff only, with a verified second factor, and only for care teams they belong to
(CareTeam.objects.of_user, through selectors.visible_team). Another team's board is a
404, not a 403, so its existence is not revealed.
"""

import datetime
import hashlib
import json
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
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
from forms_app.whiteboard import selectors
from forms_app.whiteboard.charts import completion_chart

MAX_DAYS = 31


class BoardQuery(forms.Form):
    """The board's options, from the query string: a date range and privacy mode."""

    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
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


def verified_staff(*, json_response=False):
    """Signed in with a verified second factor (django-otp); else login, or JSON 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_verified()):
                if json_response:
                    return JsonResponse(
                        {"error": "Sign in with two-factor authentication."}, status=403)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _team_or_404(request, team_id):
    team = selectors.visible_team(request.user, team_id)
    if team is None:
        raise Http404("No such whiteboard")
    return team


def _board(team, start, end):
    """The built board, shared for a few seconds by every screen showing it.

    Many screens poll the same board; a short cache turns their polls into one build.
    The cache time plus the refresh interval stays within the 15 seconds in which a
    change must show (settings.WHITEBOARD_CACHE_SECONDS, WHITEBOARD_REFRESH_SECONDS).
    """
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    key = f"whiteboard:board:{team.pk}:{start.isoformat()}:{end.isoformat()}"
    board = cache.get(key) if seconds else None
    metrics.count_whiteboard_cache("board", board)
    if board is None:
        board = selectors.build_board(team=team, start=start, end=end)
        if seconds:
            cache.set(key, board, seconds)
    return board


def _query(request):
    query = BoardQuery(request.GET)
    query.is_valid()
    return query


def _fragment_html(team, start, end, privacy) -> str:
    """The refreshing part of the board, rendered once per board and privacy mode.

    It depends on nothing in the request (no CSRF token, no user), so every screen
    polling the same board shares one rendering for the cache's few seconds; rendering
    hundreds of rows costs far more than reading them.
    """
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    key = (f"whiteboard:html:{team.pk}:{start.isoformat()}:{end.isoformat()}:"
           f"{privacy:d}")
    html = cache.get(key) if seconds else None
    metrics.count_whiteboard_cache("html", html)
    if html is None:
        board = _board(team, start, end)
        html = render_to_string("forms_app/whiteboard/_board.html", {
            "board": board,
            "team": team,
            "privacy": privacy,
            "chart": completion_chart(board),
            "window_end": end - datetime.timedelta(microseconds=1),
            "single_day": end - start <= datetime.timedelta(days=1),
        })
        if seconds:
            cache.set(key, html, seconds)
    return html


def _context(request, team, query):
    start, end = query.window()
    privacy = query.cleaned_data.get("privacy", False)
    params = request.GET.urlencode()
    suffix = f"?{params}" if params else ""
    base = {"start": timezone.localdate(start).isoformat(),
            "end": (timezone.localdate(end) - datetime.timedelta(days=1)).isoformat()}
    toggled = {**base, **({} if privacy else {"privacy": "on"})}
    return {
        "board_html": _fragment_html(team, start, end, privacy),
        "team": team,
        "privacy": privacy,
        "refresh_seconds": settings.WHITEBOARD_REFRESH_SECONDS,
        "fragment_url": reverse("whiteboard:fragment", args=[team.pk]) + suffix,
        "data_url": reverse("whiteboard:data", args=[team.pk]) + suffix,
        "privacy_toggle_url": (reverse("whiteboard:board", args=[team.pk]) + "?"
                               + "&".join(f"{k}={v}" for k, v in toggled.items())),
        "query": query,
    }


def _private(response):
    # Patient data: never stored by shared caches, always revalidated by the browser.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Cookie"])
    return response


@require_GET
@verified_staff()
def board(request, team_id):
    team = _team_or_404(request, team_id)
    query = _query(request)
    if query.errors:
        return _private(render(request, "forms_app/whiteboard/board.html",
                               {"team": team, "query": query}, status=400))
    return _private(render(request, "forms_app/whiteboard/board.html",
                           _context(request, team, query)))


@require_GET
@verified_staff()
def fragment(request, team_id):
    team = _team_or_404(request, team_id)
    query = _query(request)
    if query.errors:
        return _private(render(request, "forms_app/whiteboard/_errors.html",
                               {"query": query}, status=400))
    start, end = query.window()
    html = _fragment_html(team, start, end, query.cleaned_data.get("privacy", False))
    return _private(HttpResponse(html))


def _json_body(team, query) -> tuple[bytes, str]:
    start, end = query.window()
    privacy = query.cleaned_data.get("privacy", False)
    seconds = settings.WHITEBOARD_CACHE_SECONDS
    key = f"whiteboard:json:{team.pk}:{start.isoformat()}:{end.isoformat()}:{privacy:d}"
    cached = cache.get(key) if seconds else None
    metrics.count_whiteboard_cache("json", cached)
    if cached is None:
        data = selectors.board_as_dict(_board(team, start, end), privacy=privacy)
        body = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        cached = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        if seconds:
            cache.set(key, cached, seconds)
    return cached


@require_GET
@verified_staff(json_response=True)
def data(request, team_id):
    """Read-only JSON of the board, with an ETag: 304 when nothing has changed."""
    team = selectors.visible_team(request.user, team_id)
    if team is None:
        return JsonResponse({"error": "No such whiteboard."}, status=404)
    query = _query(request)
    if query.errors:
        return JsonResponse({"errors": {name: [str(e) for e in errors]
                                        for name, errors in query.errors.items()}},
                            status=400)
    body, etag = _json_body(team, query)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        not_modified["ETag"] = etag
        return _private(not_modified)
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return _private(response)
