"""Every admin change list costs the same number of queries for 1 row as for 6 (no query
per row), and none reads an encrypted column it never shows (answers, record
resources, files): a list would otherwise decrypt every row's answers to show none."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forms_app import services
from forms_app.models import Submission
from patients.encryption import encrypted_fields
from tests.factories.forms_app import FormFactory, ItemFactory
from tests.factories.patients import PatientFactory
from tests.factories.world import ANSWER_MARKER, build_world, verified

pytestmark = pytest.mark.django_db

MORE = 5


def _add_rows(world, count):
    """`count` more of everything the right team sees: forms and versions, patients,
    links, submissions and record entries, flag rules, worklist tasks."""
    user = world.users["right_team"]
    for n in range(count):
        form = FormFactory(organisation=world.organisation, title=f"Form {n}")
        page = ItemFactory(form=form, link_id="page", text="Page", type="group")
        ItemFactory(form=form, parent=page, link_id="notes", text="Notes", type="text")
        version = services.publish_form(form=form, by=user)
        patient = PatientFactory(organisation=world.organisation, care_teams=[world.team])
        issued = services.issue_link(version=version, patient=patient, care_team=world.team,
                                     by=user)
        services.verify_identity(link_id=issued.link.pk, date_of_birth=patient.date_of_birth)
        submission = Submission.objects.get(link=issued.link)
        services.submit(submission_id=submission.pk, answers={"notes": ANSWER_MARKER})
        services.file_submission(submission_id=submission.pk)


def _changelists():
    # The project's own (the team user may not see django.contrib.auth's groups).
    return sorted(
        (reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
         model) for model in admin.site._registry
        if model._meta.app_label in ("patients", "forms_app"))


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return captured


def _encrypted_columns():
    return {f'"{model._meta.db_table}"."{model._meta.get_field(name).column}"'
            for model, names in encrypted_fields() for name in names}


def test_admin_change_lists_are_flat_in_rows_and_decrypt_nothing(client):
    world = build_world()
    client = verified(client, world.users["right_team"])
    lists = _changelists()
    before = {url: len(_queries(client, url)) for url, _ in lists}
    _add_rows(world, MORE)
    growing, decrypting = {}, {}
    columns = _encrypted_columns()
    for url, _model in lists:
        captured = _queries(client, url)
        if len(captured) > before[url]:
            growing[url] = (before[url], len(captured))
        read = {column for query in captured.captured_queries
                for column in columns if column in query["sql"]
                and re.match(r"\s*SELECT", query["sql"])}
        if read:
            decrypting[url] = sorted(read)
    assert growing == {}, "a query per row"
    assert decrypting == {}, "encrypted columns read by a change list"
