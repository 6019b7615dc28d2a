"""Actions the environment's action space does not contain are refused before anything changes
(found trying ``gymnasium.make("optdist/DistPrivacy-v0", ...)`` as a new user: ``step(-1)``
placed on the last device through numpy's negative index and then failed inside ``np.bincount``,
``step(0.5)`` placed on device 0, a step after the layer's episode ended pushed the segment
index past 1, outside the observation space)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

import optdist.rl  # noqa: E402  (registers the environment)

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny" / "lenet-1x4-tau0.6.json"


@pytest.fixture
def env():
    env = gym.make(optdist.rl.ENV_ID, instance=str(TINY)).unwrapped
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("action", [-1, 4, 99, 0.5, 1.0, "0", None, np.array([0, 1]), np.float32(1.0)])
def test_an_action_outside_the_space_is_refused_and_changes_nothing(env, action):
    before = (env._st.t, env._st.cnt.copy(), env.usage.memory.copy())
    with pytest.raises(ValueError, match=r"not in the action space Discrete\(4\)"):
        env.step(action)
    assert env._st.t == before[0] and np.array_equal(env._st.cnt, before[1])
    assert np.array_equal(env.usage.memory, before[2])
    obs, *_ = env.step(0)  # the episode goes on as if nothing had happened
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("action", [1, np.int64(1), np.array(1)])
def test_integer_actions_of_any_integer_type_are_taken(env, action):
    obs, *_ = env.step(action)
    assert env._st.cnt[1] == 1 and env.observation_space.contains(obs)


def test_a_step_after_the_episode_ended_asks_for_reset(env):
    done = False
    while not done:
        obs, _, done, _, _ = env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert env.observation_space.contains(obs)
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(0)
    obs, _ = env.reset()
    assert env.observation_space.contains(obs)
    env.step(0)
