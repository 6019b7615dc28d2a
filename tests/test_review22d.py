"""review22d: a fresh review of tidy22b's kept warm start (optdist/milp/run.py ``offer_warm_start``,
optdist/commands/solve.py ``_Stopper``).

The stop at the deadline (the process's own ``optdist solve``, ``--time-limit`` spent starting up)
reports what the run's progress holds; ``cmd_solve`` offers it the ``--warm-start`` file before the
stop can fire. Only a start the evaluator finds feasible may be offered: the stop's result is
``time_limit`` (not a termination that claims feasibility, so :func:`optdist.result.finalize` would
not mark it ``violated``), and an infeasible start would be reported as the run's incumbent.
tests/test_warm_start_kept.py covers the infeasible start in a library call only.
"""

from __future__ import annotations

import json
import subprocess
import sys

import optdist
from tests.conftest import ROOT

#: one CIFAR request on 4 devices (tests/test_warm_start_kept.py's instance)
INSTANCE = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"


def test_optdist_solve_never_reports_an_infeasible_warm_start_when_the_limit_is_spent_starting_up(tmp_path):
    inst = optdist.load_instance(INSTANCE)
    start = optdist.solve(inst, method="greedy").assignment
    owners = [[layer.copy() for layer in per_request] for per_request in start.owners]
    owners[0][0][:] = inst.node_ids.index("rpi3-1")  # the first conv on a device, not its camera
    bad = optdist.Assignment(owners)
    assert not optdist.evaluate(inst, bad).feasible
    start_file, out_file = tmp_path / "start.json", tmp_path / "res.json"
    bad.save(inst, start_file)
    cmd = [sys.executable, "-m", "optdist", "solve", str(INSTANCE), "--time-limit", "1e-9", "--warm-start",
           str(start_file), "--out", str(out_file)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "spent before the solve could start" in run.stderr, run.stderr  # the stop at the deadline reported
    assert "termination  no_solution" in run.stdout and "incumbent    " not in run.stdout, run.stdout
    doc = json.loads(out_file.read_text())
    assert doc["termination"] == "no_solution" and doc.get("assignment") is None, doc
    assert "incumbent" not in doc["extra"], doc["extra"]
