"""Only the benchmark's filing phase, for this checkout and another, back to back.

  BENCH_DB=pf_bench BENCH_BACKLOG=3000 BENCH_COMPARE_ROOT=/work/main \
      .venv/bin/python bench/filing_only.py

On a database bench/seed.py has seeded (bench/run.py's first step, or BENCH_SEED=1
here: recreate, migrate and seed it first). For each checkout in turn (the compare
root's first, then this one, or BENCH_ORDER=this,compare): a backlog of BENCH_BACKLOG
submitted forms is prepared and woken with the workers stopped, as bench/run.py does,
then that checkout's real Celery workers are started from its own directory and timed
until every form is filed (and, unless BENCH_WAIT_DOCUMENTS=0, every PDF attached):
- the filing worker, `celery worker --concurrency=2` on the default queue;
- and, when that checkout routes the PDFs to a queue of their own
  (FILING_DOCUMENTS_QUEUE), the worker production runs for it
  (`celery worker -Q <queue> --concurrency=1`, niced as its systemd unit is).
Counting is one SQL query every second on a connection held open here, so the
measurement itself costs the two cores next to nothing. Prints one JSON object and,
with BENCH_OUT, writes it to filing_only.json there.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("BENCH_DB", "pf_bench")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "10")
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "3000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
COMPARE = os.environ.get("BENCH_COMPARE_ROOT", "")
TIMEOUT = float(os.environ.get("BENCH_FILING_TIMEOUT", "420"))
PYTHON = Path(sys.executable)
BIN = PYTHON.parent
MARK = "BKLG"  # bench/backlog.py's reference prefix

ENV = {
    **os.environ,
    "DATABASE_URL": f"{PG}/{DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "REDIS_CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "BENCH": "1",
    "DJANGO_DEBUG": "0",
    "CONN_MAX_AGE": "600",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "json",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "PYTHONUNBUFFERED": "1",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}

COUNT_SQL = """
SELECT count(*) FILTER (WHERE s.state = 'filed'),
       count(*) FILTER (WHERE s.state = 'failed'),
       count(e.id) FILTER (WHERE e.attachments IS NOT NULL),
       count(*)
FROM forms_app_submission s
LEFT JOIN patients_recordentry e
  ON e.source_kind = 'forms_app.submission' AND e.source_id = s.id
WHERE s.reference LIKE %s
"""


def log(message):
    print(f"[filing {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args, cwd, timeout=900):
    # Our own fixed command lines, never outside input.
    result = subprocess.run(args, cwd=cwd, env=ENV, timeout=timeout,  # noqa: S603
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise RuntimeError(f"{args[:3]} exited with {result.returncode}")
    return result.stdout


def documents_queue(root) -> str:
    """The queue that checkout's settings send the PDF rendering to."""
    return run([str(PYTHON), "-c", "import django; django.setup(); "
                "from django.conf import settings; "
                "print(getattr(settings, 'FILING_DOCUMENTS_QUEUE', 'celery'))"],
               cwd=root).strip()


def start(root, args, name, nice=0):
    out = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out"))
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / f"filing-{name}.log").open("w")
    command = ["nice", "-n", str(nice), *args] if nice else args
    return subprocess.Popen(command, cwd=root, env=ENV, stdout=log_file,  # noqa: S603
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def clear(connection):
    """Forget an earlier run's backlog, so each measurement counts only its own."""
    with connection.cursor() as cursor:
        # References are unique (9 characters): a random one of the same length.
        cursor.execute("UPDATE forms_app_submission"
                       " SET reference = 'Y' || substr(md5(random()::text || id::text), 1, 8)"
                       " WHERE reference LIKE %s", [MARK + "%"])
    connection.commit()


def counts(connection):
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL, [MARK + "%"])
        filed, failed, documents, total = cursor.fetchone()
    connection.commit()
    return {"filed": filed, "failed": failed, "documents": documents, "total": total}


