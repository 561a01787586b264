"""The several-host run: `make cluster-test` (or `python -m tests.cluster.scenario`).

1. Builds the hosts (tests/cluster/hosts.py) in network namespaces on this machine.
2. Throughput with one web host, then two (HAProxy takes web2 out and back), while no
   worker runs, so the submissions queue up; then filing throughput with one worker
   host on that queue, and with two on a queue of the same size.
3. The faults, under a mixed load (journeys, staff issuing, ward screens): web2 is
   stopped (gracefully, as a deploy stops it) and started again; then every process
   of worker2 is SIGKILLed (the host loses power).
4. Waits for every submission to be filed and checks the record in SQL: each journey
   that was sent has exactly one record entry (lost 0, duplicates 0).
Prints the table and writes it to test-artifacts/cluster-results.md (and, with
--write-results, tests/cluster/RESULTS.md). Whatever happens (an error, Ctrl-C,
SIGTERM), every namespace and process it started is removed.

Durations (seconds, environment): CLUSTER_PHASE_SECONDS (each throughput phase, 20),
CLUSTER_FAULT_SECONDS (the fault phase, 60), CLUSTER_PATIENTS (concurrent patients, 6).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.hosts import BASE, PYTHON, ROOT, Cluster, requirements_missing, wait_for
from tests.cluster.netns import remove_stale

ARTIFACTS = ROOT / "test-artifacts"

DUPLICATES = """
    SELECT count(*) FROM (
        SELECT source_id FROM patients_recordentry WHERE source_kind = 'forms_app.submission'
        GROUP BY source_id HAVING count(*) > 1) AS twice
"""
PER_LINK = """
    SELECT l.id::text, s.state,
           (SELECT count(*) FROM patients_recordentry r
            WHERE r.source_kind = 'forms_app.submission' AND r.source_id = s.id)
    FROM forms_app_link l LEFT JOIN forms_app_submission s ON s.link_id = l.id
    WHERE l.id = ANY(%s::uuid[])
