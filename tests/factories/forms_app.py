import json
from pathlib import Path

import factory

from forms_app import services
from forms_app.design import services as design_services
from forms_app.management.demo_data import ensure_demo
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Form,
    FormVersion,
    Item,
    ItemCondition,
    Operator,
    ScoreBand,
    Submission,
)
from tests.corpus import load
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


class ItemConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ItemCondition

    item = factory.SubFactory(ItemFactory)
    question = factory.SubFactory(ItemFactory, form=factory.SelfAttribute("..item.form"))
    operator = Operator.EQUALS
    answer = "true"


class ScoreBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoreBand

    item = factory.SubFactory(ItemFactory, type=Item.Type.INTEGER)
    label = factory.Sequence(lambda n: f"Band {n}")


class FlagRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlagRule

    form = factory.SubFactory(FormFactory)
    code = factory.Sequence(lambda n: f"flag-{n}")
    message = "Review today."


class FlagConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlagCondition

    rule = factory.SubFactory(FlagRuleFactory)
    question = factory.SubFactory(ItemFactory, form=factory.SelfAttribute("..rule.form"))
    operator = Operator.GREATER
    answer = "0"


def api_client_for(care_team, *, name=None, by="system", registers_patients=False):
    """An API client of one care team, through the service; returns (client, token)."""
    from forms_app.api import services as api_services

    name = name or f"System {care_team.pk.hex[:8]}"
    return api_services.create_api_client(name=name, care_team=care_team, by=by,
                                          registers_patients=registers_patients)
def make_links(*, version, team, count, issued_at=None, patients=None, **fields):
    """Links for a whiteboard or list, in bulk: a few queries whatever the count."""
    import datetime
    import secrets

    from django.utils import timezone

    from forms_app.models import Link, hash_token
    from tests.factories.patients import PatientFactory

    now = timezone.now()
    if patients is None:
        patients = PatientFactory.create_batch(count, organisation=team.organisation)
    links = [
        Link(version=version, patient=patients[i % len(patients)], care_team=team,
             token_hash=hash_token(secrets.token_urlsafe(16)),
             issued_at=issued_at or now,
             expires_at=fields.pop("expires_at", None) or now + datetime.timedelta(days=7),
             **fields)
        for i in range(count)
    ]
    return Link.objects.bulk_create(links)


TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
OUR = "https://fhir.patient-forms.nhs.uk/StructureDefinition/"


def welsh(text: str) -> dict:
    """A "_text"-style element carrying a Welsh translation (FHIR's translation extension)."""
    return {"extension": [{"url": TRANSLATION, "extension": [
        {"url": "lang", "valueCode": "cy"}, {"url": "content", "valueString": text}]}]}


def bilingual_definition() -> dict:
    """A two-page Questionnaire in English with Welsh translations, using the engine's
    less common widgets: display text, open choice ("Other, give details"), date and time."""
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "title": "Travel and arrival",
        "_title": welsh("Teithio a chyrraedd"),
        "item": [
            {"linkId": "travel", "type": "group", "text": "How you travel",
             "_text": welsh("Sut rydych yn teithio"),
             "item": [
                 {"linkId": "intro", "type": "display",
                  "text": "We ask this to plan parking and transport.",
                  "_text": welsh("Rydym yn gofyn hyn i gynllunio parcio a thrafnidiaeth.")},
                 {"linkId": "how", "type": "open-choice", "required": True,
                  "text": "How will you travel to the hospital?",
                  "_text": welsh("Sut byddwch yn teithio i'r ysbyty?"),
                  "answerOption": [
                      {"valueCoding": {"code": "car", "display": "Car",
                                       "_display": welsh("Car")}},
                      {"valueCoding": {"code": "bus", "display": "Bus",
                                       "_display": welsh("Bws")}},
                  ]},
             ]},
            {"linkId": "arrival", "type": "dateTime", "required": True,
             "text": "When will you arrive?", "_text": welsh("Pryd byddwch yn cyrraedd?"),
             "extension": [{"url": OUR + "help-text", "valueString": "For example, 1 6 2030",
                            "_valueString": welsh("Er enghraifft, 1 6 2030")}]},
        ],
    }


def version_from_definition(organisation, definition, *, by):
    """A published version holding ``definition`` as it is (the admin builds versions from
    a draft; an imported Questionnaire is stored the same way)."""
    form = FormFactory(organisation=organisation, title=definition["title"])
    return FormVersion.objects.create(form=form, number=1, title=definition["title"],
                                      definition=definition, published_by=by)


LIBRARY = Path(__file__).resolve().parents[2] / "forms_app" / "library"


def library_definition(name: str) -> str:
    """The text of a Questionnaire shipped in forms_app/library/ (e.g. "phq9")."""
    return (LIBRARY / f"{name}.json").read_text()


def library_version(name: str, *, organisation, by=None) -> FormVersion:
    """A published version of a library questionnaire (e.g. "phq9"), as it is on disk."""
    return version_from_definition(organisation, json.loads(library_definition(name)), by=by)


def corpus_version(name: str, *, organisation, by) -> FormVersion:
    """A corpus Questionnaire (tests/corpus) imported and published as staff would."""
    imported = design_services.import_questionnaire(
        data=load(name), organisation=organisation, by=by, source=name)
    return services.publish_form(form=imported.form, by=by)


def corpus_link(name: str):
    """A link to a published corpus form for the demo patient, issued by the demo
    clinician (an IssuedLink: the link and its token)."""
    user, patient, team, _ = ensure_demo()
    version = corpus_version(name, organisation=team.organisation, by=user)
    return services.issue_link(version=version, patient=patient, care_team=team, by=user)


# --- Filing (issue 6) -------------------------------------------------------------------

PHQ9_NONE, PHQ9_SEVERAL_DAYS = "LA6568-5", "LA6569-3"


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
