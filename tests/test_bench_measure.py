"""bench/measure.py with BENCH_CODE_ROOT measures that checkout's code, whatever the
working directory (Celery's Django fix-up puts the working directory first on sys.path:
a before-and-after run measured the same code twice)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_compared_checkout_is_the_code_measured(tmp_path):
    # A working directory whose own `patients` would be imported if it came first.
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "__init__.py").write_text(
        'raise ImportError("the working directory\'s code was imported")\n')
    env = {**os.environ, "BENCH_CODE_ROOT": str(ROOT), "BENCH_OUT": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "measure.py"), "nothing"], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
