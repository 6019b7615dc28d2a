"""The decomposition (single-request model, stage bounds, classes, pricing, column generation,
branch-and-price) on DAG networks (MODEL.md section 9), as tests/test_decompose.py and
tests/test_colgen.py do for chains: on the micro DAGs of tests/test_dag_evaluator.py (residual,
concat, depthwise residual, grouped convolution, adds of whole maps) with 1-3 requests and
capacities that make them compete, the
decomposition's optimum equals tight's, per-map's and brute force's, every placement is
re-scored by the evaluator and every bound is at most the evaluator's objective.
Also diagnosis and LP/MPS export on DAGs, and a traced ResNet block through `optdist solve`."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp.decomposition.bounds import base_bounds, propagate, stage_wait_curves
from optdist.milp.decomposition.classes import usage_of
from optdist.result import Termination
from optdist.solve import solve
from tests.test_dag_evaluator import brute_force, dag_instance, placements
from tests.test_milp_formulations import close

RESOURCE_FIELD = {"memory": "memory", "compute": "compute_capacity", "bandwidth": "bandwidth_capacity"}


def competing(folder: Path, cnn: str, n_requests: int, n_devices: int, resource: str | None = None,
              factor: float = 1.0, **objective) -> Instance:
    """``n_requests`` of ``cnn`` on ``n_devices``; with ``resource``, every device's capacity of it is
    ``factor`` x the most one request uses of it on a device in its optimum alone (so with
    ``factor < 2`` two requests cannot both take their optimum on one device). ``objective``:
    fields of the instance's objective (e.g. ``kind='makespan'``, ``shared_weight``)."""
    folder.mkdir(parents=True, exist_ok=True)
    if resource is None:
        return dag_instance(folder, cnn, n_requests, n_devices, **objective)
    one = dag_instance(folder, cnn, 1, n_devices, **objective)
    alone = solve(one, formulation="decomposed", mip_gap=0.0, threads=1)
    col = list(RESOURCE_FIELD).index(resource)
    peak = float(usage_of(one, 0, alone.assignment.owners[0])[:n_devices, col].max())
    inst = dag_instance(folder, cnn, n_requests, n_devices, **objective)
    doc = json.loads(inst.path.read_text())
    for dev in doc["devices"]:
        dev[RESOURCE_FIELD[resource]] = factor * peak
    doc["name"] = f"dag-{cnn}-{n_requests}x{n_devices}-{resource}"
    path = inst.path.parent / f"{doc['name']}.json"
    path.write_text(json.dumps(doc))
    return load_instance(path)


CASES = {  # key -> (network, requests, devices, competing resource, factor, brute force?, objective)
    "res-1x3": ("res", 1, 3, None, 1.0, True),
    "cat-1x3-shared": ("cat", 1, 3, None, 1.0, True, {"shared_weight": 2e-6}),
    "res-2x2-makespan": ("res", 2, 2, "bandwidth", 1.5, True, {"kind": "makespan"}),
    "dw-2x2-shared": ("dw", 2, 2, "bandwidth", 1.5, False, {"shared_weight": 2e-6}),
    "cat-1x3": ("cat", 1, 3, None, 1.0, True),
    "dw-1x2": ("dw", 1, 2, None, 1.0, True),
    "res-2x2-bandwidth": ("res", 2, 2, "bandwidth", 1.5, True),
    "res-2x2-compute": ("res", 2, 2, "compute", 1.5, True),
    "cat-2x2-bandwidth": ("cat", 2, 2, "bandwidth", 1.5, True),
    "dw-2x2-bandwidth": ("dw", 2, 2, "bandwidth", 1.5, False),
    "res-3x3-bandwidth": ("res", 3, 3, "bandwidth", 1.2, False),
    "dw-3x3-compute": ("dw", 3, 3, "compute", 2.0, False),
    "grp-1x2": ("grp", 1, 2, None, 1.0, True),
    "loop-1x3": ("loop", 1, 3, None, 1.0, True),
    "mrg-1x2-shared": ("mrg", 1, 2, None, 1.0, True, {"shared_weight": 2e-6}),
}
SLOW = ("cat-2x2-bandwidth", "res-3x3-bandwidth", "dw-3x3-compute")


@functools.cache
def case(key: str, folder: str) -> Instance:
    cnn, R, D, resource, factor, _, *objective = CASES[key]
    return competing(Path(folder) / key, cnn, R, D, resource, factor, **(objective[0] if objective else {}))


@functools.cache
def _brute(key: str, folder: str) -> float:
    return brute_force(case(key, folder))[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("dagdec"))


