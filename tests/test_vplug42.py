"""vplug42 (a check of plug42): what a user adapter's instance sets is checked as its class is, and
its numbers are floats; no honest optimum is reported feasible. ``self.abs_gap = 1e12`` (or
``self.requested_gap``/``self.built_in``) set in ``__init__``, or on the class after ``register``,
was never checked (register and a class given to one call check the class): an abs_gap so set made
a first incumbent 29 % above its bound ``optimal``; an instance's ``built_in`` skipped every check
of the malformed answer. A ``numpy.float32`` incumbent was the run's objective (a float32), a
float32 NaN bound stayed the run's bound. A decomposed run's summed bound was held to one
request's absolute tolerance (CBC, gap 0: feasible though every step proved its optimum), and a
defended run was judged on its latency's gap, not the score it minimised (feasible at gap 0.3)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import optdist
from optdist.result import Termination
from optdist.solvers import register, unregister
from optdist.solvers.highs import Highs

ROOT = Path(__file__).resolve().parents[1]
TWO = ROOT / "instances" / "tiny" / "lenet-2x4-tight.json"  # a first incumbent 29 % above its bound
TINY = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


class _First(Highs):
    """Stops at HiGHS's first incumbent and calls it optimal (its bound honest)."""

    name = "first"

    def _solve(self, model, opts, warm_start, tee, raw):
        out = super()._solve(model, {**opts, "mip_gap": 1.0}, warm_start, tee, raw)
        if out.has_solution:
            out.termination = Termination.OPTIMAL
        return out


def _setting(attr: str, value):
    """A _First whose __init__ sets ``attr`` on the instance."""

    def __init__(self, *args):
        super(cls, self).__init__(*args)
        setattr(self, attr, value)

    cls = type("Setting", (_First,), {"name": "setting", "__module__": __name__, "__init__": __init__})
    return cls


SET_IN_INIT = {
    "abs_gap": (1e12, "abs_gap = 1e+12 is not a number in [0, 1e-05]"),
    "requested_gap": (lambda opts, raw: 1.0, "Setting overrides Solver.requested_gap, which optdist's checks"),
    "built_in": (lambda: True, "Setting overrides Solver.built_in, which optdist's checks"),
}


@pytest.mark.parametrize("attr", list(SET_IN_INIT))
def test_what_a_user_adapters_init_sets_is_checked_as_its_class_is(attr):
    """abs_gap set in __init__ was optimal at gap 0.29 (a class given to the call and registered)."""
    value, said = SET_IN_INIT[attr]
    cls = _setting(attr, value)
    named = re.escape(f"adapter setting ({__name__}.Setting), as optdist created it: {said}")
    with pytest.raises(ValueError, match=named):
        optdist.solve(optdist.load_instance(TWO), solver=cls, formulation="tight")
    register("setting", cls)
    try:
        with pytest.raises(ValueError, match=named):
            optdist.solve(optdist.load_instance(TWO), solver="setting", formulation="tight")
    finally:
        unregister("setting")


def test_an_instance_given_to_a_call_may_not_carry_its_own_checks():
    ada = _First()
    ada.requested_gap = lambda opts, raw: 1.0
    with pytest.raises(ValueError, match=re.escape("optdist.solve: solver=_First(): _First overrides "
                                                   "Solver.requested_gap, which optdist's checks")):
        optdist.solve(optdist.load_instance(TWO), solver=ada, formulation="tight")


def test_a_registered_class_changed_after_register_is_checked_when_it_runs():
    class Later(_First):
        name = "later"

    register("later", Later)
    try:
        Later.abs_gap = 1e12  # was optimal at gap 0.29
        with pytest.raises(ValueError, match=re.escape(f"adapter later ({__name__}.{Later.__qualname__}), as optdist "
                                                       "created it: abs_gap = 1e+12 is not a number")):
            optdist.solve(optdist.load_instance(TWO), solver="later", formulation="tight")
        Later.abs_gap = 1e-6  # HiGHS's: runs, and its first incumbent is not optimal
        res = optdist.solve(optdist.load_instance(TWO), solver="later", formulation="tight")
        assert res.termination is Termination.FEASIBLE and res.gap > 0.1
    finally:
        unregister("later")


class _Float32(Highs):
    """HiGHS, its incumbent and bound returned as numpy.float32 (``nan_bound``: the bound a float32 NaN)."""

    name = "float32"
    nan_bound = False

    def _solve(self, model, opts, warm_start, tee, raw):
        out = super()._solve(model, opts, warm_start, tee, raw)
        out.incumbent = np.float32(out.incumbent)
        out.bound = np.float32("nan" if self.nan_bound else out.bound)
        return out


def test_a_user_adapters_numpy_float32_numbers_become_floats():
    """The float32 was the run's objective (np.float32(0.002228651)), a float32 NaN its bound."""
    res = optdist.solve(optdist.load_instance(TINY), solver=_Float32, formulation="tight")
    assert type(res.objective) is float and type(res.bound) is float, (type(res.objective), type(res.bound))
    nan = type("NanBound", (_Float32,), {"nan_bound": True})
    res = optdist.solve(optdist.load_instance(TINY), solver=nan, formulation="tight")
    assert res.bound is None and res.termination is Termination.FEASIBLE
    assert "returned the bound NaN: read as no bound" in res.extra["warning"]


@pytest.mark.skipif(not __import__("optdist.solvers.cbc", fromlist=["Cbc"]).Cbc.is_available(), reason="cbc not installed")
def test_a_decomposed_runs_summed_bound_is_held_to_each_requests_tolerance():
    """CBC, gap 0, lenet-3x10-tau0.8: its three per-request optima, each within CBC's cutoff
    increment (4.3e-6 of 1e-5 µs), left the run 1.3e-5 µs apart: ``feasible``, though every step
    proved its optimum (the one-request tolerance held the sum; orchestrate.bound_abs_gap)."""
    from optdist.milp.data import TIME_UNIT
    from optdist.solvers.cbc import CUTOFF_INCREMENT

    res = optdist.solve(ROOT / "instances" / "paper" / "lenet-3x10-tau0.8.json", solver="cbc",
                        formulation="decomposed", mip_gap=0.0, time_limit=120)
    apart = res.objective - res.bound
    assert CUTOFF_INCREMENT * TIME_UNIT < apart <= 3 * CUTOFF_INCREMENT * TIME_UNIT  # the premise: over one's
    assert res.termination is Termination.OPTIMAL, (res.termination, apart)


def test_a_defended_choice_is_judged_on_the_score_it_minimised():
    """finalize's gap check judged a defended run on its latency alone: a choice whose inner solves
    proved it within gap 0.3 of the least score (0.25) was feasible on its latency's gap (0.36)."""
    from optdist.instance import DefenceSpec
    from optdist.result import gap

    base = optdist.load_instance(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json")
    inst = base.with_spec(defence={"lenet": DefenceSpec(max_accuracy_drop_pct=25, accuracy_weight=1.87e-5)})
    res = optdist.solve(inst, method="defended", formulation="compact", mip_gap=0.3, threads=1)
    charges = sum(res.extra["charges_s"].values())
    assert res.gap > 0.3 and charges > 0  # the premise: on its latency alone the gap is open
    assert gap(res.objective + charges, res.bound + charges) <= 0.3
    assert res.termination is Termination.OPTIMAL, res.extra.get("optimality_unproven")
