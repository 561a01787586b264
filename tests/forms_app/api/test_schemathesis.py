"""Property-based tests of the whole API against its own OpenAPI schema.

Schemathesis generates requests from the schema (a bounded number per operation) and
sends them through the Django WSGI application: no response may be a server error, and
every response must conform to the schema (status code, content type, body, headers).
Half of the examples swap in ids that exist for the calling client, so that the happy
paths (201, 200) are exercised as well as the 400s and 404s.
"""

import contextlib

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from forms_app import services
from forms_app.whiteboard.services import AppointmentDetails, upsert_appointment

MAX_EXAMPLES = 15

# Loaded at collection (the schema view touches no database), one test per operation.
# (schemathesis' lazy `from_fixture` loader does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


@contextlib.contextmanager
def keep_the_test_connection():
    # As Django's test client does: keep the test's database connection (and its
    # transaction) open across requests instead of closing it when a request ends.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(world, submitted):
    issued = services.issue_link(version=world.version, patient=world.patient,
                                 care_team=world.team, by=world.user)
    appointment, _ = upsert_appointment(care_team=world.team, patient=world.patient,
                                        by=world.user,
                                        details=AppointmentDetails(external_id="EHR-1"))
    return {
        "/api/v1/appointments/{id}/": appointment.pk,
        "/api/v1/patients/{id}/": world.patient.pk,
        "/api/v1/forms/{id}/": world.version.form_id,
        "/api/v1/form-versions/{id}/": world.version.pk,
        "/api/v1/form-versions/{id}/questionnaire/": world.version.pk,
        "/api/v1/form-versions/{id}/responses/": world.version.pk,
        "/api/v1/links/{id}/": submitted.link_id,
        "/api/v1/links/{id}/revoke/": issued.link.pk,
        "/api/v1/submissions/{id}/": submitted.pk,
        "/api/v1/submissions/{id}/questionnaire-response/": submitted.pk,
        "patient": world.patient.pk,
        "form": world.version.form_id,
        "version": world.version.pk,
    }


def use_known_ids(case, known):
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = str(known[case.path])
    posts = {"/api/v1/links/", "/api/v1/appointments/"}
    if case.path in posts and case.method == "POST" and isinstance(case.body, dict):
        for name in ("patient", "form", "version"):
            if name in case.body:
                case.body[name] = str(known[name])


@schema.parametrize()
@schema.given(known=st.booleans())
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, known, world, known_ids):
    if known and case.meta is not None and case.meta.generation.mode.is_positive:
        use_known_ids(case, known_ids)
    with keep_the_test_connection():
        case.call_and_validate(
            headers={"Authorization": f"Bearer {world.token}"},
            # A request valid by the schema may still name a patient or form the client
            # does not have (a random UUID): a 400 or 404 is the right answer there.
            excluded_checks=[positive_data_acceptance])
