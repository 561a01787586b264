import factory

from forms_app import services
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Form,
    Item,
    ItemCondition,
    Operator,
    ScoreBand,
)
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


def api_client_for(care_team, *, name=None, by="system"):
    """An API client of one care team, through the service; returns (client, token)."""
    from forms_app.api import services as api_services

    name = name or f"System {care_team.pk.hex[:8]}"
    return api_services.create_api_client(name=name, care_team=care_team, by=by)
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
