"""bench/measure.py writes rows with hand-written SQL (fast, on the server): when a model
gains a NOT NULL column, the benchmark's growth step must still run. It failed once,
late in a run, after links gained ``lockouts`` and submissions ``device``."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from forms_app.models import Link, Submission
from patients.models import AuditEvent, RecordEntry
from tests.conftest import service_unavailable
from tests.factories.world import build_world
from tests.integration.conftest import ROOT, _database_url

pytestmark = pytest.mark.integration


def test_the_growth_step_adds_rows_to_every_table_filing_touches(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        service_unavailable("bench/measure.py grow needs DATABASE_URL pointing at PostgreSQL")
    build_world()
    tables = (Link, Submission, RecordEntry, AuditEvent)
    before = [model.objects.count() for model in tables]
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": "",
           "BENCH_OUT": str(tmp_path)}
    result = subprocess.run([sys.executable, "bench/measure.py", "grow", "3"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1])["added_per_table"] == 3
    assert [model.objects.count() for model in tables] == [n + 3 for n in before]
