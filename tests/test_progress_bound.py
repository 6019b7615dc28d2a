"""A run's bound reaches its progress as soon as it is known (issue 11): a run stopped at its
deadline by the CLI's stopper (a solver that does not answer its cancel in time) reports the
stage bound, or better, instead of "no bound" (break9: a one-request VGG16 copy of
hetero-250x70 with --warm-start greedy --time-limit 240 ended with bound -)."""

from __future__ import annotations

import pytest

from optdist.instance import load_instance
from optdist.milp.decomposition.bounds import base_bounds, propagate
from optdist.milp.decomposition.classes import request_classes
from optdist.milp.decomposition.colgen import column_generation
from optdist.milp.decomposition.orchestrate import solve_classes
from optdist.milp.decomposition.single import solve_single
from optdist.milp.run import watch_progress

from .conftest import ROOT


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process (see tests/test_colgen.py)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


def stage_sum(inst) -> float:
    """The sum over requests of their stage bounds alone (seconds; no solver)."""
    stage = {reqs[0]: propagate(inst, reqs[0], *base_bounds(inst, reqs[0])).lower_bound
             for reqs in request_classes(inst)}
    return sum(stage[reqs[0]] for reqs in request_classes(inst) for _ in reqs)


def test_the_class_solves_offer_the_stage_bounds_before_any_solve():
    """No time for any class solve: the progress holds the sum of the stage bounds all the same."""
    inst = load_instance(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
    with watch_progress() as progress:
        solves = solve_classes(inst, time_limit=0.0, mip_gap=1e-4, threads=1, progress=True)
    assert all(s.bound is None for _, s in solves)  # nothing solved
    assert progress.bound is not None and progress.bound == pytest.approx(stage_sum(inst), rel=1e-12)
    assert progress.bound > 0


def test_a_single_solve_tells_each_bound_as_it_rises_the_stage_bound_first():
    inst = load_instance(ROOT / "instances" / "tiny" / "lenet-2x4-tight.json")
    told: list[float] = []
    ss = solve_single(inst, 0, time_limit=30, mip_gap=1e-9, threads=1, on_bound=told.append)
    assert told[0] == pytest.approx(propagate(inst, 0, *base_bounds(inst, 0)).lower_bound, rel=1e-12)
    assert told == sorted(told) and told[-1] == pytest.approx(ss.bound, rel=1e-12)
    assert len(told) > 1  # the solver's bound came later


def test_column_generation_offers_its_round0_stage_bound_before_pricing(monkeypatch):
    """Before its first pricing solve, column generation has offered L(0) at the stage bounds
    (the real solve runs; the wrapper only reads the progress when it starts)."""
    from optdist.milp.decomposition.pricing import PricingModel

    inst = load_instance(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
    seen: list[float | None] = []
    solve = PricingModel.solve

    def reading(self, *args, **kw):  # noqa: ANN001, ANN002, ANN003 - the wrapped method's own signature
        seen.append(progress.bound)
        return solve(self, *args, **kw)

    monkeypatch.setattr(PricingModel, "solve", reading)
    with watch_progress() as progress:
        column_generation(inst, time_limit=5, threads=1, seed=0, max_rounds=1)
    assert seen and seen[0] is not None and seen[0] == pytest.approx(stage_sum(inst), rel=1e-12)
