"""The whole benchmark, in one command: `make bench` (or `python bench/run.py`).

1. Recreates the benchmark database (BENCH_DB, default pf_bench) and empties its Redis
   database (BENCH_REDIS_DB, default 10), migrates, seeds (bench/seed.py).
2. Starts the platform as in production: gunicorn, 2 worker processes, persistent
   database connections (CONN_MAX_AGE), DEBUG off, BENCH=1 for the two baseline views;
   and a real Celery worker (2 processes) on Redis.
3. Drives it from 127.0.0.1 with wrk (one scenario at a time, DURATION seconds each)
   and with bench/mixed.py (the mixed load), measures filing with the real workers, and
   how cost grows (bench/measure.py).
4. Writes bench/out/results.json and bench/RESULTS.md (bench/report.py).
Everything it starts, it stops. Nothing listens beyond 127.0.0.1.
"""

import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
DB = os.environ.get("BENCH_DB", "pf_bench")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "10")
PORT = int(os.environ.get("BENCH_PORT", "8808"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "20000"))
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS", "1000000"))
MIXED_SCALE = float(os.environ.get("BENCH_MIXED_SCALE", "10"))
MIXED_SECONDS = int(os.environ.get("BENCH_MIXED_SECONDS", "20"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# Another checkout (e.g. /work/main) whose code is measured in-process on the same
# database in the same run, beside this one's: a before and an after.
COMPARE = os.environ.get("BENCH_COMPARE_ROOT", "")
BASE = f"http://127.0.0.1:{PORT}"

ENV = {
    **os.environ,
    "DATABASE_URL": f"{PG}/{DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    # As in production: the shared cache (sessions' throttles, whiteboard boards and
    # the filing wake-ups are shared between processes through it).
    "REDIS_CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "BENCH": "1",
    "DJANGO_DEBUG": "0",
    "WHITENOISE_AUTOREFRESH": "0",  # as in production: no file-system scan per request
    "CONN_MAX_AGE": "600",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "json",  # as in production (the plain format is for development)
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "BENCH_OUT": str(OUT),
    "PYTHONUNBUFFERED": "1",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
started_processes = []


class LoadAverage(threading.Thread):
    """The machine's 1-minute load average every 5 s, by phase of the run."""

    def __init__(self):
        super().__init__(daemon=True)
        self.phase, self.samples, self.stopped = "start", [], threading.Event()

    def run(self):
        while not self.stopped.wait(5):
            self.samples.append((self.phase, os.getloadavg()[0]))

    def summary(self):
        def stats(values):
            return {"min": min(values), "median": round(statistics.median(values), 2),
                    "max": max(values), "samples": len(values)} if values else None
        phases = {}
        for phase, value in self.samples:
            phases.setdefault(phase, []).append(value)
        return {"all": stats([v for _, v in self.samples]),
                "phases": {phase: stats(values) for phase, values in phases.items()}}


LOAD = LoadAverage()


def log(message, phase=None):
    if phase:
        LOAD.phase = phase
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args, timeout=900, capture=True, env=None):
    # Our own fixed command lines (wrk, psql, the venv's python), never outside input.
    result = subprocess.run(args, cwd=ROOT, env=env or ENV, timeout=timeout,  # noqa: S603
                            capture_output=capture, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr or "")
        raise RuntimeError(f"{args[:3]} exited with {result.returncode}")
    return result.stdout


def python(script, *args, timeout=900):
    return run([str(BIN / "python"), f"bench/{script}", *map(str, args)], timeout=timeout)


def start(name, args):
    log_file = (OUT / f"{name}.log").open("w")
    process = subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=log_file,  # noqa: S603
                               stderr=subprocess.STDOUT, start_new_session=True)
    started_processes.append(process)
    return process


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in started_processes:
        started_processes.remove(process)


def cpu_by_process(sessions):
    """CPU seconds (user + system) used so far by each live process, by part: the
    processes of each started process's session (gunicorn's master and workers; the
    Celery worker and its pool), PostgreSQL's processes, the children this script has
    waited for (the load generator) and the whole machine (everyone's work on it)."""
    hz = os.sysconf("SC_CLK_TCK")
    used = {name: {} for name in [*sessions, "postgresql"]}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process has gone
            continue
        # "pid (comm) state ppid pgrp session ... utime stime": comm may hold spaces.
        end = stat.rindex(")")
        comm, fields = stat[stat.index("(") + 1:end], stat[end + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / hz
        for name, session in sessions.items():
            if int(fields[3]) == session:
                used[name][entry.name] = seconds
        if comm == "postgres":
            used["postgresql"][entry.name] = seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["load_generator"] = {"children": children.ru_utime + children.ru_stime}
    jiffies = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    used["machine"] = {"all": (sum(jiffies) - jiffies[3] - jiffies[4]) / hz}  # not idle
    return used


def cpu_used(before, after):
    """CPU seconds each part used between two snapshots. A process that ended meanwhile
    (gunicorn replaces a worker after max_requests) is not counted for its last part: an
    undercount, never a negative figure. Nor is a counter that went backwards (the
    run of 2026-12-03 showed -7.6 web cores: a process's counters were reset under it,
    as when a sandbox is checkpointed and restored): that pid counts from zero."""
    return {part: sum(seconds - before[part].get(pid, 0.0)
                      if seconds >= before[part].get(pid, 0.0) else seconds
                      for pid, seconds in after[part].items()) for part in after}


UNFILED_SQL = "SELECT count(*) FROM forms_app_submission WHERE state = 'submitted'"


def wait_until_idle(sessions, part, timeout=300):
    """Wait until no submitted form waits to be filed (those the in-process measurement
    sent) and `part` (the Celery worker) has used under a tenth of a core for three
    windows running, so that the scenarios are not measured beside its backlog. One
    quiet window was not enough: in the run of 2026-12-03 the worker still used 0.9 of
    a core through the first three scenarios."""
    import psycopg

    deadline, previous, quiet = time.monotonic() + timeout, cpu_by_process(sessions), 0
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as connection:
        while time.monotonic() < deadline:
            time.sleep(2)
            current = cpu_by_process(sessions)
            unfiled = connection.execute(UNFILED_SQL).fetchone()[0]
            busy = cpu_used(previous, current)[part] >= 0.2
            quiet = 0 if unfiled or busy else quiet + 1
            if quiet >= 3:
                return
            previous = current
    log(f"warning: {part} still busy after {timeout} s (or forms still to file)")


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    # A server still draining an overload: note it and go on (the figures say so).
    log(f"warning: {url} did not answer within {timeout} s")
    return False


def wrk(path, mode, lines="-", extra=(), duration=DURATION, connections=CONNECTIONS):
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
            "-s", "bench/lua/session.lua", BASE + path, "--", mode, str(lines),
            *map(str, extra)]
    output = run(args, timeout=duration + 60)
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    result = json.loads(line[len("BENCH "):])
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    return result


def psql(sql, database="postgres"):
    run(["psql", f"{PG}/{database}", "-v", "ON_ERROR_STOP=1", "-qc", sql], timeout=120)


def fetch(path, session, csrf, etag=None):
    request = urllib.request.Request(BASE + path, headers={  # noqa: S310 (loopback)
        "Cookie": f"sessionid={session}; csrftoken={csrf}",
        **({"If-None-Match": etag} if etag else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:  # 304 Not Modified arrives as an "error"
        return exc.code, exc.headers, b""


def filing_throughput(state):
    """Stop the workers, queue a backlog, start the workers as production runs them (the
    filing worker, and the PDFs' own niced worker), time until all are filed
    (bench/filing_only.py, which counts with one SQL query a second, not a process)."""
    import psycopg
    from filing_only import measure

    with psycopg.connect(f"{PG}/{DB}") as connection:
        # The run's own backlog size (BENCH_BACKLOG, 20,000 unless set), not the
        # smaller default filing_only.py uses on its own.
        return measure(ROOT, connection, wait_documents=False, backlog=BACKLOG)


def main():
    if not shutil.which("wrk"):
        # Before anything is dropped, seeded or started: one clear line, not a traceback
        # half way through the run.
        sys.exit("bench/run.py needs Debian's wrk (the load generator, bench/README.md): "
                 "make wrk as root, or apt-get install wrk")
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "config": {"db": DB, "redis_db": REDIS_DB, "duration_s": DURATION,
                          "connections": CONNECTIONS, "backlog": BACKLOG,
                          "big_rows": BIG_ROWS, "mixed_scale": MIXED_SCALE,
                          "mixed_seconds": MIXED_SECONDS, "cpus": os.cpu_count(),
                          "reused_seed": bool(os.environ.get("BENCH_REUSE_SEED")),
                          "compare": COMPARE,
                          # Why this run departs from the brief's sizes, in words.
                          "why": os.environ.get("BENCH_WHY", "")},
               "command": " ".join([*(f"{k}={v}" for k, v in sorted(os.environ.items())
                                      if k.startswith("BENCH_")),
                                    ".venv/bin/python bench/run.py"])}
    run(["redis-cli", "-n", REDIS_DB, "FLUSHDB"])
    LOAD.start()
    results["load_before"] = os.getloadavg()
    t0 = time.monotonic()
    if os.environ.get("BENCH_REUSE_SEED"):
        # Development only: rerun the measurements on the last seeded database.
        log(f"database {DB}: reusing the last seed")
    else:
        log(f"database {DB}: recreate, migrate, seed", "seed")
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{DB}"')
        run([str(BIN / "python"), "manage.py", "migrate", "--noinput"])
        python("seed.py", timeout=1800)
        psql("ANALYZE", DB)  # fresh statistics, as autovacuum would give a live system
    state = json.loads((OUT / "state.json").read_text())
    state["out"] = str(OUT)
    (OUT / "state.json").write_text(json.dumps(state))
    results["seed"] = {"seconds": round(time.monotonic() - t0, 1), **state["counts"]}
    sessions = (OUT / "sessions_submit10.txt").read_text().split()
    # Each prepared session submits once: carve disjoint pools from the end, the CPU
    # pools as large as measure.py's warm-up and samples need, wrk taking the rest.
    cpu_pool = (int(os.environ.get("BENCH_CPU_WARM", "30"))
                + int(os.environ.get("BENCH_CPU_SAMPLES", "300")) + 1)
    pools = {}
    for name, size in (("sessions_mixed_submit_b.txt", 300),
                       ("sessions_mixed_submit_a.txt", 300),
                       ("sessions_cpu_submit.txt", cpu_pool),
                       ("sessions_cpu_submit_compare.txt", cpu_pool)):
        pools[name], sessions = sessions[-size:], sessions[:-size]
    pools["sessions_wrk_submit.txt"] = sessions
    for name, pool in pools.items():
        (OUT / name).write_text("\n".join(pool) + "\n")
    (OUT / "pk_ids.txt").write_text(state["organisation"] + "\n")

    log("in-process query counts", "in-process")
    results["queries"] = json.loads(python("measure.py", "queries"))
    log("in-process CPU per request and per filed submission")
    results["cpu"] = {"this": json.loads(python("measure.py", "cpu",
                                                "sessions_cpu_submit.txt")),
                      "this_filing": json.loads(python("measure.py", "filecpu", 500))}
    if COMPARE:
        log(f"the same, with the code of {COMPARE}")
        compare = {**ENV, "BENCH_CODE_ROOT": COMPARE}
        results["cpu"]["compare"] = json.loads(run(
            [str(BIN / "python"), "bench/measure.py", "cpu",
             "sessions_cpu_submit_compare.txt"], env=compare))
        results["cpu"]["compare_filing"] = json.loads(run(
            [str(BIN / "python"), "bench/measure.py", "filecpu", "500"], env=compare))

    web = start("gunicorn", [
        str(BIN / "gunicorn"), "config.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{PORT}",
        "--worker-class", "sync", "--backlog", "64", "--log-level", "warning"])
    worker = start("worker", [str(BIN / "celery"), "-A", "config", "worker",
                              "--concurrency=2", "--loglevel=WARNING", "--without-gossip",
                              "--without-mingle", "--without-heartbeat"])
    try:
        log("wrk scenarios", "wrk")
        wait_http(BASE + "/bench/bare/")
        csrf, staff, team = state["csrf"], state["staff_session"], state["team"]
        staff_file = OUT / "staff_session.txt"
        staff_file.write_text(staff + "\n")
        wait_until_idle({"worker": worker.pid}, "worker")
        # Warm each worker (compiled versions, template caches) before measuring.
        wrk("/bench/bare/", "get", duration=2)
        wrk("/form/answer/", "get", OUT / "sessions_fresh10.txt", [csrf], duration=2)
        wrk(f"/whiteboard/{team}/data.json", "get", staff_file, [csrf], duration=2)

        scenarios = {}

        def scenario(name, *args, **kwargs):
            log(f"wrk {name}")
            sessions = {"web": web.pid, "worker": worker.pid}
            before, t0 = cpu_by_process(sessions), time.monotonic()
            scenarios[name] = wrk(*args, **kwargs)
            used = cpu_used(before, cpu_by_process(sessions))
            elapsed = time.monotonic() - t0
            # Who used the cores meanwhile: the Celery worker files what a submit sends.
            scenarios[name]["cores"] = {key: round(value / elapsed, 2)
                                        for key, value in used.items()}
            # Requests still queued in the server when wrk stops must not be counted
            # against the next scenario: wait until a bare request gets through.
            wait_http(BASE + "/bench/bare/", timeout=180)
            log(f"  {scenarios[name]['rps']} req/s, p99 {scenarios[name]['p99_ms']} ms, "
                f"errors {scenarios[name]['errors_status']}")

        scenario("baseline_bare", "/bench/bare/", "get")
        scenario("baseline_pk", "/", "pk", OUT / "pk_ids.txt")
        scenario("patient_page_get_10q", "/form/answer/", "get",
                 OUT / "sessions_fresh10.txt", [csrf])
        scenario("patient_page_get_50q", "/form/answer/", "get",
                 OUT / "sessions_fresh50.txt", [csrf])
        scenario("patient_page_post_10q", "/form/answer/", "page",
                 OUT / "sessions_fresh10.txt", [csrf])
        submitted_before = _submitted_count(len(sessions) - 1200)["submitted"]
        scenario("final_submit", "/form/check/", "submit",
                 OUT / "sessions_wrk_submit.txt", [csrf])
        scenario("whiteboard_page", f"/whiteboard/{team}/", "get", staff_file, [csrf])
        scenario("whiteboard_fragment", f"/whiteboard/{team}/fragment/", "get",
                 staff_file, [csrf])
        scenario("whiteboard_json", f"/whiteboard/{team}/data.json", "get", staff_file,
                 [csrf])
        _, headers, body = fetch(f"/whiteboard/{team}/data.json", staff, csrf)
        etag = headers["ETag"]
        status, _, _ = fetch(f"/whiteboard/{team}/data.json", staff, csrf, etag)
        scenarios["whiteboard_json_size"] = {"bytes": len(body), "etag_check": status}
        scenario("whiteboard_json_etag_304", f"/whiteboard/{team}/data.json", "etag",
                 staff_file, [csrf, etag])
        scenario("baseline_bare_end", "/bench/bare/", "get")
        scenario("baseline_pk_end", "/", "pk", OUT / "pk_ids.txt")
        results["scenarios"] = scenarios
        results["submit_check"] = _submitted_count(len(sessions) - 1200)
        # The in-process CPU measurement submitted some of the other prepared sessions.
        results["submit_check"]["submitted"] -= submitted_before

        results["mixed"], results["mixed_cpu"] = {}, {}
        for scale, pool in ((1.0, "a"), (MIXED_SCALE, "b")):
            log(f"mixed load x{scale:g} for {MIXED_SECONDS} s", "mixed")
            # Where the machine's CPU went while the mix ran (its warm-up included):
            # what the load needs, and what it would take to serve it within target.
            sessions = {"web": web.pid, "worker": worker.pid}
            before, t0 = cpu_by_process(sessions), time.monotonic()
            results["mixed"][f"{scale:g}"] = json.loads(run(
                [str(BIN / "python"), "bench/mixed.py", BASE, str(OUT / "state.json"),
                 str(MIXED_SECONDS), str(scale), f"sessions_mixed_submit_{pool}.txt"],
                timeout=MIXED_SECONDS + 120))
            used = cpu_used(before, cpu_by_process(sessions))
            results["mixed_cpu"][f"{scale:g}"] = {
                "seconds": round(time.monotonic() - t0, 2),
                **{name: round(value, 2) for name, value in used.items()}}
            wait_http(BASE + "/bench/bare/", timeout=180)
        stop(worker)
        time.sleep(1)
        log(f"filing throughput: backlog of {BACKLOG}", "filing")
        results["filing"] = filing_throughput(state)
    finally:
        for process in list(started_processes):
            stop(process)

    log("filing time per submission as the tables grow", "growth")
    results["filing_scaling"] = {"seeded": json.loads(python("measure.py", "filing", 300))}
    if BIG_ROWS:
        results["filing_scaling"]["grow"] = json.loads(
            python("measure.py", "grow", BIG_ROWS, timeout=1800))
        results["filing_scaling"]["big"] = json.loads(python("measure.py", "filing", 300))
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    LOAD.stopped.set()
    results["load_average"] = LOAD.summary()
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    run([str(BIN / "python"), "bench/report.py", str(OUT / "results.json"),
         str(ROOT / "bench" / "RESULTS.md")])
    log("wrote bench/RESULTS.md")


def _submitted_count(prepared):
    """How many prepared "check your answers" sessions really submitted (from the DB)."""
    code = ("import django,json;django.setup();from forms_app.models import Submission;"
            "q=Submission.objects.filter(reference__startswith='C');"
            "print(json.dumps({'submitted':q.exclude(state='in_progress').count(),"
            "'total':q.count()}))")
    result = json.loads(run([str(BIN / "python"), "-c", code]))
    result["prepared_for_wrk"] = prepared
    return result


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in list(started_processes):
            stop(process)
