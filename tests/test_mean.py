"""LP-mean columns (optdist.milp.decomposition.mean): a request alone within the mean usage of its
class's LP mix; the limits hold in truth, the column is never dearer than its start, it reaches
the optimum alone where the limits do not bind, and column generation's incumbents from it
re-score feasible."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import optdist
from optdist.milp.decomposition import colgen
from optdist.milp.decomposition.colgen import MasterProblem, column_generation
from optdist.milp.decomposition.master import Column
from optdist.milp.decomposition.mean import mean_usage, within
from optdist.milp.decomposition.pricing import PricingModel
from optdist.milp.decomposition.single import alone, greedy_alone, solve_single

COUPLED = "instances/coupled/lenet-8x4-rpi3.json"
#: a coupled set whose pricing does not close in a short run (the LP-mean step runs its solves there)
COUPLED_CIFAR = "instances/coupled/cifar-6x5-nexus-rpi3.json"
TINY = "instances/tiny/micro-2x3-tight.json"


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process (see tests/test_colgen.py)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


def test_mean_usage_weights_the_columns_by_their_lp_values():
    a = Column(0, "placement", 1.0, np.array([4.0, 0.0, 2.0]))
    b = Column(0, "placement", 2.0, np.array([0.0, 8.0, 2.0]))
    assert mean_usage([(1.5, a), (0.5, b)]) == pytest.approx([3.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        mean_usage([])


def _row_limits(P: MasterProblem, use_rows: np.ndarray, share: float) -> list[tuple[tuple[int, ...], int, float]]:
    return [(row.nodes, row.resource, share * float(use_rows[k])) for k, row in enumerate(P.rows)]


def test_limits_hold_in_truth_and_the_column_is_never_dearer_than_its_start():
    """Limits at the greedy placement's own row usage: the greedy meets them (the MIP start), so
    the result costs at most the greedy's, meets every limit by the evaluator's count, comes within
    the time limit, and the limits are lifted afterwards (the same model then prices alone)."""
    inst = optdist.load_instance(COUPLED)
    P = MasterProblem(inst)
    pm = PricingModel(inst, 0, solver="highs")
    g = greedy_alone(inst, 0)
    g_cost, g_use = alone(inst, 0, g)
    rows = P.usage(g_use)
    t = time.perf_counter()
    pr = within(pm, _row_limits(P, rows, 1.0), time_limit=5.0, mip_gap=1e-6, threads=1, seed=0,
                start=g, start_value=g_cost)
    assert time.perf_counter() - t <= 5.0 + 3.0  # the solver's stop lag and the model update
    assert pr is not None and pr.owners is not None
    cost, use = alone(inst, 0, pr.owners)
    assert cost <= g_cost * (1 + 1e-9)
    assert (P.usage(use) <= rows * (1 + 1e-6) + 1e-6).all()
    assert pm.b.model.component("branch_limits") is None  # lifted


def test_limits_at_the_full_capacities_reach_the_optimum_alone():
    """Limits that do not bind (each row at its whole capacity): the exact single-request optimum
    (:func:`solve_single`, which the tests of ``single`` hold to the per-map optimum)."""
    inst = optdist.load_instance(TINY)
    P = MasterProblem(inst)
    pm = PricingModel(inst, 0, solver="highs")
    pr = within(pm, [(row.nodes, row.resource, row.rhs) for row in P.rows], time_limit=30.0, mip_gap=1e-9,
                threads=1, seed=0)
    opt = solve_single(inst, 0, threads=1, time_limit=30, mip_gap=1e-9)
    assert pr is not None and pr.proven
    assert alone(inst, 0, pr.owners)[0] == pytest.approx(opt.objective, rel=1e-6)


@pytest.mark.slow
def test_column_generation_incumbents_from_mean_columns_rescore_and_stay_in_time():
    """On a coupled set where the LP master mixes columns and pricing is cut short, the LP-mean
    step runs, every incumbent it reports re-scores feasible at the reported objective,
    incumbents only fall, and the step keeps to its share of the time."""
    inst = optdist.load_instance(COUPLED_CIFAR)
    res = column_generation(inst, solver="highs", time_limit=12, threads=1)
    log = res.extra["mean_columns"]
    assert any(entry["solves"] for entry in log), "the LP-mean step did not run"
    for entry in log:
        assert sum(s["seconds"] for s in entry["solves"]) <= colgen.MEAN_SHARE * 12 + 1.0
    ev = optdist.evaluate(inst, res.assignment)
    assert ev.feasible and ev.objective == pytest.approx(res.objective, rel=1e-12)
    objs = [f["objective"] for f in res.extra["incumbents"]]
    assert objs == sorted(objs, reverse=True)
    assert res.bound <= res.objective * (1 + 1e-7) and not math.isnan(res.bound)


def test_mean_columns_skip_request_classes_whose_pricing_closed():
    """Where a request class's pricing closes in a round (``lenet-8x4-rpi3``: every solve closes),
    the LP-mean step solves nothing for it (the LP's columns are exact ones there; on
    ``lenet-10x10-tight-tau0.8`` the step took 14 s of 60 and found nothing)."""
    inst = optdist.load_instance(COUPLED)
    res = column_generation(inst, solver="highs", time_limit=12, threads=1)
    closed = any(p["closed"] for r in res.extra["rounds"] for p in r.get("pricing") or [])
    assert closed and res.extra["mean_columns"], "no round priced and reached the LP-mean step"
    assert all(not entry["solves"] for entry in res.extra["mean_columns"])
