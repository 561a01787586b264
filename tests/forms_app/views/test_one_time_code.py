# ruff: noqa: F811  (pytest fixtures imported from clinic_fixtures)
"""The optional one-time code after the date of birth (issue 4's item, built in issue 5)."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from forms_app import services
from forms_app.models import Link, OneTimeCode
from tests.forms_app.clinic_fixtures import demo  # noqa: F401
from tests.forms_app.journey import open_and_verify

pytestmark = pytest.mark.django_db

CODE = re.compile(r"(\d{6}) is your .* security code")


@pytest.fixture
def issued(demo):
    user, patient, team, version = demo
    version.form.requires_one_time_code = True
    version.form.save(update_fields=["requires_one_time_code"])
    return services.issue_link(version=version, patient=patient, care_team=team, by=user,
                               channel=Link.Channel.SMS)


def dob_then_code(client, issued, capsys, callbacks):
    with callbacks(execute=True):
        response = open_and_verify(client, issued.token)
    assert response.status_code == 302 and response.url == reverse("patient:verify_code")
    return CODE.search(capsys.readouterr().out).group(1)


def test_the_code_sent_to_the_mobile_completes_the_check(
        client, issued, capsys, django_capture_on_commit_callbacks):
    code = dob_then_code(client, issued, capsys, django_capture_on_commit_callbacks)
    # Before the code, no question is shown.
    # Not through the check yet: sent back to it, nothing of the form shown.
    response = client.get(reverse("patient:answer"))
    assert response.status_code == 302 and response.url == reverse("patient:verify")
    otc = OneTimeCode.objects.get(link=issued.link)
    assert code not in otc.code_hash and otc.pending_code is None  # hashed; clear copy gone
    page = client.get(reverse("patient:verify_code"))
    assert b"text message" in page.content and b'autocomplete="one-time-code"' in page.content
    response = client.post(reverse("patient:verify_code"), {"code": code})
    assert response.status_code == 302 and response.url == reverse("patient:answer")
    assert client.get(reverse("patient:answer")).status_code == 200


def test_a_code_is_single_use(client, issued, capsys, django_capture_on_commit_callbacks):
    code = dob_then_code(client, issued, capsys, django_capture_on_commit_callbacks)
    client.post(reverse("patient:verify_code"), {"code": code})
    other = type(client)()
    open_and_verify(other, issued.token)  # within a minute: no new code sent
    response = other.post(reverse("patient:verify_code"), {"code": code})
    assert response.status_code == 400


def test_a_code_expires_after_ten_minutes(client, issued, capsys,
                                          django_capture_on_commit_callbacks):
    code = dob_then_code(client, issued, capsys, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        response = client.post(reverse("patient:verify_code"), {"code": code})
    assert response.status_code == 400 and b"expired" in response.content


def test_wrong_codes_count_against_the_same_lockout(client, issued, capsys, settings,
                                                    django_capture_on_commit_callbacks):
    settings.LINK_MAX_FAILED_CHECKS = 5
    dob_then_code(client, issued, capsys, django_capture_on_commit_callbacks)
    for _ in range(3):
        assert client.post(reverse("patient:verify_code"),
                           {"code": "000000"}).status_code == 400
    # A correct date of birth again does not wipe the count of wrong codes.
    open_and_verify(client, issued.token)
    assert client.post(reverse("patient:verify_code"), {"code": "000000"}).status_code == 400
    response = client.post(reverse("patient:verify_code"), {"code": "000000"})
    assert response.status_code == 429
    assert Link.objects.get(pk=issued.link.pk).locked_until is not None


def test_malformed_codes_are_refused_without_counting(client, issued, capsys,
                                                      django_capture_on_commit_callbacks):
    dob_then_code(client, issued, capsys, django_capture_on_commit_callbacks)
    for bad in ["", "12345", "abcdef", "1234567", "١٢٣٤٥٦"]:
        response = client.post(reverse("patient:verify_code"), {"code": bad})
        assert response.status_code == 400 and b"6-digit code" in response.content
    assert Link.objects.get(pk=issued.link.pk).failed_checks == 0


def test_no_contact_on_record_means_no_code_and_a_clear_page(client, issued):
    patient = issued.link.patient
    patient.mobile, patient.email = "", ""
    patient.save(update_fields=["mobile", "email"])
    response = open_and_verify(client, issued.token)
    assert response.status_code == 409 and b"cannot send you a security code" in response.content
    # Not through the check yet: sent back to it, nothing of the form shown.
    response = client.get(reverse("patient:answer"))
    assert response.status_code == 302 and response.url == reverse("patient:verify")


def test_the_code_page_needs_the_date_of_birth_first(client, issued):
    client.get(reverse("patient:start", kwargs={"token": issued.token}))
    response = client.get(reverse("patient:verify_code"))
    assert response.status_code == 302 and response.url == reverse("patient:verify")
