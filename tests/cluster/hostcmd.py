"""Operator commands the cluster run performs on an application host (in its namespace,
with the host's environment): set up the clinic, queue a filing backlog.

  python -m tests.cluster.hostcmd seed PATIENTS   # prints JSON: ids, tokens, codes
  python -m tests.cluster.hostcmd backlog N       # N submitted forms, filing queued
"""

import datetime
import json
import os
import secrets
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken  # noqa: E402

from forms_app.api import services as api_services  # noqa: E402
from forms_app.management.demo_data import ensure_demo  # noqa: E402
from patients.models import Patient  # noqa: E402
from tests.factories.forms_app import submitted  # noqa: E402
from tests.factories.patients import nhs_number_for  # noqa: E402

DOB = datetime.date(1961, 7, 23)
STAFF_USERNAME = "cluster.nurse"


def health_path() -> str:
    """/readyz once the platform has it; until then a page that needs the database."""
    try:
        resolve("/readyz")
        return "/readyz"
    except Resolver404:
        return "/accessibility/"


def seed(patients: int) -> dict:
    user, _, team, version = ensure_demo()
    # The demo's published password must not open a production-like cluster.
    user.set_password(secrets.token_urlsafe(24))
    user.save(update_fields=["password"])
    password = secrets.token_urlsafe(24)
    nurse = get_user_model().objects.create_user(
        username=STAFF_USERNAME, password=password, is_staff=True,
        email="cluster.nurse@example.nhs.uk")
    team.members.add(nurse)
    device = StaticDevice.objects.create(user=nurse, name="cluster backup codes")
    codes = [StaticToken.random_token() for _ in range(10)]
    for code in codes:
        device.token_set.create(token=code)
    created = Patient.objects.bulk_create(
        Patient(organisation=team.organisation, nhs_number=nhs_number_for(5000 + i),
                given_name="Cluster", family_name=f"Patient{i}", date_of_birth=DOB)
        for i in range(patients))
    for patient in created:
        patient.care_teams.add(team)
    _, token = api_services.create_api_client(name="Cluster EHR", care_team=team,
                                              by="system")
    return {"team": str(team.pk), "version": str(version.pk),
            "patients": [str(p.pk) for p in created], "dob": DOB.isoformat(),
            "api_token": token, "staff": {"username": STAFF_USERNAME,
                                          "password": password, "codes": codes},
            "health_path": health_path()}


def backlog(count: int) -> dict:
    """Submitted forms whose filing is queued on commit, as a patient's submit queues it
    (each through the services: issue, then submit)."""
    user, patient, team, version = ensure_demo()
    for n in range(count):
        submitted(version, patient=patient, care_team=team, by=user,
                  answers={"preferred-name": "Sal", "notes": f"backlog {n}"})
    return {"queued": count}


if __name__ == "__main__":
    command, number = sys.argv[1], int(sys.argv[2])
    print(json.dumps(seed(number) if command == "seed" else backlog(number)))
