"""Every endpoint's happy path, and the bad input each must refuse cleanly."""

import datetime
import uuid

import pytest
from django.utils import timezone
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app import services
from forms_app.models import Link, hash_token
from patients.models import AuditEvent, Patient
from tests.factories.patients import nhs_number_for

pytestmark = pytest.mark.django_db

NEW_PATIENT = {"nhs_number": "943 476 5870", "given_name": "Sam", "family_name": "Jones",
               "date_of_birth": "1990-02-03", "mobile": "07700 900456",
               "email": "sam@example.com"}


def errors_by_attr(response):
    body = response.json()
    return {error["attr"]: error for error in body["errors"]}


# --- Patients ---------------------------------------------------------------------

def test_create_then_update_a_patient_by_nhs_number(world):
    response = world.api.post("/api/v1/patients/", NEW_PATIENT, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert patient.nhs_number == "9434765870" and body["nhs_number"] == "9434765870"
    assert patient.organisation == world.team.organisation
    assert list(patient.care_teams.all()) == [world.team]

    response = world.api.post("/api/v1/patients/", {**NEW_PATIENT, "nhs_number": "9434765870",
                                                    "family_name": "Jones-Smith"},
                              format="json")
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.family_name == "Jones-Smith"
    assert Patient.objects.filter(nhs_number="9434765870").count() == 1
    actions = list(AuditEvent.objects.filter(patient=patient).values_list("action", "detail"))
    assert ("patient.updated", {"fields": ["family_name"], "care_team": str(world.team.pk)}) in (
        actions)
    # The audit names the client's service user, never the values.
    event = AuditEvent.objects.get(patient=patient, action="patient.created")
    assert event.actor == world.client.user and "Sam" not in str(event.detail)


def test_update_leaves_fields_not_given_unchanged(world):
    world.api.post("/api/v1/patients/", NEW_PATIENT, format="json")
    partial = {k: NEW_PATIENT[k] for k in ("nhs_number", "given_name", "family_name",
                                            "date_of_birth")}
    assert world.api.post("/api/v1/patients/", partial, format="json").status_code == 200
    assert Patient.objects.get(nhs_number="9434765870").email == "sam@example.com"


@pytest.mark.parametrize(("body", "attr", "code"), [
    ({**NEW_PATIENT, "nhs_number": "9434765871"}, "nhs_number", "invalid_nhs_number"),
    ({**NEW_PATIENT, "nhs_number": 12}, "nhs_number", "invalid_nhs_number"),
    ({**NEW_PATIENT, "date_of_birth": "yesterday"}, "date_of_birth", "invalid"),
    ({**NEW_PATIENT, "date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
    ({**NEW_PATIENT, "email": "not-an-email"}, "email", "invalid"),
    ({**NEW_PATIENT, "mobile": "call me"}, "mobile", "invalid"),
    ({**NEW_PATIENT, "given_name": ["Sam"]}, "given_name", "invalid"),
    ({**NEW_PATIENT, "given_name": "x" * 101}, "given_name", "max_length"),
    ({**NEW_PATIENT, "family_name": "Nul\x00l"}, "family_name", "null_characters_not_allowed"),
    ({k: v for k, v in NEW_PATIENT.items() if k != "family_name"}, "family_name", "required"),
])
def test_bad_patient_input_is_refused_with_the_field_named(world, body, attr, code):
    response = world.api.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert errors_by_attr(response)[attr]["code"] == code
    assert not Patient.objects.filter(family_name__startswith="Jones").exists()


def test_a_body_that_is_not_json_is_a_json_error(world):
    response = world.api.post("/api/v1/patients/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"
    response = world.api.post("/api/v1/patients/", [1, 2], format="json")
    assert response.status_code == 400 and response.json()["type"] == "validation_error"


def test_list_and_read_patients_of_the_team_only(world, other_team_patient):
    listed = world.api.get("/api/v1/patients/").json()
    ids = [row["id"] for row in listed["results"]]
    assert ids == [str(world.patient.pk)]
    assert world.api.get(f"/api/v1/patients/{world.patient.pk}/").json()["nhs_number"] == (
        world.patient.nhs_number)
    response = world.api.get(f"/api/v1/patients/{other_team_patient.pk}/")
    assert response.status_code == 404
    assert other_team_patient.family_name not in response.content.decode()


# --- Forms ------------------------------------------------------------------------

def test_list_forms_and_export_a_version_as_fhir(world):
    forms = world.api.get("/api/v1/forms/").json()["results"]
    assert [f["id"] for f in forms] == [str(world.version.form_id)]
    assert forms[0]["versions"][0]["id"] == str(world.version.pk)
    assert world.api.get(f"/api/v1/forms/{world.version.form_id}/").status_code == 200
    response = world.api.get(f"/api/v1/form-versions/{world.version.pk}/questionnaire/")
    assert response.status_code == 200
    Questionnaire.model_validate(response.json())
    assert response.json() == world.version.definition


def test_forms_of_another_organisation_are_not_found(world):
    other = world.other_org_version
    assert world.api.get(f"/api/v1/forms/{other.form_id}/").status_code == 404
    assert world.api.get(f"/api/v1/form-versions/{other.pk}/questionnaire/").status_code == 404
    # ...but its own organisation's client sees it.
    assert world.other_org_api.get(
        f"/api/v1/form-versions/{other.pk}/questionnaire/").status_code == 200


# --- Links ------------------------------------------------------------------------

def issue(world, **extra):
    body = {"patient": str(world.patient.pk), "form": str(world.version.form_id), **extra}
    return world.api.post("/api/v1/links/", body, format="json")


def test_issue_a_link_returns_its_url_once(world):
    response = issue(world, channel="sms")
    assert response.status_code == 201, response.json()
    body = response.json()
    link = Link.objects.get(pk=body["id"])
    token = body["url"].rsplit("/", 2)[-2] if body["url"].endswith("/") else (
        body["url"].rsplit("/", 1)[-1])
    assert link.token_hash == hash_token(token)
    assert body["status"] == "issued" and body["channel"] == "sms"
    assert body["version"] == str(world.version.pk)
    assert link.care_team == world.team and link.issued_by == world.client.user
    assert datetime.datetime.fromisoformat(body["expires_at"]) == link.expires_at
    # Never again: reading the link shows no URL.
    again = world.api.get(f"/api/v1/links/{link.pk}/").json()
    assert "url" not in again and again["status"] == "issued"
    assert token not in str(world.api.get("/api/v1/links/").json())


def test_issue_a_link_for_an_exact_version_with_an_expiry(world):
    expires = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=0)
    response = issue(world, form=None, version=str(world.version.pk),
                     expires_at=expires.isoformat())
    # `form: null` is a wrong type, refused; without it the version is used.
    assert response.status_code == 400
    body = {"patient": str(world.patient.pk), "version": str(world.version.pk),
            "expires_at": expires.isoformat()}
    response = world.api.post("/api/v1/links/", body, format="json")
    assert response.status_code == 201
    assert Link.objects.get(pk=response.json()["id"]).expires_at == expires


@pytest.mark.parametrize(("extra", "attr"), [
    ({"patient": "not-a-uuid"}, "patient"),
    ({"patient": 5}, "patient"),
    ({"form": "not-a-uuid"}, "form"),
    ({"channel": "pigeon"}, "channel"),
    ({"expires_at": "soon"}, "expires_at"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
    ({"version": str(uuid.uuid4())}, "form"),
])
def test_bad_link_input_is_refused_and_issues_nothing(world, extra, attr):
    response = issue(world, **extra)
    assert response.status_code == 400
    assert attr in errors_by_attr(response)
    assert not Link.objects.exists()


def test_missing_fields_are_named(world):
    response = world.api.post("/api/v1/links/", {}, format="json")
    assert response.status_code == 400
    assert errors_by_attr(response)["patient"]["code"] == "required"


def test_unknown_patient_and_another_teams_patient_are_refused(world, other_team_patient):
    for patient_id in (uuid.uuid4(), other_team_patient.pk):
        response = issue(world, patient=str(patient_id))
        assert response.status_code == 400
        assert errors_by_attr(response)["patient"]["detail"] == "Unknown patient."
    assert not Link.objects.exists()


def test_a_form_of_another_organisation_is_refused(world):
    other = world.other_org_version
    response = issue(world, form=str(other.form_id))
    assert errors_by_attr(response)["form"]["detail"] == "Unknown form."
    body = {"patient": str(world.patient.pk), "version": str(other.pk)}
    response = world.api.post("/api/v1/links/", body, format="json")
    assert errors_by_attr(response)["version"]["detail"] == "Unknown form version."
    assert not Link.objects.exists()


def test_a_channel_without_contact_details_is_refused(world):
    Patient.objects.filter(pk=world.patient.pk).update(email="")
    response = issue(world, channel="email")
    assert response.status_code == 400 and "channel" in errors_by_attr(response)


def test_a_retired_version_is_refused(world):
    world.version.retired_at = timezone.now()
    world.version.save(update_fields=["retired_at"])
    response = issue(world)
    assert errors_by_attr(response)["form"]["code"] == "unpublished"


def test_list_links_with_status_and_filters(world, other_team_patient):
    first = issue(world).json()
    issue(world)
    services.issue_link(version=world.version, patient=other_team_patient,
                        care_team=world.other_team, by=world.user)
    Link.objects.filter(pk=first["id"]).update(first_opened_at=timezone.now())
    body = world.api.get("/api/v1/links/").json()
    assert len(body["results"]) == 2
    assert {row["status"] for row in body["results"]} == {"issued", "opened"}
    opened = world.api.get("/api/v1/links/", {"status": "opened"}).json()["results"]
    assert [row["id"] for row in opened] == [first["id"]]
    assert world.api.get("/api/v1/links/", {"patient": str(other_team_patient.pk)}).json()[
        "results"] == []
    response = world.api.get("/api/v1/links/", {"status": "lost"})
    assert response.status_code == 400 and "status" in errors_by_attr(response)
    page = world.api.get("/api/v1/links/", {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["next"]


def test_revoke_a_link(world):
    link_id = issue(world).json()["id"]
    response = world.api.post(f"/api/v1/links/{link_id}/revoke/")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert AuditEvent.objects.filter(action="link.revoked", object_id=link_id).count() == 1


def test_a_submitted_link_cannot_be_revoked(world, submitted):
    response = world.api.post(f"/api/v1/links/{submitted.link_id}/revoke/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "conflict"
    assert Link.objects.get(pk=submitted.link_id).revoked_at is None


# --- Submissions ------------------------------------------------------------------

def test_list_and_read_submissions_with_their_state(world, submitted):
    rows = world.api.get("/api/v1/submissions/").json()["results"]
    assert [(r["id"], r["state"]) for r in rows] == [(str(submitted.pk), "submitted")]
    assert world.api.get("/api/v1/submissions/", {"state": "filed"}).json()["results"] == []
    detail = world.api.get(f"/api/v1/submissions/{submitted.pk}/").json()
    assert detail["reference"] == submitted.reference and "scores" in str(detail["evaluation"])
    link = world.api.get(f"/api/v1/links/{submitted.link_id}/").json()
    assert link["status"] == "submitted" and link["submission"] == str(submitted.pk)
    assert AuditEvent.objects.filter(action="answers.viewed", object_id=str(submitted.pk),
                                     actor=world.client.user).count() == 1


def test_read_a_submission_as_a_questionnaire_response(world, submitted):
    url = f"/api/v1/submissions/{submitted.pk}/questionnaire-response/"
    built = world.api.get(url)
    assert built.status_code == 200
    QuestionnaireResponse.model_validate(built.json())
    entry = services.file_submission(submission_id=submitted.pk)
    filed = world.api.get(url).json()
    assert filed == entry.resource
    events = AuditEvent.objects.filter(action="answers.viewed", object_id=str(submitted.pk))
    assert [e.detail["filed"] for e in events.order_by("at", "id")] == [False, True]
    assert {e.actor for e in events} == {world.client.user}


def test_an_unsubmitted_submission_has_no_questionnaire_response(world):
    issued = services.issue_link(version=world.version, patient=world.patient,
                                 care_team=world.team, by=world.user)
    services.verify_identity(link_id=issued.link.pk, date_of_birth=world.patient.date_of_birth)
    submission = issued.link.submission
    response = world.api.get(f"/api/v1/submissions/{submission.pk}/questionnaire-response/")
    assert response.status_code == 409
    assert not AuditEvent.objects.filter(action="answers.viewed").exists()


# --- Scoping and authentication ---------------------------------------------------

def test_another_team_and_another_organisation_see_nothing(world, submitted):
    link_id, submission_id = submitted.link_id, submitted.pk
    for api in (world.other_team_api, world.other_org_api):
        for url in (f"/api/v1/links/{link_id}/", f"/api/v1/submissions/{submission_id}/",
                    f"/api/v1/submissions/{submission_id}/questionnaire-response/",
                    f"/api/v1/patients/{world.patient.pk}/"):
            response = api.get(url)
            assert response.status_code == 404, url
            assert response.json()["errors"][0]["code"] == "not_found"
            assert world.patient.family_name not in response.content.decode()
        assert api.post(f"/api/v1/links/{link_id}/revoke/").status_code == 404
        for url in ("/api/v1/links/", "/api/v1/submissions/", "/api/v1/patients/"):
            assert api.get(url).json()["results"] == [], url
    assert world.other_org_api.get(f"/api/v1/forms/{world.version.form_id}/").status_code == 404
    assert Link.objects.get(pk=link_id).revoked_at is None
    assert not AuditEvent.objects.filter(action="answers.viewed").exists()


def test_no_token_a_wrong_token_and_a_deactivated_client_are_refused(world):
    from forms_app.api import services as api_services
    from tests.forms_app.api.conftest import api_for

    assert world.api.get("/api/v1/links/").status_code == 200
    anonymous = api_for("")
    anonymous.credentials()
    response = anonymous.get("/api/v1/links/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert api_for("pfa_wrong").get("/api/v1/links/").status_code == 401
    api_services.deactivate_api_client(client=world.client, by=world.user)
    assert world.api.get("/api/v1/links/").status_code == 401


def test_a_staff_session_does_not_reach_the_api(world, client, otp_login):
    otp_login(client, world.user)
    assert client.get("/api/v1/links/").status_code == 401


def test_a_service_user_added_to_another_team_is_refused(world):
    world.other_team.members.add(world.client.user)
    response = world.api.get("/api/v1/links/")
    assert response.status_code == 401


def test_unknown_api_addresses_answer_json(world):
    response = world.api.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"
    response = world.api.get("/api/v1/links/not-a-uuid/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    response = world.api.delete(f"/api/v1/patients/{world.patient.pk}/")
    assert response.status_code == 405 and response.json()["errors"][0]["code"] == (
        "method_not_allowed")


def test_schema_and_docs_are_served(world, client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/links/" in paths and "/api/v1/submissions/{id}/questionnaire-response/" in (
        paths)
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html and "cdn" not in html.lower()


def test_nhs_number_factory_is_used_consistently():
    # Guards the test data: NEW_PATIENT's NHS number is valid and not a factory one.
    from patients.nhs_number import is_valid_nhs_number

    assert is_valid_nhs_number(NEW_PATIENT["nhs_number"])
    assert NEW_PATIENT["nhs_number"].replace(" ", "") != nhs_number_for(0)


def test_an_oversized_body_is_refused_unread(world):
    body = {**NEW_PATIENT, "hospital_number": "x" * (70 * 1024)}
    response = world.api.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"
    assert not Patient.objects.filter(family_name="Jones").exists()


def test_an_expiry_out_of_any_calendar_range_is_refused(world):
    response = issue(world, expires_at="0001-01-01T00:00:00+14:00")
    assert response.status_code == 400 and "expires_at" in errors_by_attr(response)
