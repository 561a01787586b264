"""Staff build, check, publish and preview a form with conditions and scores, entirely
through the admin pages (OTP-verified), as a clinical informatics team would."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from forms_app.management.demo_data import ensure_demo
from forms_app.models import FlagRule, Form, FormVersion, Item
from forms_app.selectors import compiled_version
from patients.models import AuditEvent
from tests.factories.forms_app import (
    AnswerOptionFactory,
    FlagConditionFactory,
    FlagRuleFactory,
    FormFactory,
    ItemConditionFactory,
    ItemFactory,
    ScoreBandFactory,
)
from tests.factories.patients import CareTeamFactory, OrganisationFactory, UserFactory
from tests.forms_app.design.admin_helpers import (
    add_form,
    change_url,
    errors_of,
    outline_post,
    post_change,
)

pytestmark = pytest.mark.django_db

FREQUENCY = [("0", "Not at all", "0"), ("1", "Several days", "1"),
             ("2", "More than half the days", "2"), ("3", "Nearly every day", "3")]


@pytest.fixture
def staff(otp_login, client):
    user, *_ = ensure_demo()
    otp_login(client, user)
    return client, user, user.care_teams.first().organisation


def _saved(response):
    assert response.status_code == 302, errors_of(response)


def _options(rows):
    return [{"position": str(n), "value_type": "coding", "code": code, "display": display,
             "score": score} for n, (code, display, score) in enumerate(rows)]


def build_two_question_score(client, organisation) -> Form:
    """Two scored questions on two pages, page two shown only when question one > 0,
    a total with bands, and an urgent flag, all through the admin: the form first, then
    its pages and questions on its outline, then each question's own page."""
    form = add_form(client, organisation, "Mood check", "Two questions.")
    assert outline_post(client, form, action="add-page", title="Interest",
                        text="Little interest or pleasure in doing things",
                        type="choice").status_code == 302
    assert outline_post(client, form, action="add-page", title="Mood",
                        text="Feeling down, depressed or hopeless",
                        type="choice").status_code == 302
    assert outline_post(client, form, action="add-question", page="", text="Total score",
                        type="integer").status_code == 302
    ids = {"Interest": "page-1", "Mood": "page-2", "Total score": "total",
           "Little interest or pleasure in doing things": "interest",
           "Feeling down, depressed or hopeless": "down"}
    for text, link_id in ids.items():
        changes = {"link_id": link_id}
        if link_id in ("interest", "down"):
            changes["required"] = "on"
        _saved(post_change(client, change_url(form.items.get(text=text)), changes))
    _saved(post_change(client, change_url(form), inlines={"flag_rules": [
        {"position": "0", "code": "low-mood", "severity": "urgent",
         "message": "Feeling down nearly every day: call the patient today.",
         "enable_behavior": "all"},
    ]}))
    page_2 = form.items.get(link_id="page-2")
    interest, down = form.items.get(link_id="interest"), form.items.get(link_id="down")
    _saved(post_change(client, change_url(interest), {"control": "radio-button"},
                       inlines={"options": _options(FREQUENCY)}))
    _saved(post_change(client, change_url(down), inlines={"options": _options(FREQUENCY)}))
    _saved(post_change(client, change_url(page_2), inlines={"conditions": [
        {"question": str(interest.pk), "operator": ">", "answer": "0"}]}))
    total = form.items.get(link_id="total")
    _saved(post_change(client, change_url(total), {"calculation": "score-sum",
                                                   "score_items": [str(interest.pk),
                                                                   str(down.pk)]},
                       inlines={"bands": [
                           {"position": "0", "min_score": "0", "max_score": "2",
                            "label": "Minimal"},
                           {"position": "1", "min_score": "3", "max_score": "6",
                            "label": "Significant"}]}))
    rule = FlagRule.objects.get(form=form)
    _saved(post_change(client, change_url(rule), inlines={"conditions": [
        {"position": "0", "question": str(down.pk), "operator": "=", "answer": "3"}]}))
    return form


