"""Shared set-up for the clinic and delivery tests (import the fixtures you use)."""

import pytest

from forms_app.management.demo_data import ensure_demo


@pytest.fixture
def demo(db, settings):
    """(user, patient, team, version): a clinician in a team with one patient."""
    # The demo user's password is hashed on every test: a fast hasher keeps tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return ensure_demo()


@pytest.fixture
def staff_client(client, demo, otp_login):
    return otp_login(client, demo[0])
