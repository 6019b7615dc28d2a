"""One gap rule (:func:`optdist.result.closes_gap`) and one home of the run's cap (gaprule25).

1. :meth:`optdist.solvers.base.Solver._check_optimal` is the rule applied both ways (the bound
   closes the gap on the incumbent, and the incumbent does not refute the bound): guards that its
   verdicts are those of the copy it replaced.
2. A step of the decomposition that capped a solver's false bound at its own feasible point left
   the run ``optimal``: the run's bound was built from the capped value, so
   :func:`optdist.result.finalize` never saw the false one, and the cap, though listed in
   ``extra["bound_capped"]``, did not make the optimum unproven. Now the per-class solve keeps
   its bound uncapped (finalize caps the run's bound and records it), and a cap a step still
   makes inside column generation (its pricing, its own bound: they steer its rounds) leaves the
   run unproven in finalize.
"""

from __future__ import annotations

import pytest

import optdist
from optdist.milp.decomposition import single
from optdist.result import SolveResult, Termination, finalize
from optdist.solvers import get_solver
from optdist.solvers.base import SolverOutcome
from tests.conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"


def _checked(incumbent: float, bound: float, mip_gap: float | None, solver: str = "highs") -> SolverOutcome:
    out = SolverOutcome(Termination.OPTIMAL, "optimal", incumbent=incumbent, bound=bound, has_solution=True)
    get_solver(solver)._check_optimal(out, mip_gap)
    return out


@pytest.mark.parametrize(("incumbent", "bound", "mip_gap", "optimal"), [
    (100.0, 99.995, 1e-4, True),  # gap 5e-5 within 1e-4
    (100.0, 99.9899, 1e-4, False),  # gap 1.01e-4: beyond
    (100.0, 100.0 - 0.9e-6, 0.0, True),  # within HiGHS's mip_abs_gap (1e-6), gap 0 requested
    (100.0, 100.0 - 2e-6, 0.0, False),  # beyond both
    (100.0, 100.0 + 0.9e-6, 0.0, True),  # a bound above within the tolerance: rounding, stands
    (100.0, 100.02, 1e-4, False),  # a bound above beyond it: a false claim, no proof
    (100.0, 100.02, 0.5, True),  # ... unless within the requested gap, as before
])
def test_check_optimal_keeps_its_verdicts(incumbent, bound, mip_gap, optimal):
    """Guard: the verdicts of the copy that ``closes_gap`` replaced, bound kept either way."""
    out = _checked(incumbent, bound, mip_gap)
    assert (out.termination is Termination.OPTIMAL) == optimal, out.extra
    assert out.bound == bound and ("optimality_unproven" in out.extra) == (not optimal)


def test_check_optimal_names_a_bound_above_the_incumbent():
    out = _checked(100.0, 100.02, 1e-4)
    assert "is above its incumbent 100" in out.extra["optimality_unproven"]


def _false_alone_bound(monkeypatch: pytest.MonkeyPatch, greedy: bool) -> None:
    """The per-class solve's solver reports twice its incumbent as its proven bound (a false
    optimum, as GLPK's on a pricing solve: optdist.milp.decomposition.guard). ``greedy`` False:
    the greedy start is switched off, so that the solve runs without a known point (no cutoff at
    one); True: the solve is cut off at the greedy's objective, under which the false bound was
    hidden (``min(bound, cutoff)``)."""
    real = single.solve_built

    def false_bound(*args, **kwargs):
        out, asg, seeded = real(*args, **kwargs)
        if out.incumbent is not None:
            out.termination, out.bound = Termination.OPTIMAL, 2 * out.incumbent
        return out, asg, seeded

    monkeypatch.setattr(single, "solve_built", false_bound)
    if not greedy:
        monkeypatch.setattr(single, "greedy_alone", lambda *args, **kwargs: None)


@pytest.mark.parametrize("greedy", [False, True])
def test_a_false_per_class_bound_reaches_the_run_and_is_capped_there(monkeypatch, greedy):
    """The real decomposition on micro-2x2-tau0.6 (HiGHS): request r1's solve reports a bound
    above its own placement's objective. Before: that solve capped it at the objective itself
    (without the greedy start; with it, the cutoff at the greedy's objective hid it, unrecorded),
    the run's bound (the sum) equalled the run's objective, and the run said ``optimal``, gap 0.
    Now the run's bound is above its placement's score, finalize caps it there, records it and the
    run is ``feasible``, unproven; the coupled step does not run for it (the bound closes the gap:
    no column generation can help)."""
    _false_alone_bound(monkeypatch, greedy)
    res = optdist.solve(optdist.load_instance(MICRO), formulation="decomposed", solver="highs", mip_gap=1e-4,
                        threads=1)
    assert res.has_solution and res.evaluation.feasible
    assert res.termination is Termination.FEASIBLE, res.extra
    capped = res.extra["bound_capped"]
    assert [c["what"] for c in capped] == ["the run's bound"] and capped[0]["reported"] > capped[0]["capped_to"]
    assert res.bound is None and res.extra["bound_unproven"] == res.evaluator_objective  # no bound rests on a false claim
    assert "above the placement's own score" in res.extra["optimality_unproven"]
    assert "coupled" not in res.extra


def test_the_same_run_without_the_false_bound_is_optimal():
    """Guard: the run of the test above, its solver untouched, is ``optimal`` with no cap."""
    res = optdist.solve(optdist.load_instance(MICRO), formulation="decomposed", solver="highs", mip_gap=1e-4,
                        threads=1)
    assert res.termination is Termination.OPTIMAL and "bound_capped" not in res.extra


#: what column generation records when it caps a pricing solve's false bound (guard.cap_bound)
PRICING_CAP = {"what": "pricing of class 0", "solver": "glpk", "reported": 2.858e-3, "capped_to": 7.56e-4}


@pytest.mark.parametrize("termination", [Termination.OPTIMAL, Termination.TIME_LIMIT])
def test_a_cap_a_step_recorded_leaves_the_run_unproven(termination):
    """A run whose bound column generation built from a capped pricing bound: its bound equals its
    objective, the cap is in ``extra["bound_capped"]``. Before: ``optimal`` stayed, and
    ``time_limit`` became ``optimal`` (:func:`optdist.result._closed_at_limit`). Now neither
    claims a proof; the record is kept as it was."""
    inst = optdist.load_instance(MICRO)
    opt = optdist.solve(inst, formulation="decomposed", solver="highs", mip_gap=1e-4, threads=1)
    score = opt.evaluator_objective
    res = finalize(inst, SolveResult(inst.name, "milp", termination, objective=score, bound=score, solver="highs",
                                     formulation="decomposed", assignment=opt.assignment,
                                     options={"mip_gap": 1e-4}, extra={"bound_capped": [dict(PRICING_CAP)]}))
    assert res.termination is (Termination.FEASIBLE if termination is Termination.OPTIMAL else termination)
    assert res.extra["bound_capped"] == [PRICING_CAP] and res.bound is None and res.extra["bound_unproven"] == score
    if termination is Termination.OPTIMAL:
        assert "pricing of class 0: glpk reported 0.002858" in res.extra["optimality_unproven"]
