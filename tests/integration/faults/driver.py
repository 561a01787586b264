"""Drive submissions against whatever database DATABASE_URL names, in its own process.

The fault tests use it for the private PostgreSQL cluster that they restart (the test
process itself stays on the shared test database):

    python -m tests.integration.faults.driver seed COUNT      # COUNT links, in progress
    python -m tests.integration.faults.driver submit THREADS  # submit them all at once
    python -m tests.integration.faults.driver links COUNT     # COUNT demo links' tokens

`submit` starts THREADS threads that wait at a barrier, then each submits its share
through services.submit (one transaction each, filing enqueued on commit), and prints
{"submitted": n, "errors": n, "seconds": t} as JSON.
"""

import json
import os
import sys
import threading
import time


def main(argv):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    command, number = argv[1], int(argv[2])
    if command == "seed":
        seed(number)
    elif command == "submit":
        print(json.dumps(submit_all(threads=number)))
    elif command == "links":
        print(json.dumps(demo_links(number)))
    else:
        raise SystemExit(f"unknown command {command}")


def seed(count):
    from forms_app import services
    from forms_app.management.demo_data import ensure_demo
    from forms_app.models import FormVersion, Submission
    from tests.factories.forms_app import library_version

    user, patient, team, _version = ensure_demo()
    version = (FormVersion.objects.filter(form__title__startswith="Patient Health Q").first()
               or library_version("phq9", organisation=team.organisation, by=user))
    for _ in range(count):
        issued = services.issue_link(version=version, patient=patient, care_team=team,
                                     by=user)
        Submission.objects.create(link=issued.link)


def demo_links(count):
    """COUNT fresh links to the demo form (three pages) for the demo patient: their
    tokens, for journeys driven over HTTP (tests/integration/faults/journeys.py)."""
    from forms_app import services
    from forms_app.management.demo_data import ensure_demo

    user, patient, team, version = ensure_demo()
    return [services.issue_link(version=version, patient=patient, care_team=team,
                                by=user).token for _ in range(count)]


def submit_all(*, threads):
    from django.db import connection

    from forms_app import services
    from forms_app.models import Submission
    from tests.factories.forms_app import phq9_answers

    ids = list(Submission.objects.filter(state=Submission.State.IN_PROGRESS)
               .values_list("pk", flat=True))
    connection.close()
    shares = [ids[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads)
    errors = []

    def run(share):
        barrier.wait()
        try:
            for submission_id in share:
                try:
                    services.submit(submission_id=submission_id, answers=phq9_answers())
                except Exception as exc:
                    errors.append(type(exc).__name__)
        finally:
            connection.close()

    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"submitted": len(ids) - len(errors), "errors": errors[:5],
            "seconds": round(time.monotonic() - started, 2)}


if __name__ == "__main__":
    main(sys.argv)
