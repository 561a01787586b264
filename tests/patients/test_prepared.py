"""patients/prepared.py: a one-row lookup compiled to SQL once, giving what the ORM's
own .first() gives (issue 12)."""

from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from forms_app import selectors
from forms_app.models import Link, Submission
from patients.prepared import OneRow
from tests.forms_app.journey import open_and_verify
from tests.forms_app.views.test_patient_queries import definition
from tests.forms_app.views.test_same_page_conditions import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(client):
    issued = issue(definition(10))
    open_and_verify(client, issued.token)  # the submission is made here
    return issued


def lookup():
    return OneRow(lambda link_id: Submission.objects.select_related(
        "link__version", "link__patient__organisation")
        .only("state", "draft_answers", "link__expires_at", "link__version",
              "link__patient__organisation__name").filter(link_id=link_id), Link._meta.pk)


def test_the_row_is_the_one_the_orm_reads(issued):
    submission = Submission.objects.get(link=issued.link)
    submission.draft_answers = {"q0-0": 3}  # encrypted at rest: read back through the field
    submission.save(update_fields=["draft_answers"])
    ours = lookup().one(str(issued.link.pk))
    orm = Submission.objects.select_related(
        "link__version", "link__patient__organisation").get(link=issued.link)
    assert ours.pk == orm.pk and ours.state == orm.state
    assert ours.draft_answers == {"q0-0": 3}
    assert ours.link.expires_at == orm.link.expires_at
    assert ours.link.version.pk == orm.link.version.pk
    assert ours.link.patient.organisation.name == orm.link.patient.organisation.name
    # Deferred as only() defers: read on demand, as from the ORM's own instance.
    assert "answers" in ours.get_deferred_fields()
    assert ours.link.version.definition == orm.link.version.definition
    assert not ours._state.adding and ours._state.db == "default"


def test_nothing_for_an_unknown_or_unreadable_value():
    one = lookup()
    assert one.one("3f2c4c1e-1b7a-4b7e-9d0a-0c6f0a6b9e11") is None
    with CaptureQueriesContext(connection) as queries:
        assert one.one("not a uuid") is None
    assert queries.captured_queries == []


def test_the_sql_is_made_once_and_is_one_query(issued):
    one = lookup()
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True,
                           side_effect=SQLCompiler.as_sql) as compiled:
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                assert one.one(issued.link.pk) is not None
            assert len(queries.captured_queries) == 1
    assert compiled.call_count == 1


def test_journey_pages_read_through_it(issued):
    page = selectors.journey_submission(str(issued.link.pk))
    submit = selectors.journey_submission(str(issued.link.pk), for_submit=True)
    assert page.link.version_id == submit.link.version_id == issued.link.version_id
    with CaptureQueriesContext(connection) as queries:
        assert submit.link.patient.organisation.pk == issued.link.patient.organisation_id
    assert queries.captured_queries == []  # read with the row, for the audit


def test_a_lookup_must_name_its_value_once():
    one = OneRow(lambda link_id: Submission.objects.filter(link_id=link_id,
                                                           link__pk=link_id), Link._meta.pk)
    with pytest.raises(ValueError, match="exactly one"):
        one.one("3f2c4c1e-1b7a-4b7e-9d0a-0c6f0a6b9e11")
