"""break14: GLPK's endings read from its log. 'cannot solve LP relaxation' (coefficients 1e25
apart) was reported as ``termination error (ok/other)`` with no hint; a stop within --mipgap
was ``error`` too (Pyomo reads it as 'feasible'), and on such extreme coefficients its bound
is not to be trusted."""

from __future__ import annotations

import copy
import json

from optdist.cli import main
from optdist.instance import load_instance, parse
from optdist.result import Termination
from optdist.solve import solve

from .conftest import ROOT, requires_solver
from .test_break12_extremes import _far_apart_speeds


def _makespan_far_apart() -> dict:
    doc = copy.deepcopy(_far_apart_speeds())
    doc["objective"] = {"kind": "makespan", "admission": True}  # GLPK's simplex: basis singular (cond 4.9e17)
    return doc


@requires_solver("glpk")
def test_lp_relaxation_failure_is_named_with_what_to_do(tmp_path, capsys):
    path = tmp_path / "far.json"
    path.write_text(json.dumps(_makespan_far_apart()))
    assert main(["solve", str(path), "--solver", "glpk", "--formulation", "tight", "--threads", "1"]) == 1
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "glpk could not solve the LP relaxation" in err and "basis matrix is singular" in err
    assert "--tee shows the solver log" in err and "--solver highs" in err


@requires_solver("glpk")
def test_a_stop_within_the_gap_is_optimal_with_glpks_bound():
    inst = load_instance(ROOT / "instances/tiny/lenet-2x4-tight.json")
    res = solve(inst, formulation="compact", solver="glpk", mip_gap=0.5, threads=1)
    # glpsol: RELATIVE MIP GAP TOLERANCE REACHED, which Pyomo reads 'feasible'; the status in optdist's word (solv28)
    assert res.extra["solver_status"] == "ok/optimal" and res.extra["solver_said"] == "ok/feasible", res.extra
    assert res.termination == Termination.OPTIMAL  # was error
    assert res.bound is not None and res.bound < res.objective <= res.bound * 1.5
    exact = solve(inst, formulation="compact", solver="highs", mip_gap=0.0, threads=1)
    assert res.bound <= exact.objective * (1 + 1e-9) <= res.objective * (1 + 1e-9)


@requires_solver("glpk")
def test_a_stop_within_the_gap_on_extreme_coefficients_is_not_called_optimal():
    """GLPK's 'bound' here (784166 s) is far above the true optimum (0.0865 s, admitted)."""
    inst = parse(_far_apart_speeds(), "far-apart")
    res = solve(inst, formulation="tight", solver="glpk", threads=1)
    assert res.termination == Termination.ERROR and res.has_solution  # its placement kept, unproven
    assert res.bound is None
    assert "too wide for its bound to be trusted" in res.extra["solver_error"]
