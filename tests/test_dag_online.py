"""The online methods and the RL environment on DAG networks (MODEL.md section 9).

On the micro networks of tests/test_dag_evaluator.py (a residual block, a grouped + depthwise
block, a concat) and a traced ResNet basic block (examples/byon/resnets.py): every online method's
placement re-scores exactly under the evaluator, the method's own latency and bytes equal the
evaluator's, a feasible result is no better than the exact optimum (per-map MILP), and the
greedy's placement is feasible on an uncongested instance. The incremental layer state (greedy
and RL) predicts and books every segment as the evaluator scores it. The RL environment passes
Gymnasium's checks, replays a seed, decides the same batched and segment by segment, and trains.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.heuristics.incremental import RequestPlacer, Usage
from optdist.instance import Instance
from optdist.result import Termination
from optdist.solve import solve
from tests.test_dag_evaluator import NETWORKS, dag_instance, table

ROOT = Path(__file__).resolve().parents[1]

CASES = {  # key -> (network, requests, devices, objective)
    "res-1x3": ("res", 1, 3, {}),
    "res-2x2": ("res", 2, 2, {}),
    "grp-1x3": ("grp", 1, 3, {}),
    "grp-2x2": ("grp", 2, 2, {}),
    "cat-1x3": ("cat", 1, 3, {}),
    "cat-2x2-shared": ("cat", 2, 2, {"shared_weight": 2e-6}),
    "block-1x2": ("block", 1, 2, {}),
    "loop-1x3": ("loop", 1, 3, {}),  # adds of whole maps: the greedy's batched plan has no uniform edge
    "mrg-2x2": ("mrg", 2, 2, {}),
}
HEURISTICS = ("greedy", "per-layer", "edge-cloud", "plan-guided")


@functools.cache
def resnet_block():
    """examples/byon/resnets.py's ResBlockNet (stem, basic block with identity shortcut, pooling, fc),
    3 maps wide on 3x4x4 inputs, traced to section 9's graph."""
    pytest.importorskip("torch", reason="tracing needs torch: pip install 'optdist[learn]'")
    from optdist.tracing import profile_module

    spec = importlib.util.spec_from_file_location("byon_resnets", ROOT / "examples" / "byon" / "resnets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return profile_module(module.ResBlockNet(width=3, classes=2), (3, 4, 4), name="block")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("dag-online"))


@functools.cache
def case(key: str, folder: str) -> Instance:
    cnn, R, D, obj = CASES[key]
    path = Path(folder) / key
    path.mkdir(parents=True, exist_ok=True)
    return dag_instance(path, cnn, R, D, profile=resnet_block() if cnn == "block" else None, **obj)


@functools.cache
def optimum(key: str, folder: str) -> float:
    """The exact optimum: the per-map MILP solved to a zero gap."""
    res = solve(case(key, folder), formulation="per-map", mip_gap=0.0, threads=1)
    assert res.termination is Termination.OPTIMAL
    return res.evaluator_objective


def random_policy(inst: Instance, masked: bool, seed: int):
    """tests/test_rl_decide.py's untrained (seeded) Q-network, with the configuration method ``rl`` reports."""
    from optdist.rl.policy import Policy
    from tests.test_rl_decide import random_policy as make

    p = make(inst, masked, seed)
    return Policy.from_agent(p.net, {**p.config, "instance": inst.name, "reward": "untrained", "double": False,
                                     "episodes": 0, "seed": seed})


def check_online(inst: Instance, res, best: float | None) -> None:
    """Re-scored exactly, own bookkeeping = evaluator's, and a feasible result no better than ``best``."""
    ev = evaluate(inst, res.assignment)
    assert ev.objective == res.evaluator_objective and ev.feasible == res.evaluation.feasible
    np.testing.assert_array_equal(ev.latency, res.evaluation.latency)
    assert [v.message for v in ev.violations] == [v.message for v in res.evaluation.violations]
    assert res.objective == pytest.approx(res.evaluator_objective, rel=1e-12)  # latency + lambda * bytes as claimed
    if best is not None and ev.feasible:
        assert ev.objective >= best * (1 - 1e-9)


@pytest.mark.parametrize("method", HEURISTICS)
@pytest.mark.parametrize("key", sorted(CASES))
def test_online_methods_on_dags(folder, key, method):
    inst = case(key, folder)
    res = solve(inst, method=method, **({"plan_time_limit": 20, "threads": 1} if method == "plan-guided" else {}))
    check_online(inst, res, optimum(key, folder))
    if method == "edge-cloud":  # a head beyond the first layer on the source breaks the placement rule only
        assert {v.constraint for v in res.evaluation.violations} <= {"placement"}
    else:  # uncongested, no privacy table: each of these places every request feasibly
        assert res.evaluation.feasible and res.evaluation.n_rejected == 0


@pytest.mark.learn
@pytest.mark.parametrize("key", ["res-2x2", "grp-2x2", "cat-2x2-shared", "block-1x2"])
def test_rl_policy_on_dags(folder, key):
    """An untrained (seeded) DQN policy: masked it is feasible; either way its bookkeeping is the evaluator's."""
    inst = case(key, folder)
    for masked in (True, False):
        res = solve(inst, method="rl", policy=random_policy(inst, masked, 7))
        check_online(inst, res, optimum(key, folder))
        if masked:
            assert res.evaluation.feasible and res.evaluation.n_rejected == 0


def test_edge_cloud_on_a_dag_splits_where_the_source_is_slow(tmp_path):
    """A slow source: the head is layer 1 alone (feasible), every edge out of it crosses the split."""
    inst = dag_instance(tmp_path, "res", 1, 2)
    slow = inst.with_spec(sources=[s.model_copy(update={"mults_per_s": 1e3}) for s in inst.spec.sources])  # the least a file takes
    res = solve(slow, method="edge-cloud")
    check_online(slow, res, None)
    assert res.evaluation.feasible and res.extra["cloud_starts_at"] == ["r1"]
    own = res.assignment.owners[0]
    assert len({int(a[0]) for a in own[1:-1]}) == 1 and all(len(set(a.tolist())) == 1 for a in own)


@pytest.mark.parametrize("cnn", sorted(NETWORKS) + ["block"])
def test_layer_state_books_every_segment_as_the_evaluator(tmp_path, cnn):
    """Random placements, one segment at a time (the RL environment's steps): each predicted finish
    time (``steps``) is the one booked, and stage times, bytes and node usage equal the evaluator's."""
    inst = dag_instance(tmp_path, cnn, 2, 3, profile=resnet_block() if cnn == "block" else None)
    rng, usage, owners = np.random.default_rng(11), Usage.zeros(inst.n_nodes), []
    stages, shared = [], []
    for r in range(inst.n_requests):
        rp = RequestPlacer(inst, usage, r)
        while not rp.done:
            st = rp.next_layer()
            while not st.done:
                j = int(rng.choice(np.flatnonzero(st.cand)))
                predicted = st.steps(st.sender(), 1)[j, 0]
                st.place(j)
                assert st.finish()[j] == predicted
            rp.close(st)
        owners.append(rp.owners)
        stages.append(rp.stage)
        shared.append(rp.shared)
    ev = evaluate(inst, Assignment(owners))
    for r in range(inst.n_requests):
        np.testing.assert_allclose(stages[r], ev.stage_time[r], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(shared, ev.shared_bytes)
    for mine, theirs in ((usage.memory, ev.memory_used), (usage.compute, ev.compute_used), (usage.bandwidth, ev.bandwidth_used)):
        np.testing.assert_array_equal(mine, theirs)


def test_greedy_on_a_dag_keeps_the_privacy_caps(tmp_path):
    """Nf = 1 map per device on r1, c2 and add (MODEL.md section 9: the strictest input row): the greedy
    spreads each over two devices, feasible, and no better than the exact optimum."""
    rows = {"r1": (2, {1: 0.5, 2: 0.9}), "c2": (2, {1: 0.3, 2: 0.6})}
    inst = dag_instance(tmp_path, "res", 2, 3, privacy=table("res", rows), tau=0.7)
    assert inst.limit(0).device_cap == (None, 1, 1, 1, None)
    best = solve(inst, formulation="per-map", mip_gap=0.0, threads=1).evaluator_objective
    for method in ("greedy", "plan-guided"):
        res = solve(inst, method=method)
        check_online(inst, res, best)
        assert res.evaluation.feasible
        assert all(len(set(a.tolist())) == 2 for own in res.assignment.owners for a in own[1:4])
    per_layer = solve(inst, method="per-layer")  # ignores privacy: the evaluator reports it
    check_online(inst, per_layer, None)
    assert {v.constraint for v in per_layer.evaluation.violations} == {"privacy"}


def test_plan_guided_repairs_a_dag_request_beyond_the_forecast(folder):
    """The forecast misses the second request: it is repaired (the greedy's and the exact single
    placement, the cheaper) on the capacity the first left."""
    inst = case("res-2x2", folder)
    short = inst.with_spec(requests=inst.spec.requests[:1])
    res = solve(inst, method="plan-guided", forecast=short, plan_time_limit=20, threads=1)
    assert res.extra["followed"] == 1 and res.extra["repaired"] == 1
    check_online(inst, res, optimum("res-2x2", folder))
    assert res.evaluation.feasible
    better = solve(inst, method="plan-guided", improve=True, plan_time_limit=20, threads=1)  # step 2's exact solve alone
    check_online(inst, better, optimum("res-2x2", folder))
    assert better.evaluation.feasible and better.evaluator_objective <= res.evaluator_objective * (1 + 1e-9)


# ---- the RL environment -------------------------------------------------------------------------
def gymnasium():
    return pytest.importorskip("gymnasium", reason="the RL environment needs gymnasium: pip install 'optdist[learn]'")


@pytest.mark.learn
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cnn", sorted(NETWORKS) + ["block"])
def test_dag_env_passes_check_env(tmp_path, cnn):
    gym = gymnasium()
    import optdist.rl
    from gymnasium.utils.env_checker import check_env

    inst = dag_instance(tmp_path, cnn, 2, 2, profile=resnet_block() if cnn == "block" else None)
    for reward in ("paper", "stage"):
        check_env(gym.make(optdist.rl.ENV_ID, instance=inst, reward=reward).unwrapped, skip_render_check=True)


@pytest.mark.learn
def test_dag_env_same_seed_same_trajectory(folder):
    gym = gymnasium()
    import optdist.rl
    from tests.test_rl_gym import trajectory

    inst = case("res-2x2", folder)
    runs = [trajectory(gym.make(optdist.rl.ENV_ID, instance=inst, shuffle=True), seed, 120) for seed in (3, 3, 4)]
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], runs[2]))


