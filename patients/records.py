"""Where staff read a record entry: the app that files entries of a source kind says.

The record does not know what produced an entry (a kind and an id), so it cannot show
one in words itself; the filing app registers, for its source kind, a function giving
the address of its readable page (forms_app registers its submissions in
FormsAppConfig.ready). The admin shows that link instead of the raw documents.
"""

from collections.abc import Callable

from django.utils.html import format_html, format_html_join

_readers: dict[str, Callable] = {}


def register_reader(source_kind: str, url_for: Callable) -> None:
    _readers[source_kind] = url_for


def reader_url(entry) -> str | None:
    url_for = _readers.get(entry.source_kind)
    return url_for(entry) if url_for is not None else None


def readable_summary(summary) -> str:
    """Scores (with bands) and flags in words, never the raw JSON."""
    summary = summary if isinstance(summary, dict) else {}
    bands = summary.get("bands") or {}
    parts = [(f"{key}: {value}" + (f" ({bands[key]})" if key in bands else ""),)
             for key, value in (summary.get("scores") or {}).items()]
    parts += [(f"{str(flag.get('severity', 'flag')).capitalize()}: "
               f"{flag.get('message') or flag.get('code', '')}",)
              for flag in summary.get("flags") or [] if isinstance(flag, dict)]
    if not parts:
        return "No scores or flags."
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", parts))
