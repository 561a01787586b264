"""The systemd units in deploy/systemd: systemd's own verifier passes them (with the
install root mapped onto this checkout), and each has what docs/deployment.md
promises: restart, hardening, the environment file, and commands that exist here."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALL_ROOT = "/opt/patient-forms"
LONG_RUNNING = ["patient-forms-web.service", "patient-forms-worker.service",
                "patient-forms-documents.service", "patient-forms-beat.service"]
WORKERS = ["patient-forms-worker.service", "patient-forms-documents.service"]
ALL = [*LONG_RUNNING, "patient-forms-migrate.service"]


def parse(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as (key, value) pairs, in order (keys repeat in units)."""
    sections, current = {}, None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}: cannot parse {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit, section, key):
    found = values(unit, section, key)
    assert len(found) == 1, (section, key, found)
    return found[0]


def test_the_units_are_there():
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_hardening_environment_and_user(name):
    unit = parse(UNITS / name)
    for key, expected in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                          ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                          ("PrivateDevices", "yes"), ("CapabilityBoundingSet", ""),
                          ("RestrictSUIDSGID", "yes"), ("User", "patient-forms"),
                          ("WorkingDirectory", INSTALL_ROOT),
                          ("Environment", "DJANGO_ENV=production")]:
        assert expected in values(unit, "Service", key), (name, key)
    assert "/etc/patient-forms/env" in values(unit, "Service", "EnvironmentFile")


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_units_restart_and_start_at_boot(name):
    unit = parse(UNITS / name)
    assert one(unit, "Service", "Restart") == "always"
    assert float(one(unit, "Service", "RestartSec")) >= 1  # never a tight loop
    assert one(unit, "Unit", "StartLimitIntervalSec") == "0"  # and never give up
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def command(name):
    return shlex.split(one(parse(UNITS / name), "Service", "ExecStart"))


def in_checkout(path: str) -> Path:
    assert path.startswith(INSTALL_ROOT + "/"), path
    return ROOT / path[len(INSTALL_ROOT) + 1:]


@pytest.mark.parametrize("name", ALL)
def test_commands_exist_in_the_repository_layout(name):
    binary = in_checkout(command(name)[0])
    assert binary.exists(), f"{name}: {binary} (run make install)"
    args = command(name)[1:]
    if "-A" in args:
        assert args[args.index("-A") + 1] == "config"
        assert (ROOT / "config" / "celery.py").exists()
    for arg in args:
        if arg.startswith(INSTALL_ROOT):
            assert in_checkout(arg).exists(), arg


def test_web_runs_the_repositorys_gunicorn_configuration():
    args = command("patient-forms-web.service")
    assert in_checkout(args[0]).name == "gunicorn"
    # gunicorn.conf.py at the repository's root (the gunicorn settings live there).
    assert args[args.index("--config") + 1] == f"{INSTALL_ROOT}/gunicorn.conf.py"
    assert (ROOT / "gunicorn.conf.py").exists()
    module, _, attribute = args[-1].partition(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).exists() and attribute == "application"


def test_metrics_directories_are_emptied_at_every_start():
    for name in ("patient-forms-web.service", *WORKERS):
        unit = parse(UNITS / name)
        env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
        runtime = one(unit, "Service", "RuntimeDirectory").split()
        assert env["PROMETHEUS_MULTIPROC_DIR"] in {f"/run/{d}" for d in runtime}


@pytest.mark.parametrize("name", WORKERS)
def test_the_worker_finishes_its_tasks_before_it_is_killed(name):
    unit = parse(UNITS / name)
    assert "--detach" not in command(name)  # systemd supervises
    assert int(one(unit, "Service", "TimeoutStopSec")) > settings.CELERY_TASK_TIME_LIMIT
    assert one(unit, "Service", "KillMode") == "mixed"


def _queues(name) -> str:
    """The --queues a worker unit consumes, with the unit's own defaults filled in."""
    unit = parse(UNITS / name)
    env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
    (queues,) = [arg.partition("=")[2] for arg in command(name)
                 if arg.startswith("--queues=")]
    return re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], queues)


def test_the_pdfs_have_a_worker_of_their_own_that_filing_never_waits_behind():
    """The filing worker takes the default queue only, the documents worker the queue the
    settings route the PDF rendering to (by the same variable), niced: a backlog's PDFs
    (several times the cost of filing it) never queue in front of its filing."""
    route = settings.CELERY_TASK_ROUTES["forms_app.filing.tasks.attach_documents_task"]
    assert route["queue"] == settings.FILING_DOCUMENTS_QUEUE == "documents"
    assert _queues("patient-forms-worker.service").split(",") == [
        settings.CELERY_TASK_DEFAULT_QUEUE]
    assert _queues("patient-forms-documents.service") == settings.FILING_DOCUMENTS_QUEUE
    documents = parse(UNITS / "patient-forms-documents.service")
    assert int(one(documents, "Service", "Nice")) > 0
    # A worker started without --queues (development, tests) still renders them.
    assert set(settings.CELERY_TASK_QUEUES) == {"celery", "documents"}


def test_systemd_analyze_verify(tmp_path):
    """systemd's verifier: unknown keys, bad values and missing executables fail it."""
    if shutil.which("systemd-analyze") is None:
        service_unavailable("systemd-analyze is not installed")
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALL_ROOT, str(ROOT)))
    result = subprocess.run(["systemd-analyze", "verify", *sorted(map(str, tmp_path.glob("*")))],
                            capture_output=True, text=True, timeout=120, check=False)
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if re.search(r"patient-forms-\w+\.service", line)]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_verify_would_catch_a_broken_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        service_unavailable("systemd-analyze is not installed")
    broken = tmp_path / "patient-forms-broken.service"
    broken.write_text((UNITS / "patient-forms-beat.service").read_text()
                      .replace(f"{INSTALL_ROOT}/.venv/bin/celery", "/nonexistent/celery")
                      .replace("Restart=always", "Restart=sometimes"))
    result = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True,
                            text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "not executable" in output
