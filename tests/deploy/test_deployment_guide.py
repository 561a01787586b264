"""docs/deployment.md keeps up with the code: every setting that config/settings.py reads
from the environment is in its "Environment" tables, every variable those tables name is
read somewhere, and every docs/ path the repository mentions exists."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
# Read by the units and gunicorn.conf.py, not by the settings.
PROCESS_VARIABLES = {
    "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_FORWARDED_ALLOW_IPS", "GUNICORN_TIMEOUT",
    "GUNICORN_MAX_REQUESTS", "GUNICORN_LOG_LEVEL", "GUNICORN_ACCESS_LOG",
    "PROMETHEUS_MULTIPROC_DIR",
    "CELERY_CONCURRENCY", "CELERY_MAX_TASKS_PER_CHILD",
}


def settings_variables(source: str) -> set[str]:
    """Names passed to env(), env_bool() and env_list() in a settings module."""
    tree = ast.parse(source)
    helpers = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
               and fn.name in {"env", "env_bool", "env_list"} for node in ast.walk(fn)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in helpers:
            continue  # the helpers' own env(name) calls
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in {"env", "env_bool", "env_list"}):
            first = node.args[0] if node.args else None
            # A computed name (the production check's loop over required names) reads
            # only names that are also read by name below it.
            if isinstance(first, ast.Constant):
                names.add(first.value)
    return names


def documented_variables(guide: str) -> set[str]:
    """Names in backticks in the first column of the tables under "Environment" and
    "Web hosts and gunicorn"."""
    names = set()
    for section in re.split(r"^## ", guide, flags=re.M):
        if not section.startswith(("Environment", "Web hosts and gunicorn")):
            continue
        for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
    return names


def test_every_setting_read_from_the_environment_is_documented():
    read = settings_variables((ROOT / "config" / "settings.py").read_text())
    assert len(read) > 50  # the parser found them
    missing = read - documented_variables(GUIDE.read_text())
    assert not missing, f"add to docs/deployment.md, Environment: {sorted(missing)}"


def test_every_documented_variable_is_read_somewhere():
    read = settings_variables((ROOT / "config" / "settings.py").read_text())
    unknown = documented_variables(GUIDE.read_text()) - read - PROCESS_VARIABLES
    assert not unknown, f"documented but read nowhere: {sorted(unknown)}"
    code = ((ROOT / "gunicorn.conf.py").read_text()
            + "".join(p.read_text() for p in (ROOT / "deploy" / "systemd").glob("*.service"))
            + (ROOT / "config" / "metrics.py").read_text())
    assert all(name in code for name in PROCESS_VARIABLES)


def test_the_check_sees_a_missing_setting():
    source = 'X = env("SURELY_UNDOCUMENTED_SETTING", "1")\nY = env_bool("DJANGO_DEBUG")\n'
    read = settings_variables(source)
    assert read == {"SURELY_UNDOCUMENTED_SETTING", "DJANGO_DEBUG"}
    assert read - documented_variables(GUIDE.read_text()) == {"SURELY_UNDOCUMENTED_SETTING"}


def test_every_docs_path_mentioned_exists():
    mentioned = {}
    files = [p for pattern in ("*.py", "*.md", "*.html", "*.service", "*.toml", "Makefile")
             for p in ROOT.rglob(pattern)
             if not {".venv", ".git", "node_modules", "test-artifacts"} & set(p.parts)]
    for path in files:
        for ref in re.findall(r"\bdocs/[\w./-]+\.md\b", path.read_text(errors="replace")):
            mentioned.setdefault(ref, path.relative_to(ROOT))
    assert "docs/adr/0012-jinja2-for-patient-pages.md" in mentioned
    broken = {ref: str(where) for ref, where in mentioned.items() if not (ROOT / ref).exists()}
    assert not broken, broken
