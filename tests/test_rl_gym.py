"""The environment registered with Gymnasium: check_env, seeding, masks, reproducible training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
torch = pytest.importorskip("torch")
pytestmark = pytest.mark.learn

from gymnasium.utils.env_checker import check_env  # noqa: E402

import optdist.rl  # noqa: E402  (registers the environment)
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.env import DistPrivacyEnv  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "instances" / "paper" / "lenet-3x10-tau0.6.json"
TINY = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("reward", ["paper", "stage"])
def test_made_env_passes_check_env(reward):
    env = gym.make(optdist.rl.ENV_ID, instance=str(LENET), reward=reward)
    assert env.spec.id == "optdist/DistPrivacy-v0" and isinstance(env.unwrapped, DistPrivacyEnv)
    check_env(env.unwrapped, skip_render_check=True)


def test_module_prefixed_id_and_bad_arguments():
    env = gym.make("optdist.rl:optdist/DistPrivacy-v0", instance=LENET)
    assert env.action_space.n == env.unwrapped.inst.n_devices
    with pytest.raises(ValueError, match="reward must be"):
        gym.make(optdist.rl.ENV_ID, instance=LENET, reward="latency")


def trajectory(env, seed: int, steps: int) -> list:
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        mask = env.get_wrapper_attr("action_masks")()
        np.testing.assert_array_equal(mask, info["action_mask"].astype(bool))
        obs, reward, term, trunc, info = env.step(env.action_space.sample(mask=info["action_mask"]))
        out += [obs, reward, term]
        if term:
            obs, info = env.reset()
            out.append(obs)
    return out


def test_same_seed_same_trajectory():
    """The request order (shuffle) and the sampled actions follow the seed only."""
    runs = [trajectory(gym.make(optdist.rl.ENV_ID, instance=LENET, shuffle=True), seed, 250) for seed in (3, 3, 4)]
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], runs[2]))


def test_same_seed_same_trained_weights():
    def weights(seed: int) -> dict:
        res = train(load_instance(TINY), PRESETS["lenet"], episodes=8, masked=True, double=True, reward="stage", seed=seed, progress=False)
        return res.agent.q.state_dict()

    a, b, c = weights(5), weights(5), weights(6)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