"""
TASK_LINE = re.compile(r"\[([0-9a-f-]{36})\] (received|succeeded|retry|raised)")
WAITING = "SELECT count(*) FROM forms_app_submission WHERE state = 'submitted'"


@dataclass
class Config:
    phase_seconds: float = float(os.environ.get("CLUSTER_PHASE_SECONDS", "20"))
    fault_seconds: float = float(os.environ.get("CLUSTER_FAULT_SECONDS", "60"))
    patients: int = int(os.environ.get("CLUSTER_PATIENTS", "6"))
    screens: int = 2
    backlog: int = int(os.environ.get("CLUSTER_BACKLOG", "200"))
    drain_timeout: float = 180.0


@dataclass
class Run:
    config: Config
    cluster: Cluster
    seed: dict
    loads: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    filing: dict = field(default_factory=dict)
    codes_used: int = 0


def log(message):
    print(f"[cluster {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- load -------------------------------------------------------------------------------

def start_load(run: Run, name, seconds, screens=0):
    seed = dict(run.seed)
    codes = run.seed["staff"]["codes"]
    seed["staff"] = {**seed["staff"],
                     "codes": codes[run.codes_used:run.codes_used + screens]}
    run.codes_used += screens
    seed_file = run.cluster.dir / f"seed-{name}.json"
    seed_file.write_text(json.dumps(seed))
    out = run.cluster.dir / f"load-{name}.json"
    process = run.cluster.spawn(
        "client", f"load-{name}", PYTHON, "-m", "tests.cluster.load", BASE, run.cluster.ca,
        seed_file, seconds, run.config.patients, screens, out)
    return process, out


def finish_load(run: Run, name, process, out):
    process.wait(timeout=run.config.fault_seconds + 120)
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"load {name} failed:\n{run.cluster.log_tail(f'load-{name}')}")
    result = json.loads(out.read_text())
    run.loads[name] = result
    return result


def load(run: Run, name, seconds, screens=0):
    before = cpu_times()
    process, out = start_load(run, name, seconds, screens)
    result = finish_load(run, name, process, out)
    result["cpu_busy_percent"] = cpu_busy(before, cpu_times())
    return result


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine: every host shares its cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_busy(before, after) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    return round(100 * busy / total, 0) if total else 0.0


def summary(result) -> dict:
    seconds = result["ended"] - result["started"]
    done = [j for j in result["journeys"] if not j["outcome"].startswith("failed")]
    patient = [r for r in result["requests"] if r[1] == "patient"]
    latencies = sorted(r[2] for r in patient)

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000) \
            if latencies else None

    return {"seconds": round(seconds, 1), "journeys": len(done),
            "journeys_per_s": round(len(done) / seconds, 2),
            "requests_per_s": round(len(result["requests"]) / seconds, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95),
            "patient_errors": sum(1 for e in result["errors"] if e["kind"] == "patient"),
            "cpu_busy_percent": result.get("cpu_busy_percent"),
            "failed_journeys": len(result["journeys"]) - len(done)}


# --- phases -----------------------------------------------------------------------------

def web_throughput(run: Run):
    cluster = run.cluster
    cluster.haproxy("disable server web/web2")
    cluster.wait_server("web2", "MAINT")
    log(f"throughput, one web host ({run.config.phase_seconds:.0f} s)")
    load(run, "one-web", run.config.phase_seconds)
    cluster.haproxy("enable server web/web2")
    cluster.wait_server("web2", "UP")
    log(f"throughput, two web hosts ({run.config.phase_seconds:.0f} s)")
    load(run, "two-web", run.config.phase_seconds)


def time_filing(run: Run, workers) -> dict:
    """Start `workers` on a queued backlog; the rate from the first filing to the last."""
    cluster = run.cluster
    queued = int(cluster.sql(WAITING)[0][0])
    started = time.monotonic()
    for name in workers:
        cluster.start_worker(name)
    first = None
    while True:
        waiting = int(cluster.sql(WAITING)[0][0])
        now = time.monotonic()
        if first is None and waiting < queued:
            first = (now, waiting)
        if waiting == 0:
            break
        if now - started > 240:
            raise TimeoutError(f"filing {queued} with {workers} did not finish")
        time.sleep(0.1)
    seconds = now - first[0]
    filed = first[1]  # filed after the first one was seen
    return {"workers": len(workers), "queued": queued, "seconds": round(seconds, 1),
            "filed_per_s": round(filed / seconds, 1) if seconds else None}


def filing_throughput(run: Run):
    cluster = run.cluster
    queued = int(cluster.sql(WAITING)[0][0])
    if queued < run.config.backlog:
        cluster.manage("-m", "tests.cluster.hostcmd", "backlog", run.config.backlog - queued)
    log("filing throughput, one worker host")
    run.filing["one"] = one = time_filing(run, ["worker1"])
    cluster.stop_worker("worker1")
    log(f"queueing a backlog of {one['queued']}")
    cluster.manage("-m", "tests.cluster.hostcmd", "backlog", one["queued"])
    log("filing throughput, two worker hosts")
    run.filing["two"] = time_filing(run, ["worker1", "worker2"])


def faults(run: Run):
    cluster, seconds = run.cluster, run.config.fault_seconds
    cluster.start_beat()
    log(f"mixed load with faults ({seconds:.0f} s)")
    before = cpu_times()
    process, out = start_load(run, "faults", seconds, screens=run.config.screens)
    t0 = time.monotonic()
    events = run.events

    def at(fraction):
        time.sleep(max(0.0, t0 + fraction * seconds - time.monotonic()))

    at(0.25)
    stopped = time.time()
    cluster.stop_web("web2")
    cluster.wait_server("web2", "DOWN")
    events["web2_stopped"] = stopped
    events["web2_down_after_s"] = round(time.time() - stopped, 1)
    log(f"web2 stopped; haproxy marked it down after {events['web2_down_after_s']} s")
    at(0.5)
    restarted = time.time()
    cluster.start_web("web2")
    cluster.wait_server("web2", "UP")
    events["web2_up_after_s"] = round(time.time() - restarted, 1)
    log(f"web2 started; serving again after {events['web2_up_after_s']} s")
    at(0.6)
    # A queue for both workers to be busy with, so that the kill catches worker2 holding
    # tasks (as after a clinic list issued at once, or a broker outage): the kill comes
    # once worker2's own log shows it has tasks in hand.
    backlog = cluster.host("web1").spawn(
        PYTHON, "-m", "tests.cluster.hostcmd", "backlog", run.config.backlog // 2,
        env=cluster.env, cwd=ROOT)
    wait_for(lambda: tasks_held(cluster.log_tail("worker2", 100000)) > 0, timeout=60,
             interval=0.05, what="worker2 to take tasks from the backlog")
    killed_at_db = cluster.sql("SELECT now()")[0][0]
    killed = time.time()
    events["worker2_processes_killed"] = cluster.host("worker2").kill_all()
    events["worker2_unacked_tasks"] = tasks_held(cluster.log_tail("worker2", 100000))
    events["waiting_at_kill"] = int(cluster.sql(WAITING)[0][0])
    log(f"worker2 SIGKILLed ({events['worker2_processes_killed']} processes, "
        f"{events['worker2_unacked_tasks']} tasks in hand)")
    wait_for(lambda: cluster.sql(
        "SELECT count(*) FROM forms_app_submission WHERE state = 'submitted' "
        "AND submitted_at <= %s", (killed_at_db,))[0][0] == 0,
        timeout=seconds + 120, interval=0.25, what="the kill's submissions to be filed")
    events["worker_recovered_after_s"] = round(time.time() - killed, 1)
    log(f"everything sent before the kill filed {events['worker_recovered_after_s']} s after")
    finish_load(run, "faults", process, out)["cpu_busy_percent"] = cpu_busy(before, cpu_times())
    backlog.wait(timeout=120)


def tasks_held(worker_log: str) -> int:
    """Tasks the worker had received and not finished when it died (its own log)."""
    received, finished = set(), set()
    for line in worker_log.splitlines():
        match = TASK_LINE.search(line)
        if match:
            (received if match.group(2) == "received" else finished).add(match.group(1))
    return len(received - finished)


def drain_and_count(run: Run) -> dict:
    cluster = run.cluster
    wait_for(lambda: cluster.sql(WAITING)[0][0] == 0, timeout=run.config.drain_timeout,
             interval=0.5, what="every submission to be filed")
    sent = [j["link"] for result in run.loads.values() for j in result["journeys"]
            if not j["outcome"].startswith("failed")]
    rows = cluster.sql(PER_LINK, (sent,))
    entries = {link: (state, n) for link, state, n in rows}
    lost = sum(1 for link in sent if entries.get(link, (None, 0))[1] == 0)
    states = dict(cluster.sql("SELECT state, count(*) FROM forms_app_submission "
                              "GROUP BY state"))
    return {"sent": len(sent), "lost": lost,
            "duplicates": int(cluster.sql(DUPLICATES)[0][0]),
            "filed": int(states.get("filed", 0)), "waiting": int(states.get("submitted", 0)),
            "failed": int(states.get("failed", 0))}


# --- report -----------------------------------------------------------------------------

def report(run: Run, totals: dict) -> dict:
    loads = {name: summary(result) for name, result in run.loads.items()}
    fault_load = run.loads["faults"]
    stop = run.events["web2_stopped"]
    during_stop = [e for e in fault_load["errors"] if e["kind"] == "patient"
                   and stop <= e["t"] <= stop + run.events["web2_down_after_s"] + 5]
    return {"config": run.config.__dict__, "cpus": os.cpu_count(), "loads": loads,
            "filing": run.filing, "events": {k: v for k, v in run.events.items()
                                             if k != "web2_stopped"},
            "errors_around_web2_stop": len(during_stop),
            "staff_issue_errors": sum(1 for e in fault_load["errors"] if e["kind"] == "api"),
            "whiteboard": {"polls": fault_load["polls"],
                           "errors": sum(1 for e in fault_load["errors"]
                                         if e["kind"] == "whiteboard")},
            "totals": totals,
            "errors_by_phase": {
                name: Counter(f"{e['kind']} {e['step']} {e['detail']}"
                              for e in result["errors"])
                for name, result in run.loads.items()},
            "fault_errors": [{"after_s": round(e["t"] - fault_load["started"], 1),
                              "kind": e["kind"], "step": e["step"], "detail": e["detail"]}
                             for e in fault_load["errors"]],
            "patient_errors": sum(v["patient_errors"] for v in loads.values())}


def table(results) -> str:
    loads, filing, events, totals = (results["loads"], results["filing"],
                                     results["events"], results["totals"])
    one, two = loads["one-web"], loads["two-web"]

    def gain(a, b):
        return f"x{b / a:.2f}" if a and b else "n/a"

    f1, f2 = filing["one"], filing["two"]
    faults = loads["faults"]
    lines = [
        f"Several hosts in network namespaces on one machine ({results['cpus']} cores), "
        f"{results['config']['patients']} concurrent patients.",
        "",
        "| throughput | journeys/s | requests/s | patient p50 ms | p95 ms | errors "
        "| machine CPU busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| one web host | {one['journeys_per_s']} | {one['requests_per_s']} "
        f"| {one['p50_ms']} | {one['p95_ms']} | {one['patient_errors']} "
        f"| {one['cpu_busy_percent']}% |",
        f"| two web hosts | {two['journeys_per_s']} | {two['requests_per_s']} "
        f"| {two['p50_ms']} | {two['p95_ms']} | {two['patient_errors']} "
        f"| {two['cpu_busy_percent']}% |",
        f"| gain | {gain(one['journeys_per_s'], two['journeys_per_s'])} | | | | | |",
        "",
        "| filing | queued | seconds | filed/s |",
        "| --- | ---: | ---: | ---: |",
        f"| one worker host | {f1['queued']} | {f1['seconds']} | {f1['filed_per_s']} |",
        f"| two worker hosts | {f2['queued']} | {f2['seconds']} | {f2['filed_per_s']} |",
        f"| gain | | | {gain(f1['filed_per_s'], f2['filed_per_s'])} |",
        "",
        "| under faults | |",
        "| --- | ---: |",
        f"| journeys completed (fault phase) | {faults['journeys']} "
        f"({faults['journeys_per_s']}/s, machine CPU {faults['cpu_busy_percent']}%) |",
        f"| journeys completed (whole run) | {totals['sent']} |",
        f"| patient-facing errors (fault phase / whole run) | {faults['patient_errors']} "
        f"/ {results['patient_errors']} |",
        f"| journeys that failed after retries | "
        f"{sum(v['failed_journeys'] for v in loads.values())} |",
        f"| staff issuing errors / whiteboard errors | {results['staff_issue_errors']} / "
        f"{results['whiteboard']['errors']} |",
        f"| whiteboard polls (200 / 304) | {results['whiteboard']['polls']['200']} / "
        f"{results['whiteboard']['polls']['304']} |",
        f"| submissions filed (database) | {totals['filed']} |",
        f"| duplicates (record entries per submission > 1) | {totals['duplicates']} |",
        f"| lost (sent, no record entry) | {totals['lost']} |",
        f"| web2 stopped: marked down by HAProxy after | {events['web2_down_after_s']} s |",
        f"| web2 restarted: serving again after | {events['web2_up_after_s']} s |",
        f"| worker2 SIGKILLed: processes / tasks it held | "
        f"{events['worker2_processes_killed']} / {events['worker2_unacked_tasks']} |",
        f"| worker2 SIGKILLed: all sent before it filed after | "
        f"{events['worker_recovered_after_s']} s |",
    ]
    return "\n".join(lines)


# --- the run ----------------------------------------------------------------------------

def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_cluster(config: Config | None = None) -> dict:
    config = config or Config()
    missing = requirements_missing()
    if missing:
        raise RuntimeError(missing)
    stale = remove_stale()
    if stale:
        log(f"removed namespaces of an earlier run that was killed: {', '.join(stale)}")
    cluster = Cluster()
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    started = time.monotonic()
    try:
        log(f"hosts in {cluster.network.prefix}-*; files in {cluster.dir}")
        cluster.create_network()
        cluster.start_data()
        log("data host up; migrate, collectstatic, check --deploy, seed")
        seed = cluster.prepare_application(patients=50)
        log("application prepared")
        cluster.start_web("web1")
        cluster.start_web("web2")
        cluster.start_lb()
        cluster.wait_server("web1", "UP")
        cluster.wait_server("web2", "UP")
        log(f"web hosts up behind haproxy (health check {cluster.health_path})")
        run = Run(config=config, cluster=cluster, seed=seed)
        web_throughput(run)
        filing_throughput(run)
        faults(run)
        totals = drain_and_count(run)
        results = report(run, totals)
        results["seconds"] = round(time.monotonic() - started, 1)
        results["health_path"] = cluster.health_path
        return results
    except BaseException:
        keep_logs(cluster)
        raise
    finally:
        cluster.destroy()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        left = cluster.network.leftovers()
        if left:
            log(f"WARNING: namespaces left behind: {left}")


def keep_logs(cluster):
    target = ARTIFACTS / "cluster-logs"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(cluster.logs, target, dirs_exist_ok=True)
    pg_log = cluster.pg_dir / "postgres.log"
    if pg_log.exists():
        shutil.copy(pg_log, target / "postgres.log")
    log(f"logs kept in {target}")


def write_results(results, *, committed: bool):
    text = table(results)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "cluster-results.md").write_text(text + "\n")
    (ARTIFACTS / "cluster-results.json").write_text(json.dumps(results, indent=1))
    if committed:
        command = " ".join([*(f"{k}={v}" for k, v in sorted(os.environ.items())
                              if k.startswith("CLUSTER_")), "make cluster-test"])
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
        (ROOT / "tests" / "cluster" / "RESULTS.md").write_text(
            f"# Several-host run\n\n`{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')} "
            f"(commit {commit}), {results['seconds']} s in all; health check on "
            f"`{results['health_path']}`.\n\n{text}\n")
    return text


def failures(results) -> list[str]:
    totals = results["totals"]
    problems = []
    if totals["lost"]:
        problems.append(f"{totals['lost']} sent journeys have no record entry")
    if totals["duplicates"]:
        problems.append(f"{totals['duplicates']} submissions filed twice")
    if totals["waiting"] or totals["failed"]:
        problems.append(f"unfiled: {totals['waiting']} waiting, {totals['failed']} failed")
    if not results["loads"]["faults"]["journeys"]:
        problems.append("no journey completed under faults")
    return problems


def main():
    try:
        results = run_cluster()
    except KeyboardInterrupt:
        log("interrupted; everything it started has been removed")
        return 130
    print(write_results(results, committed="--write-results" in sys.argv))
    problems = failures(results)
    for problem in problems:
        log(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
