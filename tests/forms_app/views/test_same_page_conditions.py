import pytest
from django.urls import reverse

from forms_app import services
from forms_app.management.demo_data import ensure_demo
from tests.factories.forms_app import version_from_definition
from tests.forms_app.journey import open_and_verify, page_data

pytestmark = pytest.mark.django_db

SMOKING = {
    "resourceType": "Questionnaire", "status": "active", "title": "Smoking",
    "item": [{
        "linkId": "habits", "type": "group", "text": "Your habits", "item": [
            {"linkId": "smoke", "type": "boolean", "text": "Do you smoke?", "required": True},
            {"linkId": "per-day", "type": "integer", "text": "How many a day?",
             "required": True,
             "enableWhen": [{"question": "smoke", "operator": "=", "answerBoolean": True}]},
        ]}],
}


@pytest.fixture
def issued():
    user, patient, team, _ = ensure_demo()
    version = version_from_definition(team.organisation, SMOKING, by=user)
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


def test_dependent_question_on_the_same_page(client, issued):
    open_and_verify(client, issued.token)
    page = client.get(reverse("patient:answer"))
    print(page.content.decode())
    response = client.post(reverse("patient:answer"), page_data("habits", {"smoke": "yes"}))
    print(response.status_code, response.content.decode()[-3000:])
