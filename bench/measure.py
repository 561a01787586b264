"""In-process measurements for bench/run.py: how cost grows.

  python bench/measure.py queries   # queries per patient page (10 vs 50 questions) and
                                    # per whiteboard (10 vs 500 rows), uncached
  python bench/measure.py filing N  # time to file N submissions, one by one, in-process
  python bench/measure.py grow ROWS # add ROWS rows to links, submissions, record entries
                                    # and audit events (server-side INSERT ... SELECT)
Each prints one JSON object.
"""

import datetime
import hashlib
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from forms_app import services  # noqa: E402
from forms_app.models import Link, Submission  # noqa: E402
from patients.models import AuditEvent, CareTeam, RecordEntry  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from pgcopy import copy_objects  # noqa: E402

OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out"))
STATE = json.loads((OUT / "state.json").read_text()) if (OUT / "state.json").exists() else {}


def _client(session):
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = session
    client.cookies["csrftoken"] = STATE["csrf"]
    return client


def _count(client, method, path, data=None):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
        elapsed = (time.perf_counter() - started) * 1000
    return {"queries": len(queries.captured_queries), "status": response.status_code,
            "ms": round(elapsed, 2)}


def queries():
    result = {"patient": {}, "whiteboard": {}}
    for size in ("10", "50"):
        sessions = (OUT / f"sessions_fresh{size}.txt").read_text().split()
        client = _client(sessions[-1])
        _count(client, "get", "/form/answer/")  # warm: compiled version, first save
        page = {"answer_wizard-current_step": "p0", "p0-p0age": "42", "p0-p0name": "Sam",
                "p0-p0health": "good", "p0-p0smoker": "no", "p0-p0notes": "x",
                "csrfmiddlewaretoken": STATE["csrf"]}
        result["patient"][size] = {
            "get": _count(client, "get", "/form/answer/?step=p0"),
            "post": _count(client, "post", "/form/answer/", {**page, "p0-p0name": "Sam2"}),
        }
    # Two new teams whose boards hold 10 and 500 of today's links.
    team = CareTeam.objects.get(pk=STATE["team"])
    template = Link.objects.filter(care_team=team).first()
    staff = _client(STATE["staff_session"])
    now = timezone.now()
    for rows in (10, 500):
        tag = secrets.token_hex(2)[:3].upper()  # references stay unique across runs
        board_team = CareTeam.objects.create(organisation=team.organisation,
                                             name=f"Query count {rows} {now:%H%M%S}")
        board_team.members.add(*team.members.all())
        links = Link.objects.bulk_create(
            Link(version_id=template.version_id, patient_id=template.patient_id,
                 care_team=board_team, issued_at=now, expires_at=now + datetime.timedelta(1),
                 token_hash=hashlib.sha256(f"qc-{rows}-{now}-{i}".encode()).hexdigest())
            for i in range(rows))
        Submission.objects.bulk_create(
            Submission(link=link, state="filed", submitted_at=now, filed_at=now,
                       reference=f"Q{tag}{i:05d}",
                       evaluation={"bands": {"total": "mild"}, "scores": {"total": 5},
                                   "flags": []})
            for i, link in enumerate(links[::2]))
        with override_settings(WHITEBOARD_CACHE_SECONDS=0):
            base = f"/whiteboard/{board_team.pk}/"
            _count(staff, "get", base)
            result["whiteboard"][str(rows)] = {
                "page": _count(staff, "get", base),
                "fragment": _count(staff, "get", base + "fragment/"),
                "json": _count(staff, "get", base + "data.json"),
            }
    return result


def filing(count):
    template = Submission.objects.filter(state=Submission.State.FILED).select_related(
        "link").first()
    now = timezone.now()
    tag = "M" + secrets.token_hex(2)[:3].upper()
    links = [
        Link(version_id=template.link.version_id, patient_id=template.link.patient_id,
             care_team_id=template.link.care_team_id, issued_at=now,
             expires_at=now + datetime.timedelta(days=14),
             token_hash=hashlib.sha256(f"{tag}-{i}".encode()).hexdigest())
        for i in range(count)]
    copy_objects(Link, links)
    submissions = [
        Submission(link=link, state=Submission.State.SUBMITTED, answers=template.answers,
                   evaluation=template.evaluation, submitted_at=now,
                   reference=f"{tag[:4]}{i:05d}")
        for i, link in enumerate(links)]
    copy_objects(Submission, submissions)
    times = []
    for submission in submissions:
        started = time.perf_counter()
        services.file_submission(submission_id=submission.pk)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "submissions": count, "mean_ms": round(statistics.mean(times), 3),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(sorted(times)[int(0.95 * (count - 1))], 3),
        "rows": {"links": Link.objects.count(), "submissions": Submission.objects.count(),
                 "record_entries": RecordEntry.objects.count(),
                 "audit_events": AuditEvent.objects.count()},
    }


def grow(rows):
    """Add `rows` rows to each table filing touches, on the server (fast, no Python)."""
    template = RecordEntry.objects.first()
    link = Link.objects.first()
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT resource FROM patients_recordentry WHERE id = %s",
                       [template.pk])
        ciphertext = cursor.fetchone()[0]  # a real encrypted resource, copied
        cursor.execute("""
            INSERT INTO patients_recordentry
              (id, patient_id, source_kind, source_id, resource_type, resource, summary,
               filed_at)
            SELECT gen_random_uuid(), %s, 'bench.filler', gen_random_uuid(),
                   'QuestionnaireResponse', %s, '{}'::jsonb,
                   now() - make_interval(secs => g)
            FROM generate_series(1, %s) AS g""", [template.patient_id, ciphertext, rows])
        cursor.execute("""
            INSERT INTO patients_auditevent
              (at, actor_label, action, organisation_id, patient_id, object_kind,
               object_id, detail)
            SELECT now() - make_interval(secs => g), 'system', 'submission.filed',
                   NULL, %s, 'patients.recordentry', g::text, '{}'::jsonb
            FROM generate_series(1, %s) AS g""", [template.patient_id, rows])
        cursor.execute("""
            WITH new_links AS (
              INSERT INTO forms_app_link
                (id, token_hash, version_id, patient_id, care_team_id, channel, issued_at,
                 expires_at, failed_checks)
              SELECT gen_random_uuid(), md5('grow-a' || g) || md5('grow-b' || g),
                     %s, %s, %s, 'sms', now() - interval '40 days',
                     now() - interval '26 days', 0
              FROM generate_series(1, %s) AS g
              RETURNING id)
            INSERT INTO forms_app_submission
              (id, link_id, reference, state, evaluation, started_at, updated_at,
               submitted_at, filed_at, filing_attempts, last_error)
            SELECT gen_random_uuid(), id, 'G' || lpad(to_hex(row_number() OVER ()), 8, '0'),
                   'filed', '{}'::jsonb, now(), now(), now(), now(), 1, ''
            FROM new_links""",
                       [link.version_id, link.patient_id, link.care_team_id, rows])
        cursor.execute("ANALYZE")
    return {"added_per_table": rows, "seconds": round(time.monotonic() - started, 1)}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "queries":
        print(json.dumps(queries()))
    elif command == "filing":
        print(json.dumps(filing(int(sys.argv[2]))))
    elif command == "grow":
        print(json.dumps(grow(int(sys.argv[2]))))
