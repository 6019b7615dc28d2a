"""A solver's false optimum never raises a certified bound (issue 11: "the exact answer, its
certified bound and its privacy must hold whatever solver the user brings").

GLPK 5 claims the optimum 0.002858 s on saved pricing solve 0 of ``lenet-10x10-tight-tau0.8`` (no
start); the true optimum is 0.000756 s (HiGHS, SCIP). Every pricing, class and run bound passes
:func:`optdist.milp.decomposition.guard.cap_bound` with the feasible points known for it."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from optdist.instance import load_instance
from optdist.milp.decomposition.colgen import column_generation
from optdist.milp.decomposition.guard import cap_bound
from optdist.milp.decomposition.pricing import PricingModel
from optdist.milp.decomposition.single import alone
from optdist.solvers import ADAPTERS
from optdist.transfers import RESOURCES

from .conftest import ROOT

PRICES = ROOT / "benchmarks" / "scale" / "pricing_prices" / "lenet-10x10-tight-tau0.8.json"


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process (see tests/test_colgen.py)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


def test_the_guard_caps_at_the_least_known_point_and_records_beyond_tolerance(caplog):
    record: list[dict] = []
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert cap_bound(1.0, [None, math.inf, 2.0], solver="x", what="w", record=record) == 1.0  # below: kept
        assert cap_bound(1.0 + 1e-9, [1.0], solver="x", what="w", record=record) == 1.0  # tolerance: silent
        assert not record and not caplog.records
        assert cap_bound(3.0, [2.5, 2.0], solver="glpk", what="pricing", record=record) == 2.0
        assert cap_bound(math.inf, [2.0], solver="glpk", what="again", record=record) == 2.0  # "no placement"
    assert record == [{"what": "pricing", "solver": "glpk", "reported": 3.0, "capped_to": 2.0},
                      {"what": "again", "solver": "glpk", "reported": None, "capped_to": 2.0}]
    assert len(caplog.records) == 1 and "glpk" in caplog.text  # warned once per record


@pytest.mark.skipif(not ADAPTERS["glpk"].is_available(), reason=f"glpk: {ADAPTERS['glpk'].install_hint}")
def test_glpk_false_pricing_optimum_is_capped_at_the_known_column(caplog):
    """The measured case, with a real GLPK solve: its claimed optimum is above the priced value of
    the run's own column (re-scored here by the evaluator at the saved prices); the guard caps it
    there, names the solver, records it. HiGHS proves the optimum is below that column."""
    saved = json.loads(PRICES.read_text())
    s = saved["solves"][0]
    inst = load_instance(ROOT / saved["instance"])
    r = s["r"]
    prices = {k: np.asarray(v, dtype=float) for k, v in s["prices"].items()}
    start = [np.asarray(a, dtype=np.int64) for a in s["start"]]
    cost, use = alone(inst, r, start)  # the column's latency and usage, by the evaluator
    known = cost + sum(float(prices[res] @ use[:, q]) for q, res in enumerate(RESOURCES))
    assert known == pytest.approx(s["start_value"], rel=1e-6)

    glpk = PricingModel(inst, r, solver="glpk").solve(prices, time_limit=60, mip_gap=1e-5, threads=1, seed=0,
                                                      steps=(math.inf,))
    if glpk.bound <= known * (1 + 1e-6):
        pytest.skip(f"this GLPK proves {glpk.bound:.6g} <= {known:.6g}: no false optimum to guard against here")
    assert glpk.proven  # GLPK claims the optimum ...
    highs = PricingModel(inst, r, solver="highs").solve(prices, time_limit=60, mip_gap=1e-5, threads=1, seed=0,
                                                        steps=(math.inf,))
    assert highs.proven and highs.value <= known * (1 + 1e-6) < glpk.bound  # ... above a feasible column

    record: list[dict] = []
    with caplog.at_level(logging.WARNING, logger="optdist"):
        capped = cap_bound(glpk.bound, [glpk.value, known], solver="glpk", what="pricing of request 0", record=record)
    assert capped == known and highs.bound <= capped * (1 + 1e-6)
    assert record and record[0]["solver"] == "glpk" and record[0]["reported"] == glpk.bound
    assert "glpk" in caplog.text


def test_a_run_bound_above_its_incumbent_is_capped_and_recorded(caplog):
    """Column generation given a "bound" above the optimum (a claim no solver can prove, as a
    false pricing optimum would make it) reports its incumbent's objective as the bound, never the
    claim, and says so in ``extra['bound_capped']`` and a warning naming the solver."""
    inst = load_instance(ROOT / "instances" / "tiny" / "lenet-2x4-tight.json")
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = column_generation(inst, time_limit=20, threads=1, seed=0, lower_bound=1e3)
    assert res.objective is not None and res.objective < 1e3
    assert res.bound == res.objective
    assert res.extra["bound_capped"][-1] == {"what": "column generation's bound", "solver": "highs",
                                             "reported": 1e3, "capped_to": res.objective}
    assert "highs" in caplog.text and "capped" in caplog.text


def test_a_restricted_pricing_solve_above_a_column_outside_its_cutoff_is_no_false_claim(caplog):
    """Pricing solves the model restricted to latencies <= c first. Its proven optimum may lie above
    the priced value of the start column when that column's latency is above c (outside the
    restricted model): no solver claimed anything false there. Here (4 micro requests, radios of
    400-800 B per period, the nexus radios priced) the start column (latency 3.9501345e-5 s, on
    the RPis) is above the first cutoff 3.9466e-5 s and HiGHS, SCIP, CBC and GLPK all prove the
    restricted optimum 3.9501493e-5 s: the guard warned 'solver highs reported a bound above a
    feasible point' on this normal run and recorded it in extra['bound_capped']."""
    from optdist.generate import generate
    from optdist.instance import parse

    doc = generate("f65", {"micro": 4}, {"rpi3": 2, "nexus": 2}, 0.95, sources=2, privacy="synthetic", seed=65)
    for d, bw in zip(doc["devices"], (800, 400, 400, 400)):
        d["bandwidth_capacity"] = bw
    inst = parse(doc, "f65")
    r = 0
    prices = {"memory": np.zeros(6), "compute": np.zeros(6),
              "bandwidth": np.array([0, 0, 6.0306e-10, 6.0306e-10, 0, 0])}  # the nexus radios
    start = [np.array([4]), np.array([0, 1]), np.array([0, 1]), np.array([4])]  # cam1, the two RPis, cam1
    cost, use = alone(inst, r, start)
    known = cost + sum(float(prices[res] @ use[:, q]) for q, res in enumerate(RESOURCES))
    model = PricingModel(inst, r, solver="highs")
    with caplog.at_level(logging.WARNING, logger="optdist"):
        pr = model.solve(prices, time_limit=60, mip_gap=1e-5, threads=1, seed=0, start=start, start_value=known)
    cut = pr.log["steps"][0]["cutoff"]
    assert cost > cut  # the start column lies outside the first restricted model ...
    assert pr.proven and pr.bound <= known * (1 + 1e-9) and pr.value <= known
    assert model.bound_log == [] and "reported a bound" not in caplog.text  # ... so nothing is capped
