"""What a new web process does before it takes its first request.

gunicorn calls `warm()` in each worker once the application is loaded and before the
worker accepts a connection (gunicorn.conf.py, post_worker_init). Without it the first
request a worker served paid for compiling the patient pages' Jinja templates and the
NHS.UK component macros they import: 1.4 s of CPU for the first question page in a
fresh process, 130 ms for the first whiteboard fragment, against 9 and 5 ms after
(issue 12). Workers are recycled every GUNICORN_MAX_REQUESTS requests, so under load a
patient met that cold process every few minutes; a request for it waited behind the
compile. Now the compile happens while the other workers serve.

Nothing here reads the database or the cache, or holds anyone's data: templates,
translation catalogues and the URL patterns, the same for every request.
"""

from django.conf import settings
from django.template import engines
from django.urls import get_resolver
from django.utils import translation
from jinja2 import FileSystemLoader, meta


def _own_templates(engine) -> list[str]:
    """The templates of this project's jinja2/ directory (not the whole NHS.UK library:
    compiling all 95 of its files took longer than the pages need). Listed by a loader
    of those directories alone, without reading any file."""
    return FileSystemLoader(engine.dirs).list_templates()


def warm_templates() -> set[str]:
    """Compile this project's Jinja templates and every template they import, include
    or extend (transitively); returns the names compiled."""
    engine = engines["jinja2"]
    env, pending, done = engine.env, _own_templates(engine), set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        source = env.loader.get_source(env, name)[0]
        env.get_template(name)
        # Names written as literals; a computed name is compiled when first used.
        pending.extend(ref for ref in meta.find_referenced_templates(env.parse(source))
                       if ref is not None and ref not in done)
    return done


def warm() -> None:
    warm_templates()
    for code, _ in settings.LANGUAGES:  # each language's catalogue, read from disk once
        with translation.override(code):
            translation.gettext("Continue")
    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 (populates the resolver's URL tables)
