"""Instances at the edges of the valid ranges (instances/schema.json) solve to the same optimum
on every path, found by fuzzing micro instances against brute force (tests/test_milp_objectives.py).
"""

from __future__ import annotations

import numpy as np

from optdist.instance import parse
from optdist.milp.decomposition.bounds import base_bounds
from optdist.result import Termination
from optdist.solve import solve


def _doc(**dev0) -> dict:
    """micro (no privacy limit) on a fast device ``d0`` and a slow-radio device ``d1``."""
    return {
        "format": "optdist-instance/1", "name": "edge", "tau": 0.95, "period_s": 1000.0,
        "privacy": {"micro": None},
        "devices": [{"id": "d0", "type": "stm32h7", "mults_per_s": 1e16, **dev0},
                    {"id": "d1", "type": "nexus", "rate": 1, "memory": 500}],
        "sources": [{"id": "cam", "type": "rpi3", "rate": 1e12}],
        "requests": [{"id": "r0", "source": "cam", "cnn": "micro"}],
    }


def test_a_huge_compute_capacity_bounds_no_layer_to_zero_segments():
    """1e22 multiplications per period / 432 per segment overflows int64: it must read as 'no limit'."""
    inst = parse(_doc(compute_capacity=1e22), "edge")
    nodes, ub = base_bounds(inst, 0)
    for k, la in enumerate(inst.profile(0).layers):
        if not inst.limit(0).on_source[k]:
            d0 = int(np.flatnonzero(nodes[k] == 0)[0])
            assert ub[k][d0] == la.segments, (la.name, ub[k])


def test_the_decomposition_finds_the_optimum_with_a_huge_compute_capacity():
    inst = parse(_doc(compute_capacity=1e22), "edge")
    tight = solve(inst, formulation="tight", mip_gap=0.0, threads=1)
    dec = solve(inst, formulation="decomposed", mip_gap=0.0, threads=1)
    assert tight.termination is dec.termination is Termination.OPTIMAL
    assert dec.evaluation.feasible
    assert abs(dec.objective - tight.objective) <= 1e-6 * tight.objective, (dec.objective, tight.objective)
    assert dec.bound <= tight.objective * (1 + 1e-6)


def _two_requests_that_cannot_both_fit() -> dict:
    """conv2 of micro needs a device; d1 holds none of its weights (memory 1 B) and d0 computes
    one request's conv2 (864 of 1,300 multiplications) but not two (1,728): infeasible only jointly."""
    return {
        "format": "optdist-instance/1", "name": "jointly-infeasible", "tau": 1.0, "period_s": 1000.0,
        "privacy": {"micro": None},
        "devices": [{"id": "d0", "type": "nexus", "rate": 1, "compute_capacity": 1300},
                    {"id": "d1", "type": "stm32h7", "memory": 1, "compute_capacity": 500}],
        "sources": [{"id": "cam", "type": "nexus"}],
        "requests": [{"id": f"r{j}", "source": "cam", "cnn": "micro"} for j in range(2)],
        "objective": {"shared_weight": 1e-9},
    }


def test_the_tight_model_proves_joint_infeasibility():
    inst = parse(_two_requests_that_cannot_both_fit(), "jointly-infeasible")
    assert solve(inst, formulation="tight", threads=1).termination is Termination.INFEASIBLE


def test_the_default_path_proves_joint_infeasibility():
    inst = parse(_two_requests_that_cannot_both_fit(), "jointly-infeasible")
    res = solve(inst, threads=1)
    assert res.extra.get("formulation_chosen", res.formulation) is not None
    assert res.termination is Termination.INFEASIBLE


def _far_apart_speeds() -> dict:
    """One device 1e12 times faster than another (both in the schema's range): the ``tight``
    model's speed tangent at the slow device's speed weighs the fast one by 8.6e16, which HiGHS
    refuses (|a| > 1e15), dropping every row: it then called the empty model optimal at 0."""
    return {
        "format": "optdist-instance/1", "name": "far-apart", "tau": 1.0, "period_s": 0.001,
        "privacy": {"micro": "synthetic"},
        "devices": [{"id": "d0", "type": "stm32h7", "mults_per_s": 1e16, "rate": 1},
                    {"id": "d1", "type": "stm32h7", "mults_per_s": 1e4, "compute_capacity": 900},
                    {"id": "d2", "type": "stm32h7", "memory": 100, "bandwidth_capacity": 100}],
        "sources": [{"id": "cam", "type": "rpi3", "mults_per_s": 1e16}],
        "requests": [{"id": "r0", "source": "cam", "cnn": "micro"}],
        "objective": {"uplink": "serial", "admission": True},
    }


def test_speed_cuts_keep_their_coefficients_in_range():
    from optdist.milp import build
    from optdist.milp.tight import CUT_COEF_MAX, speed_cuts

    inst = parse(_far_apart_speeds(), "far-apart")
    b = build(inst, "tight")
    sec = inst.segment_seconds(0)
    for (r, k), lines in speed_cuts(b).items():
        fastest = min(sec[k, j] for j in b.data.active(r, k)) / 1e-6
        for alpha, beta in lines:
            assert alpha <= CUT_COEF_MAX and beta / fastest <= CUT_COEF_MAX


def test_far_apart_speeds_solve_to_the_brute_force_optimum():
    from tests.test_milp_objectives import brute_force

    inst = parse(_far_apart_speeds(), "far-apart")
    best, _ = brute_force(inst)
    for formulation in ("tight", "decomposed", "compact"):
        res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
        assert res.evaluation is not None and res.evaluation.feasible, formulation
        assert abs(res.evaluator_objective - best) <= 1e-6 * best, (formulation, res.evaluator_objective, best)


def test_a_device_without_compute_gives_no_nan_in_the_pricing_floor():
    import warnings

    doc = {
        "format": "optdist-instance/1", "name": "no-compute", "tau": 0.3, "period_s": 0.001,
        "privacy": {"micro": "synthetic"},
        "devices": [{"id": "d0", "type": "stm32h7", "compute_capacity": 0, "bandwidth_capacity": 1000},
                    {"id": "d1", "type": "rpi3", "memory": 1}],
        "sources": [{"id": "cam", "type": "nexus", "mults_per_s": 1e16}],
        "requests": [{"id": "r0", "source": "cam", "cnn": "micro"}],
    }
    inst = parse(doc, "no-compute")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        solve(inst, formulation="decomposed", mip_gap=0.0, threads=1)
