"""Several hosts behind a load balancer, faults under load: nothing lost, nothing twice.

Runs tests/cluster/scenario.py (docs in its module docstring) with short phases; the
full run, with its table written to tests/cluster/RESULTS.md, is `make cluster-test`.
"""

import pytest

from tests.cluster.hosts import requirements_missing
from tests.cluster.scenario import Config, failures, run_cluster, write_results
from tests.conftest import service_unavailable

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


def test_faults_under_load_lose_nothing_and_file_nothing_twice(capsys):
    missing = requirements_missing()
    if missing:
        service_unavailable(missing)
    results = run_cluster(Config(phase_seconds=10, fault_seconds=40))
    with capsys.disabled():
        print("\n" + write_results(results, committed=False))
    assert failures(results) == []
    totals = results["totals"]
    assert (totals["lost"], totals["duplicates"]) == (0, 0)
    assert totals["sent"] > 0 and totals["filed"] >= totals["sent"]
    # The stop and the kill were both seen and recovered from.
    assert results["events"]["worker2_unacked_tasks"] >= 1
    assert results["loads"]["faults"]["patient_errors"] == 0
