"""Every formulation against the independent evaluator and against each other (MODEL.md section 7).

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
from optdist.solvers import ADAPTERS, get_solver

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


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("formulation", ["tight", "decomposed"])
def test_tight_and_decomposed_agree_with_compact(name, formulation):
    res, compact = optimum(name, formulation), optimum(name, "compact")
    assert res.termination is Termination.OPTIMAL
    assert res.evaluation.feasible, res.evaluation.violations
    assert close(res.objective, res.evaluator_objective)
    assert close(res.objective, compact.objective)
    assert res.bound <= compact.objective * (1 + RTOL)


def _available(name: str):
    cls = ADAPTERS[name]
    return pytest.param(name, marks=pytest.mark.skipif(not cls.is_available(), reason=f"{name}: {cls.install_hint}"))


@pytest.mark.parametrize("solver", [_available(n) for n in ("scip", "cbc", "glpk")])
@pytest.mark.parametrize("formulation", ["tight", "decomposed"])
def test_tight_and_decomposed_on_other_solvers(solver, formulation):
    """Same optima as HiGHS's compact model, on every other available solver."""
    for name in [*MICRO, "lenet-1x4-tau0.6", "lenet-2x4-tight"]:
        res = solve(tiny(name), formulation=formulation, solver=solver, mip_gap=1e-9, threads=1)
        assert res.termination is Termination.OPTIMAL, (name, res.extra.get("solver_status"))
        assert res.evaluation.feasible and res.solver == solver
        assert close(res.objective, optimum(name, "compact").objective), name


def test_default_is_auto_with_the_one_gap():
    from optdist.milp.run import DEFAULT_MIP_GAP

    inst = tiny("lenet-2x4-tight")
    res = solve(inst, threads=1)
    assert res.extra["formulation_chosen"] == "decomposed" and res.options["mip_gap"] == DEFAULT_MIP_GAP
    serial = solve(tiny("micro-2x3-serial"), threads=1)
    assert serial.extra["formulation_chosen"] == "tight" and serial.options["mip_gap"] == DEFAULT_MIP_GAP
    with pytest.raises(ValueError, match="formulation"):
        solve(inst, formulation="dense")


def test_time_limit_covers_model_building():
    """A deadline already passed stops the build: no solver runs, no_solution, and it says why."""
    from optdist.milp.model import BuildTimeout

    inst = tiny("lenet-2x4-tight")
    with pytest.raises(BuildTimeout, match="time limit"):
        build(inst, "per-map", deadline=0.0)
    res = solve(inst, formulation="per-map", time_limit=1e-9)
    assert res.termination is Termination.NO_SOLUTION and "time limit" in res.extra["stopped"]


def test_pricing_api_measures_what_the_evaluator_does():
    """latency(r) and usage(r, i, res) at a warm start equal the evaluator's latency and node usage."""
    from optdist.milp.decomposition.classes import usage_of

    inst = tiny("lenet-2x4-tight")
    asg = optimum("lenet-2x4-tight", "compact").assignment
    ev = evaluate(inst, asg)
    for formulation in ("tight", "compact"):
        b = build(inst, formulation, requests=[1])
        b.set_warm_start(asg)
        assert close(pyo.value(b.latency(1)) * b.time_unit, ev.latency[1])
        use = usage_of(inst, 1, b.to_assignment().owners[1])  # tight: identical devices relabelled
        for i in range(inst.n_nodes):
            for c, res in enumerate(("memory", "compute", "bandwidth")):
                assert close(pyo.value(b.usage(1, i, res)), use[i, c]), (formulation, i, res)
        b.set_objective(b.latency(1) + 1e-3 * b.usage(1, 0, "bandwidth"))
        get_solver("highs").solve(b.model, mip_gap=0.0)
        assert pyo.value(b.model.obj) <= pyo.value(b.latency(1)) + 1e-3 * pyo.value(b.usage(1, 0, "bandwidth")) + 1e-9
    with pytest.raises(ValueError, match="resource"):
        b.usage(1, 0, "disk")


@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight"])
@pytest.mark.parametrize("name", MICRO + ["lenet-2x4-tight", "lenet-1x4-tau0.6", "cifar-1x4-tau0.8"])
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


@pytest.mark.parametrize("formulation", ["compact", "tight"])
def test_read_back_labels_maps_along_flows(formulation):
    """Elementwise overlaps of the read-back equal the flows: re-seeding gives the same flows."""
    inst = tiny("lenet-2x4-tight")
    b = build(inst, formulation)
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


@pytest.mark.parametrize("formulation", ["compact", "tight"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_relax_leaves_the_family_out(family, formulation):
    b = build(tiny("micro-2x3-tight"), formulation, relax=frozenset({family}))
    assert family not in b.families()
    assert set(b.families()) <= set(FAMILIES) - {family}


def test_relaxing_privacy_admits_a_leaky_assignment():
    """All of a request's maps on one device breaks 10f: rejected by the model, kept by relax={'privacy'}."""
    inst = tiny("micro-1x3-tau0.6")
    src = int(inst.request_source[0])
    layers = inst.profile(0).layers
    leaky = Assignment([[np.full(la.segments, src if inst.limit(0).on_source[k] else 0) for k, la in enumerate(layers)]])
    assert [v.constraint for v in evaluate(inst, leaky).violations] == ["privacy", "privacy"]
    for formulation in ("compact", "tight"):
        for relax, accepted in ((frozenset(), False), (frozenset({"privacy"}), True)):
            b = build(inst, formulation, relax=relax)
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
