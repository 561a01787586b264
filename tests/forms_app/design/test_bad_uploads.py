"""Bad Questionnaire uploads get one clear message and create nothing, whether through
the admin's upload page or the import_questionnaire command."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from forms_app.design.importer import ImportRefused, parse_upload
from forms_app.management.demo_data import ensure_demo
from forms_app.models import Form, Item
from patients.models import AuditEvent

pytestmark = pytest.mark.django_db


def nested(depth: int) -> bytes:
    item = {"linkId": "leaf", "type": "string", "text": "Deep"}
    for level in range(depth):
        item = {"linkId": f"g{level}", "type": "group", "item": [item]}
    return json.dumps({"resourceType": "Questionnaire", "status": "active",
                       "item": [item]}).encode()


BAD_UPLOADS = {
    "not json": (b"<html>not json</html>", "not valid JSON"),
    "binary": (b"\xff\xd8\xff\xe0 a photo", "not text"),
    "empty": (b"   ", "empty"),
    "nan": (b'{"resourceType": "Questionnaire", "item": [], "x": NaN}', "not valid JSON"),
    "json array": (b"[1, 2, 3]", "not a FHIR resource"),
    "patient": (json.dumps({"resourceType": "Patient", "id": "p"}).encode(),
                "a FHIR Patient, not a Questionnaire"),
    "no items": (json.dumps({"resourceType": "Questionnaire", "status": "active"}).encode(),
                 "no items"),
    "nested 200 levels": (nested(200), "nested too deeply"),
    "deep brackets": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "nested 20 item levels": (nested(20), "nested more than 12 levels"),
    "unknown item types": (json.dumps({"resourceType": "Questionnaire", "status": "active",
                                       "item": [{"linkId": f"q{n}", "type": "banana"}
                                                for n in range(50)]}).encode(),
                           '50 item(s) have a type that FHIR R4 does not define: q0 ("banana")'),
    "items not a list": (json.dumps({"resourceType": "Questionnaire",
                                     "item": {"linkId": "a"}}).encode(), "no items"),
}


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_parse_upload_refuses_with_a_reason(name):
    raw, message = BAD_UPLOADS[name]
    with pytest.raises(ImportRefused) as refused:
        parse_upload(raw)
    assert message in str(refused.value)


def test_twenty_megabytes_are_refused_before_parsing():
    with pytest.raises(ImportRefused, match="the largest a Questionnaire can be is 5 MB"):
        parse_upload(b" " * (20 * 1024 * 1024))


@pytest.fixture
def staff(client, otp_login):
    user, *_ = ensure_demo()
    otp_login(client, user)
    return client, user.care_teams.first().organisation


def upload(client, organisation, raw, name="questionnaire.json"):
    return client.post(reverse("admin:forms_app_form_import"), {
        "organisation": organisation.pk, "file": SimpleUploadedFile(name, raw)})


@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_admin_upload_of_a_bad_file_shows_why_and_creates_nothing(staff, name):
    client, organisation = staff
    raw, message = BAD_UPLOADS[name]
    forms, items, events = Form.objects.count(), Item.objects.count(), AuditEvent.objects.count()
    response = upload(client, organisation, raw)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&quot;", '"')
    assert (Form.objects.count(), Item.objects.count(), AuditEvent.objects.count()) == (
        forms, items, events)


def test_admin_upload_of_twenty_megabytes(staff):
    client, organisation = staff
    forms = Form.objects.count()
    response = upload(client, organisation, b" " * (20 * 1024 * 1024))
    assert response.status_code == 400
    assert "the largest a Questionnaire can be is 5 MB" in response.content.decode()
    assert Form.objects.count() == forms


def test_admin_upload_needs_an_organisation_of_the_user(client, otp_login):
    # A team member (platform superusers administer every organisation).
    from django.contrib.auth.models import Permission

    from tests.factories.patients import OrganisationFactory, UserFactory

    _user, _patient, team, _version = ensure_demo()
    member = UserFactory()
    team.members.add(member)
    member.user_permissions.add(*Permission.objects.filter(content_type__app_label="forms_app"))
    otp_login(client, member)
    response = upload(client, OrganisationFactory(), nested(1))
    assert response.status_code == 400
    assert not Form.objects.filter(title="").exists()


def test_admin_upload_creates_a_draft_and_shows_the_report(staff):
    client, organisation = staff
    source = {"resourceType": "Questionnaire", "status": "active", "title": "Upload",
              "item": [{"linkId": "photo", "type": "reference", "text": "Photo"},
                       {"linkId": "name", "type": "string", "text": "Name"}]}
    response = upload(client, organisation, json.dumps(source).encode())
    assert response.status_code == 302
    form = Form.objects.get(title="Upload")
    assert list(form.items.values_list("link_id", flat=True)) == ["name"]
    page = client.get(response.url).content.decode()
    assert "photo" in page and "reference" in page and "2 note(s)" in page
    assert AuditEvent.objects.filter(action=AuditEvent.Action.FORM_IMPORTED,
                                     object_id=str(form.pk)).exists()


def test_add_from_library_in_the_admin(staff):
    client, organisation = staff
    response = client.post(reverse("admin:forms_app_form_library"),
                           {"organisation": organisation.pk, "name": "phq9"})
    assert response.status_code == 302
    form = Form.objects.get(title="Patient Health Questionnaire (PHQ-9)")
    assert form.items.filter(type=Item.Type.CHOICE).count() == 9
    response = client.post(reverse("admin:forms_app_form_library"),
                           {"organisation": organisation.pk, "name": "not-a-form"})
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["not json", "nested 200 levels", "unknown item types"])
def test_import_command_refuses_bad_files(tmp_path, name):
    organisation = ensure_demo()[3].form.organisation
    raw, message = BAD_UPLOADS[name]
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    forms = Form.objects.count()
    with pytest.raises(CommandError, match="Nothing was imported") as refused:
        call_command("import_questionnaire", str(path), organisation=organisation.name)
    assert message in str(refused.value)
    assert Form.objects.count() == forms


def test_import_command_prints_the_report(tmp_path, capsys):
    organisation = ensure_demo()[3].form.organisation
    path = tmp_path / "lhc.json"
    from tests.forms_app.design.questionnaires import FIXTURES

    path.write_bytes((FIXTURES / "lhc-phq9.json").read_bytes())
    call_command("import_questionnaire", str(path), organisation=organisation.name)
    out = capsys.readouterr().out
    assert "Created the draft" in out
    assert '/44249-1/note: The element "_text" is not supported' in out
    with pytest.raises(CommandError, match="No single organisation"):
        call_command("import_questionnaire", str(path), organisation="Nowhere")


def test_load_library_command(capsys):
    organisation = ensure_demo()[3].form.organisation
    call_command("load_library", organisation=organisation.name)
    assert Form.objects.filter(organisation=organisation, title__contains="PHQ-9").exists()
    assert Form.objects.filter(organisation=organisation, title__contains="GAD-7").exists()
    with pytest.raises(CommandError, match="Not in the library"):
        call_command("load_library", "sf36", organisation=organisation.name)
