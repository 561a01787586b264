"""Reads that need care: the token check, compiled versions, scoped lookups."""

import math

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from forms_app.engine import CompiledForm, compile_definition
from forms_app.models import Form, FormVersion, Link, hash_token

_MAX_TOKEN_LENGTH = 128


def find_link_by_token(token: str) -> Link | None:
    """The one token check: a link matching the token that can still be used.

    Unknown, expired and revoked tokens all give None, so that callers show one
    neutral page and reveal nothing about which it was. A submitted link is returned:
    its patient is shown "already submitted" and nothing else.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    link = (Link.objects.select_related("version", "patient", "care_team")
            .filter(token_hash=hash_token(token)).first())
    if link is None or not link.is_open_at(timezone.now()):
        return None
    return link


# Versions are immutable, so a compiled version never goes stale; the cache is per
# process and bounded only by the number of live versions.
_compiled_cache: dict = {}


def clinic_contact(link_id) -> dict | None:
    """How the patient holding this link reaches its clinic (CareTeam.contact_details)."""
    if not link_id:
        return None
    link = Link.objects.select_related("care_team__organisation").filter(pk=link_id).first()
    return link.care_team.contact_details() if link else None


def compiled_version(version: FormVersion) -> CompiledForm:
    compiled = _compiled_cache.get(version.pk)
    if compiled is None:
        compiled = compile_definition(version.definition)
        _compiled_cache[version.pk] = compiled
    return compiled


def current_versions_for(user):
    """The current version of each form the user's organisations may issue: the latest
    published one, unless it has been retired (then the form cannot be issued at all).
    Superseded versions are never offered."""
    latest = (FormVersion.objects.filter(form=OuterRef("form")).order_by("-number")
              .values("number")[:1])
    return (FormVersion.objects.filter(form__in=Form.objects.visible_to(user),
                                       retired_at__isnull=True, number=Subquery(latest))
            .select_related("form").order_by("title", "form_id"))


def attempts_left(link_id) -> int:
    """Wrong dates of birth the patient may still give before the link is paused."""
    failed = Link.objects.filter(pk=link_id).values_list("failed_checks", flat=True).first()
    return max(settings.LINK_MAX_FAILED_CHECKS - (failed or 0), 0)


def lock_minutes_left(link_id) -> int:
    """Whole minutes until a paused link may be tried again (at least one)."""
    until = Link.objects.filter(pk=link_id).values_list("locked_until", flat=True).first()
    seconds = (until - timezone.now()).total_seconds() if until else 0
    return max(1, math.ceil(seconds / 60))
