"""gunicorn.conf.py, the web unit's configuration: gunicorn reads it, the environment
overrides its defaults, and it keeps the promises the unit and the guide make."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.test_systemd import UNITS, one, parse

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def printed_config(**environ) -> dict[str, str]:
    result = subprocess.run(
        [str(GUNICORN), "--print-config", "--config", str(ROOT / "gunicorn.conf.py"),
         "config.wsgi:application"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        env={**os.environ, **environ})
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, flags=re.M))


def test_gunicorn_reads_it_and_the_environment_overrides_it():
    config = printed_config(GUNICORN_BIND="10.0.0.5:8000", GUNICORN_WORKERS="3",
                            GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.10")
    assert config["bind"] == "['10.0.0.5:8000']"
    assert config["workers"] == "3"
    assert config["forwarded_allow_ips"] == "['10.0.0.10']"
    assert config["worker_class"] == "sync"


def test_a_redacted_access_log_and_a_graceful_stop_inside_the_units_timeout():
    config = printed_config()
    # The access log is on, through the logger that takes link tokens and secrets out
    # (tests/integration/test_gunicorn_logs.py runs it for real).
    assert config["accesslog"] == "-"
    assert "RedactingLogger" in config["logger_class"]
    unit = parse(UNITS / "patient-forms-web.service")
    assert int(config["graceful_timeout"]) < int(one(unit, "Service", "TimeoutStopSec"))


def test_a_dead_workers_gauges_are_dropped(tmp_path, monkeypatch):
    """child_exit marks the worker dead in the multiprocess directory."""
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    class Worker:
        pid = 4242

    hooks["child_exit"](None, Worker())
    assert not (tmp_path / "gauge_livesum_4242.db").exists()
