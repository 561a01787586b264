"""Two organisations, two teams in the first, an API client per team, a demo form."""

from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.test import APIClient

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Item
from tests.factories.forms_app import FormFactory, ItemFactory, api_client_for
from tests.factories.patients import CareTeamFactory, PatientFactory
from tests.forms_app.journey import complete_demo_journey


@dataclass
class World:
    user: object
    team: object
    patient: object
    version: object
    client: object
    token: str
    api: APIClient
    other_team: object
    other_team_api: APIClient
    other_org_team: object
    other_org_api: APIClient
    other_org_version: object


def api_for(token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The demo staff user's password is hashed on every setup; PBKDF2's deliberate
    # slowness buys nothing in these tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    user, patient, team, version = ensure_demo()
    # The world's own client is the trust's registering system (it creates patients);
    # the other teams' and organisation's are plain clients.
    client, token = api_client_for(team, registers_patients=True)
    other_team = CareTeamFactory(organisation=team.organisation, name="Other clinic")
    _, other_team_token = api_client_for(other_team)
    other_org_team = CareTeamFactory()
    _, other_org_token = api_client_for(other_org_team)
    form = FormFactory(organisation=other_org_team.organisation)
    ItemFactory(form=form, link_id="mood", type=Item.Type.STRING)
    other_org_version = services.publish_form(form=form, by=user)
    return World(user=user, team=team, patient=patient, version=version, client=client,
                 token=token, api=api_for(token), other_team=other_team,
                 other_team_api=api_for(other_team_token), other_org_team=other_org_team,
                 other_org_api=api_for(other_org_token),
                 other_org_version=other_org_version)


@pytest.fixture
def submitted(world):
    """A link of the world's team whose patient has submitted the demo form."""
    issued = services.issue_link(version=world.version, patient=world.patient,
                                 care_team=world.team, by=world.user)
    complete_demo_journey(Client(), issued.token)
    return issued.link.submission


@pytest.fixture
def other_team_patient(world):
    return PatientFactory(organisation=world.team.organisation,
                          care_teams=[world.other_team])
