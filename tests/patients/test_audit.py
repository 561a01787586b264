"""The audit trail: one row per access, in the action's transaction, append-only."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from forms_app import services
from patients.models import AuditEvent
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db

A = AuditEvent.Action


@pytest.fixture
def world():
    return build_world()


def _new_rows(before, **filters):
    return AuditEvent.objects.filter(pk__gt=before, **filters)


def _last():
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_viewing_answers_and_the_record_writes_one_row_each(client, world):
    client = verified(client, world.users["right_team"])
    before = _last()
    assert client.get(reverse("admin:forms_app_submission_change",
                              args=[world.submission.pk])).status_code == 200
    rows = _new_rows(before, action=A.ANSWERS_VIEWED)
    assert rows.count() == 1
    row = rows.get()
    assert (row.actor, row.patient, row.object_id, row.ip_address) == (
        world.users["right_team"], world.patient, str(world.submission.pk), "127.0.0.1")
    assert row.organisation == world.organisation
    before = _last()
    client.get(reverse("admin:patients_recordentry_change", args=[world.record_entry.pk]))
    assert _new_rows(before, action=A.RECORD_VIEWED, patient=world.patient).count() == 1


def test_outsiders_write_no_view_rows(client, world):
    client = verified(client, world.users["other_team"])
    before = _last()
    client.get(reverse("admin:forms_app_submission_change", args=[world.submission.pk]))
    assert not _new_rows(before, action=A.ANSWERS_VIEWED).exists()


def test_links_issued_and_revoked_write_one_row_each(world):
    before = _last()
    issued = services.issue_link(version=world.link.version, patient=world.patient,
                                 care_team=world.team, by=world.users["right_team"])
    assert _new_rows(before, action=A.LINK_ISSUED, object_id=str(issued.link.pk)).count() == 1
    before = _last()
    services.revoke_link(link=issued.link, by=world.users["right_team"])
    services.revoke_link(link=issued.link, by=world.users["right_team"])  # already revoked
    assert _new_rows(before, action=A.LINK_REVOKED).count() == 1


def test_a_form_change_in_the_admin_writes_one_row(client, world):
    client = verified(client, world.users["right_team"])
    item = world.item
    before = _last()
    response = client.post(reverse("admin:forms_app_item_change", args=[item.pk]), {
        "form": world.form.pk, "parent": item.parent_id, "position": 0, "link_id": "notes",
        "text": "Anything else to tell us?", "help_text": "", "type": "text",
        "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0",
        "options-MIN_NUM_FORMS": "0", "options-MAX_NUM_FORMS": "1000",
        "enable_behavior": "all",
        "conditions-TOTAL_FORMS": "0", "conditions-INITIAL_FORMS": "0",
        "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    rows = _new_rows(before, action=A.FORM_CHANGED)
    assert rows.count() == 1 and rows.get().detail["form"] == str(world.form.pk)


def test_a_failed_audit_write_rolls_back_the_action(world, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(services, "record_audit", broken)
    with pytest.raises(DatabaseError):
        services.revoke_link(link=world.link, by=world.users["right_team"])
    world.link.refresh_from_db()
    assert world.link.revoked_at is None


def test_a_failed_audit_write_rolls_back_an_admin_form_change(client, world, monkeypatch):
    from forms_app.admin import core

    def broken(**kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(core, "record_audit", broken)
    client = verified(client, world.users["right_team"])
    client.raise_request_exception = False
    response = client.post(reverse("admin:forms_app_item_change", args=[world.item.pk]), {
        "form": world.form.pk, "parent": world.item.parent_id, "position": 0,
        "link_id": "notes", "text": "Changed", "help_text": "", "type": "text",
        "options-TOTAL_FORMS": "0", "options-INITIAL_FORMS": "0",
        "options-MIN_NUM_FORMS": "0", "options-MAX_NUM_FORMS": "1000",
        "enable_behavior": "all",
        "conditions-TOTAL_FORMS": "0", "conditions-INITIAL_FORMS": "0",
        "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0"})
    assert response.status_code == 500
    world.item.refresh_from_db()
    assert world.item.text == "Anything else?"


def test_staff_cannot_edit_or_delete_audit_rows(client, world):
    event = world.audit_event
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    admin_client = verified(client, world.users["superuser"])
    url = reverse("admin:patients_auditevent_change", args=[event.pk])
    assert admin_client.post(url, {"action": "x"}).status_code == 403
    delete = reverse("admin:patients_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_to_change_audit_rows(world):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    for statement in ("UPDATE patients_auditevent SET action = 'x' WHERE id = %s",
                      "DELETE FROM patients_auditevent WHERE id = %s"):
        with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(statement, [world.audit_event.pk])
    assert AuditEvent.objects.filter(pk=world.audit_event.pk, action=world.audit_event.action
                                     ).exists()


def test_organisation_administrators_search_and_export(client, world):
    world.organisation.administrators.add(world.users["other_team"])
    client = verified(client, world.users["other_team"])
    changelist = reverse("admin:patients_auditevent_changelist")
    response = client.get(changelist + f"?q={world.link.pk}")
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    ids = [str(pk) for pk in AuditEvent.objects.filter(
        organisation=world.organisation).values_list("pk", flat=True)]
    before = _last()
    response = client.post(changelist, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("at,actor_label,action") and len(lines) == len(ids) + 1
    assert world.patient.family_name not in "".join(lines)
    assert _new_rows(before, action=A.AUDIT_EXPORTED).count() == 1
    # Another organisation's administrator sees none of it.
    foreign = verified(client.__class__(), world.users["other_organisation"])
    response = foreign.get(changelist + f"?q={world.link.pk}")
    assert response.context["cl"].result_count == 0


def test_an_audit_row_joins_the_callers_transaction_without_a_savepoint(world):
    # Issue 12: a savepoint around one INSERT is two round trips for nothing; the event
    # and its action commit or roll back together.
    from django.test.utils import CaptureQueriesContext

    from patients.services import record_audit

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record_audit(by="system", action=A.SUBMITTED, patient=world.patient,
                     organisation=world.organisation)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
