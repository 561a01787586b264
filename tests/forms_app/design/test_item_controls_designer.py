"""Item types and controls in the designer (issue 11): a required group, how choices
are laid out (SDC choiceOrientation), the autocomplete control and an attachment's
limits (SDC maxSize, mimeType), each set on the item's own page, exported, and
imported back unchanged (forms_app/admin/design.py ItemForm, design/item_extensions.py)."""

import json

import pytest

from forms_app.design import item_extensions as ix
from forms_app.design import services as design_services
from forms_app.design.export import draft_to_questionnaire
from forms_app.engine import compile_definition
from forms_app.engine import extensions as ext
from forms_app.management.demo_data import ensure_demo
from tests.factories.forms_app import AnswerOptionFactory, FormFactory, ItemFactory
from tests.forms_app.design.admin_helpers import change_url, errors_of, post_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(otp_login, client):
    user, *_ = ensure_demo()
    otp_login(client, user)
    return client, user, user.care_teams.first().organisation


def _saved(response):
    assert response.status_code == 302, errors_of(response)


def _exported_items(form) -> dict:
    def walk(nodes):
        for node in nodes:
            yield node
            yield from walk(node.get("item", []))
    exported = draft_to_questionnaire(form, version_number=1)
    return {node["linkId"]: node for node in walk(exported["item"])}, exported


def _round_trip(form, user, organisation):
    """Export, import the export, export again: the same document (ids apart)."""
    _, exported = _exported_items(form)
    again = design_services.import_questionnaire(
        data=json.loads(json.dumps(exported)), organisation=organisation, by=user)
    assert [n for n in again.report if n.get("clinical")] == []
    second = draft_to_questionnaire(again.form, version_number=1)
    assert {k: v for k, v in second.items() if k not in ("id", "url", "version")} == \
        {k: v for k, v in exported.items() if k not in ("id", "url", "version")}
    return again.form


@pytest.fixture
def contact_form(staff):
    _client, _user, organisation = staff
    form = FormFactory(organisation=organisation, title="Registration")
    page = ItemFactory(form=form, link_id="contact", text="How we can contact you",
                       type="group")
    ItemFactory(form=form, parent=page, position=1, link_id="mobile", type="string",
                text="Mobile")
    ItemFactory(form=form, parent=page, position=2, link_id="email", type="string",
                text="Email")
    return form, page


def test_a_page_can_be_marked_required_and_exports_so(staff, contact_form):
    client, user, organisation = staff
    form, page = contact_form
    assert 'name="required"' in client.get(change_url(page)).content.decode()
    _saved(post_change(client, change_url(page), {"required": "on"}))
    page.refresh_from_db()
    assert page.required
    items, exported = _exported_items(form)
    assert items["contact"]["required"] is True
    again = _round_trip(form, user, organisation)
    assert again.items.get(link_id="contact").required
    # The engine asks for one of its questions.
    compiled = compile_definition(exported)
    bound = compiled.form_class("contact", answers={})(data={})
    assert not bound.is_valid() and "contact" in bound.engine_group_errors


def test_text_to_read_still_cannot_be_required(contact_form):
    form, page = contact_form
    display = ItemFactory.build(form=form, parent=page, link_id="note", type="display",
                                text="Read me", required=True)
    with pytest.raises(Exception, match="Text to read cannot be required"):
        display.clean()


def _choice(form, page, **fields):
    item = ItemFactory(form=form, parent=page, position=3, link_id="best-time",
                       type="choice", text="When is best?", **fields)
    for n, (code, display) in enumerate([("am", "Morning"), ("pm", "Afternoon")]):
        AnswerOptionFactory(item=item, position=n, code=code, display=display)
    return item


def test_choice_layout_and_autocomplete_are_set_on_the_items_page(staff, contact_form):
    client, user, organisation = staff
    form, page = contact_form
    item = _choice(form, page)
    html = client.get(change_url(item)).content.decode()
    assert 'name="choice_orientation"' in html and 'value="autocomplete"' in html
    _saved(post_change(client, change_url(item), {"choice_orientation": "horizontal",
                                                  "control": "autocomplete"}))
    item.refresh_from_db()
    assert item.control == "autocomplete"
    assert item.fhir_extensions == [{"url": ext.CHOICE_ORIENTATION, "valueCode": "horizontal"}]
    exported = _exported_items(form)[0]["best-time"]["extension"]
    assert {"url": ext.CHOICE_ORIENTATION, "valueCode": "horizontal"} in exported
    assert any(e["url"] == ext.ITEM_CONTROL and
               e["valueCodeableConcept"]["coding"][0]["code"] == "autocomplete"
               for e in exported)
    again = _round_trip(form, user, organisation).items.get(link_id="best-time")
    assert again.control == "autocomplete"
    # Back to automatic: the extension goes.
    _saved(post_change(client, change_url(item), {"choice_orientation": ""}))
    item.refresh_from_db()
    assert item.fhir_extensions == []


