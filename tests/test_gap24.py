"""gap24: an exact run that a limit stopped with a bound that already closes the requested gap is
``optimal`` (the vocabulary: proven within the gap), decided by one predicate for the MILP path
(:func:`optdist.result.finalize`, after the bound's cap) and the decomposition (:func:`_settle`):
:func:`optdist.result.closes_gap`.

No real solver stops at its time limit inside the window between its last integer solution and its
declaring the search done on demand (CBC on lenet-3x10-tau0.6 ``--time-limit 5.4`` did, by the
clock), so the result is built as the solver path returns it, from a real CBC solve, and passed to
the real :func:`finalize`, as tests/test_tidy24.py does.
"""

from __future__ import annotations

import pytest

import optdist
from optdist.result import SolveResult, Termination, closes_gap, finalize
from tests.conftest import LENET_1X4


@pytest.fixture(scope="module")
def cbc_optimum():
    """(LENET_1X4, CBC's optimal result of it on ``tight``): a real incumbent with CBC's bound."""
    inst = optdist.load_instance(LENET_1X4)
    res = optdist.solve(inst, formulation="tight", solver="cbc")
    assert res.termination is Termination.OPTIMAL and res.evaluation.feasible and res.bound < res.objective
    return inst, res


def _stopped(inst, opt: SolveResult, termination: Termination, *, bound: float | None = None,
             objective: float | None = None, solver: str = "cbc", options: dict | None = None) -> SolveResult:
    """``opt``'s placement, objective and bound as a solver a limit stopped returns them."""
    return SolveResult(inst.name, "milp", termination, objective=opt.objective if objective is None else objective,
                       bound=opt.bound if bound is None else bound, solver=solver, formulation="tight",
                       options=dict(opt.options) if options is None else options, assignment=opt.assignment)


@pytest.mark.parametrize("termination", [Termination.TIME_LIMIT, Termination.ITERATION_LIMIT])
def test_a_run_a_limit_stopped_with_the_gap_closed_is_optimal(cbc_optimum, termination):
    """CBC's incumbent and bound (their gap is the requested 1e-4, to rounding), the termination a
    limit's: ``optimal``, the solver's word kept. Before: ``time_limit``."""
    inst, opt = cbc_optimum
    res = finalize(inst, _stopped(inst, opt, termination))
    assert res.gap == pytest.approx(opt.options["mip_gap"], rel=1e-9)  # at the edge: rounding is within it
    assert res.termination is Termination.OPTIMAL, res.extra
    assert res.extra["claimed_termination"] == str(termination)
    assert res.bound == opt.bound and "optimality_unproven" not in res.extra


def test_a_run_a_limit_stopped_with_a_gap_left_stays_time_limit(cbc_optimum):
    inst, opt = cbc_optimum
    res = finalize(inst, _stopped(inst, opt, Termination.TIME_LIMIT, bound=0.9 * opt.objective))
    assert res.termination is Termination.TIME_LIMIT and "claimed_termination" not in res.extra


def test_a_false_bound_capped_at_the_score_proves_nothing(cbc_optimum):
    """A bound 2x the placement's score (a false claim) is capped there (gap about 0): the run stays
    ``time_limit``, the cap recorded; the cap must not make the proof."""
    inst, opt = cbc_optimum
    res = finalize(inst, _stopped(inst, opt, Termination.TIME_LIMIT, bound=2 * opt.objective))
    assert res.gap < 1e-8 and res.extra["bound_capped"][-1]["reported"] == 2 * opt.objective
    assert res.termination is Termination.TIME_LIMIT and "claimed_termination" not in res.extra


def test_without_a_requested_gap_nothing_is_proven(cbc_optimum):
    """The CLI's report at its deadline passes no ``mip_gap``: its ``time_limit`` stays."""
    inst, opt = cbc_optimum
    res = finalize(inst, _stopped(inst, opt, Termination.TIME_LIMIT, options={}))
    assert res.termination is Termination.TIME_LIMIT


@pytest.mark.parametrize("solver, optimal", [("cbc", True), ("highs", False)])
def test_the_solvers_absolute_tolerance_closes_the_gap_too(cbc_optimum, solver, optimal):
    """``mip_gap`` 0 and the bound 5e-12 s below the objective (relative 4.8e-9 > 1e-9): within
    CBC's absolute tolerance (its cutoff increment 1e-5 model units, 1e-11 s), not HiGHS's
    (1e-6 units, 1e-12 s)."""
    inst, opt = cbc_optimum
    score = opt.evaluation.objective
    res = finalize(inst, _stopped(inst, opt, Termination.TIME_LIMIT, objective=score, bound=score - 5e-12,
                                  solver=solver, options={"mip_gap": 0.0}))
    assert (res.termination is Termination.OPTIMAL) == optimal, res.extra


@pytest.mark.parametrize("mip_gap, below", [(1e-4, 0.5e-4), (1e-4, 2e-4), (0.0, 5e-9), (0.0, 0.5e-9)])
@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_the_decomposition_and_finalize_rule_alike(cbc_optimum, mip_gap, below, solver):
    """One predicate: the decomposition's :func:`_settle` (with the adapter's absolute tolerance,
    as :func:`solve_decomposed` passes it) and :func:`finalize` on a time-limited run say
    ``optimal`` for the same objective, bound and requested gap, as :func:`closes_gap` does."""
    from optdist.milp.decomposition.orchestrate import _settle
    from optdist.milp.run import Clock
    from optdist.result import solver_abs_gap
    from optdist.solvers import get_solver

    inst, opt = cbc_optimum
    score = opt.evaluation.objective
    bound = score * (1 - below)
    decomposed = _stopped(inst, opt, Termination.NO_SOLUTION, objective=score, bound=bound, solver=solver,
                          options={"mip_gap": mip_gap})
    _settle(decomposed, Clock(0.0), mip_gap=mip_gap, abs_gap=get_solver(solver).abs_gap)
    limited = finalize(inst, _stopped(inst, opt, Termination.TIME_LIMIT, objective=score, bound=bound, solver=solver,
                                      options={"mip_gap": mip_gap}))
    proven = closes_gap(score, bound, mip_gap, solver_abs_gap(solver))
    assert (decomposed.termination is Termination.OPTIMAL) == proven
    assert (limited.termination is Termination.OPTIMAL) == proven
    assert proven == (below <= max(mip_gap, 1e-9) or score * below <= solver_abs_gap(solver))
