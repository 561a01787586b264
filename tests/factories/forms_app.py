import json
from pathlib import Path

import factory

from forms_app import services
from forms_app.models import AnswerOption, Form, FormVersion, Item, Submission
from tests.factories.patients import OrganisationFactory


class FormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Form

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"Questionnaire {n}")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    form = factory.SubFactory(FormFactory)
    link_id = factory.Sequence(lambda n: f"q{n}")
    text = factory.Sequence(lambda n: f"Question {n}?")
    type = Item.Type.STRING
    position = factory.Sequence(int)


class AnswerOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnswerOption

    item = factory.SubFactory(ItemFactory, type=Item.Type.CHOICE)
    code = factory.Sequence(lambda n: f"code{n}")
    display = factory.Sequence(lambda n: f"Option {n}")
    position = factory.Sequence(int)


def published_version(form, *, by):
    return services.publish_form(form=form, by=by)


# --- Filing (issue 6) -------------------------------------------------------------------

LIBRARY = Path(__file__).resolve().parents[2] / "forms_app" / "library"
PHQ9_NONE, PHQ9_SEVERAL_DAYS = "LA6568-5", "LA6569-3"


def library_version(name: str, *, organisation, by=None) -> FormVersion:
    """A published version of a library questionnaire (e.g. "phq9"), as it is on disk."""
    definition = json.loads((LIBRARY / f"{name}.json").read_text())
    form = FormFactory(organisation=organisation, title=definition["title"])
    return FormVersion.objects.create(form=form, number=1, title=definition["title"],
                                      definition=definition, published_by=by)


def phq9_answers(*, item9=PHQ9_NONE) -> dict:
    answers = {f"phq9-{n}": PHQ9_SEVERAL_DAYS for n in range(1, 9)}
    answers["phq9-9"] = item9
    return answers


def submitted(version, *, patient, care_team, by, answers) -> Submission:
    """Issue a link and submit answers through the services, as the patient would."""
    issued = services.issue_link(version=version, patient=patient, care_team=care_team,
                                 by=by)
    submission = Submission.objects.create(link=issued.link)
    return services.submit(submission_id=submission.pk, answers=answers)