def test_a_question_that_is_not_a_choice_has_no_layout(staff, contact_form):
    client, _user, _organisation = staff
    form, _page = contact_form
    mobile = form.items.get(link_id="mobile")
    assert 'name="choice_orientation"' not in client.get(change_url(mobile)).content.decode()


@pytest.fixture
def photo(contact_form):
    form, page = contact_form
    return ItemFactory(form=form, parent=page, position=4, link_id="photo",
                       type="attachment", text="A photo of the wound")


def test_attachment_limits_are_set_on_the_items_page_exported_and_kept(staff, photo):
    client, user, organisation = staff
    html = client.get(change_url(photo)).content.decode()
    assert 'name="max_size_kb"' in html and 'value="image/heic"' in html
    _saved(post_change(client, change_url(photo), {
        "max_size_kb": "2048", "mime_types": ["image/jpeg", "image/heic"]}))
    photo.refresh_from_db()
    extension = _exported_items(photo.form)[0]["photo"]["extension"]
    assert {"url": ext.MAX_SIZE, "valueDecimal": 2048 * 1024} in extension
    assert [e["valueCode"] for e in extension if e["url"] == ext.MIME_TYPE] == \
        ["image/jpeg", "image/heic"]
    compiled = compile_definition(draft_to_questionnaire(photo.form, version_number=1))
    assert compiled.items["photo"].max_size == 2048 * 1024
    assert compiled.items["photo"].mime_types == ("image/jpeg", "image/heic")
    again = _round_trip(photo.form, user, organisation).items.get(link_id="photo")
    assert again.fhir_extensions == photo.fhir_extensions
    # The page shows what is set.
    html = client.get(change_url(photo)).content.decode()
    assert 'value="2048"' in html


@pytest.mark.parametrize(("changes", "message"), [
    ({"max_size_kb": "0"}, "greater than or equal to 1"),
    ({"max_size_kb": "-5"}, "greater than or equal to 1"),
    ({"max_size_kb": "20480"}, "less than or equal to 10240"),
    ({"max_size_kb": "big"}, "Enter a whole number"),
    ({"mime_types": ["application/x-msdownload"]}, "Select a valid choice"),
])
def test_attachment_limits_must_be_a_positive_size_and_known_types(staff, photo, changes,
                                                                   message):
    client, _user, _organisation = staff
    response = post_change(client, change_url(photo), changes)
    assert response.status_code == 200
    assert message in errors_of(response)
    photo.refresh_from_db()
    assert photo.fhir_extensions == []


def test_an_imported_size_in_bytes_is_kept_unless_staff_change_it(staff, photo):
    client, _user, _organisation = staff
    photo.fhir_extensions = [{"url": ext.MAX_SIZE, "valueDecimal": 1500000}]
    photo.save(update_fields=["fhir_extensions"])
    _saved(post_change(client, change_url(photo), {"text": "A photo of your wound"}))
    photo.refresh_from_db()
    assert photo.fhir_extensions == [{"url": ext.MAX_SIZE, "valueDecimal": 1500000}]


def test_import_keeps_required_groups_layout_and_autocomplete(staff):
    from tests.corpus import load

    _client, user, organisation = staff
    imported = design_services.import_questionnaire(
        data=load("gp-registration-controls"), organisation=organisation, by=user)
    items = {item.link_id: item for item in imported.form.items.all()}
    assert items["contact"].required and items["conditions-group"].required
    assert items["country-of-birth"].control == "autocomplete"
    assert items["main-language"].control == "autocomplete"
    assert ix.orientation_of(items["general-health"].fhir_extensions) == "horizontal"
    assert ix.orientation_of(items["smoke"].fhir_extensions) == "vertical"
    notes = " ".join(note["message"] for note in imported.report)
    assert "required" not in notes and "autocomplete" not in notes
    assert "choiceOrientation" not in notes


def test_an_imported_file_type_the_platform_cannot_check_is_shown_and_must_go(staff, photo):
    client, _user, _organisation = staff
    photo.fhir_extensions = [{"url": ext.MIME_TYPE, "valueCode": "application/msword"},
                             {"url": ext.MIME_TYPE, "valueCode": "image/png"}]
    photo.save(update_fields=["fhir_extensions"])
    html = client.get(change_url(photo)).content.decode()
    assert "application/msword (not a type the platform can check)" in html
    response = post_change(client, change_url(photo), {"text": "A photo"})
    assert response.status_code == 200
    assert "application/msword: the platform cannot tell" in errors_of(response)
    _saved(post_change(client, change_url(photo), {"mime_types": ["image/png"]}))
    photo.refresh_from_db()
    assert photo.fhir_extensions == [{"url": ext.MIME_TYPE, "valueCode": "image/png"}]