def mood_check(organisation) -> Form:
    """The same form as build_two_question_score, saved directly (for tests of what staff
    do with a form once it exists)."""
    form = FormFactory(organisation=organisation, title="Mood check")
    page_1 = ItemFactory(form=form, link_id="page-1", type=Item.Type.GROUP, text="Interest",
                         position=0)
    page_2 = ItemFactory(form=form, link_id="page-2", type=Item.Type.GROUP, text="Mood",
                         position=1)
    total = ItemFactory(form=form, link_id="total", type=Item.Type.INTEGER, position=2,
                        text="Total score", calculation=Item.Calculation.SCORE_SUM)
    questions = []
    for page, link_id, text in ((page_1, "interest", "Little interest or pleasure"),
                                (page_2, "down", "Feeling down, depressed or hopeless")):
        question = ItemFactory(form=form, parent=page, link_id=link_id, text=text,
                               type=Item.Type.CHOICE, required=True, position=0)
        for n, (code, display, score) in enumerate(FREQUENCY):
            AnswerOptionFactory(item=question, code=code, display=display, score=score,
                                position=n)
        questions.append(question)
    total.score_items.set(questions)
    ItemConditionFactory(item=page_2, question=questions[0], operator=">", answer="0")
    ScoreBandFactory(item=total, min_score=0, max_score=2, label="Minimal")
    ScoreBandFactory(item=total, min_score=3, max_score=6, label="Significant")
    rule = FlagRuleFactory(form=form, code="low-mood", message="Call the patient today.")
    FlagConditionFactory(rule=rule, question=questions[1], operator="=", answer="3")
    return form


def test_build_publish_and_score_a_form_through_the_admin(staff):
    client, user, organisation = staff
    form = build_two_question_score(client, organisation)
    response = client.post(reverse("admin:forms_app_form_publish", args=[form.pk]),
                           {"change_note": "First version"})
    assert response.status_code == 302, response.context and response.context["problems"]
    version = FormVersion.objects.get(form=form)
    assert version.published_by == user and version.change_note == "First version"
    compiled = compiled_version(version)
    assert compiled.page_keys == ["page-1", "page-2"]
    # Page two is shown only when the first answer scores above 0.
    assert compiled.enabled_page_keys({"interest": "0"}) == ["page-1"]
    evaluation = compiled.evaluate({"interest": "2", "down": "3"})
    assert evaluation.scores == {"total": 5}
    assert evaluation.bands == {"total": "Significant"}
    assert [flag.code for flag in evaluation.flags] == ["low-mood"]
    # Hidden page: its answer is never kept, so neither score nor flag comes from it.
    evaluation = compiled.evaluate({"interest": "0", "down": "3"})
    assert evaluation.scores == {"total": 0} or evaluation.scores == {}
    assert evaluation.flags == []
    # The form page shows the history.
    page = client.get(change_url(form)).content.decode()
    assert "First version" in page and "Export as FHIR" in page


def test_preview_the_draft_page_by_page_saves_nothing(staff):
    client, _user, organisation = staff
    form = build_two_question_score(client, organisation)
    url = reverse("admin:forms_app_form_preview", args=[form.pk])
    audit_before = AuditEvent.objects.count()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Staff preview" in html and "Little interest" in html and "Page 1 of up to 2" in html
    # Missing answer: the patient's error summary.
    response = client.post(url + "?step=page-1", {"preview_step": "page-1"})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    response = client.post(url, {"preview_step": "page-1", "page-1-interest": "2"})
    assert response.status_code == 302 and "step=page-2" in response.url
    response = client.get(url + "?step=page-2")
    assert "Feeling down" in response.content.decode()
    assert "Page 2 of up to 2" in response.content.decode()
    response = client.post(url, {"preview_step": "page-2", "page-2-down": "3"})
    assert response.status_code == 302 and "check=1" in response.url
    html = client.get(url + "?check=1").content.decode()
    assert "Check your answers" in html and "Several days" not in html
    assert "More than half the days" in html and "low-mood" in html and "Significant" in html
    # Nothing was written: no version, no submission, no audit event.
    assert not FormVersion.objects.filter(form=form).exists()
    assert AuditEvent.objects.count() == audit_before
    response = client.get(url + "?restart=1")
    assert response.status_code == 302
    assert "Page 1 of up to 2" in client.get(url).content.decode()


