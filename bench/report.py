"""Write bench/RESULTS.md from bench/out/results.json (called by bench/run.py)."""

import json
import sys
from pathlib import Path

TARGETS = {
    # scenario: (ratio to the primary-key page it should reach, why)
    "patient_page_get_10q": 0.5,
    "patient_page_get_50q": 0.5,
    "patient_page_post_10q": 0.5,
    "final_submit": 0.3,
    "whiteboard_json": 1.0,
    "whiteboard_json_etag_304": 1.0,
}
LABELS = {
    "baseline_bare": "Baseline: bare Django view",
    "baseline_pk": "Baseline: primary-key lookup page",
    "patient_page_get_10q": "Patient question page GET (10-question form)",
    "patient_page_get_50q": "Patient question page GET (50-question form)",
    "patient_page_post_10q": "Page save POST (10-question form)",
    "final_submit": "Final submit POST (check your answers)",
    "whiteboard_page": "Whiteboard page (300 rows)",
    "whiteboard_fragment": "Whiteboard fragment (the 12 s poll)",
    "whiteboard_json": "Whiteboard JSON",
    "whiteboard_json_etag_304": "Whiteboard JSON, matching ETag (304)",
    "baseline_bare_end": "Baseline again at the end: bare view",
    "baseline_pk_end": "Baseline again at the end: primary-key page",
}


CPU_LABELS = {
    "baseline_bare": ("Baseline: bare Django view", None),
    "baseline_pk": ("Baseline: primary-key page", None),
    "patient_page_get_10q": ("Question page GET, 10 questions", 0.5),
    "patient_page_get_50q": ("Question page GET, 50 questions", 0.5),
    "patient_page_post_10q": ("Page save POST", 0.5),
    "final_submit": ("Final submit", 0.3),
    "whiteboard_json": ("Whiteboard JSON, cached", 1.0),
    "whiteboard_json_uncached": ("Whiteboard JSON, uncached", 0.2),
}
FILING_TARGET = 375
BRIEF_BACKLOG, BRIEF_BIG_ROWS = 20000, 1000000


def cpu_pk(run):
    return run["requests"]["baseline_pk"]["cpu_ms"]


def cpu_section(r):
    """In-process CPU per request: this code and, when measured, the compared code."""
    cpu = r.get("cpu")
    if not cpu:
        return [], []
    runs = [("this", cpu["this"])] + ([("compare", cpu["compare"])] if "compare" in cpu else [])
    this = cpu["this"]
    names = {"this": "this branch", "compare": f"`{cpu['compare']['code']}`"
             if "compare" in cpu else ""}
    head = "| request | target |"
    rule = "| --- | ---: |"
    for key, _ in reversed(runs):
        head += f" CPU ms ({names[key]}) | x pk | queries |"
        rule += " ---: | ---: | ---: |"
    lines = [
        "## CPU per request (in-process)",
        "",
        f"Median CPU milliseconds of {this['requests']['baseline_pk']['samples']} requests "
        f"of each type after {this['warm']} warm-up ones, the types taking turns (one "
        "request of each per round, so a change of load falls on all alike), one Django "
        "test client reused "
        "(CSRF checks on) with the settings gunicorn runs with here (DEBUG off, persistent "
        "connections, the shared Redis cache); CPU time of the process "
        "(`time.process_time`), so it holds on a busy machine. PostgreSQL's own CPU is not "
        "in it; the queries are counted. *x pk* is the primary-key page's CPU ms (measured "
        "in the same rounds) divided by the request's, the same sense as the "
        "wrk ratios (higher is cheaper). The whiteboard has "
        f"{this['board_rows']} rows; uncached means `WHITEBOARD_CACHE_SECONDS=0`.",
        "",
        head, rule,
    ]
    verdicts = []
    for key, (label, target) in CPU_LABELS.items():
        row = f"| {label} | {f'{target}x' if target else ''} |"
        for _, run in reversed(runs):
            x = run["requests"].get(key)
            if x is None:
                row += " - | - | - |"
                continue
            row += f" {x['cpu_ms']:.3f} | {cpu_pk(run) / x['cpu_ms']:.2f} | {x['queries']} |"
        lines.append(row)
        if target:
            ratio = cpu_pk(this) / this["requests"][key]["cpu_ms"]
            verdicts.append((f"{label} (CPU in-process)", target, ratio))
    lines.append("")
    filing = cpu.get("this_filing")
    if filing:
        lines += [
            "Filing in-process (`forms_app.filing.batch.file_batch`, batches of "
            f"{filing['batch_size']}, {filing['submissions']} submissions, no Celery):",
            "",
            "| code | CPU ms per submission | wall ms per submission | filed |",
            "| --- | ---: | ---: | ---: |",
        ]
        for key, label in (("compare_filing", names["compare"]), ("this_filing", "this branch")):
            if key in cpu:
                f = cpu[key]
                lines.append(f"| {label} | {f['cpu_ms_per_submission']:.3f} | "
                             f"{f['wall_ms_per_submission']:.3f} | {f['filed']} |")
        lines.append("")
    return lines, verdicts


