"""False claims read as proofs (warm23b): CBC's 'infeasible' at its time limit; a solver's claim
that a feasible warm start contradicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optdist.instance import load_instance
from optdist.milp import build
from optdist.result import Termination
from optdist.solvers import get_solver
from optdist.solvers.cbc import Cbc

ROOT = Path(__file__).resolve().parents[1]

#: CBC 2.10.8's whole log of a feasible model (lenet-10x10-tau0.6, optimum ~6000) whose
#: preprocessing the time limit stopped: ``cbc l10.lp -sec 0.7 -timeMode elapsed -threads 1 -solve
#: -solu s.txt`` on a core shared with two busy loops (its solution file: "Integer infeasible -
#: objective value 5250.63355758"). Timing-dependent, so the exact lines are tested here.
PREPROCESSING_STOPPED_LOG = """Welcome to the CBC MILP Solver 
Version: 2.10.8 
Build Date: May  9 2022 

command line - cbc l10.lp -sec 0.7 -timeMode elapsed -threads 1 -solve -solu solc_0.7.txt (default strategy 1)
seconds was changed from 1e+100 to 0.7
Option for timeMode changed from cpu to elapsed
threads was changed from 0 to 1
Continuous objective value is 5250.63 - 0.20 seconds
Cgl0000I Cut generators found to be infeasible! (or unbounded)
Pre-processing says infeasible or unbounded
Total time (CPU seconds):       0.26   (Wallclock seconds):       0.85