def _valid_bound(res) -> bool:
    """The result's bound is at most the evaluator's objective of its placement."""
    return res.bound is not None and res.bound <= res.evaluator_objective * (1 + 1e-9)


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in CASES])
def test_decomposed_equals_tight_per_map_and_brute_force(folder, key):
    inst = case(key, folder)
    res = solve(inst, formulation="decomposed", mip_gap=0.0, threads=1)
    assert res.formulation == "decomposed" and res.termination is Termination.OPTIMAL
    assert res.evaluation.feasible and close(res.objective, res.evaluator_objective)
    assert _valid_bound(res) and close(res.bound, res.evaluator_objective)
    if inst.n_requests > 1:  # the requests compete: their optima alone do not fit together
        makespan = inst.objective.kind == "makespan"  # (no case here has makespan with shared data,
        assert res.extra["combination_feasible"] is False  # where the optima alone are not combined)
        assert res.extra["coupled_solve"]["method"] == ("tight model of all requests" if makespan
                                                        else "column generation")
    for formulation in ("tight", "per-map"):
        other = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
        assert other.termination is Termination.OPTIMAL and other.evaluation.feasible
        assert close(other.evaluator_objective, res.evaluator_objective), formulation
    if CASES[key][5]:
        assert close(_brute(key, folder), res.evaluator_objective)


def test_default_engine_decomposes_a_dag_with_competing_requests(folder):
    """Plain solve (formulation auto) takes the decomposition on a DAG the tight model counts."""
    inst = case("res-2x2-bandwidth", folder)
    res = solve(inst, mip_gap=0.0, threads=1)
    assert res.formulation == "decomposed" and res.termination is Termination.OPTIMAL
    assert close(res.evaluator_objective, _brute("res-2x2-bandwidth", folder)) and _valid_bound(res)


@pytest.mark.parametrize("cnn,devices", [("res", 3), ("cat", 3), ("dw", 2), ("grp", 2)])
def test_stage_bounds_hold_at_every_placement(tmp_path, cnn, devices):
    """At every placement of one request: each owner j of n segments of layer k has
    ``g_j(n) <= T_k`` (the evaluator's stage time, every edge into k), the stage bounds sum to at
    most the latency, and propagation with the latency as cutoff keeps the placement (not pruned,
    every owner count within the tightened bounds)."""
    inst = dag_instance(tmp_path, cnn, 1, devices)
    nodes, ub = base_bounds(inst, 0)
    L = inst.profile(0).n_layers
    curves = [None] + [stage_wait_curves(inst, 0, k, nodes, ub) for k in range(1, L)]
    lb = propagate(inst, 0, nodes, ub).lower_bound
    every = placements(inst, 0)
    rng = np.random.default_rng(7)
    sample = set(rng.choice(len(every), size=min(len(every), 25), replace=False).tolist())
    tight_seen = False
    for q, own in enumerate(every):
        ev = evaluate(inst, Assignment([own]))
        T = ev.stage_time[0]
        assert lb <= ev.latency[0] * (1 + 1e-9)
        for k in range(1, L):
            cnt = np.bincount(own[k], minlength=inst.n_nodes)
            for a, j in enumerate(nodes[k]):
                if cnt[j]:
                    g = curves[k][a][cnt[j] - 1]
                    assert g <= T[k] * (1 + 1e-9), (k, int(j), int(cnt[j]), g, T[k])
                    tight_seen |= g > 0 and close(g, T[k]) and k > 1
        if q in sample:
            p = propagate(inst, 0, nodes, ub, cutoff=float(ev.latency[0]))
            assert not p.pruned and p.lower_bound <= ev.latency[0] * (1 + 1e-9)
            for k in range(L):
                cnt = np.bincount(own[k], minlength=inst.n_nodes)
                assert (cnt[nodes[k]] <= p.ub[k]).all()
    assert tight_seen  # the bounds are not vacuous: some stage meets its bound


@pytest.mark.parametrize("cnn", ["res", "cat", "dw", "grp", "loop"])
def test_single_request_solve_is_the_brute_force_optimum(tmp_path, cnn):
    """One request alone by stage bounds and rising cutoffs (tight, on every network), with half
    the compute its unconstrained optimum uses on its busiest device
    (the other device may take it all): the brute-force optimum, a bound no larger, the
    placement feasible by the evaluator."""
    from optdist.milp.decomposition.single import solve_single

    inst = dag_instance(tmp_path, cnn, 1, 2)
    free = solve_single(inst, 0, time_limit=60, mip_gap=0.0, threads=1)
    compute = evaluate(inst, Assignment([free.owners])).compute_used[: inst.n_devices]
    busiest = int(compute.argmax())
    doc = json.loads(inst.path.read_text())
    doc["devices"][busiest]["compute_capacity"] = compute[busiest] / 2
    inst.path.write_text(json.dumps(doc))
    inst = load_instance(inst.path)
    assert not evaluate(inst, Assignment([free.owners])).feasible
    best, _ = brute_force(inst)
    assert free.objective * (1 - 1e-9) <= best < np.inf
    ss = solve_single(inst, 0, time_limit=60, mip_gap=0.0, threads=1)
    assert ss.termination is Termination.OPTIMAL and close(ss.objective, best) and ss.bound <= best * (1 + 1e-9)
    ev = evaluate(inst, Assignment([ss.owners]))
    assert ev.feasible and close(ev.objective, best)


