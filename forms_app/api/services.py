"""Write operations of the REST API: API clients, and idempotent link issuing.

Keyword-only, one transaction each, audited, like forms_app.services (which they call).
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from forms_app import services
from forms_app.models import ApiClient, FormVersion, IdempotencyKey, Link, hash_token
from forms_app.models.api import TOKEN_PREFIX
from patients.models import AuditEvent, CareTeam
from patients.services import record_audit


class IdempotencyKeyReused(services.ServiceError):
    """The same Idempotency-Key came with a different request body."""

    status_code = 422
    code = "reused"
    attr = "Idempotency-Key"


class LinkAlreadySubmitted(services.ServiceError):
    status_code = 409
    code = "conflict"


# --- API clients ------------------------------------------------------------------

def _new_token_for(client: ApiClient) -> str:
    token = ApiClient.new_token()
    client.token_hash = hash_token(token)
    client.token_prefix = token[: len(TOKEN_PREFIX) + 4]
    return token


@transaction.atomic
def create_api_client(*, name: str, care_team: CareTeam, by,
                      registers_patients: bool = False) -> tuple[ApiClient, str]:
    """Register a calling system for one care team; the token is returned here once.

    The client's service user has no password and no staff access: it exists only so
    that team membership (and so every visible_to rule) and the audit trail name it.
    """
    client = ApiClient(name=name, care_team=care_team, registers_patients=registers_patients,
                       created_by=None if isinstance(by, str) else by)
    user = get_user_model()(username=f"api-{client.id}", first_name=name[:150],
                            is_staff=False, is_active=True)
    user.set_unusable_password()
    user.save()
    client.user = user
    token = _new_token_for(client)
    client.full_clean(exclude=["user", "token_hash", "token_prefix"])
    client.save()
    care_team.members.add(user)
    record_audit(by=by, action=AuditEvent.Action.API_CLIENT_CREATED,
                 organisation=care_team.organisation, obj=client,
                 detail={"care_team": str(care_team.pk), "name": name,
                         "registers_patients": registers_patients})
    return client, token


@transaction.atomic
def rotate_api_client_token(*, client: ApiClient, by) -> str:
    """Replace the client's token; the old one stops working at once."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    token = _new_token_for(client)
    client.save(update_fields=["token_hash", "token_prefix"])
    record_audit(by=by, action=AuditEvent.Action.API_CLIENT_TOKEN_ROTATED,
                 organisation=client.care_team.organisation, obj=client)
    return token


@transaction.atomic
def deactivate_api_client(*, client: ApiClient, by) -> None:
    """Shut a client out: its service user is deactivated, so it sees nothing."""
    user = client.user
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        record_audit(by=by, action=AuditEvent.Action.API_CLIENT_DEACTIVATED,
                     organisation=client.care_team.organisation, obj=client)


# --- Links ------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiIssuedLink:
    link: Link
    # The link's URL, only on the call that created it: never stored, never repeated.
    url: str | None
    replayed: bool


@transaction.atomic
def issue_link(*, client: ApiClient, version: FormVersion, patient, by,
               channel: str = Link.Channel.SCREEN,
               expires_at: datetime.datetime | None = None,
               idempotency_key: str | None = None, request_hash: str = "",
               appointment=None) -> ApiIssuedLink:
    """Issue a link for the client's team, at most once per idempotency key.

    The key row is inserted in the same transaction as the link: a concurrent retry
    with the same key waits on the unique index and then finds the committed link;
    a failed issue rolls the key back so it can be retried.
    """
    record = None
    if idempotency_key is not None:
        record, created = IdempotencyKey.objects.get_or_create(
            client=client, key=idempotency_key, defaults={"request_hash": request_hash})
        if not created:
            return replay(record=record, request_hash=request_hash)
    issued = services.issue_link(version=version, patient=patient,
                                 care_team=client.care_team, by=by, channel=channel,
                                 expires_at=expires_at, appointment=appointment)
    if record is not None:
        record.link = issued.link
        record.save(update_fields=["link"])
    return ApiIssuedLink(link=issued.link, url=issued.url, replayed=False)


def replay(*, record: IdempotencyKey, request_hash: str) -> ApiIssuedLink:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body; "
            "use a new key for a new request.")
    return ApiIssuedLink(link=record.link, url=None, replayed=True)


@transaction.atomic
def revoke_link(*, link: Link, by) -> Link:
    """Withdraw a link that the patient has not yet submitted."""
    link = Link.objects.select_for_update().get(pk=link.pk)
    # A link without a submission raises RelatedObjectDoesNotExist, an AttributeError.
    submission = getattr(link, "submission", None)
    if submission is not None and submission.is_submitted:
        raise LinkAlreadySubmitted("This link's form has already been submitted.")
    return services.revoke_link(link=link, by=by)


def purge_idempotency_keys(*, older_than: datetime.datetime) -> int:
    """Forget idempotency keys past their retention; a retry after that issues anew.

    Deleted in batches so a large backlog never holds one long transaction.
    """
    purged = 0
    while True:
        batch = list(IdempotencyKey.objects.filter(created_at__lt=older_than)
                     .values_list("pk", flat=True)[:5000])
        if not batch:
            return purged
        purged += IdempotencyKey.objects.filter(pk__in=batch).delete()[0]
