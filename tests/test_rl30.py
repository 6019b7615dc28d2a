"""rl30: the RL side's findings of break30: the registered env refuses a render mode and a
non-bool shuffle as Gymnasium's convention has it; train-rl says how many env steps MaskablePPO
ran and warns on a preset not made for the instance's CNNs; solve refuses --episodes with
--policy (the episodes were ignored) and takes a policy's policy.json as the policy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
gym = pytest.importorskip("gymnasium")

from optdist.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json")


@pytest.mark.filterwarnings("ignore:.*render_mode")
@pytest.mark.parametrize("kwargs, said", [({"render_mode": "human"}, 'render_mode "human"'),
                                          ({"shuffle": "yes"}, 'shuffle must be true or false, got "yes"')])
def test_env_refuses_a_render_mode_and_a_non_bool_shuffle(kwargs, said):
    import optdist.rl  # noqa: F401  registers the env

    with pytest.raises(ValueError, match=said):
        gym.make("optdist/DistPrivacy-v0", instance=TINY, **kwargs)
    env = gym.make("optdist/DistPrivacy-v0", instance=TINY, shuffle=True)
    assert env.unwrapped.shuffle is True and env.unwrapped.render_mode is None


def test_ppo_says_the_env_steps_it_ran(tmp_path, capsys):
    pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")
    assert main(["train-rl", TINY, "--algo", "maskable-ppo", "--timesteps", "10", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "trained MaskablePPO for 256 env steps (--timesteps 10 rounded up to whole rollouts of 256)" in out, out


@pytest.fixture(scope="module")
def dqn_policy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rl30") / "dqn"
    assert main(["train-rl", TINY, "--episodes", "3", "--out", str(out)]) == 0
    return out


def test_a_preset_for_other_cnns_is_warned(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["train-rl", TINY, "--preset", "vgg", "--episodes", "2", "--out", str(tmp_path / "v")]) == 0
    assert "--preset vgg: the paper's hyper-parameters for vgg requests" in caplog.text, caplog.text
    assert "have the preset lenet" in caplog.text


def test_solve_refuses_episodes_with_a_policy(dqn_policy, capsys):
    assert main(["solve", TINY, "--method", "rl", "--policy", str(dqn_policy), "--episodes", "5"]) == 2
    assert "--episodes trains a new policy, --policy places with a trained one: not both" in capsys.readouterr().err


def test_policy_json_is_taken_as_the_policy(dqn_policy, capsys):
    assert main(["solve", TINY, "--method", "rl", "--policy", str(dqn_policy / "policy.json")]) == 0
    out = capsys.readouterr().out
    assert "termination" in out and "not a PyTorch file" not in out, out
