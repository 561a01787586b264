"""Patient page cost (issue 12): one query for the submission and what the page needs,
flat in the size of the form; the session written only when something in it changed;
only the current page's form class built; the final submit reading nothing twice."""

import datetime
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forms_app import selectors
from forms_app.engine import CompiledForm
from forms_app.models import Submission
from tests.forms_app.journey import open_and_verify, page_data
from tests.forms_app.views.test_same_page_conditions import issue

pytestmark = pytest.mark.django_db

PER_PAGE = 5


def definition(questions: int) -> dict:
    pages = []
    for p in range(questions // PER_PAGE):
        pages.append({"linkId": f"p{p}", "type": "group", "text": f"Page {p}", "item": [
            {"linkId": f"q{p}-{i}", "type": "integer", "text": f"Question {i}?",
             "required": True} for i in range(PER_PAGE)]})
    return {"resourceType": "Questionnaire", "status": "active",
            "title": f"{questions} questions", "item": pages}


def first_page(value: int) -> dict:
    return page_data("p0", {f"q0-{i}": str(value) for i in range(PER_PAGE)})


def costs(client, questions: int) -> dict:
    issued = issue(definition(questions))
    open_and_verify(client, issued.token)
    client.get(reverse("patient:answer"))  # the version compiled and cached
    counted = {}

    def count(name, call):
        with CaptureQueriesContext(connection) as queries:
            response = call()
        assert response.status_code in (200, 302), (name, response.status_code)
        # Savepoints (services are atomic inside the test's transaction) are not queries.
        counted[name] = [q["sql"] for q in queries.captured_queries
                         if "SAVEPOINT" not in q["sql"]]

    count("page", lambda: client.get(reverse("patient:answer")))
    count("save", lambda: client.post(reverse("patient:answer"), first_page(1)))
    client.get(reverse("patient:answer") + "?step=p0")
    count("save again", lambda: client.post(reverse("patient:answer"), first_page(2)))
    for p in range(1, questions // PER_PAGE):
        client.post(reverse("patient:answer"),
                    page_data(f"p{p}", {f"q{p}-{i}": "3" for i in range(PER_PAGE)}))
    count("check", lambda: client.get(reverse("patient:check")))
    count("submit", lambda: client.post(reverse("patient:check")))
    assert Submission.objects.get(link=issued.link).state != Submission.State.IN_PROGRESS
    return counted


def test_queries_per_request_do_not_grow_with_the_form(client):
    small, large = costs(client, 10), costs(client, 50)
    assert {name: len(sql) for name, sql in small.items()} == {
        name: len(sql) for name, sql in large.items()}
    # A page: the session and one query for the submission, its link and version.
    assert len(small["page"]) == 2
    assert "forms_app_submission" in small["page"][1] and "forms_app_link" in small["page"][1]
    assert "definition" not in small["page"][1]  # read only when not yet compiled
    # A save: those two and the one update; the session itself is not written again.
    assert len(small["save"]) == 3 and small["save"][2].startswith("UPDATE")
    assert not any("django_session" in sql for sql in small["save"][1:])
    assert len(small["check"]) == 2
    # The submit reads the submission (with patient and organisation) once, updates it
    # once and writes one audit row; the session is written (the reference is kept).
    submit = small["submit"]
    assert [sql.split()[0] for sql in submit] == ["SELECT", "SELECT", "UPDATE", "INSERT",
                                                  "UPDATE"]
    assert "patients_organisation" in submit[1] and "patients_auditevent" in submit[3]


def test_only_the_current_page_form_class_is_built(client):
    issued = issue(definition(50))
    open_and_verify(client, issued.token)
    client.get(reverse("patient:answer"))
    with mock.patch.object(CompiledForm, "form_class", autospec=True,
                           side_effect=CompiledForm.form_class) as built:
        client.get(reverse("patient:answer"))
    assert [call.args[1] for call in built.call_args_list] == ["p0"]


def test_the_definition_is_not_read_once_compiled(client):
    issued = issue(definition(10))
    open_and_verify(client, issued.token)
    client.get(reverse("patient:answer"))  # the first visit saves the patient's place
    selectors._compiled_cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get(reverse("patient:answer"))
    with CaptureQueriesContext(connection) as warm:
        client.get(reverse("patient:answer"))
    # Not cached: one more query, for the definition alone; cached: none.
    assert len(cold.captured_queries) == len(warm.captured_queries) + 1
    assert "definition" in cold.captured_queries[-1]["sql"]


def test_the_idle_clock_is_restarted_at_most_once_a_minute(client):
    issued = issue(definition(10))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        open_and_verify(client, issued.token)
        client.get(reverse("patient:answer"))
        for seconds, written in ((30, False), (61, True), (90, False)):
            clock.move_to(start + datetime.timedelta(seconds=seconds))
            with CaptureQueriesContext(connection) as queries:
                client.get(reverse("patient:answer"))
            session_writes = [q for q in queries.captured_queries
                              if "django_session" in q["sql"] and "SELECT" not in q["sql"]]
            assert bool(session_writes) is written, seconds


@pytest.mark.django_db(transaction=True)
def test_every_statement_of_a_save_and_the_submit_as_a_request_makes_them(client):
    # Without the test's own transaction, BEGIN, COMMIT and savepoints are statements
    # too: the submit's audit row joins its transaction without a savepoint, and the
    # session is updated by one UPDATE, not in a transaction of its own (issue 12).
    issued = issue(definition(10))
    open_and_verify(client, issued.token)
    client.get(reverse("patient:answer"))

    def statements(call):
        with CaptureQueriesContext(connection) as queries:
            response = call()
        assert response.status_code in (200, 302)
        # Read now: the next request resets the connection's query log.
        return [q["sql"].split()[0] for q in queries.captured_queries]

    save = statements(lambda: client.post(reverse("patient:answer"), first_page(1)))
    client.post(reverse("patient:answer"),
                page_data("p1", {f"q1-{i}": "3" for i in range(PER_PAGE)}))
    # Filing is the worker's (eager without a broker): not this request's statements.
    with mock.patch("forms_app.services.wake_filing"):
        submit = statements(lambda: client.post(reverse("patient:check")))
    assert save == ["SELECT", "SELECT", "BEGIN", "UPDATE", "COMMIT"]
    assert submit == ["SELECT", "SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT", "UPDATE"]
