"""Systems that call the REST API (the EHR and others), and their idempotency keys."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from forms_app.models.core import Link
from patients.models import CareTeam

TOKEN_PREFIX = "pfa_"  # noqa: S105 (a public prefix, not a secret)


class ApiClient(models.Model):
    """A system allowed to call the API for exactly one care team of one organisation.

    Each client acts through a service user of its own that is a member of that one
    team and nothing else, so the same `visible_to(user)` scoping that staff pages use
    scopes the API too, and links it issues and answers it reads are audited as that
    user. Only the SHA-256 of the client's token is stored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True,
                            help_text="The calling system, e.g. 'EHR production'.")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT,
                                  related_name="api_clients")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="api_client", editable=False)
    # Only a client trusted with the organisation's patient index (the trust's patient
    # administration system) may create patients; it learns whether an NHS number is
    # registered with another team (it must, to create anyone). Every other client
    # updates its own team's patients and cannot tell anyone else's from no one.
    registers_patients = models.BooleanField(
        "may register new patients", default=False,
        help_text="Let this system create patients new to the organisation. It is then "
                  "told when an NHS number belongs to another team (never that team's "
                  "data). Leave off for a system that only sends its own team's forms.")
    # The first characters of the token, so staff can tell which token a system holds
    # without the token itself being stored.
    token_prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self):
        return self.name

    @property
    def organisation(self):
        return self.care_team.organisation

    @property
    def is_active(self):
        return self.user.is_active

    @staticmethod
    def new_token() -> str:
        # A recognisable prefix lets secret scanners spot a leaked token.
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a client sent with a link creation, and what it created.

    A retry with the same key and the same body returns the same link; the same key
    with a different body is refused. Keys are per client.
    """

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE,
                               related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # SHA-256 of the request body in canonical JSON: never the body itself.
    request_hash = models.CharField(max_length=64)
    link = models.ForeignKey(Link, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"],
                                    name="idempotency_key_unique_per_client"),
        ]

    def __str__(self):
        return f"{self.client} {self.key[:20]}"
