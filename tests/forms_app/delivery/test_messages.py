"""Message wording: per organisation, with defaults; only safe placeholders are filled."""

import pytest
from django.core.exceptions import ValidationError

from forms_app.delivery import messages, services
from forms_app.models import DeliveryAttempt, MessageTemplate

pytestmark = pytest.mark.django_db


def test_an_organisations_own_wording_is_used(demo, capsys):
    user, patient, team, version = demo
    MessageTemplate.objects.create(
        organisation=patient.organisation, purpose="invitation", channel="sms",
        body="Hello from ((trust_name)). Form: ((form_title)). ((link))")
    issued = services.issue_and_deliver(version=version, patient=patient, care_team=team,
                                        by=user, channel="sms")
    attempt = DeliveryAttempt.objects.get(link=issued.link)
    capsys.readouterr()
    services.send_message(attempt_id=attempt.pk)
    out = capsys.readouterr().out
    assert f"Form: {version.title}. {issued.url}" in out


def test_templates_may_only_use_known_placeholders_and_must_carry_the_link():
    with pytest.raises(ValidationError) as caught:
        messages.validate_template(purpose="invitation", channel="sms", subject="",
                                   body="Your answers: ((answers)) ((link))")
    assert "((answers))" in str(caught.value)
    with pytest.raises(ValidationError, match="must contain"):
        messages.validate_template(purpose="reminder", channel="sms", subject="",
                                   body="Please fill in your form")
    with pytest.raises(ValidationError, match="subject"):
        messages.validate_template(purpose="invitation", channel="email", subject="",
                                   body="((link))")
    messages.validate_template(purpose="code", channel="sms", subject="",
                               body="Code ((code))")


def test_no_answer_can_reach_a_message_whatever_is_passed(demo):
    organisation = demo[1].organisation
    MessageTemplate.objects.create(organisation=organisation, purpose="reminder",
                                   channel="email", subject="((answers))",
                                   body="((link)) ((answers)) ((code))")
    rendered = services.render_message(organisation=organisation, purpose="reminder",
                                       channel="email",
                                       values={"link": "L", "answers": "I feel low",
                                               "code": "1"})
    assert rendered.subject == "" and rendered.body == "L  "


def test_every_default_template_is_valid():
    for (purpose, channel), (subject, body) in messages.DEFAULTS.items():
        messages.validate_template(purpose=purpose, channel=channel, subject=subject,
                                   body=body)