def measure(root, connection, wait_documents=True, backlog=BACKLOG) -> dict:
    """File a fresh backlog of `backlog` forms with `root`'s code and workers; with
    `wait_documents`, go on timing until every PDF is attached too."""
    root = Path(root)
    clear(connection)
    run(["redis-cli", "-n", REDIS_DB, "FLUSHDB"], cwd=root)
    run([str(PYTHON), "bench/backlog.py", "prepare", str(backlog)], cwd=root)
    enqueued = json.loads(run([str(PYTHON), "bench/backlog.py", "enqueue"], cwd=root))
    queue = documents_queue(root)
    celery = [str(BIN / "celery"), "-A", "config", "worker", "--loglevel=WARNING",
              "--without-gossip", "--without-mingle", "--without-heartbeat"]
    load_before = os.getloadavg()
    workers = [start(root, [*celery, "--concurrency=2", "-n", "filing@%h"], "filing")]
    if queue != "celery":
        workers.append(start(root, [*celery, "-Q", queue, "--concurrency=1",
                                    "-n", "documents@%h"], "documents", nice=10))
    started = time.monotonic()
    samples, loads = [], []
    latest = {"filed": 0, "failed": 0, "documents": 0, "total": backlog}
    filed_at = None
    while time.monotonic() - started < TIMEOUT:
        time.sleep(1)
        latest = counts(connection)
        elapsed = round(time.monotonic() - started, 2)
        samples.append((elapsed, latest["filed"], latest["documents"]))
        loads.append(os.getloadavg()[0])
        if filed_at is None and latest["filed"] + latest["failed"] >= latest["total"]:
            filed_at = elapsed
        if filed_at is not None and (not wait_documents
                                     or latest["documents"] >= latest["filed"]):
            break
    documents_at = round(time.monotonic() - started, 2)
    for worker in workers:
        stop(worker)
    first = next(((t, n) for t, n, _ in samples if n > 0), (0, 0))
    last = next(((t, n) for t, n, _ in samples if t == filed_at), samples[-1][:2])
    steady = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else None
    return {
        "code": str(root), "documents_queue": queue, "backlog": backlog,
        "messages_queued": enqueued["messages_queued"],
        "enqueue_seconds": enqueued["seconds"], **latest,
        "complete": latest["filed"] >= latest["total"],
        "seconds_to_file_all": filed_at,
        "filed_per_second": round(latest["filed"] / filed_at, 1) if filed_at else None,
        "steady_filed_per_second": round(steady, 1) if steady else None,
        "seconds_to_all_documents": documents_at if latest["documents"] >= latest["filed"]
        else None,
        "load_before": [round(v, 2) for v in load_before],
        "load_1min_during": {"min": min(loads), "max": max(loads),
                             "median": sorted(loads)[len(loads) // 2]},
        "samples": samples,
    }


def main():
    if os.environ.get("BENCH_SEED"):
        log(f"database {DB}: recreate, migrate, seed")
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{DB}"')
        run([str(PYTHON), "manage.py", "migrate", "--noinput"], cwd=ROOT)
        run([str(PYTHON), "bench/seed.py"], cwd=ROOT, timeout=1800)
    roots = {"this": ROOT, "compare": COMPARE}
    order = [name for name in os.environ.get("BENCH_ORDER", "compare,this").split(",")
             if roots.get(name)]
    results = {"db": DB, "backlog": BACKLOG, "cpus": os.cpu_count(), "runs": {}}
    with psycopg.connect(f"{PG}/{DB}") as connection:
        for name in order:
            log(f"{name}: {roots[name]}, backlog of {BACKLOG}")
            results["runs"][name] = measure(
                roots[name], connection,
                wait_documents=os.environ.get("BENCH_WAIT_DOCUMENTS", "1") == "1")
            summary = {k: v for k, v in results["runs"][name].items() if k != "samples"}
            log(json.dumps(summary))
    if os.environ.get("BENCH_OUT"):
        (Path(os.environ["BENCH_OUT"]) / "filing_only.json").write_text(
            json.dumps(results, indent=1))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
