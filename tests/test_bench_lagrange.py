"""benchmarks/scale's certified gap: the Lagrangian lower bound is valid (never above an optimum
or any placement's priced objective), the column-generation incumbent feasible."""

from __future__ import annotations

import numpy as np
import pytest

import optdist
from optdist.assignment import Assignment
from optdist.bench.columns import incumbent
from optdist.bench.lagrange import device_bytes_needed, pattern_bound, solve_lagrangian, source_bytes_max
from optdist.generate import generate
from optdist.instance import parse


def coupled(requests: int = 3, bandwidth: float = 200):
    """Micro requests on 3 RPi3 whose radios can carry only part of their per-request optima."""
    doc = generate("coupled", {"micro": requests}, {"rpi3": 3}, 0.95, sources=1, privacy="synthetic")
    for d in doc["devices"]:
        d["bandwidth_capacity"] = bandwidth
    return parse(doc, "coupled")


def weighted(inst, lam: float):
    return inst.with_spec(objective=inst.objective.model_copy(update={"shared_weight": lam}))


def random_owners(inst, r: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A placement of request r that keeps the placement and privacy rules (any capacities)."""
    lim, src, D = inst.limit(r), int(inst.request_source[r]), inst.n_devices
    out = []
    for k, la in enumerate(inst.profile(r).layers):
        if k == 0 or lim.on_source[k]:
            out.append(np.full(la.segments, src))
            continue
        cap = lim.device_cap[k] or la.segments
        low = -(-la.segments // cap)
        m = int(rng.integers(low, min(la.segments, D) + 1))
        devs = rng.choice(D, m, replace=False)
        cnt = np.ones(m, dtype=int)
        for _ in range(la.segments - m):
            room = np.flatnonzero(cnt < cap)
            cnt[rng.choice(room)] += 1
        out.append(rng.permutation(np.repeat(devs, cnt)))
    return out


@pytest.mark.parametrize("name", ["lenet-1x4-tau0.6", "micro-1x3-tau0.6"])
@pytest.mark.parametrize("lam", [0.0, 1e-8, 1e-7])
def test_pattern_bound_is_below_the_weighted_optimum(name, lam):
    inst = weighted(optdist.load_instance(f"instances/tiny/{name}.json"), lam)
    opt = optdist.solve(inst, method="milp", time_limit=60, threads=1)
    assert opt.termination == "optimal"
    assert pattern_bound(inst, 0, lam) <= opt.objective * (1 + 1e-9)


@pytest.mark.parametrize("name", ["lenet-1x4-tau0.6", "cifar-1x4-tau0.8", "micro-1x3-tau0.6"])
def test_pattern_bound_is_below_random_placements(name):
    rng = np.random.default_rng(7)
    inst = optdist.load_instance(f"instances/tiny/{name}.json")
    bytes_lb = pattern_bound(inst, 0, 1.0, time_weight=0.0)
    for lam in (0.0, 1e-9, 1e-7):
        lb = pattern_bound(inst, 0, lam)
        for _ in range(40):
            ev = optdist.evaluate(inst, Assignment([random_owners(inst, 0, rng)]))
            assert not [v for v in ev.violations if v.constraint in ("privacy", "placement")]
            assert lb <= ev.latency[0] + lam * ev.shared_bytes[0] + 1e-15
            assert bytes_lb <= ev.shared_bytes[0]


def test_source_bytes_bound_covers_what_sources_send():
    inst = coupled()
    res = optdist.solve(inst, method="milp", time_limit=60, threads=1)
    assert res.evaluation.bandwidth_used[inst.n_devices:].sum() <= sum(source_bytes_max(inst, r) for r in range(inst.n_requests))


def test_certified_gap_on_coupled_requests():
    inst = coupled()
    opt = optdist.solve(inst, method="milp", time_limit=60, threads=1)
    res = solve_lagrangian(inst, decomposition_s=20)
    assert res.bound <= opt.objective * (1 + 1e-9) <= res.objective * (1 + 2e-9)
    assert optdist.evaluate(inst, res.assignment).feasible
    curve = {e["lambda_s_per_byte"]: e["lower_bound"] for e in res.extra["dual_curve"]}
    assert res.bound == max(curve.values())
    assert res.gap < 0.35


def test_radios_too_small_for_any_placement_prove_infeasibility():
    inst = coupled(bandwidth=40)
    assert device_bytes_needed(inst) > 3 * 40
    assert optdist.solve(inst, method="milp", time_limit=60, threads=1).termination == "infeasible"
    assert solve_lagrangian(inst).termination == "infeasible"


def test_incumbent_is_feasible_where_the_per_request_optima_are_not():
    inst = coupled()
    asg, log = incumbent(inst, rounds=4)
    assert optdist.evaluate(inst, asg).feasible and log[-1]["feasible"]
