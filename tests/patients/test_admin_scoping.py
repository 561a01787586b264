"""Every admin page kind is scoped: change list, change form by id, search,
autocomplete, raw-id popup, actions and history."""

import pytest
from django.contrib import admin
from django.urls import reverse

from patients.admin_site import ScopedAdminMixin
from tests.factories.world import build_world, verified

pytestmark = pytest.mark.django_db

OUTSIDERS = ["other_team", "other_organisation", "superuser"]


@pytest.fixture
def world():
    return build_world()


def _shows_data(world, response, url):
    # A search term the visitor typed is echoed back in the search box: not a leak.
    text = response.content.decode()
    return [m for m in world.markers if m in text and m not in url]


def test_every_registered_admin_uses_the_one_scoping_method():
    unscoped = [f"{model._meta.label}: {type(model_admin).__name__}"
                for model, model_admin in admin.site._registry.items()
                if not isinstance(model_admin, ScopedAdminMixin)]
    assert not unscoped, ("Admins without ScopedAdminMixin.scope() (patients/admin_site.py): "
                          + ", ".join(unscoped))


@pytest.mark.parametrize("visitor", [*OUTSIDERS, "right_team"])
def test_admin_page_kinds(client, world, visitor):
    client = verified(client, world.users[visitor])
    inside = visitor == "right_team"
    patient = world.patient
    pages = {
        "change list": reverse("admin:patients_patient_changelist"),
        "search": reverse("admin:patients_patient_changelist") + f"?q={patient.nhs_number}",
        "search by name": reverse("admin:forms_app_submission_changelist")
        + f"?q={world.submission.reference}",
        "change form": reverse("admin:patients_patient_change", args=[patient.pk]),
        "submission": reverse("admin:forms_app_submission_change",
                              args=[world.submission.pk]),
        "record": reverse("admin:patients_recordentry_change", args=[world.record_entry.pk]),
        "history": reverse("admin:patients_patient_history", args=[patient.pk]),
        "raw-id popup": reverse("admin:patients_patient_changelist")
        + "?_popup=1&_to_field=id",
        "autocomplete": reverse("admin:autocomplete") + "?app_label=forms_app&model_name=link"
        "&field_name=patient&term=Quixotic",
    }
    for kind, url in pages.items():
        response = client.get(url)
        leaked = _shows_data(world, response, url)
        if inside:
            assert response.status_code == 200 and leaked, kind
        else:
            assert not leaked, (kind, response.status_code)
            assert response.status_code in (200, 403, 404), (kind, response.status_code)
            if kind in ("change form", "submission", "record", "history"):
                assert response.status_code == 404, kind


@pytest.mark.parametrize("visitor", OUTSIDERS)
def test_actions_reach_only_visible_objects(client, world, visitor):
    client = verified(client, world.users[visitor])
    client.post(reverse("admin:forms_app_link_changelist"),
                {"action": "revoke", "_selected_action": [str(world.link.pk)]})
    world.link.refresh_from_db()
    assert world.link.revoked_at is None


def test_the_right_team_can_act(client, world):
    client = verified(client, world.users["right_team"])
    client.post(reverse("admin:forms_app_link_changelist"),
                {"action": "revoke", "_selected_action": [str(world.link.pk)]})
    world.link.refresh_from_db()
    assert world.link.revoked_at is not None


def test_foreign_key_choices_are_scoped(client, world):
    client = verified(client, world.users["other_organisation"])
    response = client.get(reverse("admin:patients_careteam_add"))
    assert response.status_code == 200
    choices = [str(c[0]) for c in response.context["adminform"].form.fields[
        "organisation"].choices]
    assert str(world.organisation.pk) not in choices
    assert str(world.other_organisation.pk) in choices


def test_organisation_administrators_manage_only_their_own(client, world):
    client = verified(client, world.users["other_organisation"])
    own = reverse("admin:patients_careteam_change", args=[world.foreign_team.pk])
    theirs = reverse("admin:patients_careteam_change", args=[world.team.pk])
    assert client.get(own).status_code == 200
    assert client.get(theirs).status_code == 404
    assert client.get(reverse("admin:forms_app_form_change", args=[world.form.pk])
                      ).status_code == 404
    audit = client.get(reverse("admin:patients_auditevent_changelist"))
    assert audit.status_code == 200 and str(world.patient.pk) not in audit.content.decode()


def test_list_filters_name_no_other_organisation(client, world):
    client = verified(client, world.users["other_organisation"])
    for url in (reverse("admin:patients_careteam_changelist"),
                reverse("admin:patients_auditevent_changelist")):
        response = client.get(url)
        assert response.status_code == 200
        assert world.organisation.name not in response.content.decode(), url
