"""In-process measurements for bench/run.py: how cost grows.

  python bench/measure.py queries   # queries per patient page (10 vs 50 questions) and
                                    # per whiteboard (10 vs 500 rows), uncached
  python bench/measure.py filing N  # time to file N submissions, one by one, in-process
  python bench/measure.py grow ROWS # add ROWS rows to links, submissions, record entries
                                    # and audit events (server-side INSERT ... SELECT)
  python bench/measure.py cpu POOL  # CPU milliseconds per request type, in-process
                                    # (POOL: the file of prepared submit sessions)
  python bench/measure.py filecpu N # CPU milliseconds per submission filed in batches
Each prints one JSON object.

BENCH_CODE_ROOT runs the same measurement against another checkout's code (e.g. main)
on the same database, so a run can hold a before and an after.
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
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("BENCH_CODE_ROOT") or ROOT)
sys.path.insert(0, str(CODE))
# Celery's Django fix-up puts the working directory first on sys.path as the settings
# load, which would bring this checkout's code back in front of CODE's: run from CODE.
os.chdir(CODE)
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


def _client(session, **kwargs):
    client = Client(HTTP_HOST="127.0.0.1", **kwargs)
    client.cookies["sessionid"] = session
    client.cookies["csrftoken"] = STATE["csrf"]
    return client


def _browser_post(client, path, data):
    """A POST as a browser sends a form without a file input (and as wrk sends it):
    urlencoded. The test client's default, multipart, costs the server a parse that
    no patient's page save causes."""
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")


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


def _new_submissions(count, letter):
    template = Submission.objects.filter(state=Submission.State.FILED).select_related(
        "link").first()
    now = timezone.now()
    tag = letter + secrets.token_hex(2)[:3].upper()
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
    return submissions