"""


def test_cbc_infeasible_from_preprocessing_stopped_on_time_is_no_proof():
    """CBC 2.10 says 'Pre-processing says infeasible' when its clock, not a proof, stopped the
    preprocessing (the run's wall clock 0.85 s past its 0.7-s limit): the claim is doubted."""
    from optdist.solvers.cbc import infeasibility_unproven

    why = infeasibility_unproven(PREPROCESSING_STOPPED_LOG)
    assert why is not None and "ran up to 0.855 s" in why and "time limit is 0.7 s" in why
    # the same claim well within the limit stands (a real proof prints the same words)
    assert infeasibility_unproven(PREPROCESSING_STOPPED_LOG.replace("to 0.7", "to 60")) is None
    # any stop on time said in the log: "No feasible solution found" is read as infeasible by Pyomo
    assert infeasibility_unproven("Result - Stopped on time limit\n\nNo feasible solution found\n") is not None
    # a limit but no time printed: nothing tells the clock from a proof
    assert infeasibility_unproven("seconds was changed from 1e+100 to 5\nPre-processing says infeasible or unbounded\n")


@pytest.mark.skipif(not Cbc.is_available(), reason="cbc not installed")
def test_cbc_real_infeasibility_within_its_time_limit_is_still_infeasible():
    """Guard: a model CBC proves infeasible well within its limit stays ``infeasible``."""
    i = load_instance(ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json")
    b = build(i, capacity_override={"memory": np.zeros(i.n_nodes)})
    out = get_solver("cbc").solve(b.model, time_limit=60, threads=1)
    assert out.termination is Termination.INFEASIBLE and "claim_discarded" not in out.extra


# --- a solver's claim contradicted by a feasible placement --------------------------------------

def _optimum(name: str):
    """(instance, HiGHS's optimal placement of it) for a tiny instance."""
    from optdist.solve import solve

    i = load_instance(ROOT / "instances" / "tiny" / f"{name}.json")
    res = solve(i, solver="highs", mip_gap=1e-6)
    assert res.termination is Termination.OPTIMAL and res.evaluation.feasible
    return i, res


def test_a_claim_of_infeasibility_contradicted_by_a_feasible_warm_start_is_discarded():
    """A real solver cannot be made to claim this model infeasible on demand (CBC's false claim at its
    time limit is timing-dependent and now read as a time stop), so the result is built as
    :func:`optdist.milp.run.solve_formulation` builds it from such an outcome (termination
    ``infeasible``, no placement, the solver's bound) and passed to the function that combines it
    with the warm start, :func:`optdist.milp.run._keep_warm_start`. Before: left ``infeasible``,
    the feasible start dropped."""
    from optdist.evaluate import evaluate
    from optdist.milp.run import _keep_warm_start
    from optdist.result import SolveResult, finalize

    i, opt = _optimum("micro-2x2-tau0.6")
    res = SolveResult(i.name, "milp", Termination.INFEASIBLE, bound=123.0, solver="cbc", formulation="tight")
    _keep_warm_start(i, res, opt.assignment, evaluate(i, opt.assignment), "unused")
    finalize(i, res)
    # one meaning with plain solve's (engine31: optdist.milp.run.claim_refuted): error, the start kept
    assert res.termination is Termination.ERROR and res.assignment is opt.assignment
    assert res.bound is None and res.objective == pytest.approx(opt.evaluator_objective)
    assert res.extra["claim_refuted"] is True
    assert res.extra["solver_error"].startswith("solver cbc claimed infeasible, but a feasible placement exists (the "
                                                "warm start")
    assert res.extra["incumbent"].startswith("the warm start: ")


def test_a_bound_above_the_placements_own_score_is_capped_and_proves_nothing():
    """A solver's bound above the evaluator's score of a feasible placement is no valid bound:
    :func:`optdist.result.finalize` caps it there with guard.cap_bound (the CLI's and the
    decomposition's rule), records it in ``bound_capped`` naming the solver, and the ``optimal``
    it proved becomes ``feasible``. Built as a solver path returns it (no real solver claims a
    false bound on demand). Before: the bound 2x the objective was reported, ``optimal`` kept."""
    from optdist.result import SolveResult, finalize

    i, opt = _optimum("micro-2x2-tau0.6")
    score = opt.evaluator_objective
    res = SolveResult(i.name, "milp", Termination.OPTIMAL, objective=score, bound=2 * score, solver="glpk",
                      assignment=opt.assignment, options={"mip_gap": 1e-4})
    finalize(i, res)
    assert res.bound is None and res.extra["bound_unproven"] == pytest.approx(score)  # cap44
    assert res.extra["bound_capped"] == [{"what": "the run's bound", "solver": "glpk", "reported": 2 * score,
                                          "capped_to": pytest.approx(score)}]
    assert res.termination is Termination.FEASIBLE and "no proof" in res.extra["optimality_unproven"]


def test_the_coupled_steps_claim_of_infeasibility_does_not_drop_a_feasible_incumbent():
    """:func:`optdist.milp.decomposition.orchestrate._merge`, the step that combines the coupled
    solve's outcome with the run's incumbent, given an ``infeasible`` outcome as the coupled solve
    returns it (no real solver claims it on demand). Before: the run ended ``infeasible`` and its
    feasible placement (the warm start) was dropped."""
    from optdist.milp.decomposition.orchestrate import _merge
    from optdist.result import SolveResult

    i, opt = _optimum("micro-2x2-tau0.6")
    res = SolveResult(i.name, "milp", Termination.NO_SOLUTION, solver="scip", assignment=opt.assignment,
                      objective=opt.evaluator_objective, bound=0.5 * opt.evaluator_objective)
    _merge(i, res, None, 10.0, Termination.INFEASIBLE, 3)
    assert res.termination is Termination.NO_SOLUTION and res.assignment is opt.assignment
    assert res.bound == 0.5 * opt.evaluator_objective
    assert res.extra["warning"].startswith("solver scip claimed the coupled model infeasible")


def test_a_class_claiming_infeasibility_does_not_drop_a_feasible_warm_start(monkeypatch):
    """The per-request solves run for real (HiGHS); one class's outcome is then replaced by an
    ``infeasible`` claim as :func:`~optdist.milp.decomposition.single.solve_single` returns one (no
    real solver claims it on demand). With a feasible warm start the run keeps it, the claim named
    in ``extra['warning']``. Before: the run ended ``infeasible``, the start dropped."""
    from optdist.milp.decomposition import orchestrate
    from optdist.milp.decomposition.single import SingleSolve
    from optdist.result import finalize

    i, opt = _optimum("micro-2x2-tau0.6")
    real = orchestrate.solve_classes

    def one_claims_infeasible(*args, **kwargs):
        solves = real(*args, **kwargs)
        reqs, s = solves[0]
        solves[0] = (reqs, SingleSolve(s.r, Termination.INFEASIBLE, None, None, s.nodes, s.seconds, None))
        return solves

    monkeypatch.setattr(orchestrate, "solve_classes", one_claims_infeasible)
    res = finalize(i, orchestrate.solve_decomposed(i, solver="highs", warm_start=opt.assignment, threads=1))
    assert res.termination is not Termination.INFEASIBLE and res.evaluation.feasible
    assert res.objective == pytest.approx(opt.evaluator_objective)
    assert "claimed request(s)" in res.extra["warning"] and "infeasible alone" in res.extra["warning"]
    # without a start the claim stands (a request alone infeasible: the whole is)
    res = orchestrate.solve_decomposed(i, solver="highs", threads=1)
    assert res.termination is Termination.INFEASIBLE and res.extra["infeasible_requests"]


@pytest.mark.skipif(not Cbc.is_available(), reason="cbc not installed")
def test_cbc_claim_made_at_its_raw_time_limit_reads_as_the_limit_reached():
    """The real CBC through the adapter, deterministically: a raw ``sec`` of 0.001 s is past before
    CBC's first step (it prints its time as 0.00, i.e. up to 0.005 s), and its 'infeasible' made
    then cannot be told from the false one its clock-stopped preprocessing prints (on this
    infeasible model it happens to be true, so the test is of the mapping, not of the model):
    ``no_solution``, the limit reached, ``claim_discarded`` saying why. Before: ``infeasible``."""
    i = load_instance(ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json")
    b = build(i, capacity_override={"memory": np.zeros(i.n_nodes)})
    out = get_solver("cbc").solve(b.model, solver_options={"sec": 0.001}, threads=1)
    # optdist's word for what stopped it; CBC's and Pyomo's kept beside it (robust28, solv28)
    assert out.status == "warning/time_limit" and out.extra["solver_said"] == "warning/infeasible", out
    assert out.termination is Termination.NO_SOLUTION and out.extra["limit_reached"] == "time_limit"
    assert out.extra["claim_discarded"].startswith("cbc said infeasible: it ran up to ")
