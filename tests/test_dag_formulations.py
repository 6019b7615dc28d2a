"""Every formulation on DAG networks (MODEL.md section 9) against brute force and the evaluator,
as tests/test_milp_objectives.py and tests/test_milp_formulations.py do for chains: a residual
block, a concat of two branches, a grouped + depthwise block and two adds of whole maps (two
branches; a loop). compact and tight index the layers of the last three per map
(:func:`optdist.milp.data.map_identity_layers`) and count the rest."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.milp import build
from optdist.result import Termination
from optdist.solve import solve
from tests.test_dag_evaluator import brute_force, dag_instance, placements
from tests.test_milp_formulations import close, max_violation

CASES = {  # key -> (network, requests, devices, objective)
    "res-1x3": ("res", 1, 3, {}),
    "cat-1x3": ("cat", 1, 3, {}),
    "grp-1x2": ("grp", 1, 2, {}),
    "mrg-1x3": ("mrg", 1, 3, {}),
    "loop-1x3": ("loop", 1, 3, {}),
    "loop-1x2-serial": ("loop", 1, 2, {"uplink": "serial"}),
    "grp-1x2-shared": ("grp", 1, 2, {"shared_weight": 2e-6}),
    "res-1x2-serial": ("res", 1, 2, {"uplink": "serial"}),
    "cat-1x2-shared": ("cat", 1, 2, {"shared_weight": 2e-6}),
}
FORMULATIONS = ("per-map", "compact", "tight")
#: layers compact and tight index per map: grp's grouped conv g and the depthwise layer it feeds;
#: an add of two whole-map inputs with those inputs (mrg: a, b; loop: r1, dw)
MAP_LAYERS = {"res": set(), "cat": set(), "dw": set(), "grp": {1, 2}, "mrg": {1, 2, 3}, "loop": {1, 2, 3}}


@functools.cache
def case(key: str, folder: str) -> Instance:
    from pathlib import Path

    cnn, R, D, obj = CASES[key]
    path = Path(folder) / key
    path.mkdir(parents=True, exist_ok=True)
    return dag_instance(path, cnn, R, D, **obj)


@functools.cache
def _brute(key: str, folder: str) -> tuple[float, Assignment]:
    return brute_force(case(key, folder))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("dag"))


@pytest.mark.parametrize("key,formulation", [(k, f) for k in CASES for f in FORMULATIONS])
def test_milp_matches_brute_force(folder, key, formulation):
    """Each formulation's optimum is the brute-force optimum, and the placement read back from the
    model (per map: along the flows and from ``A``) re-scores under the evaluator to the model's objective."""
    inst = case(key, folder)
    best, _ = _brute(key, folder)
    res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL
    assert res.evaluation.feasible
    assert close(res.objective, res.evaluator_objective)
    assert close(res.objective, best)


def coupled(folder: str) -> Instance:
    """Two residual requests on two devices with a compute capacity that one request's c2 nearly fills."""
    from pathlib import Path

    inst = case("res-1x3", folder)
    doc = json.loads(inst.path.read_text())
    doc["name"] = "res-2x2-coupled"
    doc["devices"] = doc["devices"][:2]
    for dev in doc["devices"]:
        dev["compute_capacity"] = 3 * 288
    doc["requests"] = [{"id": "r0", "source": "s", "cnn": "res"}, {"id": "r1", "source": "s", "cnn": "res"}]
    path = Path(inst.path).parent / "res-2x2-coupled.json"
    path.write_text(json.dumps(doc))
    return load_instance(path)


@pytest.mark.slow
@pytest.mark.parametrize("formulation", ["per-map", "compact", "tight"])
def test_coupled_requests_match_brute_force(folder, formulation):
    inst = coupled(folder)
    best, _ = brute_force(inst)  # 4096 placements
    res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL and res.evaluation.feasible
    assert close(res.objective, best) and close(res.objective, res.evaluator_objective)


@pytest.mark.parametrize("key,formulation", [(k, f) for k in ("res-1x3", "cat-1x3", "grp-1x2", "res-1x2-serial",
                                                      "mrg-1x3", "loop-1x3", "loop-1x2-serial")
                                             for f in FORMULATIONS])
