"""fixc31: a sweep whose solver runs all kept a warm start says so; --write-solu keeps a .solu file's
comments; the false-.solu-line warning names only the proving records; --write-solu DIR suggests a
.solu name; one rule for calibrate's comma lists; SolveResult.load refuses a self-contradicting result.

Real HiGHS/CBC on tiny instances; the lying CBC is the stand-in of tests/test_solverout30.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import requires_solver
from tests.test_solverout30 import LENET, LIES_INFEASIBLE, _cbc_rewriting, _run

# --- 1. every solver run ended error but kept its warm start ---------------------------------------------------


@requires_solver("cbc")
def test_a_sweep_whose_runs_kept_their_warm_start_says_so_on_stderr(tmp_path):
    """Before: "2 runs ... (0 failed)", exit 0, nothing on stderr."""
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [str(LENET)],
                                "methods": ["milp"], "solvers": ["cbc"], "formulations": ["tight", "compact"]}))
    run = _run("bench", str(spec), "--no-progress", path=_cbc_rewriting(tmp_path / "bin", LIES_INFEASIBLE))
    assert run.returncode == 0, run.stderr  # exit status unchanged: results, not failures
    assert "(0 failed)" in run.stdout
    lines = [x for x in run.stderr.splitlines() if "ended in solver error" in x]
    assert len(lines) == 1, run.stderr
    assert "t: 2 of 2 runs ended in solver error" in lines[0] and "kept their feasible warm start" in lines[0]
    assert str(tmp_path / "o" / "records") in lines[0] and "--cbc--tight--" in lines[0]
