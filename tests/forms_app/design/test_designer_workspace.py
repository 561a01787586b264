"""The designer's outline, problems, type-aware question page, plain-word conditions and
translations (issue 13), through the admin pages as staff use them."""

import pytest
from django.urls import reverse

from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.design.importer import plan_questionnaire
from forms_app.engine import compile_definition
from forms_app.models import Form, Item
from patients.models import AuditEvent
from tests.factories.forms_app import FormFactory, ItemFactory
from tests.forms_app.design.admin_helpers import (
    change_url,
    errors_of,
    outline_post,
    post_change,
)
from tests.forms_app.design.test_admin_designer import mood_check, staff  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_outline_lists_pages_with_their_questions_in_order(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    html = client.get(change_url(form)).content.decode()
    assert "Ready to publish" in html
    html = html[html.index('id="outline"'):]
    order = [html.index(f">{text}</a>") for text in (
        "Interest", "Little interest or pleasure", "Mood",
        "Feeling down, depressed or hopeless", "Total score")]
    assert order == sorted(order)
    assert "Shown when Little interest or pleasure is more than Not at all" in html


def test_move_and_add_through_the_outline(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    page_1, page_2 = form.items.get(link_id="page-1"), form.items.get(link_id="page-2")
    down = form.items.get(link_id="down")
    response = outline_post(client, form, action="move", item=down.pk, page=page_1.pk)
    assert response.status_code == 302 and response.url.endswith(f"#item-{down.pk}")
    down.refresh_from_db()
    assert down.parent == page_1 and down.position == 1
    outline_post(client, form, action="up", item=down.pk)
    assert list(page_1.children.order_by("position").values_list("link_id", flat=True)) == [
        "down", "interest"]
    outline_post(client, form, action="up", item=page_2.pk)
    assert list(form.items.filter(parent=None).order_by("position")
                .values_list("link_id", flat=True)) == ["page-2", "page-1", "total"]
    outline_post(client, form, action="add-question", page=page_2.pk, text="Do you smoke?",
                 type="boolean")
    smoke = form.items.get(text="Do you smoke?")
    assert smoke.parent == page_2 and smoke.link_id == "do-you-smoke"
    outline_post(client, form, action="add-page", title="Sleep", text="Do you sleep well?",
                 type="boolean")
    sleep = form.items.get(text="Sleep")
    assert sleep.type == "group" and sleep.children.get().text == "Do you sleep well?"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FORM_CHANGED,
                                     detail__form=str(form.pk)).count() >= 5


@pytest.mark.parametrize("data", [
    {"action": "move", "item": "999999", "page": ""},
    {"action": "move", "item": "0"},
    {"action": "up", "item": "abc"},
    {"action": "explode"},
    {"action": "add-question", "text": "", "type": "boolean"},
    {"action": "add-page", "title": "", "text": "Q", "type": "boolean"},
    {"action": "add-question", "text": "Q", "type": "group"},
    {"action": "add-question", "text": "Q", "type": "boolean", "page": "99999999999999"},
])
def test_bad_outline_changes_say_why_and_change_nothing(staff, data):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    before = list(form.items.values_list("pk", "parent_id", "position"))
    response = outline_post(client, form, **data)
    assert response.status_code == 302
    assert list(form.items.values_list("pk", "parent_id", "position")) == before
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages, "no message said what was wrong"


def test_a_page_cannot_move_into_itself(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    page_1 = form.items.get(link_id="page-1")
    outline_post(client, form, action="move", item=page_1.pk, page=page_1.pk)
    page_1.refresh_from_db()
    assert page_1.parent is None


def test_other_organisations_cannot_change_the_outline(client, otp_login, staff):  # noqa: F811
    from tests.factories.patients import CareTeamFactory, OrganisationFactory, UserFactory

    _client, _user, organisation = staff
    form = mood_check(organisation)
    outsider = UserFactory(is_staff=True)
    CareTeamFactory(organisation=OrganisationFactory()).members.add(outsider)
    otp_login(client, outsider)
    response = outline_post(client, form, action="add-page", title="X", text="Y",
                            type="boolean")
    assert response.status_code == 404
    assert not form.items.filter(text="X").exists()


def test_problems_are_shown_while_editing_and_link_to_their_item(staff):  # noqa: F811
    client, _user, organisation = staff
    form = FormFactory(organisation=organisation)
    page = ItemFactory(form=form, link_id="page", type=Item.Type.GROUP, text="Page")
    colour = ItemFactory(form=form, parent=page, link_id="colour", type=Item.Type.CHOICE,
                         text="Colour?")
    html = client.get(change_url(form)).content.decode()
    assert "1 problem to fix before publishing" in html
    assert f'<a href="{change_url(colour)}">Question &quot;colour&quot;' in html
    assert "a choice question needs answer options" in client.get(
        change_url(colour)).content.decode()


def test_the_question_page_shows_only_what_its_type_needs(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    smoke = ItemFactory(form=form, link_id="smoke", type=Item.Type.BOOLEAN, text="Smoke?",
                        position=9)
    response = client.get(change_url(smoke))
    html = response.content.decode()
    for absent in ("Unit (numbers with a unit)", "Score or computed value", "id_unit_code",
                   "options-TOTAL_FORMS", "bands-TOTAL_FORMS", "id_min_length"):
        assert absent not in html, absent
    assert "conditions-TOTAL_FORMS" in html
    total = client.get(change_url(form.items.get(link_id="total"))).content.decode()
    assert "bands-TOTAL_FORMS" in total and "options-TOTAL_FORMS" not in total
    # A change of type drops settings the new type has not, so saving never fails on
    # a field the page no longer shows.
    text = ItemFactory(form=form, link_id="name", type=Item.Type.STRING, text="Name",
                       max_length=20, position=10)
    response = post_change(client, change_url(text), {"type": "boolean"})
    assert response.status_code == 302, errors_of(response)
    text.refresh_from_db()
    assert text.type == "boolean" and text.max_length is None


def test_conditions_offer_only_earlier_questions_and_their_answers(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    page_2, interest = form.items.get(link_id="page-2"), form.items.get(link_id="interest")
    down = form.items.get(link_id="down")
    response = client.get(change_url(down))
    formset = next(i.formset for i in response.context["inline_admin_formsets"]
                   if i.formset.prefix == "conditions")
    questions = list(formset.forms[0].fields["question"].queryset)
    assert questions == [interest]
    choices = formset.forms[0].fields["answer_choice"].choices
    assert ("Little interest or pleasure", [(f"{interest.pk}:0", "Not at all"),
                                            (f"{interest.pk}:1", "Several days"),
                                            (f"{interest.pk}:2", "More than half the days"),
                                            (f"{interest.pk}:3", "Nearly every day")]) in choices
    response = post_change(client, change_url(down), inlines={"conditions": [
        {"question": str(interest.pk), "operator": "=", "answer_choice": f"{interest.pk}:2"}]})
    assert response.status_code == 302, errors_of(response)
    assert down.conditions.get().answer == "2"
    assert "Shown when Little interest or pleasure is More than half the days" in (
        client.get(change_url(form)).content.decode())
    # An answer of another question, or the question itself, is refused.
    response = post_change(client, change_url(page_2), inlines={"conditions": [
        {"question": str(interest.pk), "operator": "=", "answer_choice": f"{down.pk}:2"}]})
    assert response.status_code == 200
    response = post_change(client, change_url(down), inlines={"conditions": [
        {"question": str(down.pk), "operator": "=", "answer": "2"}]})
    assert response.status_code == 200 and "valid choice" in errors_of(response)


def welsh(form):
    form.translations = {"cy": {"title": "Gwiriad hwyliau", "description": "Dau gwestiwn."}}
    form.description = "Two questions."
    form.save()
    interest = form.items.get(link_id="interest")
    interest.help_text = "Over the last two weeks"
    interest.required_message = "Select how often"
    interest.translations = {"cy": {"text": "Ychydig o ddiddordeb",
                                    "help_text": "Dros y pythefnos diwethaf",
                                    "required_message": "Dewiswch pa mor aml"}}
    interest.save()
    option = interest.options.get(code="0")
    option.translations = {"cy": {"display": "Dim o gwbl"}}
    option.save()
    return form


def test_translations_page_saves_and_shows_what_is_untranslated(staff):  # noqa: F811
    client, _user, organisation = staff
    form = mood_check(organisation)
    url = reverse("admin:forms_app_form_translations", args=[form.pk])
    response = client.get(url + "?language=cy")
    assert response.status_code == 200
    editor = response.context["editor"]
    names = {text.where: name for name, text in editor.texts.items()}
    assert "Question 1.1: option 3" in names and "Title" in names
    data = {names["Title"]: "Gwiriad hwyliau",
            names["Question 1.1: Words"]: "Ychydig o ddiddordeb",
            names["Question 1.1: option 0"]: "Dim o gwbl"}
    response = client.post(url + "?language=cy", data)
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.translations == {"cy": {"title": "Gwiriad hwyliau"}}
    assert form.items.get(link_id="interest").options.get(code="0").translations == {
        "cy": {"display": "Dim o gwbl"}}
    missing = client.get(url + "?language=cy&missing=1").context["editor"]
    assert "Title" not in {t.where for t in missing.texts.values()}
    assert AuditEvent.objects.filter(detail__change="translated").exists()
    # Too long, or a language forms are not translated into: nothing changes.
    response = client.post(url + "?language=cy", {names["Title"]: "x" * 201})
    assert response.status_code == 400
    assert client.get(url + "?language=fr").status_code == 404


def test_export_import_round_trip_keeps_every_translation(staff):  # noqa: F811
    _client, user, organisation = staff
    form = welsh(mood_check(organisation))
    exported = draft_to_questionnaire(form, version_number=1)
    assert exported["description"] == "Two questions."
    assert exported["_title"]["extension"][0]["extension"][1] == {
        "url": "content", "valueString": "Gwiriad hwyliau"}
    assert "_description" in exported
    # The engine reads them: Welsh text, help, options and messages.
    compiled = compile_definition(exported).translated("cy")
    assert compiled.title == "Gwiriad hwyliau"
    cy = compiled.definition["item"][0]["item"][0]
    assert cy["text"] == "Ychydig o ddiddordeb"
    assert cy["item"][0]["text"] == "Dros y pythefnos diwethaf"
    assert cy["answerOption"][0]["valueCoding"]["display"] == "Dim o gwbl"
    # Export, import, export again: the same document, translations included.
    plan = plan_questionnaire(exported)
    assert plan.report == [
        entry for entry in plan.report if "Not kept, as a new draft" in entry["message"]]
    imported = design_services.import_questionnaire(data=exported, organisation=organisation,
                                                    by=user)
    again = draft_to_questionnaire(imported.form, version_number=1)
    for key in ("id", "url"):
        exported.pop(key), again.pop(key)
    assert again == exported
    copy = design_services.copy_form(form=form, by=user)
    assert copy.translations == form.translations
    assert Form.objects.get(pk=copy.pk).items.get(link_id="interest").translations == (
        form.items.get(link_id="interest").translations)
