import pytest

from forms_app.filing.destinations import (
    ExternalFhirServer,
    Filing,
    PermanentFilingError,
    TransientFilingError,
)


def filing(identifier="sub-1"):
    response = {"resourceType": "QuestionnaireResponse", "id": identifier,
                "status": "completed",
                "identifier": {"system": "https://forms.example/fhir/submission",
                               "value": identifier}}
    return Filing(submission=None, patient=None, questionnaire_response=response,
                  evaluation={}, by="system")


@pytest.fixture
def server(fake_fhir):
    return fake_fhir, ExternalFhirServer(fake_fhir.url, timeout=0.5, username="forms",
                                         password="s3cret")


def test_conditional_create_makes_a_retry_create_nothing(server):
    fake, destination = server
    first = destination.file(filing())
    second = destination.file(filing())
    assert (first["status"], second["status"]) == (201, 200)
    assert fake.requests == 2 and fake.creates == 1
    created = fake.by_identifier["https://forms.example/fhir/submission|sub-1"]
    assert "id" in created and created["id"] != "sub-1"  # the server names its resource
    assert fake.authorizations[0].startswith("Basic ")


def test_server_errors_and_timeouts_are_transient(server):
    fake, destination = server
    fake.fail_next("500", "timeout")
    with pytest.raises(TransientFilingError, match="500"):
        destination.file(filing())
    with pytest.raises(TransientFilingError, match="in time"):
        destination.file(filing())
    # The slow server did create it; the retry finds it and creates nothing more.
    assert destination.file(filing())["status"] == 200
    assert fake.creates == 1


def test_an_unreachable_server_is_transient():
    destination = ExternalFhirServer("http://127.0.0.1:9/fhir", timeout=0.5)
    with pytest.raises(TransientFilingError, match="Could not reach"):
        destination.file(filing())


def test_a_refusal_is_permanent_and_names_the_issue(server):
    fake, destination = server
    fake.fail_next("422")
    with pytest.raises(PermanentFilingError, match=r"refused the form \(422\): invalid"):
        destination.file(filing())
    assert fake.creates == 0


def test_bearer_token(fake_fhir):
    ExternalFhirServer(fake_fhir.url, timeout=0.5, token="abc").file(filing())
    assert fake_fhir.authorizations == ["Bearer abc"]
