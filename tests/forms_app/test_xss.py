"""Script in labels, help text, options and answers is escaped on every page that shows
it (patient pages, the admin) and carried verbatim, as data, in the FHIR output."""

import json

import pytest
from django.urls import reverse
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from forms_app import services
from forms_app.models import Item, Submission
from tests.factories.forms_app import AnswerOptionFactory, FormFactory, ItemFactory
from tests.factories.world import build_world, verified
from tests.forms_app.journey import page_data

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


def _assert_escaped(response, where):
    html = response.content.decode()
    assert SCRIPT not in html and IMG not in html, where
    assert "&lt;script&gt;" in html or "&lt;img" in html, where


def test_script_is_escaped_everywhere(client):
    world = build_world()
    form = FormFactory(organisation=world.organisation, title=f"Form {SCRIPT}")
    page = ItemFactory(form=form, link_id="p", text=f"Page {SCRIPT}", type=Item.Type.GROUP)
    choice = ItemFactory(form=form, parent=page, link_id="pick", type=Item.Type.CHOICE,
                         text=f"Pick {SCRIPT}", help_text=f"Help {IMG}", required=True)
    AnswerOptionFactory(item=choice, code="a", display=f"Option {SCRIPT}")
    AnswerOptionFactory(item=choice, code="b", display="Plain")
    ItemFactory(form=form, parent=page, link_id="free", type=Item.Type.TEXT,
                text=f"Tell us {IMG}")
    version = services.publish_form(form=form, by=world.users["right_team"])
    issued = services.issue_link(version=version, patient=world.patient, care_team=world.team,
                                 by=world.users["right_team"])

    patient = client.__class__()
    patient.get(reverse("patient:start", kwargs={"token": issued.token}))
    dob = world.patient.date_of_birth
    patient.post(reverse("patient:verify"),
                 {"day": dob.day, "month": dob.month, "year": dob.year})
    _assert_escaped(patient.get(reverse("patient:answer")), "question page")
    response = patient.post(reverse("patient:answer"),
                            page_data("p", {"pick": "a", "free": f"My answer {SCRIPT}"}))
    assert response.status_code == 302
    _assert_escaped(patient.get(reverse("patient:check")), "check your answers")
    assert patient.post(reverse("patient:check")).status_code == 302
    submission = Submission.objects.get(link=issued.link)
    entry = services.file_submission(submission_id=submission.pk)

    # FHIR: the text is data, kept exactly, and the resource is valid.
    QuestionnaireResponse.model_validate(entry.resource)
    assert SCRIPT in json.dumps(entry.resource)
    assert SCRIPT in json.dumps(version.definition)

    staff = verified(client, world.users["right_team"])
    pages = {
        "form": reverse("admin:forms_app_form_change", args=[form.pk]),
        "forms": reverse("admin:forms_app_form_changelist"),
        "item": reverse("admin:forms_app_item_change", args=[choice.pk]),
        "version": reverse("admin:forms_app_formversion_change", args=[version.pk]),
        "submission": reverse("admin:forms_app_submission_change", args=[submission.pk]),
        # The record entry's admin page links to the readable record, which shows answers.
        "record": reverse("records:submission", kwargs={"submission_id": submission.pk}),
        "issue link": reverse("admin:forms_app_formversion_issue_link", args=[version.pk]),
    }
    for where, url in pages.items():
        response = staff.get(url)
        assert response.status_code == 200, where
        _assert_escaped(response, where)