def load_section(r):
    load = r.get("load_average")
    if not load or not load["all"]:
        return []
    a = load["all"]
    lines = [
        "## Load on the machine during the run",
        "",
        f"1-minute load average on the {r['config']['cpus']} cores, sampled every 5 s: "
        f"min {a['min']:.2f}, median {a['median']:.2f}, max {a['max']:.2f} "
        f"({a['samples']} samples). Above {r['config']['cpus']} the benchmark shared the "
        "CPU with other work, so its throughput and latency figures are below what the "
        "code does on an idle machine; the in-process CPU figures are not affected that way.",
        "",
        "| phase | min | median | max |",
        "| --- | ---: | ---: | ---: |",
    ]
    for phase, x in load["phases"].items():
        if x:
            lines.append(f"| {phase} | {x['min']:.2f} | {x['median']:.2f} | {x['max']:.2f} |")
    return [*lines, ""]


def _load_sentence(r):
    c, a = r["config"], (r.get("load_average") or {}).get("all")
    if not a:
        return []
    busy = a["median"] > c["cpus"]
    return [f"The machine's median load average was {a['median']:.2f} on {c['cpus']} cores: "
            + ("busy, so wrk's req/s and the mixed load's latencies are the benchmark's "
               "share of a shared machine; the in-process CPU ratios are the ones to "
               "compare with the targets." if busy else "close to idle for this machine."),
            ""]


def _departures(r):
    c, f = r["config"], r.get("filing")
    departures = []
    if c["backlog"] != BRIEF_BACKLOG:
        departures.append(f"the filing backlog was {c['backlog']:,} submissions, not "
                          f"{BRIEF_BACKLOG:,} (set by BENCH_BACKLOG)")
    if c["big_rows"] != BRIEF_BIG_ROWS:
        departures.append(f"{c['big_rows']:,} rows were added per table for the growth "
                          f"comparison, not {BRIEF_BIG_ROWS:,} (set by BENCH_BIG_ROWS)")
    if f and not f["complete"]:
        departures.append(f"the filing time limit stopped the backlog at {f['filed']:,} of "
                          f"{f['total']:,} filed")
    if c.get("reused_seed"):
        departures.append("the seeded database of an earlier run was reused "
                          "(BENCH_REUSE_SEED), so it also holds what that run and any "
                          "measurement since added")
    if c.get("why"):
        departures.append(c["why"])
    if not departures:
        return []
    return ["Departures from the brief in this run: " + "; ".join(departures) + ".", ""]


# Busy share at which an open-loop queue in front of the web workers still keeps a
# p99 near a few service times (M/M/c with c = 2: about 0.65); above it the tail grows
# fast, and at 1 the queue grows for the whole run.
WEB_UTILISATION_FOR_TAIL = 0.65
MIXED_CPU_ROWS = (
    ("web", "web workers (gunicorn, 2 sync processes)"),
    ("postgresql", "PostgreSQL"),
    ("worker", "Celery worker (filing the forms sent)"),
    ("load_generator", "load generator (bench/mixed.py)"),
)


def _web_cores_needed(r, scale):
    cpu = r.get("mixed_cpu", {}).get(scale)
    if not cpu or not cpu["seconds"]:
        return None
    return cpu["web"] / cpu["seconds"]


def _cores(cores):
    """Web / PostgreSQL / Celery / load generator / rest of the machine, in cores."""
    if not cores:
        return ""
    parts = [cores[key] for key, _ in MIXED_CPU_ROWS]
    rest = max(cores["machine"] - sum(parts), 0)
    return " / ".join(f"{x:.2f}" for x in (*parts, rest))