@pytest.mark.learn
@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("cnn", sorted(NETWORKS) + ["block"])
def test_batched_decisions_equal_per_segment_on_dags(tmp_path, cnn, masked):
    """Five requests (the later ones guessed from the earlier): the batched path's actions are the
    per-segment path's; the chain-shaped layers of the DAG are batched, its merge layers not."""
    from optdist.rl.trajectory import batchable
    from tests.test_rl_decide import assert_same_placements

    inst = dag_instance(tmp_path, cnn, 5, 3, profile=resnet_block() if cnn == "block" else None)
    assert_same_placements(inst, random_policy(inst, masked, 4))
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    kinds = []
    while not rp.done:
        st = rp.next_layer()
        kinds.append((st.mode, batchable(st)))
        st.commit(np.full(st.P, int(inst.request_source[0]) if st.on_source else 0))
        rp.close(st)
    assert ("general", False) in kinds  # the merge (or grouped) layer: segment by segment
    assert any(b for _, b in kinds)  # chain-shaped layers: batched


@pytest.mark.learn
def test_short_dqn_training_on_a_dag(folder):
    """A few DQN episodes on the traced ResNet block; the trained masked policy places feasibly."""
    from optdist.rl.policy import Policy
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    inst = case("block-1x2", folder)
    res = train(inst, preset_for(inst), episodes=12, masked=True, double=True, reward="stage", progress=False)
    assert len(res.curves) == 12 and res.curves["steps"].sum() > 0
    placed = solve(inst, method="rl", policy=Policy.from_agent(res.agent.q, res.config))
    check_online(inst, placed, optimum("block-1x2", folder))
    assert placed.evaluation.feasible


@pytest.mark.learn
def test_maskable_ppo_on_a_dag(folder):
    pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")
    inst = case("res-2x2", folder)
    res = solve(inst, method="rl-ppo", timesteps=64, seed=0)
    check_online(inst, res, optimum("res-2x2", folder))
    assert res.evaluation.feasible
