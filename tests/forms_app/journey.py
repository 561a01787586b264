"""Drive the patient's journey through Django's test client, as a phone browser would.

Imports nothing of the platform's own: tests/cluster/load.py uses it in a process
without Django set up (tests/forms_app/pages.py has the helpers that need the views)."""


from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

WIZARD_PREFIX = "answer_wizard"

DEMO_ANSWERS = {
    "about-you": {"preferred-name": "Sal", "height-cm": "168", "weight-kg": "61.5",
                  "last-illness_day": "", "last-illness_month": "", "last-illness_year": ""},
    "your-health": {"smoker": "no", "general-health": "good", "symptoms": ["dizzy"]},
    "anything-else": {"notes": "I use a wheelchair."},
}


def page_data(step, answers):
    """The page as posted; a (file name, bytes) answer is a file the patient attaches."""
    data = {f"{WIZARD_PREFIX}-current_step": step}
    data.update({f"{step}-{name}": _posted(value) for name, value in answers.items()})
    return data


def _posted(value):
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes):
        return SimpleUploadedFile(value[0], value[1])
    return value


def open_and_verify(client, token, dob=(15, 3, 1984)):
    response = client.get(reverse("patient:start", kwargs={"token": token}))
    assert response.status_code == 302, response.status_code
    day, month, year = dob
    return client.post(reverse("patient:verify"),
                       {"day": str(day), "month": str(month), "year": str(year)})


def answer_all(client, answers=DEMO_ANSWERS):
    response = None
    for step, page_answers in answers.items():
        response = client.post(reverse("patient:answer"), page_data(step, page_answers))
    return response


def complete_demo_journey(client, token, answers=DEMO_ANSWERS):
    response = open_and_verify(client, token)
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    response = answer_all(client, answers)
    assert response.status_code == 302 and response.url == reverse("patient:check"), (
        response.status_code, getattr(response, "url", None))
    response = client.post(reverse("patient:check"))
    assert response.status_code == 302 and response.url == reverse("patient:confirmation")
    return response