def test_preview_a_published_version(staff):
    client, user, organisation = staff
    form = mood_check(organisation)
    from forms_app import services

    version = services.publish_form(form=form, by=user)
    response = client.get(reverse("admin:forms_app_formversion_preview", args=[version.pk]))
    assert response.status_code == 200
    assert "Little interest" in response.content.decode()


def test_publishing_an_invalid_draft_lists_every_reason(staff):
    client, _user, organisation = staff
    form = FormFactory(organisation=organisation, title="Broken")
    page = ItemFactory(form=form, link_id="page", type=Item.Type.GROUP, text="Page")
    later = ItemFactory(form=form, parent=page, link_id="later", type=Item.Type.BOOLEAN,
                        position=5)
    early = ItemFactory(form=form, parent=page, link_id="early", type=Item.Type.STRING,
                        position=1)
    ItemFactory(form=form, parent=page, link_id="colour", type=Item.Type.CHOICE, position=6)
    ItemConditionFactory(item=early, question=later, operator="=", answer="true")
    response = client.post(reverse("admin:forms_app_form_publish", args=[form.pk]), {})
    assert response.status_code == 400
    html = response.content.decode()
    assert "comes later in the form" in html
    assert "a choice question needs answer options" in html
    assert not FormVersion.objects.filter(form=form).exists()
    # Preview says the same instead of showing a broken form.
    response = client.get(reverse("admin:forms_app_form_preview", args=[form.pk]))
    assert response.status_code == 400 and "comes later in the form" in response.content.decode()


def test_condition_answer_is_checked_when_saved(staff):
    client, _user, organisation = staff
    form = mood_check(organisation)
    interest = form.items.get(link_id="interest")
    page_2 = form.items.get(link_id="page-2")
    response = post_change(client, change_url(page_2), inlines={"conditions": [
        {"position": "1", "question": str(interest.pk), "operator": "=",
         "answer": "sometimes"}]})
    assert response.status_code == 200
    assert "is not one of its option codes" in errors_of(response)


def test_staff_of_another_organisation_cannot_preview_or_export(client, otp_login, staff):
    _client, user, organisation = staff
    form = FormFactory(organisation=organisation)
    ItemFactory(form=form, link_id="name", type=Item.Type.STRING)
    from forms_app import services

    version = services.publish_form(form=form, by=user)
    outsider = UserFactory()
    CareTeamFactory(organisation=OrganisationFactory(), members=[outsider])
    otp_login(client, outsider)
    for url in (reverse("admin:forms_app_form_preview", args=[form.pk]),
                reverse("admin:forms_app_formversion_preview", args=[version.pk]),
                reverse("admin:forms_app_formversion_export", args=[version.pk])):
        assert client.get(url).status_code == 404


