"""An EHR that knows nothing but the OpenAPI schema: it finds each operation there by
its operationId, registers a patient, issues a link, and reads the answers back."""

import uuid

import pytest
from django.test import Client
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tests.forms_app.journey import complete_demo_journey

pytestmark = pytest.mark.django_db


class SchemaClient:
    def __init__(self, api, schema):
        self.api = api
        self.operations = {
            operation["operationId"]: (method, path)
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        }

    def call(self, operation_id, *, id=None, body=None, query=None, headers=None):
        method, path = self.operations[operation_id]
        if id is not None:
            path = path.replace("{id}", str(id))
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if method == "get":
            return self.api.get(path, query or {}, **extra)
        return getattr(self.api, method)(path, body, format="json", **extra)


def test_an_ehr_issues_and_reads_with_nothing_but_the_schema(world):
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    ehr = SchemaClient(world.api, schema.json())

    patient = ehr.call("patients_upsert", body={
        "nhs_number": "9434765919", "given_name": "Sarah", "family_name": "Demo",
        "date_of_birth": "1984-03-15", "mobile": "07700900123"})
    assert patient.status_code == 200  # the demo patient exists: updated, not duplicated
    forms = ehr.call("forms_list").json()["results"]
    version_id = forms[0]["versions"][0]["id"]
    questionnaire = ehr.call("form_versions_questionnaire", id=version_id).json()
    Questionnaire.model_validate(questionnaire)

    key = str(uuid.uuid4())
    body = {"patient": patient.json()["id"], "version": version_id, "channel": "sms"}
    issued = ehr.call("links_issue", body=body, headers={"Idempotency-Key": key})
    assert issued.status_code == 201
    retried = ehr.call("links_issue", body=body, headers={"Idempotency-Key": key})
    assert retried.json()["id"] == issued.json()["id"]

    # The patient follows the link on their phone and sends the form.
    token = issued.json()["url"].rstrip("/").rsplit("/", 1)[-1]
    complete_demo_journey(Client(), token)

    link = ehr.call("links_retrieve", id=issued.json()["id"]).json()
    assert link["status"] == "submitted"
    submissions = ehr.call("submissions_list", query={"link": link["id"]}).json()["results"]
    assert [s["state"] for s in submissions] == ["submitted"]
    response = ehr.call("submissions_questionnaire_response", id=link["submission"])
    qr = QuestionnaireResponse.model_validate(response.json())
    assert qr.subject.identifier.value == "9434765919"
    assert qr.questionnaire.startswith(questionnaire["url"])
