"""A retried link creation with the same Idempotency-Key issues one link."""

import threading
import uuid

import pytest
from django.db import connection

from forms_app.models import IdempotencyKey, Link
from tests.factories.forms_app import api_client_for
from tests.forms_app.api.conftest import api_for


def body(world, **extra):
    return {"patient": str(world.patient.pk), "form": str(world.version.form_id), **extra}


def post(api, data, key):
    return api.post("/api/v1/links/", data, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_same_link(world):
    key = str(uuid.uuid4())
    first = post(world.api, body(world), key)
    assert first.status_code == 201 and first.json()["url"]
    # The same body, in another key order: the same request.
    again = post(world.api, dict(reversed(list(body(world).items()))), key)
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    # The URL was shown once, when the link was issued; the replay does not repeat it.
    assert again.json()["url"] is None
    assert Link.objects.count() == 1
    assert IdempotencyKey.objects.get().link_id == uuid.UUID(first.json()["id"])


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(world):
    key = "order-123"
    assert post(world.api, body(world), key).status_code == 201
    response = post(world.api, body(world, channel="sms"), key)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["attr"] == "Idempotency-Key" and error["code"] == "reused"
    assert Link.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_client(world):
    # The other organisation's client uses the same key for its own request.
    other_patient_body = {"patient": str(world.patient.pk),
                          "form": str(world.version.form_id)}
    assert post(world.api, body(world), "shared-key").status_code == 201
    response = post(world.other_org_api, other_patient_body, "shared-key")
    # Its request is judged on its own (this patient is not its patient), not replayed.
    assert response.status_code == 400 and Link.objects.count() == 1
    _, token = api_client_for(world.team, name="Second EHR")
    second = post(api_for(token), body(world), "shared-key")
    assert second.status_code == 201 and Link.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_request_does_not_use_up_its_key(world):
    key = "retry-after-fix"
    assert post(world.api, body(world, channel="pigeon"), key).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(world.api, body(world), key).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "has space"])
def test_a_malformed_key_is_refused(world, key):
    response = post(world.api, body(world), key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "Idempotency-Key"
    assert not Link.objects.exists()


@pytest.mark.django_db
def test_without_a_key_each_call_issues_a_link(world):
    world.api.post("/api/v1/links/", body(world), format="json")
    world.api.post("/api/v1/links/", body(world), format="json")
    assert Link.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_issue_one_link(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row-level concurrency (PostgreSQL)")
    key = str(uuid.uuid4())
    barrier = threading.Barrier(4)
    statuses = []

    def call():
        try:
            api = api_for(world.token)
            barrier.wait(timeout=10)
            statuses.append(post(api, body(world), key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert Link.objects.count() == 1


@pytest.mark.django_db
def test_keys_past_their_retention_are_forgotten(world, settings):
    import datetime

    from django.utils import timezone

    from forms_app.tasks import purge_idempotency_keys

    assert post(world.api, body(world), "old-key").status_code == 201
    assert post(world.api, body(world), "new-key").status_code == 201
    IdempotencyKey.objects.filter(key="old-key").update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS,
                                                       minutes=1))
    assert purge_idempotency_keys.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new-key"]
    # The links themselves stay; only the memory of the key goes.
    assert Link.objects.count() == 2
    assert post(world.api, body(world), "new-key").status_code == 200


def test_the_schema_is_valid_openapi_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