def test_preview_needs_the_second_factor(staff):
    _client, user, organisation = staff
    form = FormFactory(organisation=organisation)
    client = Client()
    client.force_login(user)  # password only
    response = client.get(reverse("admin:forms_app_form_preview", args=[form.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_retire_a_version_and_copy_a_form_through_admin_actions(staff):
    client, user, organisation = staff
    form = FormFactory(organisation=organisation, title="Knee")
    ItemFactory(form=form, link_id="pain", type=Item.Type.INTEGER, min_value="0",
                max_value="10")
    from forms_app import services

    version = services.publish_form(form=form, by=user)
    response = client.post(reverse("admin:forms_app_formversion_changelist"), {
        "action": "retire", "_selected_action": [str(version.pk)]})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.retired_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FORM_RETIRED,
                                     object_id=str(version.pk)).exists()
    response = client.post(reverse("admin:forms_app_form_changelist"), {
        "action": "copy_forms", "_selected_action": [str(form.pk)]})
    assert response.status_code == 302
    copy = Form.objects.get(title="Copy of Knee")
    assert copy.items.get().max_value == "10"
    assert not copy.versions.exists()


def test_designer_pages_render(staff):
    client, _user, organisation = staff
    form = mood_check(organisation)
    for url in (reverse("admin:forms_app_form_changelist"),
                reverse("admin:forms_app_form_import"),
                reverse("admin:forms_app_form_library"),
                change_url(form), change_url(form.items.get(link_id="total")),
                change_url(FlagRule.objects.get(form=form))):
        assert client.get(url).status_code == 200, url


def test_deleting_a_question_a_condition_needs_is_refused_not_a_crash(staff):
    client, _user, organisation = staff
    form = mood_check(organisation)
    interest = form.items.get(link_id="interest")
    url = reverse("admin:forms_app_item_delete", args=[interest.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "would require deleting" in response.content.decode()
    assert form.items.filter(link_id="interest").exists()


def test_export_a_version_as_a_fhir_questionnaire(staff):
    client, user, organisation = staff
    form = mood_check(organisation)
    from fhir.resources.R4B.questionnaire import Questionnaire

    from forms_app import services

    version = services.publish_form(form=form, by=user)
    response = client.get(reverse("admin:forms_app_formversion_export", args=[version.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert 'filename="mood-check-v1.json"' in response["Content-Disposition"]
    document = response.json()
    assert document == version.definition
    Questionnaire.model_validate(document)
    from forms_app.design.services import retire_version

    retire_version(version=version, by=user)
    response = client.get(reverse("admin:forms_app_formversion_export", args=[version.pk]))
    assert response.json()["status"] == "retired"


def test_an_item_missing_a_setting_its_type_needs_says_what_to_fix(staff):
    client, _user, organisation = staff
    form = FormFactory(organisation=organisation)
    assert outline_post(client, form, action="add-question", page="", text="Waist",
                        type="quantity").status_code == 302
    waist = form.items.get()
    # Added from the outline with its words only; its page asks for the unit.
    assert "a number with a unit needs its unit" in client.get(change_url(form)).content.decode()
    response = post_change(client, change_url(waist))
    assert response.status_code == 200
    assert "A number with a unit needs its unit" in errors_of(response)
    _saved(post_change(client, change_url(waist), {"unit_code": "cm"}))


def test_a_page_switched_to_repeat_in_the_designer_previews_exports_and_refuses_misuse(staff):
    """Issue 11, point 3: the group's "repeats" switch, with at least / at most, edited
    on the item's page; the preview offers "Add another"; the export says repeats."""
    from forms_app.design.export import draft_to_questionnaire
    from forms_app.engine.repeats import ADD

    client, _user, organisation = staff
    form = add_form(client, organisation, "Family", "Relatives.")
    assert outline_post(client, form, action="add-page", title="A relative",
                        text="Their name", type="string").status_code == 302
    page = form.items.get(type="group")
    page_html = client.get(change_url(page)).content.decode()
    assert 'name="repeats"' in page_html and 'name="max_occurs"' in page_html
    _saved(post_change(client, change_url(page), {"repeats": "on", "max_occurs": "2"}))
    question = form.items.get(type="string")
    assert 'name="repeats"' in client.get(change_url(question)).content.decode()
    exported = draft_to_questionnaire(form, version_number=1)
    group = exported["item"][0]
    assert group["repeats"] is True
    assert {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs",
            "valueInteger": 2} in group["extension"]

    url = reverse("admin:forms_app_form_preview", args=[form.pk])
    step, name = page.link_id, question.link_id
    response = client.post(url, {"preview_step": step, f"{step}-{step}~n": "1",
                                 f"{step}-{step}~0~{name}": "Mum", ADD: step})
    html = response.content.decode()
    assert response.status_code == 200 and "Relative 2" in html and 'value="Mum"' in html
    # At most two: no third.
    assert "Add another relative" not in html

    # A yes/no question has no such switch, and the model refuses one set anyway.
    boolean = form.items.create(parent=page, position=9, link_id="alive", text="Alive?",
                                type="boolean")
    assert 'name="repeats"' not in client.get(change_url(boolean)).content.decode()
    boolean.repeats = True
    with pytest.raises(ValidationError) as refused:
        boolean.clean()
    assert "Only groups and text, number and date questions" in str(refused.value)
