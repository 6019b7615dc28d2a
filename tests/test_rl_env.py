"""The RL-DistPrivacy Gymnasium environment: API, seeding, masking, rewards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from gymnasium.utils.env_checker import check_env  # noqa: E402

from optdist.assignment import Assignment  # noqa: E402
from optdist.evaluate import evaluate  # noqa: E402
from optdist.heuristics.incremental import RequestPlacer, Usage  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.env import DistPrivacyEnv, Features  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
LENET = ROOT / "instances" / "paper" / "lenet-3x10-tau0.6.json"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("reward", ["paper", "stage"])
def test_check_env(reward):
    check_env(DistPrivacyEnv(load_instance(LENET), reward=reward), skip_render_check=True)


def rollout(env: DistPrivacyEnv, seed: int, steps: int) -> list:
    obs, info = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        a = env.action_space.sample(mask=info["action_mask"])
        obs, r, term, _, info = env.step(a)
        trace += [a, r, obs]
        if term:
            obs, info = env.reset()
            trace.append(obs)
    return trace


def test_seeded_reproducibility():
    inst = load_instance(LENET)
    runs = []
    for _ in range(2):
        env = DistPrivacyEnv(inst, shuffle=True)
        env.action_space.seed(7)
        runs.append(rollout(env, seed=3, steps=300))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    env = DistPrivacyEnv(inst, shuffle=True)
    env.reset(seed=3)
    first = [env._queue[:]]
    env.reset(seed=4)
    first.append(env._queue[:])
    assert first[0] != first[1]  # the seed drives the request order through np_random


def test_episode_is_one_layer_and_source_layers_are_automatic():
    inst = load_instance(LENET)
    env = DistPrivacyEnv(inst)
    obs, info = env.reset(seed=0)
    seen = []
    for _ in range(len(inst.profile(0).layers)):
        steps, term = 0, False
        layer = info["layer"]
        while not term:
            _, _, term, _, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
            steps += 1
        assert steps == inst.profile(0).layers[inst.profile(0).index(layer)].segments
        seen.append(layer)
        obs, info = env.reset()
    lim = inst.limit(0)
    assert seen[0] == "ReLU1" and all(not lim.on_source[inst.profile(0).index(n)] for n in seen)


@pytest.mark.parametrize("path", [TINY / "lenet-2x4-tight.json", TINY / "micro-2x3-tight.json", TINY / "micro-3x2-admission.json", LENET], ids=lambda p: p.stem)
def test_mask_never_proposes_an_infeasible_device(path):
    """Random choices among masked devices only (requests with no option rejected) never break a constraint."""
    inst = load_instance(path)
    feats = Features(inst)
    rng = np.random.default_rng(0)
    for _ in range(5):
        usage, owners = Usage.zeros(inst.n_nodes), []
        for r in range(inst.n_requests):
            rp, ok = RequestPlacer(inst, usage, r), True
            while ok and not rp.done:
                st = rp.next_layer()
                while ok and not st.done:
                    _, mask = feats(r, st)
                    legal = np.flatnonzero(st.feasible())
                    if not st.on_source:
                        np.testing.assert_array_equal(np.flatnonzero(mask), legal)
                    ok = len(legal) > 0
                    if ok:
                        st.place(int(rng.choice(legal)))
                if ok:
                    rp.close(st)
            if not ok:
                rp.rollback()
            owners.append(rp.owners if ok else None)
        ev = evaluate(inst, Assignment(owners))
        assert {v.constraint for v in ev.violations} <= {"admission"}


def test_env_steps_on_masked_devices_are_valid():
    env = DistPrivacyEnv(load_instance(TINY / "lenet-2x4-tight.json"), reward="stage")
    env.action_space.seed(1)
    obs, info = env.reset(seed=1)
    episodes = []
    for _ in range(400):
        if not info["action_mask"].any():
            break
        np.testing.assert_array_equal(env.action_masks(), info["action_mask"].astype(bool))
        obs, r, term, _, info = env.step(env.action_space.sample(mask=info["action_mask"]))
        if term:
            episodes.append(info["episode_stats"])
            obs, info = env.reset()
    assert episodes and all(e["valid"] for e in episodes)


def test_rewards_follow_eq11_and_stage_time():
    inst = load_instance(LENET)
    paper = DistPrivacyEnv(inst, reward="paper", sigma=1.0, beta=0.5, latency_unit_s=1e-3)
    obs, info = paper.reset(seed=0)  # ReLU1 after conv1 on the source: delay beta/rho each
    delay = inst.profile(0).layers[0].beta / inst.rate[0]
    _, r1, *_ = paper.step(0)
    _, r2, *_ = paper.step(0)  # reuse: max(1, sigma * 2) = 2
    assert r1 == pytest.approx(1 - delay / 1e-3) and r2 == pytest.approx(2 - delay / 1e-3)
    for _ in range(2):
        paper.step(0)
    _, r5, *_ = paper.step(0)  # 5th map on one device breaks Nf = 4: reward 0
    assert r5 == 0.0

    stage = DistPrivacyEnv(inst, reward="stage", latency_unit_s=1e-3)
    stage.reset(seed=0)
    total, term = 0.0, False
    while not term:
        _, r, term, _, info = stage.step(int(stage.action_masks().argmax()))
        total += r
    assert total == pytest.approx(-info["episode_stats"]["stage_time_s"] / 1e-3)


def test_removed_devices_are_masked():
    env = DistPrivacyEnv(load_instance(LENET))
    env.reset(seed=0)
    env.remove_devices([0, 1, 2])
    obs, info = env.reset()
    assert not info["action_mask"][:3].any() and info["action_mask"][3:].any()


@pytest.mark.parametrize("kwargs,said", [
    ({"instance": 5}, "instance must be an optdist Instance or the path of an instance file, not int"),
    ({"latency_unit_s": 0}, "latency_unit_s must be a finite number > 0"),
    ({"latency_unit_s": "1e-3"}, "latency_unit_s must be a finite number > 0"),
    ({"sigma": float("nan")}, "sigma must be a finite number >= 0"),
    ({"beta": float("inf")}, "beta must be a finite number >= 0"),
])
def test_gym_make_with_bad_arguments_names_the_argument(kwargs, said):
    """gymnasium.make passes its keywords through: each bad one is named (was ZeroDivisionError,
    a TypeError from os.fspath, or NaN/inf rewards)."""
    import gymnasium

    import optdist.rl  # noqa: F401  (registers the environment)

    with pytest.raises((TypeError, ValueError), match=said):
        gymnasium.make("optdist/DistPrivacy-v0", **{"instance": str(LENET), **kwargs})
