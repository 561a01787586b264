"""bench/report.py: the mixed load's CPU accounting says what the load needs."""

import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results():
    mixed = {"1": {"patient_page_get": {"requests": 160, "p99_ms": 20.0},
                   "whiteboard_json": {"requests": 40, "p99_ms": 30.0}},
             "10": {"patient_page_get": {"requests": 1600, "p99_ms": 900.0},
                    "whiteboard_json": {"requests": 400, "p99_ms": 1500.0}}}
    cpu = {"1": {"seconds": 20.0, "web": 4.0, "postgresql": 1.0, "worker": 0.5,
                 "load_generator": 0.5, "machine": 8.0},
           "10": {"seconds": 20.0, "web": 30.0, "postgresql": 4.0, "worker": 1.0,
                  "load_generator": 3.0, "machine": 39.0}}
    return {"config": {"cpus": 2}, "mixed": mixed, "mixed_cpu": cpu}


def test_the_mixed_load_cpu_is_shown_per_core_and_per_request():
    report = _module("report")
    text = "\n".join(report.mixed_cpu_section(_results()))
    assert "| web workers (gunicorn, 2 sync processes) | 0.20 | 1.50 |" in text
    assert "| everything else on the machine (other work included) | 0.10 | 0.05 |" in text
    assert "| the whole machine, of 2 | 0.40 | 1.95 |" in text
    assert "| web CPU ms per request of the mix | 20.0 | 15.0 |" in text
    # 1.5 cores at x10; at most 65 % busy for a short tail: about 2.3 cores for the web.
    assert "At x10 the web workers used 1.50 cores" in text and "about 2.3 cores" in text


def test_a_missed_mixed_target_says_what_it_would_take():
    report = _module("report")
    results = {**_results(), "queries": {"patient": {
        size: {"get": {"queries": 2}, "post": {"queries": 5}} for size in ("10", "50")}}}
    rows = report._target_rows(results, [])
    x10 = next(row for row in rows if row.startswith("| mixed load x10"))
    assert "| NO |" in x10 and "about 2.3 cores for the web alone" in x10
    x1 = next(row for row in rows if row.startswith("| mixed load x1:"))
    assert x1.endswith("| yes |  |")


def test_cpu_seconds_counts_a_session_of_its_own():
    run = _module("run")
    empty = {"this test": {}, "postgresql": {}, "load_generator": {}, "machine": {}}
    used = run.cpu_used(empty, run.cpu_by_process({"this test": os.getsid(0)}))
    assert used["this test"] > 0 and used["machine"] >= used["this test"]
    assert set(used) >= {"postgresql", "load_generator", "machine"}


def test_a_wrk_scenario_says_who_used_the_cores():
    report = _module("report")
    cores = {"web": 1.2, "postgresql": 0.3, "worker": 0.25, "load_generator": 0.1,
             "machine": 1.95}
    assert report._cores(cores) == "1.20 / 0.30 / 0.25 / 0.10 / 0.10"
    assert report._cores(None) == ""


def test_a_process_that_ended_is_never_counted_negative():
    run = _module("run")
    before = {"web": {"1": 5.0, "2": 9.0}, "machine": {"all": 100.0}}
    after = {"web": {"1": 6.5, "3": 0.5}, "machine": {"all": 103.0}}  # 2 replaced by 3
    assert run.cpu_used(before, after) == {"web": 2.0, "machine": 3.0}
