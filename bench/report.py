"""Write bench/RESULTS.md from bench/out/results.json (called by bench/run.py)."""

import json
import sys
from pathlib import Path

TARGETS = {
    # scenario: (ratio to the primary-key page it should reach, why)
    "patient_page_get_10q": 0.5,
    "patient_page_get_50q": 0.5,
    "patient_page_post_10q": 0.5,
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
        f"Seeded in {r['seed']['seconds']} s: {r['seed']['patients']:,} patients, "
        f"{r['seed']['links']:,} links, {r['seed']['submissions']:,} submissions, "
        f"{r['seed']['record_entries']:,} record entries (answers and records encrypted).",
        "",
        "## Requests (wrk)",
        "",
        f"Ratios are to the mean of the first and last baseline: bare view {bare:,.1f} req/s, "
        f"primary-key page {pk:,.1f} req/s.",
        "",
        "| scenario | req/s | x bare | x pk page | p50 ms | p99 ms | errors | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
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
            f"| {fmt(row['p50_ms'], 2)} | {fmt(row['p99_ms'], 2)} | {errors} | {verdict} |")
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
        f"{f['enqueue_seconds']} s) with the workers stopped, then one `celery worker "
        "--concurrency=2` was started.",
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
    notes = Path(out_path).with_name("NOTES.md")
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    Path(out_path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
