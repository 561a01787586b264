"""Migrations must be safe to run while the previous release still serves
(docs/migrations.md): django-migration-linter reads the SQL of every migration of our
apps and refuses what would break the running code or lock a busy table (dropping or
renaming a column or table, adding a NOT NULL column without a database default,
changing a column's type, a RunPython without a reverse, ...). Its warnings count as
errors here.

The only migrations it does not lint are the initial ones listed in INITIAL, each with
its reason. Every later migration is linted: a release that needs an exception adds it
to EXCEPTIONS below, with its reason, in review (never the linter's
IgnoreMigration operation, which would import a development tool in production).
"""

import shutil
import textwrap
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter

ROOT = Path(__file__).resolve().parents[2]
APPS = ("patients", "forms_app")

# No trust has deployed a database yet, so each app has one initial migration,
# regenerated whenever its models change (the house rule): it creates tables nobody
# reads yet, so there is nothing for it to break. Once a trust deploys, this list is
# frozen and every new migration is linted.
INITIAL = {
    ("patients", "0001_initial"): "creates the tables; no deployed database yet",
    ("forms_app", "0001_initial"): "creates the tables; no deployed database yet",
}
# Later migrations let through on purpose: (app, name) -> why it is safe anyway.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def lint(capsys) -> tuple[MigrationLinter, str]:
    skipped = {name for _, name in {**INITIAL, **EXCEPTIONS}}
    linter = MigrationLinter(
        include_apps=APPS, no_cache=True, all_warnings_as_errors=True,
        # ignore_name matches the name in any app: include_apps confines it to ours, and
        # test_only_the_listed_migrations_are_skipped checks that no other is matched.
        ignore_name=sorted(skipped),
    )
    linter.lint_all_migrations()
    return linter, capsys.readouterr().out


@pytest.mark.django_db
def test_every_migration_is_safe_for_a_rolling_deploy(capsys):
    linter, output = lint(capsys)
    assert not linter.has_errors, output
    assert linter.nb_total >= len(INITIAL), output


@pytest.mark.django_db
def test_only_the_listed_migrations_are_skipped():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = {key: m for key, m in loader.disk_migrations.items() if key[0] in APPS}
    for key in INITIAL:
        assert key in ours and ours[key].initial, f"{key} is not an initial migration"
    names = {name for _, name in {**INITIAL, **EXCEPTIONS}}
    matched = {key for key in ours if key[1] in names}
    assert matched == set(INITIAL) | set(EXCEPTIONS), (
        "a skipped name also matches another app's migration: give it its own entry")


@pytest.fixture
def migrations_with_a_dropped_column(tmp_path, monkeypatch, settings):
    """forms_app's migrations plus a second one that drops a column, as a module of
    their own, so the real migrations stay untouched."""
    package = tmp_path / "unsafe_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(ROOT / "forms_app" / "migrations" / "0001_initial.py", package)
    (package / "0002_drop_copyright.py").write_text(textwrap.dedent("""\
        from django.db import migrations


        class Migration(migrations.Migration):
            dependencies = [("forms_app", "0001_initial")]
            operations = [migrations.RemoveField(model_name="form", name="copyright")]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"forms_app": "unsafe_migrations"}
    return package


# transaction: SQLite's sqlmigrate cannot rebuild a table inside the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_the_check_refuses_a_dropped_column(migrations_with_a_dropped_column, capsys):
    """The lint is not vacuous: the previous release still reads the column."""
    linter, output = lint(capsys)
    assert linter.has_errors, output
    assert "(forms_app, 0002_drop_copyright)... ERR" in output, output
    assert "DROPPING columns (table: forms_app_form, column: copyright)" in output, output