def test_model_equals_evaluator_at_every_placement(folder, key, formulation):
    """At any assignment the model's own values satisfy every row iff the evaluator finds it
    feasible, and the model objective equals the evaluator's (the linearisations are exact)."""
    inst = case(key, folder)
    b = build(inst, formulation)
    every = placements(inst, 0)
    rng = np.random.default_rng(3)
    for q in rng.choice(len(every), size=min(len(every), 60), replace=False):
        asg = Assignment([every[q]])
        ev = evaluate(inst, asg)
        b.set_warm_start(asg)
        viol = max_violation(b.model)
        if ev.feasible:
            assert viol <= 1e-9, f"a feasible assignment violates the model by {viol}"
            assert close(b.objective_seconds(), ev.objective, 1e-9)
        else:
            assert viol > 1e-9


def test_privacy_on_a_merge_is_enforced_by_every_formulation(folder):
    """A table limiting r1 to one map per device: add (reading r1) is capped at 1 too (min over its inputs)."""
    from pathlib import Path

    from tests.test_dag_evaluator import table

    path = Path(folder) / "res-privacy"
    path.mkdir(exist_ok=True)
    inst = dag_instance(path, "res", 1, 3, privacy=table("res", {"r1": (2, {1: 0.5, 2: 0.9})}), tau=0.7)
    lim = inst.limit(0)
    assert lim.device_cap == (None, 1, 1, 1, None)
    best, _ = brute_force(inst)
    for formulation in ("per-map", "compact", "tight"):
        res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
        assert res.evaluation.feasible and close(res.objective, best)
        assert all(np.bincount(a, minlength=inst.n_nodes)[:3].max() <= 1 for a in res.assignment.owners[0][1:4])


@pytest.mark.parametrize("cnn", sorted(MAP_LAYERS))
@pytest.mark.parametrize("formulation", ["compact", "tight"])
def test_counting_formulations_index_per_map_only_where_map_identity_matters(folder, cnn, formulation):
    """compact and tight have binaries ``A`` (tied to the counts by ``map_count``) exactly on the
    layers of a grouped convolution or an add of whole maps and the whole-map edges around them,
    products per map ``w`` only on whole-map edges between them, and counted flows elsewhere."""
    from pathlib import Path

    path = Path(folder) / f"layers-{cnn}"
    path.mkdir(exist_ok=True)
    inst = dag_instance(path, cnn, 1, 2)
    b = build(inst, formulation)
    m, d = b.model, b.data
    assert set(d.map_layers(0)) == MAP_LAYERS[cnn]
    assert {k for (_, k, _, _) in m.A} == MAP_LAYERS[cnn]
    assert {k for (_, k, _) in m.map_count} == MAP_LAYERS[cnn]
    assert {d.dst(0, t) for (_, t, _, _, _) in m.w} | {d.src(0, t) for (_, t, _, _, _) in m.w} <= MAP_LAYERS[cnn]
    assert all(not {d.src(0, t), d.dst(0, t)} <= MAP_LAYERS[cnn] for (_, t, _, _) in m.f)
    assert (len(m.gh) > 0) == (cnn == "grp")


@pytest.mark.parametrize("key", ["res-1x3", "grp-1x2", "loop-1x3"])
def test_decomposition_on_a_dag(folder, key):
    """'decomposed' (and the default engine) decompose every DAG, grouped convolutions and adds of
    whole maps included (its subproblems are tight models), to the brute-force optimum."""
    from optdist.milp.solve import choose_formulation

    inst = case(key, folder)
    assert choose_formulation(inst) == "decomposed"
    res = solve(inst, formulation="decomposed", mip_gap=0.0, threads=1)
    assert res.formulation == "decomposed" and "decomposed" not in res.extra
    assert res.termination is Termination.OPTIMAL
    assert close(res.evaluator_objective, _brute(key, folder)[0])


@pytest.mark.parametrize("cnn,capacity", [("res", 60.0), ("grp", 30.0)])
def test_diagnose_names_the_binding_family_on_a_dag(folder, cnn, capacity):
    """Bandwidth too small for the devices' transfers: the checks pass, the MILP (compact, the
    grouped convolution's layers indexed per map) is infeasible and relaxing bandwidth restores it."""
    from pathlib import Path

    from optdist.diagnose import diagnose

    path = Path(folder) / f"diag-{cnn}"
    path.mkdir(exist_ok=True)
    inst = dag_instance(path, cnn, 1, 2)
    doc = json.loads(inst.path.read_text())
    for dev in doc["devices"]:
        dev["bandwidth_capacity"] = capacity  # res: less than one 64-byte map; grp: than two 16-byte dw maps
    inst.path.write_text(json.dumps(doc))
    d = diagnose(load_instance(inst.path), time_limit=20, families=("bandwidth", "compute"))
    assert d.milp_feasible is False
    assert any(r.families == ("bandwidth",) and r.status == "feasible" for r in d.relaxations), d.relaxations


