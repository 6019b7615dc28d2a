"""The CLI's stop at its deadline says ``no_solution`` when it has no placement, as every other
path does (``optdist.solvers.base``: a limit that stops the search without an incumbent is
``no_solution``); found with `optdist solve instances/coupled/lenet-8x4-rpi3.json --solver cbc
--formulation tight --time-limit 8`, which printed ``termination  time_limit`` and ``no solution``."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_a_limit_spent_before_the_solve_is_no_solution(tmp_path):
    out = tmp_path / "res.json"
    inst = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"
    run = subprocess.run([sys.executable, "-m", "optdist", "solve", str(inst), "--time-limit", "0.001", "--out", str(out)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 1, run.stderr
    assert "termination  no_solution" in run.stdout
    assert json.loads(out.read_text())["termination"] == "no_solution"