def mixed_cpu_section(r):
    """Where the machine's CPU went during each mixed load: what the load needs."""
    runs = r.get("mixed_cpu")
    if not runs:
        return []
    cores = r["config"]["cpus"]
    scales = list(runs)
    lines = [
        "## CPU during the mixed load",
        "",
        "CPU seconds used per second of each mixed run (user + system, from /proc: the "
        "processes of gunicorn's session, of the Celery worker's, PostgreSQL's, the load "
        "generator's, and the whole machine's; 1.00 is one core busy all the time). "
        f"The machine has {cores} cores.",
        "",
        "| | " + " | ".join(f"x{s}" for s in scales) + " |",
        "| --- |" + " ---: |" * len(scales),
    ]
    for key, label in MIXED_CPU_ROWS:
        lines.append(f"| {label} | " + " | ".join(
            f"{runs[s][key] / runs[s]['seconds']:.2f}" for s in scales) + " |")
    def others(run):
        return max(run["machine"] - sum(run[k] for k, _ in MIXED_CPU_ROWS), 0) / run["seconds"]
    lines.append("| everything else on the machine (other work included) | " + " | ".join(
        f"{others(runs[s]):.2f}" for s in scales) + " |")
    lines.append(f"| the whole machine, of {cores} | " + " | ".join(
        f"{runs[s]['machine'] / runs[s]['seconds']:.2f}" for s in scales) + " |")
    served = {s: sum(m["requests"] for m in r["mixed"][s].values()) for s in scales}
    lines.append("| web CPU ms per request of the mix | " + " | ".join(
        f"{runs[s]['web'] * 1000 / max(served[s], 1):.1f}" for s in scales) + " |")
    lines += ["", *_capacity_sentences(r, scales), ""]
    return lines


def _capacity_sentences(r, scales):
    cores = r["config"]["cpus"]
    out = []
    for scale in scales:
        web = _web_cores_needed(r, scale)
        if web is None:
            continue
        machine = r["mixed_cpu"][scale]["machine"] / r["mixed_cpu"][scale]["seconds"]
        need = web / WEB_UTILISATION_FOR_TAIL
        out.append(
            f"At x{scale} the web workers used {web:.2f} cores while the machine as a whole "
            f"was {machine / cores:.0%} busy. To keep the tail short the web tier should be "
            f"at most about {WEB_UTILISATION_FOR_TAIL:.0%} busy: about {need:.1f} cores for "
            f"the web alone at this load, beside PostgreSQL, the workers and the load "
            f"generator, which here share the same {cores} cores.")
    return out


def _verdict(label, measured, ok, gap=""):
    return f"| {label} | {measured} | {'yes' if ok else 'NO'} | {'' if ok else gap} |"


def _target_rows(r, verdicts):
    rows = [_verdict(f"{label} >= {target}x pk", f"{ratio:.2f}x", ratio >= target,
                     f"needs {target / ratio:.1f}x less cost")
            for label, target, ratio in verdicts]
    f = r.get("filing")
    if f:
        rate = f["steady_filed_per_second"] or f["filed_per_second"]
        rows.append(_verdict(f"filing >= {FILING_TARGET}/s, real workers, "
                             f"{r['config']['cpus']} cores", f"{rate:,.1f}/s",
                             rate >= FILING_TARGET,
                             f"needs {FILING_TARGET / max(rate, 0.1):.1f}x the rate"))
    for scale, mixed in r.get("mixed", {}).items():
        worst = max((m["p99_ms"] or float("inf"), name) for name, m in mixed.items())
        web = _web_cores_needed(r, scale)
        gap = (f"web tier used {web:.2f} cores; about {web / WEB_UTILISATION_FOR_TAIL:.1f} "
               "cores for the web alone (CPU during the mixed load)" if web else "")
        rows.append(_verdict(f"mixed load x{scale}: p99 < 100 ms for every type",
                             f"worst {worst[1]} {fmt(worst[0])} ms", worst[0] < 100, gap))
    q = r["queries"]["patient"]
    rows.append(_verdict("queries per patient page flat in form size",
                         f"{q['10']['get']['queries']} and {q['50']['get']['queries']}",
                         all(q["10"][m]["queries"] == q["50"][m]["queries"]
                             for m in ("get", "post"))))
    fs = r.get("filing_scaling", {})
    if "seeded" in fs and "big" in fs:
        ratio = fs["big"]["p50_ms"] / fs["seeded"]["p50_ms"]
        rows.append(_verdict("filing time flat as the tables grow (p50 after / before)",
                             f"{ratio:.2f}", ratio < 1.5))
    return rows


