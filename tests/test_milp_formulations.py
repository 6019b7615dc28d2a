"""Both formulations against the independent evaluator and against each other (MODEL.md section 7).

Three checks that together pin the model to the evaluator:

* at the optimum, the solver's objective equals the evaluator's score of the returned
  assignment (the model cannot go below the truth) and both formulations agree;
* at *any* assignment, the values :meth:`BuiltModel.set_warm_start` derives satisfy every
  row if and only if the evaluator finds the assignment feasible, and the model objective
  equals the evaluator's (the linearisations admit the true values);
* the read-back of a compact solution labels maps along the flows (elementwise overlaps).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp import FAMILIES, build
from optdist.result import Termination
from optdist.solve import solve
from optdist.solvers import get_solver

TINY_DIR = Path(__file__).resolve().parents[1] / "instances" / "tiny"
TINY = sorted(p.stem for p in TINY_DIR.glob("*.json"))
MICRO = [n for n in TINY if n.startswith("micro")]
RTOL = 1e-6


@functools.cache
def tiny(name: str) -> Instance:
    return load_instance(TINY_DIR / f"{name}.json")


@functools.cache
def optimum(name: str, formulation: str):
    return solve(tiny(name), formulation=formulation, mip_gap=0.0, threads=1)


def close(a: float, b: float, rtol: float = RTOL) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-12)


def max_violation(model: pyo.ConcreteModel) -> float:
    """Largest violation of any active row or variable bound at the current values, relative."""
    worst = 0.0
    for c in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        body = pyo.value(c.body)
        scale = max(1.0, abs(body))
        if c.has_lb():
            worst = max(worst, (pyo.value(c.lower) - body) / scale)
        if c.has_ub():
            worst = max(worst, (body - pyo.value(c.upper)) / scale)
    for v in model.component_data_objects(pyo.Var, descend_into=True):
        lb, ub = v.bounds
        if lb is not None:
            worst = max(worst, lb - v.value)
        if ub is not None:
            worst = max(worst, v.value - ub)
    return worst


@pytest.mark.parametrize("name", TINY)
def test_compact_optimum_is_the_evaluators_score(name):
    res = optimum(name, "compact")
    assert res.termination is Termination.OPTIMAL
    assert res.evaluation.feasible, res.evaluation.violations
    assert close(res.objective, res.evaluator_objective)
    assert close(res.bound, res.objective)


@pytest.mark.parametrize(
    "name",
    [*MICRO, *(pytest.param(n, marks=pytest.mark.slow) for n in TINY if n.startswith("lenet"))],
)
def test_per_map_and_compact_agree(name):
    per_map, compact = optimum(name, "per-map"), optimum(name, "compact")
    assert per_map.termination is Termination.OPTIMAL
    assert per_map.evaluation.feasible
    assert close(per_map.objective, per_map.evaluator_objective)
    assert close(per_map.objective, compact.objective)


def _random_assignment(inst: Instance, rng: np.random.Generator) -> Assignment:
    """Owners drawn uniformly from the placement-allowed nodes (privacy and capacities unchecked)."""
    owners = []
    for r in range(inst.n_requests):
        lim, src = inst.limit(r), int(inst.request_source[r])
        owners.append([
            np.full(la.segments, src) if lim.on_source[k] else rng.integers(0, inst.n_devices, la.segments)
            for k, la in enumerate(inst.profile(r).layers)
        ])
    return Assignment(owners)


@pytest.mark.parametrize("formulation", ["compact", "per-map"])
@pytest.mark.parametrize("name", MICRO + ["lenet-2x4-tight", "lenet-1x4-tau0.6"])
def test_model_equals_evaluator_at_random_assignments(name, formulation):
    inst = tiny(name)
    b = build(inst, formulation)
    rng = np.random.default_rng(7)
    draws = [optimum(name, "compact").assignment] + [_random_assignment(inst, rng) for _ in range(20)]
    for asg in draws:
        ev = evaluate(inst, asg)
        b.set_warm_start(asg)
        viol = max_violation(b.model)
        if ev.feasible:
            assert viol <= 1e-9, f"a feasible assignment violates the model by {viol}"
            assert close(b.objective_seconds(), ev.objective, 1e-9)
        else:
            assert viol > 1e-9, f"evaluator: {ev.violations[0].message}; the model accepts it"


def test_compact_read_back_labels_maps_along_flows():
    """Elementwise overlaps of the read-back equal the flows: re-seeding gives the same flows."""
    inst = tiny("lenet-2x4-tight")
    b = build(inst, "compact")
    out = get_solver("highs").solve(b.model, mip_gap=0.0)
    flows = {k: round(v.value) for k, v in b.model.f.items()}
    asg = b.to_assignment()
    b.set_warm_start(asg)
    assert {k: round(v.value) for k, v in b.model.f.items()} == flows
    assert close(out.incumbent * b.time_unit, evaluate(inst, asg).objective)


def test_build_rejects_unknown_names():
    inst = tiny("micro-1x3-tau0.6")
    with pytest.raises(ValueError, match="formulation"):
        build(inst, "dense")
    with pytest.raises(ValueError, match="unknown constraint families"):
        build(inst, relax=frozenset({"memroy"}))
    with pytest.raises(ValueError, match="requests"):
        build(inst, requests=[5])
    with pytest.raises(ValueError, match="capacity"):
        build(inst, capacity_override={"disk": np.zeros(inst.n_nodes)})


@pytest.mark.parametrize("family", list(FAMILIES))
def test_relax_leaves_the_family_out(family):
    b = build(tiny("micro-2x3-tight"), relax=frozenset({family}))
    assert family not in b.families()
    assert set(b.families()) <= set(FAMILIES) - {family}


def test_relaxing_privacy_admits_a_leaky_assignment():
    """All of a request's maps on one device breaks 10f: rejected by the model, kept by relax={'privacy'}."""
    inst = tiny("micro-1x3-tau0.6")
    src = int(inst.request_source[0])
    layers = inst.profile(0).layers
    leaky = Assignment([[np.full(la.segments, src if inst.limit(0).on_source[k] else 0) for k, la in enumerate(layers)]])
    assert [v.constraint for v in evaluate(inst, leaky).violations] == ["privacy", "privacy"]
    for relax, accepted in ((frozenset(), False), (frozenset({"privacy"}), True)):
        b = build(inst, relax=relax)
        b.set_warm_start(leaky)
        assert bool(max_violation(b.model) <= 1e-9) is accepted


def test_request_subset_and_capacity_override():
    inst = tiny("micro-2x3-tight")
    b = build(inst, requests=[1])
    out = get_solver("highs").solve(b.model, mip_gap=0.0)
    asg = b.to_assignment()
    assert asg.owners[0] is None and asg.owners[1] is not None
    assert asg.meta["requests"] == [1]
    alone = evaluate(inst, Assignment([asg.owners[1], asg.owners[1]])).latency[1]
    assert close(out.incumbent * b.time_unit, alone)
    # no compute left on the fast devices: the request must use the slow STM32 for both conv2 maps
    cap = inst.compute_capacity.copy()
    cap[:2] = 0.0
    b = build(inst, requests=[1], capacity_override={"compute": cap})
    get_solver("highs").solve(b.model, mip_gap=0.0)
    conv2 = b.to_assignment().owners[1][2]
    assert set(conv2.tolist()) == {2}
