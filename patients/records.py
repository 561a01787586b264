"""Where staff read a record entry: the app that files entries of a source kind says.

The record does not know what produced an entry (a kind and an id), so it cannot show
one in words itself; the filing app registers, for its source kind, a function giving
the address of its readable page (forms_app registers its submissions in
FormsAppConfig.ready). The admin shows that link instead of the raw documents.
"""

from collections.abc import Callable

_readers: dict[str, Callable] = {}


def register_reader(source_kind: str, url_for: Callable) -> None:
    _readers[source_kind] = url_for


def reader_url(entry) -> str | None:
    url_for = _readers.get(entry.source_kind)
    return url_for(entry) if url_for is not None else None