@pytest.mark.parametrize("cnn", ["res", "cat", "dw", "grp"])
def test_propagation_keeps_only_what_beats_the_cutoff(tmp_path, cnn):
    """Cutting off at the optimum alone: not pruned, and every placement the tightened bounds
    exclude has a larger latency (brute force over all placements)."""
    inst = dag_instance(tmp_path, cnn, 1, 2)
    best, _ = brute_force(inst)
    nodes, ub = base_bounds(inst, 0)
    p = propagate(inst, 0, nodes, ub, cutoff=best)
    assert not p.pruned
    for own in placements(inst, 0):
        inside = all((np.bincount(a, minlength=inst.n_nodes)[nodes[k]] <= p.ub[k]).all() for k, a in enumerate(own))
        if not inside:
            assert evaluate(inst, Assignment([own])).latency[0] > best * (1 - 1e-9)


def test_usage_of_sums_every_edge(tmp_path):
    """A request's node usage (the decomposition's combination and columns) equals the evaluator's
    on a DAG: bytes sent over both edges into an add and a concat."""
    for cnn in ("res", "cat", "dw", "grp"):
        (tmp_path / cnn).mkdir()
        inst = dag_instance(tmp_path / cnn, cnn, 1, 2)
        for own in placements(inst, 0)[::7]:
            ev = evaluate(inst, Assignment([own]))
            use = usage_of(inst, 0, own)
            assert np.allclose(use, np.stack([ev.memory_used, ev.compute_used, ev.bandwidth_used], axis=1), rtol=1e-12)


@pytest.mark.parametrize("cnn", ["res", "cat", "dw", "grp", "loop"])
def test_pricing_model_on_a_dag_is_exact_at_every_placement(tmp_path, cnn):
    """The pricing model of one DAG request with a ``>=`` limit on the bytes sent (which adds the
    McCormick halves of every transition, :meth:`PricingModel._exact_bytes`): at every placement
    its rows hold and its usage expressions equal the evaluator's node usage; priced with the
    limit, it returns the brute-force best placement that meets the limit in truth."""
    import pyomo.environ as pyo

    from optdist.milp.decomposition.pricing import PricingModel
    from tests.test_milp_formulations import max_violation

    inst = dag_instance(tmp_path, cnn, 1, 2)
    pm = PricingModel(inst, 0, solver="highs")
    devices = tuple(range(inst.n_devices))
    every = placements(inst, 0)
    scored = [(evaluate(inst, Assignment([own])), own) for own in every]
    sent = [float(ev.bandwidth_used[list(devices)].sum()) for ev, _ in scored]
    value = float(np.median(sent))
    assert pm.set_limits([(devices, "bandwidth", False, 0.0)])
    for ev, own in scored[::3]:
        pm.b.set_warm_start(Assignment([own]))
        assert max_violation(pm.b.model) <= 1e-9
        for i in range(inst.n_nodes):
            for col, res in enumerate(("memory", "compute", "bandwidth")):
                used = (ev.memory_used, ev.compute_used, ev.bandwidth_used)[col][i]
                assert close(float(pyo.value(pm.usage[i, res])) if (i, res) in pm.usage else 0.0, used, 1e-9)
    assert pm.set_limits([(devices, "bandwidth", False, value)])
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    pr = pm.solve(zero, time_limit=30, mip_gap=0.0, threads=1, seed=0)
    pm.set_limits([])
    best = min(float(ev.latency[0]) for (ev, _), s in zip(scored, sent) if s >= value * (1 - 1e-9))
    assert pr.proven and close(pr.value, best) and pr.bound <= best * (1 + 1e-9)
    ev = evaluate(inst, Assignment([pr.owners]))
    assert close(float(ev.latency[0]), best) and ev.bandwidth_used[list(devices)].sum() >= value * (1 - 1e-9)


