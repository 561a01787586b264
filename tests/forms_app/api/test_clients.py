"""API clients: created in the admin or by command, token shown once, hash stored."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from forms_app.models import ApiClient, hash_token
from patients.models import AuditEvent
from tests.factories.forms_app import api_client_for
from tests.factories.patients import CareTeamFactory, UserFactory
from tests.forms_app.api.conftest import api_for

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/forms_app/apiclient/add/"


def test_admin_creates_a_client_and_shows_its_token_once(world, client, otp_login):
    otp_login(client, world.user)
    response = client.post(ADD_URL, {"name": "EHR test", "care_team": str(world.team.pk)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    new = ApiClient.objects.get(name="EHR test")
    token = response.context["token"]
    assert token in response.content.decode()
    assert new.token_hash == hash_token(token) and token not in new.token_hash
    assert list(new.user.care_teams.all()) == [world.team]
    assert not new.user.has_usable_password() and not new.user.is_staff
    assert AuditEvent.objects.filter(action="api_client.created", actor=world.user).exists()
    # The token works, and the change page never shows it again.
    assert api_for(token).get("/api/v1/forms/").status_code == 200
    change = client.get(f"/admin/forms_app/apiclient/{new.pk}/change/")
    assert change.status_code == 200 and token not in change.content.decode()


def test_rotate_and_deactivate_actions(world, client, otp_login):
    otp_login(client, world.user)
    old_hash = world.client.token_hash
    response = client.post("/admin/forms_app/apiclient/", {
        "action": "rotate_token", "_selected_action": [str(world.client.pk)]})
    assert response.status_code == 200
    token = response.context["token"]
    world.client.refresh_from_db()
    assert world.client.token_hash == hash_token(token) != old_hash
    assert world.api.get("/api/v1/forms/").status_code == 401  # the old token
    assert api_for(token).get("/api/v1/forms/").status_code == 200
    client.post("/admin/forms_app/apiclient/", {
        "action": "deactivate", "_selected_action": [str(world.client.pk)]})
    assert api_for(token).get("/api/v1/forms/").status_code == 401


def test_create_api_client_command_prints_a_working_token(world):
    out = io.StringIO()
    call_command("create_api_client", "EHR command", "--ods", world.team.organisation.ods_code,
                 "--team", world.team.name, stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("pfa_")
    new = ApiClient.objects.get(name="EHR command")
    assert new.token_hash == hash_token(token)
    assert api_for(token).get("/api/v1/forms/").status_code == 200


def test_create_api_client_command_refuses_an_unknown_team():
    with pytest.raises(CommandError, match="No care team"):
        call_command("create_api_client", "EHR", "--ods", "NOPE", "--team", "Nobody")
    assert not ApiClient.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="api-").exists()


def test_staff_manage_only_their_own_teams_clients(client, otp_login):
    team = CareTeamFactory()
    user = UserFactory(is_superuser=False)
    team.members.add(user)
    user.user_permissions.add(*Permission.objects.filter(codename__endswith="apiclient"))
    mine, _ = api_client_for(team, name="Mine")
    other_team = CareTeamFactory(organisation=team.organisation)
    theirs, _ = api_client_for(other_team, name="Theirs")
    otp_login(client, user)
    listing = client.get("/admin/forms_app/apiclient/").content.decode()
    assert "Mine" in listing and "Theirs" not in listing
    assert client.get(f"/admin/forms_app/apiclient/{mine.pk}/change/").status_code == 200
    # Outside the admin's scope: a 404, never "perhaps it was deleted".
    assert client.get(f"/admin/forms_app/apiclient/{theirs.pk}/change/").status_code == 404
    response = client.post(ADD_URL, {"name": "Sneaky", "care_team": str(other_team.pk)})
    assert response.status_code == 200 and "care_team" in response.context["adminform"].errors
    assert not ApiClient.objects.filter(name="Sneaky").exists()