def test_grouped_conv_placed_by_groups_needs_no_partial_sums(folder):
    """grp with 60 B per device per period: feasible only by keeping each group of g and its depthwise maps
    on one device (no partial sums move, 32 B each to the fc); the g = 1 rule would need 128 B."""
    from pathlib import Path

    path = Path(folder) / "grp-60"
    path.mkdir(exist_ok=True)
    inst = dag_instance(path, "grp", 1, 2)
    doc = json.loads(inst.path.read_text())
    for dev in doc["devices"]:
        dev["bandwidth_capacity"] = 60.0
    inst.path.write_text(json.dumps(doc))
    inst = load_instance(inst.path)
    best, _ = brute_force(inst)
    res = solve(inst, formulation="per-map", mip_gap=0.0, threads=1)
    assert res.evaluation.feasible and close(res.objective, best)
    g, dw = res.assignment.owners[0][1], res.assignment.owners[0][2]
    assert g[0] == g[1] == dw[0] == dw[1] != g[2] == g[3] == dw[2] == dw[3]


def test_a_greedy_warm_start_on_a_dag_seeds_the_milp(folder):
    """warm_start='greedy' on a DAG (the greedy places DAGs): the MILP starts from it and still reaches the optimum."""
    inst = case("res-1x3", folder)
    res = solve(inst, formulation="tight", warm_start="greedy", mip_gap=0.0, threads=1)
    assert res.extra["warm_start"] == "greedy" and "warm_start_skipped" not in res.extra
    assert res.extra["warm_start_objective"] >= res.evaluator_objective * (1 - 1e-9)
    assert close(res.evaluator_objective, _brute("res-1x3", folder)[0])


def test_default_engine_and_plan_guided_on_a_grouped_convolution(folder):
    """A grouped convolution: 'auto' (plain `optdist solve`, and plan-guided's plan, which cannot
    be given --formulation) decomposes it like any network, to the brute-force optimum."""
    from optdist.milp.solve import choose_formulation

    inst = case("grp-1x2", folder)
    assert choose_formulation(inst) == "decomposed"
    res = solve(inst, mip_gap=0.0, threads=1)
    assert res.formulation == "decomposed" and res.termination is Termination.OPTIMAL
    assert close(res.evaluator_objective, _brute("grp-1x2", folder)[0])
    planned = solve(inst, method="plan-guided")
    assert planned.evaluation.feasible and planned.evaluator_objective >= res.evaluator_objective * (1 - 1e-6)


#: model sizes of zoo chain instances, measured with ``build(inst, f).stats()`` at commit b712ff0,
#: before compact and tight could index layers per map (their LP files are byte-identical since)
CHAIN_SIZES = {
    ("lenet-1x4-tau0.6", "compact"): (150, 113, 230), ("lenet-1x4-tau0.6", "tight"): (126, 113, 213),
    ("cifar-1x4-tau0.8", "compact"): (367, 270, 588), ("cifar-1x4-tau0.8", "tight"): (311, 270, 574),
}


@pytest.mark.parametrize("name,formulation", sorted(CHAIN_SIZES))
def test_chain_models_are_unchanged(name, formulation):
    """On a chain nothing is indexed per map: no ``A``, ``w``, ``gh``, ``gw``, ``map_count`` or
    per-map one-owner rows, and the model has the variables and rows it had before."""
    from pathlib import Path

    from optdist.instance import load_instance

    inst = load_instance(Path(__file__).parents[1] / "instances" / "tiny" / f"{name}.json")
    b = build(inst, formulation)
    m = b.model
    assert all(not b.data.map_layers(r) for r in b.requests)
    assert not any(len(c) for c in (m.A, m.w, m.gh, m.gw, m.map_count, m.one_owner.maps))
    st = b.stats()
    assert (st["variables"], st["integer_variables"], st["constraints"]) == CHAIN_SIZES[name, formulation]
