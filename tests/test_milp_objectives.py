"""MILP optimum = brute force on micro instances, for every objective option (MODEL.md section 8).

Brute force enumerates every per-map assignment whose owners respect placement (eqs. 8, 9,
10h: any other assignment is infeasible for the evaluator anyway), plus rejection under
admission control, scores each with the evaluator and keeps the feasible minimum.
"""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance, parse
from optdist.milp.pareto import pareto_sweep
from optdist.result import Termination
from optdist.solve import solve

TINY_DIR = Path(__file__).resolve().parents[1] / "instances" / "tiny"
RTOL = 1e-6


def micro(name: str, **objective) -> Instance:
    """A bundled micro instance, optionally with objective options changed."""
    doc = json.loads((TINY_DIR / f"{name}.json").read_text())
    if objective:
        doc["name"] = f"{name}-" + "-".join(f"{k}={v}" for k, v in objective.items())
        doc["objective"] = {**doc.get("objective", {}), **objective}
    return parse(doc, doc["name"])


def brute_force(inst: Instance) -> tuple[float, Assignment]:
    """Feasible minimum of the evaluator's objective over every placement-respecting assignment."""
    per_request = []
    for r in range(inst.n_requests):
        lim, src = inst.limit(r), int(inst.request_source[r])
        layers = [
            [np.array(c) for c in itertools.product([src] if lim.on_source[k] else range(inst.n_devices), repeat=la.segments)]
            for k, la in enumerate(inst.profile(r).layers)
        ]
        options: list = [list(c) for c in itertools.product(*layers)]
        if inst.objective.admission:
            options.append(None)
        per_request.append(options)
    best, arg = np.inf, None
    for combo in itertools.product(*per_request):
        asg = Assignment(list(combo))
        ev = evaluate(inst, asg)
        if ev.feasible and ev.objective < best:
            best, arg = ev.objective, asg
    return best, arg


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


CASES = {
    "micro-1x3-tau0.6": {},
    "micro-2x2-tau0.6": {},
    "micro-1x3-tau0.6/shared": {"shared_weight": 2e-8},
    "micro-1x3-tau0.6/serial": {"uplink": "serial"},
    "micro-1x3-tau0.6/makespan": {"kind": "makespan"},
    "micro-2x2-tau0.6/makespan+serial": {"kind": "makespan", "uplink": "serial"},
    "micro-2x3-tight": {},
    "micro-2x3-serial": {},
    "micro-2x3-makespan": {},
    "micro-3x2-admission": {},
}
SLOW = {"micro-2x3-tight", "micro-2x3-serial", "micro-2x3-makespan", "micro-3x2-admission"}  # 5-7k evaluations


@functools.cache
def case(key: str) -> Instance:
    return micro(key.split("/")[0], **CASES[key])


@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight", "decomposed"])
@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in CASES])
def test_milp_matches_brute_force(key, formulation):
    inst = case(key)
    best, _ = _brute(key)
    res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL
    assert res.evaluation.feasible
    assert close(res.objective, res.evaluator_objective)
    assert close(res.objective, best)


@functools.cache
def _brute(key: str) -> tuple[float, Assignment]:
    return brute_force(case(key))


@pytest.mark.slow
def test_admission_rejects_the_minimum_number():
    inst = case("micro-3x2-admission")
    _, arg = _brute("micro-3x2-admission")
    res = solve(inst, mip_gap=0.0)
    assert res.extra["rejected"] == res.evaluation.n_rejected == int((~arg.admitted).sum()) == 1
    without = micro("micro-3x2-admission", admission=False)
    assert solve(without).termination is Termination.INFEASIBLE


def test_options_change_the_objective_as_the_evaluator_says():
    """Same placement, different options: the MILP objective follows each option's definition."""
    base = solve(case("micro-1x3-tau0.6"), mip_gap=0.0)
    shared = solve(case("micro-1x3-tau0.6/shared"), mip_gap=0.0)
    ev = shared.evaluation
    assert close(shared.objective, ev.total_latency + 2e-8 * ev.total_shared_bytes)
    assert shared.evaluation.total_shared_bytes <= base.evaluation.total_shared_bytes
    serial = solve(case("micro-1x3-tau0.6/serial"), mip_gap=0.0)
    assert serial.objective >= base.objective * (1 - RTOL)
    span = solve(case("micro-2x2-tau0.6/makespan+serial"), mip_gap=0.0)
    assert close(span.objective, span.evaluation.makespan)


@pytest.mark.parametrize("formulation", ["compact", "tight"])
def test_pareto_front_is_monotone(formulation):
    front = pareto_sweep(load_instance(TINY_DIR / "lenet-1x4-tau0.6.json"), 4, formulation=formulation, mip_gap=0.0)
    assert len(front) == 4 and all(p.termination == "optimal" for p in front)
    assert all(p.shared_bytes <= p.eps_bytes * (1 + RTOL) for p in front)
    lat = [p.latency_s for p in front]
    assert all(a >= b * (1 - RTOL) for a, b in zip(lat, lat[1:]))  # more shared data allowed, no slower
    assert front[0].shared_bytes < front[-1].shared_bytes and lat[0] > lat[-1]
    unconstrained = solve(load_instance(TINY_DIR / "lenet-1x4-tau0.6.json"), mip_gap=0.0)
    assert close(lat[-1], unconstrained.objective)
