import pytest
from django.test import Client
from django.urls import reverse

from forms_app.management.demo_data import ensure_demo
from forms_app.models import Form, FormVersion, Item, Link
from tests.factories.patients import CareTeamFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(otp_login, client):
    user, patient, team, version = ensure_demo()
    return otp_login(client, user), user, patient, team, version


@pytest.mark.parametrize("url_name", ["admin:index", "admin:forms_app_form_changelist",
                                      "admin:patients_patient_changelist",
                                      "admin:forms_app_submission_changelist"])
def test_password_alone_reaches_no_admin_page(client, url_name):
    user = ensure_demo()[0]
    client.force_login(user)  # password checked, second factor not
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_login_needs_the_otp_token(client):
    ensure_demo()
    # The admin's login is the staff sign-in: a password leads to the second factor.
    assert client.get(reverse("admin:login")).url.startswith(reverse("account:login"))
    response = client.post(reverse("account:login"), {
        "username": "demo.clinician", "password": "demo-clinician-2fa-please",
        "next": "/admin/"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account:enrol"))
    assert client.get(reverse("admin:index")).status_code != 200


def test_staff_build_and_publish_a_form_in_the_admin(staff):
    client, user, *_ = staff
    organisation = user.care_teams.first().organisation
    # The form first (the add page has its own fields only), then its questions on
    # its outline, each a page of its own.
    response = client.post(reverse("admin:forms_app_form_add"), {
        "organisation": organisation.pk, "title": "Knee pain", "description": "",
        "_continue": "Save and add pages and questions"})
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    form = Form.objects.get(title="Knee pain")
    outline = reverse("admin:forms_app_form_outline", args=[form.pk])
    for text, item_type in (("Pain from 0 to 10", "integer"), ("Since when?", "date"),
                            ("Worse at night?", "boolean")):
        response = client.post(outline, {"action": "add-question", "page": "",
                                          "text": text, "type": item_type})
        assert response.status_code == 302
    assert form.items.count() == 3
    response = client.post(reverse("admin:forms_app_form_publish", args=[form.pk]),
                           {"change_note": "First"})
    assert response.status_code == 302
    version = FormVersion.objects.get(form=form)
    assert [i["type"] for i in version.definition["item"]] == ["integer", "date", "boolean"]


def test_publishing_an_invalid_form_shows_the_reasons(staff):
    client, user, *_ = staff
    form = Form.objects.create(organisation=user.care_teams.first().organisation, title="Bad")
    Item.objects.create(form=form, link_id="colour", text="Colour?", type=Item.Type.CHOICE)
    response = client.post(reverse("admin:forms_app_form_publish", args=[form.pk]), {})
    assert response.status_code == 400
    assert b"colour" in response.content
    assert not FormVersion.objects.filter(form=form).exists()


def test_issue_link_from_the_admin_shows_it_once(staff):
    client, _user, patient, team, version = staff
    url = reverse("admin:forms_app_formversion_issue_link", args=[version.pk])
    response = client.post(url, {"patient": patient.pk, "care_team": team.pk,
                                 "channel": "screen", "expires_in_days": "7"})
    # POST-redirect-GET: the token is never in the POST's response or in a URL.
    assert response.status_code == 302
    link = Link.objects.get()
    assert response["Location"] == reverse("admin:forms_app_formversion_issued_link",
                                           args=[version.pk, link.pk])
    shown = client.get(response["Location"])
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    token = shown.content.split(b"/l/")[1].split(b"/")[0].decode()
    assert link.token_hash != token and len(token) >= 43
    # A refresh shows that it was shown, issues nothing, and never shows the token again.
    again = client.get(response["Location"])
    assert again.status_code == 410
    assert b"already shown" in again.content and token.encode() not in again.content
    assert Link.objects.count() == 1


def test_a_link_issued_in_the_admin_is_not_shown_to_another_session(staff, otp_login):
    client, user, patient, team, version = staff
    response = client.post(
        reverse("admin:forms_app_formversion_issue_link", args=[version.pk]),
        {"patient": patient.pk, "care_team": team.pk, "channel": "screen",
         "expires_in_days": "7"})
    other = otp_login(Client(), user)  # the same user, signed in elsewhere
    shown = other.get(response["Location"])
    assert shown.status_code == 410 and b"/l/" not in shown.content


def test_issue_link_rejects_bad_input(staff):
    client, _user, patient, _team, version = staff
    url = reverse("admin:forms_app_formversion_issue_link", args=[version.pk])
    other_team = CareTeamFactory(organisation=OrganisationFactory())
    response = client.post(url, {"patient": patient.pk, "care_team": other_team.pk,
                                 "channel": "pigeon", "expires_in_days": "-1"})
    assert response.status_code == 400
    assert not Link.objects.exists()


def test_staff_of_another_team_see_no_patients_or_submissions(client, otp_login):
    ensure_demo()
    outsider = UserFactory()
    outsider.is_superuser = False
    outsider.save(update_fields=["is_superuser"])
    CareTeamFactory(members=[outsider])
    from django.contrib.auth.models import Permission

    outsider.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["patients", "forms_app"]))
    otp_login(client, outsider)
    response = client.get(reverse("admin:patients_patient_changelist"))
    assert response.status_code == 200
    assert b"Sarah" not in response.content
