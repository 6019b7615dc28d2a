"""auto44: the default (``auto``: the decomposition) is the fastest exact path with GLPK too.

Before, a solver whose claims are checked (GLPK, a user's adapter) ran each single-request round of
the decomposition at ``LB0 (1 + delta)``, never at the best objective known: on the paper set
lenet-1x10-tau0.8 GLPK 5 was left, with no MIP start, a model whose latency floor (the stage bounds'
0.000688539 s) it could not close, and ``optdist solve --solver glpk`` stopped at gap 9.9e-4 after
60 s where ``--formulation tight`` proved the optimum in 9.8 s. Now its solver round is cut off at the
best objective known (the greedy's), where that placement refutes a false ``infeasible``: 0.2 s.
"""

from __future__ import annotations

import pytest

from optdist.bench.solu import read_solu
from optdist.instance import load_instance
from optdist.milp.decomposition.single import CHECKED_MARGIN, solve_single
from optdist.result import Termination
from optdist.solve import solve
from tests.conftest import ROOT, requires_solver

NAME = "lenet-1x10-tau0.8"
#: the optimum the tight model proves on every solver (HiGHS, SCIP, CBC, GLPK), as instances/paper.solu records it
OPTIMUM = read_solu(ROOT / "instances" / "paper.solu")[NAME].opt


@requires_solver("glpk")
def test_glpk_single_request_rounds_run_cut_off_at_the_best_known_objective():
    """Every GLPK round of the request alone runs cut off at the greedy's objective (plus
    CHECKED_MARGIN; the rounds below it are stage bounds only), and that one round proves the optimum."""
    inst = load_instance(ROOT / "instances" / "paper" / f"{NAME}.json")
    ss = solve_single(inst, 0, solver="glpk", time_limit=20, mip_gap=1e-5)
    greedy = ss.steps[0]["objective"]
    solved = [s for s in ss.steps if "status" in s]
    assert solved and all(greedy <= s["cutoff"] <= greedy * (1 + CHECKED_MARGIN) for s in solved), ss.steps
    assert [s["result"] for s in ss.steps[1:] if "status" not in s] == ["pruned by stage bounds"] * 2, ss.steps
    assert ss.termination is Termination.OPTIMAL, ss.steps
    assert ss.objective == pytest.approx(OPTIMUM, rel=1e-7)
    assert ss.bound <= ss.objective


@requires_solver("glpk")
def test_default_solve_with_glpk_proves_the_tight_optimum():
    """``optdist solve FILE --solver glpk`` (formulation auto: the decomposition) proves the
    optimum that the tight model proves; the evaluator re-scores it, the bound is at most it."""
    res = solve(ROOT / "instances" / "paper" / f"{NAME}.json", solver="glpk", time_limit=30)
    assert res.extra["formulation_chosen"] == "decomposed"
    assert res.termination is Termination.OPTIMAL, res.extra
    assert "coupled" not in res.extra, res.extra  # the per-class solve closed the run
    assert res.evaluation.feasible and res.evaluation.objective == pytest.approx(res.objective, rel=1e-12)
    assert res.objective == pytest.approx(OPTIMUM, rel=1e-7)
    assert res.bound <= res.objective
