"""A team's whiteboard generation: bumped when staff change what the board shows.

Built boards are shared through the cache for WHITEBOARD_CACHE_SECONDS (views.py); the
generation is part of every key, so a change a member of staff has just made (an
urgent task acknowledged) is on the next load of every screen, not a few seconds later.
Changes that arrive by themselves (a form sent, filed) show within the cache time.
"""

import time

from django.core.cache import cache


def generation_key(team_id) -> str:
    """The key of the team's generation, for a caller that reads it with other keys in
    one round trip (views.data); a missing key is generation 0."""
    return f"whiteboard:generation:{team_id}"


def board_generation(team_id) -> int:
    return cache.get(generation_key(team_id), 0)


def board_changed(team_id) -> None:
    # A fresh value, not incr(): nothing to race on, and it survives a key's expiry.
    cache.set(generation_key(team_id), time.time_ns(), None)