def reading_section(r, verdicts):
    """What the run says about each target, generated from its own figures."""
    return ["## Reading these figures, and the targets", "", *_load_sentence(r),
            *_departures(r), "| target | measured | met | gap |", "| --- | ---: | --- | --- |",
            *_target_rows(r, verdicts), ""]


def _wrk_verdicts(scenarios, pk):
    return [(f"{LABELS[key]} (wrk)", target, scenarios[key]["rps"] / pk)
            for key, target in TARGETS.items() if key in scenarios]


def fmt(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"


def main(results_path, out_path):
    r = json.loads(Path(results_path).read_text())
    s = r["scenarios"]
    # The machine is shared: the baselines are measured first and last, and the ratios
    # use their mean, so a load change during the run moves both sides alike.
    bare = (s["baseline_bare"]["rps"] + s["baseline_bare_end"]["rps"]) / 2
    pk = (s["baseline_pk"]["rps"] + s["baseline_pk_end"]["rps"]) / 2
    lines = [
        "# Benchmark results",
        "",
        f"Run {r['started']} to {r['finished']} on this shared {r['config']['cpus']}-core "
        "machine, with one command:",
        "",
        "```sh",
        r.get("command") or (
            f"BENCH_DB={r['config']['db']} BENCH_REDIS_DB={r['config']['redis_db']} "
            f"BENCH_BACKLOG={r['config']['backlog']} BENCH_BIG_ROWS={r['config']['big_rows']} "
            "BENCH_FILING_TIMEOUT=240 .venv/bin/python bench/run.py"),
        "```",
        "",
        "(`make bench` runs the same with the defaults of bench/README.md.)",
        "",
        "gunicorn with 2 sync worker processes and persistent database connections "
        "(CONN_MAX_AGE=600), DEBUG off; PostgreSQL and Redis on 127.0.0.1; a real Celery "
        "worker (2 processes). Load from wrk (1 thread, "
        f"{r['config']['connections']} connections, {r['config']['duration_s']} s per "
        "scenario) and bench/mixed.py for the mixed load. Every figure is also given as a "
        "ratio to the two baselines measured on the same server in the same run. The "
        "machine is shared with other engineers' test runs, so absolute figures move; "
        "the ratios are the comparable part.",
        "",
        ("The database seeded by an earlier run of bench/seed.py was reused "
         "(BENCH_REUSE_SEED): " if r["config"].get("reused_seed") else
         f"Seeded in {r['seed']['seconds']} s: ") + f"{r['seed']['patients']:,} patients, "
        f"{r['seed']['links']:,} links, {r['seed']['submissions']:,} submissions, "
        f"{r['seed']['record_entries']:,} record entries (answers and records encrypted).",
        "",
        "## Requests (wrk)",
        "",
        f"Ratios are to the mean of the first and last baseline: bare view {bare:,.1f} req/s, "
        f"primary-key page {pk:,.1f} req/s.",
        "",
        "*cores* is the CPU each part used while the scenario ran, in cores: the web "
        "workers / PostgreSQL / the Celery worker (filing what the submits send) / wrk / "
        "the rest of the machine (other work on this shared machine included).",
        "",
        "| scenario | req/s | x bare | x pk page | p50 ms | p99 ms | errors | target "
        "| cores |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for key, label in LABELS.items():
        if key not in s:
            continue
        row = s[key]
        target = TARGETS.get(key)
        verdict = ""
        if target is not None:
            ok = row["rps"] / pk >= target
            verdict = f"{target}x pk: {'met' if ok else 'MISSED'}"
        errors = row["errors_status"] + row["errors_connect"] + row["errors_timeout"]
        lines.append(
            f"| {label} | {fmt(row['rps'])} | {row['rps'] / bare:.3f} | {row['rps'] / pk:.2f} "
            f"| {fmt(row['p50_ms'], 2)} | {fmt(row['p99_ms'], 2)} | {errors} | {verdict} "
            f"| {_cores(row.get('cores'))} |")
    sc = r["submit_check"]
    lines += [
        "",
        f"Final submit: {sc['submitted']:,} of the {sc['prepared_for_wrk']:,} sessions "
        "prepared for wrk were submitted (counted in the database afterwards); the wrk "
        "figure counts only requests, so it is valid while that is below the number "
        "prepared.",
        f"Whiteboard JSON body: {s['whiteboard_json_size']['bytes']:,} bytes; the "
        f"conditional request with its ETag answered {s['whiteboard_json_size']['etag_check']}.",
        "",
        "## Filing throughput (real Celery workers)",
        "",
    ]
    f = r["filing"]
    lines += [
        f"A backlog of {f['backlog']:,} submitted forms was queued (in "
        f"{f['enqueue_seconds']} s) with the workers stopped, then the workers were "
        "started as deploy/systemd runs them: `celery worker -Q celery --concurrency=2` "
        f"for filing and, for the PDFs' own queue ({f.get('documents_queue', 'celery')}), "
        "`celery worker -Q documents --concurrency=1` under `nice -n 10`. "
        f"{f.get('documents', 0):,} PDFs had been attached when the last form was filed "
        "(they follow on their own queue).",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| filed | {f['filed']:,} of {f['total']:,} (failed {f['failed']}) |",
        f"| time to file the backlog (from worker start) | {f['seconds_to_file_all']} s |",
        f"| filed per second, overall | {fmt(f['filed_per_second'])} |",
        f"| filed per second, steady (first to last filed) | "
        f"{fmt(f['steady_filed_per_second'])} |",
        f"| target | 375/s: {'met' if (f['steady_filed_per_second'] or 0) >= 375 else 'MISSED'} |",
        "",
        "## Mixed load (bench/mixed.py, open loop)",
        "",
        f"{r['config']['mixed_seconds']} s at once and at {r['config']['mixed_scale']:g} "
        "times a large trust's peak (rates per type below); latency measured from when "
        "each request was "
        "due, so a queue in the server shows.",
        "",
        "| request type | rate/s | requests | p50 ms | p95 ms | p99 ms | max ms | statuses "
        "| p99 < 100 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for scale, mixed in r["mixed"].items():
        for name, m in mixed.items():
            ok = m["p99_ms"] is not None and m["p99_ms"] < 100
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(m["statuses"].items()))
            lines.append(
                f"| x{scale} {name} | {m['rate_per_s']:g} | {m['requests']} | "
                f"{fmt(m['p50_ms'])} | {fmt(m['p95_ms'])} | {fmt(m['p99_ms'])} | "
                f"{fmt(m['max_ms'])} | {statuses} | {'yes' if ok else 'NO'} |")
    q = r["queries"]
    lines += [
        "",
        "## How cost grows",
        "",
        "Database queries per request (in-process, Django's test client on the seeded "
        "database, whiteboard cache off):",
        "",
        "| request | small | large | queries small | queries large | ms small | ms large |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for method in ("get", "post"):
        a, b = q["patient"]["10"][method], q["patient"]["50"][method]
        lines.append(f"| patient page {method.upper()} | 10 questions | 50 questions | "
                     f"{a['queries']} | {b['queries']} | {a['ms']} | {b['ms']} |")
    for kind in ("page", "fragment", "json"):
        a, b = q["whiteboard"]["10"][kind], q["whiteboard"]["500"][kind]
        lines.append(f"| whiteboard {kind} | 10 rows | 500 rows | {a['queries']} | "
                     f"{b['queries']} | {a['ms']} | {b['ms']} |")
    fs = r["filing_scaling"]
    lines += [
        "",
        "Filing time per submission, in-process (`services.file_submission`, one after "
        "another, 300 submissions), as the tables grow:",
        "",
        "| tables | links | submissions | record entries | audit events | mean ms | p50 ms "
        "| p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label in (("seeded", "as seeded"), ("big", "after adding rows")):
        if key in fs:
            x = fs[key]
            rows = x["rows"]
            lines.append(f"| {label} | {rows['links']:,} | {rows['submissions']:,} | "
                         f"{rows['record_entries']:,} | {rows['audit_events']:,} | "
                         f"{x['mean_ms']} | {x['p50_ms']} | {x['p95_ms']} |")
    if "grow" in fs:
        lines.append("")
        lines.append(f"({fs['grow']['added_per_table']:,} rows were added to each of links, "
                     "submissions, record entries and audit events with INSERT ... SELECT "
                     f"in {fs['grow']['seconds']} s.)")
    cpu_lines, verdicts = cpu_section(r)
    wrk_verdicts = _wrk_verdicts(s, pk)
    lines += ["", *load_section(r), *cpu_lines, *mixed_cpu_section(r),
              *reading_section(r, verdicts + wrk_verdicts)]
    Path(out_path).write_text("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