# --------------------------------------------------------------------------- diagnosis and export on DAGs
@pytest.mark.parametrize("cnn", ["res", "cat", "dw", "grp"])
def test_diagnose_a_dag(tmp_path, cnn):
    """Feasible: no finding, the MILP feasible. The devices' compute together below one request's
    device-side multiplications: a pre-solve finding names compute."""
    from optdist.diagnose import diagnose

    inst = dag_instance(tmp_path, cnn, 2, 2)
    d = diagnose(inst, time_limit=20, families=("compute",))
    assert d.findings == [] and d.milp_feasible is True
    doc = json.loads(inst.path.read_text())
    lim = inst.limit(0)
    need = sum(la.total_mults for k, la in enumerate(inst.profile(0).layers) if not lim.on_source[k])
    for dev in doc["devices"]:
        dev["compute_capacity"] = need * 0.4  # both devices together hold less than one request
    inst.path.write_text(json.dumps(doc))
    d = diagnose(load_instance(inst.path), time_limit=20, families=("compute",))
    assert not d.feasible_by_checks and "compute" in d.families


@pytest.mark.parametrize("cnn,formulation,fmt", [
    ("res", "tight", "lp"), ("res", "compact", "mps"), ("cat", "tight", "mps"), ("dw", "per-map", "lp"),
    ("grp", "per-map", "lp"), ("grp", "compact", "mps"), ("grp", "tight", "lp"), ("loop", "tight", "mps")])
def test_export_a_dag_and_read_the_solution_back(tmp_path, capsys, cnn, formulation, fmt):
    """`optdist export` of a DAG instance, solved by HiGHS from the file, read back with
    `optdist import-solution` and re-scored: the brute-force optimum."""
    from optdist.cli import main
    from optdist.milp.export import formulation_of
    from tests.test_export import run_highs

    inst = dag_instance(tmp_path, cnn, 1, 2)
    model, sol, asg = tmp_path / f"m.{fmt}", tmp_path / "m.sol", tmp_path / "asg.json"
    assert main(["export", str(inst.path), "--formulation", formulation, "--out", str(model)]) == 0
    assert formulation_of(model) == formulation
    run_highs(model, sol)
    capsys.readouterr()
    assert main(["import-solution", str(inst.path), "--model-file", str(model), "--solution", str(sol),
                 "--out", str(asg)]) == 0
    capsys.readouterr()
    ev = evaluate(inst, Assignment.load(inst, asg))
    assert ev.feasible and close(ev.objective, brute_force(inst)[0])


# --------------------------------------------------------------------------- a traced ResNet block
@pytest.mark.slow
def test_traced_resnet_block_solved_by_the_decomposition(tmp_path, monkeypatch, capsys):
    """examples/byon/resnets.py's ResBlockNet (width 4, 3x8x8 input) traced by torch.fx, 3 requests
    on 3 Raspberry Pi 4 with the bandwidth capacity below what the requests' optima alone need
    together: `optdist solve` (the default engine) reports the decomposed formulation, optimal,
    feasible, and the same optimum as the tight model."""
    torch = pytest.importorskip("torch", reason="install the torch extra: pip install -e .[torch]")
    import importlib.util

    from optdist.cli import main
    from optdist.profiles import write_profile_file
    from optdist.tracing import profile_module
    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("resnets", ROOT / "examples" / "byon" / "resnets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    prof = profile_module(mod.ResBlockNet(width=4), (3, 8, 8), name="res")
    assert not prof.is_chain
    write_profile_file(prof, tmp_path / "res.profile.json")
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--name", "res", "--networks", "res=res.profile.json", "--requests", "res=3",
                 "--devices", "rpi4=3", "--sources", "1", "--tau", "0.8", "--privacy", "none",
                 "--out", "res.json"]) == 0
    inst = load_instance(tmp_path / "res.json")
    alone = solve(inst, formulation="decomposed", mip_gap=0.0, threads=1)
    assert alone.formulation == "decomposed" and alone.termination is Termination.OPTIMAL
    peak = max(usage_of(inst, r, alone.assignment.owners[r])[: inst.n_devices, 2].max() for r in range(3))
    doc = json.loads((tmp_path / "res.json").read_text())
    for dev in doc["devices"]:
        dev["bandwidth_capacity"] = 1.2 * peak
    (tmp_path / "res.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["solve", "res.json", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "formulation decomposed" in out and "termination  optimal" in out and "feasible True" in out
    objective = float(next(line for line in out.splitlines() if line.startswith("objective")).split()[1])
    tight = solve(load_instance(tmp_path / "res.json"), formulation="tight", mip_gap=1e-9, threads=1)
    assert tight.termination is Termination.OPTIMAL
    assert objective == pytest.approx(tight.evaluator_objective, rel=1e-6)