def filing(count):
    submissions = _new_submissions(count, "M")
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
                 expires_at, failed_checks, lockouts)
              SELECT gen_random_uuid(), md5('grow-a' || g) || md5('grow-b' || g),
                     %s, %s, %s, 'sms', now() - interval '40 days',
                     now() - interval '26 days', 0, 0
              FROM generate_series(1, %s) AS g
              RETURNING id)
            INSERT INTO forms_app_submission
              (id, link_id, reference, state, device, evaluation, started_at, updated_at,
               submitted_at, filed_at, filing_attempts, last_error)
            SELECT gen_random_uuid(), id, 'G' || lpad(to_hex(row_number() OVER ()), 8, '0'),
                   'filed', '', '{}'::jsonb, now(), now(), now(), now(), 1, ''
            FROM new_links""",
                       [link.version_id, link.patient_id, link.care_team_id, rows])
        cursor.execute("ANALYZE")
    return {"added_per_table": rows, "seconds": round(time.monotonic() - started, 1)}


WARM = int(os.environ.get("BENCH_CPU_WARM", "30"))
SAMPLES = int(os.environ.get("BENCH_CPU_SAMPLES", "300"))


def _cpu(calls):
    """Median CPU and wall milliseconds per request type, and its queries.

    `calls` maps a name to (call(i), settings overridden for it). The types take turns,
    one request each per round after WARM rounds, so a change in the machine's load
    during the measurement falls on every type alike. CPU time of this process
    (time.process_time): what the request costs the web process, whatever else the
    machine runs; PostgreSQL's and Redis's own CPU is not in it (their queries are
    counted instead)."""
    cpu = {name: [] for name in calls}
    wall = {name: [] for name in calls}
    statuses = {name: {} for name in calls}
    for i in range(WARM + SAMPLES):
        for name, (call, overrides) in calls.items():
            with override_settings(**overrides):
                c0, w0 = time.process_time(), time.perf_counter()
                response = call(i)
                c1, w1 = time.process_time(), time.perf_counter()
            if i < WARM:
                continue
            cpu[name].append((c1 - c0) * 1000)
            wall[name].append((w1 - w0) * 1000)
            code = str(response.status_code)
            statuses[name][code] = statuses[name].get(code, 0) + 1
    results = {}
    for name, (call, overrides) in calls.items():
        with override_settings(**overrides), CaptureQueriesContext(connection) as queries:
            call(WARM + SAMPLES)
        results[name] = {
            "cpu_ms": round(statistics.median(cpu[name]), 3),
            "cpu_p90_ms": round(sorted(cpu[name])[int(0.9 * (SAMPLES - 1))], 3),
            "wall_ms": round(statistics.median(wall[name]), 3), "samples": SAMPLES,
            "queries": len(queries.captured_queries), "statuses": statuses[name]}
    return results


def cpu(pool_file):
    """CPU ms per request type, with one test client (CSRF enforced) reused, on the
    settings bench/run.py gives gunicorn (DEBUG off, persistent connections, the shared
    Redis cache)."""
    from forms_app.whiteboard import selectors as board_selectors

    csrf, team = STATE["csrf"], STATE["team"]
    client = _client("", enforce_csrf_checks=True)
    pk_path = f"/bench/pk/{STATE['organisation']}/"
    fresh = {size: (OUT / f"sessions_fresh{size}.txt").read_text().split()
             for size in ("10", "50")}
    submit = (OUT / pool_file).read_text().split()
    if len(submit) < WARM + SAMPLES + 1:  # each submit needs a patient not yet submitted
        raise SystemExit(f"{pool_file}: {len(submit)} sessions, need {WARM + SAMPLES + 1}")
    board_path = f"/whiteboard/{team}/data.json"
    start, end = board_selectors.today_window()
    board_rows = len(board_selectors.build_board(
        team=CareTeam.objects.get(pk=team), start=start, end=end).rows)

    def anonymous():
        client.cookies.pop("sessionid", None)  # a baseline carries no session
        return client

    def as_patient(session):
        client.cookies["sessionid"] = session
        return client

    def page(i):
        return _browser_post(as_patient(fresh["10"][-2]), "/form/answer/", {
            "answer_wizard-current_step": "p0", "p0-p0age": "42", "p0-p0name": f"Sam{i}",
            "p0-p0health": "good", "p0-p0smoker": "no", "p0-p0notes": "Nothing else",
            "csrfmiddlewaretoken": csrf})

    def submit_one(i):
        return _browser_post(as_patient(submit[i]), "/form/check/",
                             {"csrfmiddlewaretoken": csrf})

    def board(i):
        return as_patient(STATE["staff_session"]).get(board_path,
                                                      HTTP_ACCEPT_ENCODING="gzip")

    uncached = {"WHITEBOARD_CACHE_SECONDS": 0}
    requests = _cpu({
        "baseline_bare": (lambda i: anonymous().get("/bench/bare/"), {}),
        "baseline_pk": (lambda i: anonymous().get(pk_path), {}),
        "patient_page_get_10q": (lambda i: as_patient(fresh["10"][-3]).get("/form/answer/"),
                                 {}),
        "patient_page_get_50q": (lambda i: as_patient(fresh["50"][-3]).get("/form/answer/"),
                                 {}),
        "patient_page_post_10q": (page, {}),
        "final_submit": (submit_one, {}),
        "whiteboard_json": (board, {}),
        "whiteboard_json_uncached": (board, uncached),
    })
    return {"code": str(CODE), "warm": WARM, "board_rows": board_rows,
            "interleaved": True, "requests": requests}


def filecpu(count):
    """CPU ms per submission filed by the batch body (forms_app.filing.batch), in this
    process, batches of settings.FILING_BATCH_SIZE: what a filing worker spends apart
    from Celery's own bookkeeping."""
    from django.conf import settings

    from forms_app.filing.batch import file_batch

    submissions = _new_submissions(count, "F")
    size = settings.FILING_BATCH_SIZE
    ids = [s.pk for s in submissions]
    c0, w0 = time.process_time(), time.perf_counter()
    filed = 0
    for start in range(0, count, size):
        filed += len(file_batch(submission_ids=ids[start:start + size]).filed)
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
    return {"code": str(CODE), "submissions": count, "filed": filed, "batch_size": size,
            "cpu_ms_per_submission": round(cpu_s * 1000 / count, 3),
            "wall_ms_per_submission": round(wall_s * 1000 / count, 3)}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "queries":
        print(json.dumps(queries()))
    elif command == "filing":
        print(json.dumps(filing(int(sys.argv[2]))))
    elif command == "grow":
        print(json.dumps(grow(int(sys.argv[2]))))
    elif command == "cpu":
        print(json.dumps(cpu(sys.argv[2])))
    elif command == "filecpu":
        print(json.dumps(filecpu(int(sys.argv[2]))))
