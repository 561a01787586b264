"""Reads that need care: the token check, compiled versions, scoped lookups."""

import math

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from forms_app.engine import CompiledForm, compile_definition
from forms_app.models import Form, FormVersion, Link, Submission, hash_token
from patients.prepared import OneRow

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


# What a journey page reads, in one query: the submission, its link's dates and its
# version's id. The definition is read only when the compiled version is not cached.
_PAGE_FIELDS = ("state", "reference", "wizard_state", "draft_answers", "device", "link",
                "link__expires_at", "link__revoked_at", "link__version",
                "link__version__form")
# The final submit also audits, naming the patient and organisation: read them in the
# same query, and hand the row to services.submit.
_SUBMIT_FIELDS = (*_PAGE_FIELDS, "link__patient", "link__patient__organisation")
# Every patient page makes one of these two lookups: compiled to SQL once per process
# (patients/prepared.py), which saves the ORM's millisecond per request.
_page_row = OneRow(lambda link_id: Submission.objects.select_related("link__version")
                   .only(*_PAGE_FIELDS).filter(link_id=link_id), Link._meta.pk)
_submit_row = OneRow(lambda link_id: Submission.objects.select_related(
    "link__version", "link__patient__organisation").only(*_SUBMIT_FIELDS)
    .filter(link_id=link_id), Link._meta.pk)


def journey_submission(link_id, *, for_submit=False) -> Submission | None:
    """The submission of this link as a journey page needs it (None if there is none),
    with its link and version id; ``for_submit`` adds the patient and organisation."""
    return (_submit_row if for_submit else _page_row).one(link_id)


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
