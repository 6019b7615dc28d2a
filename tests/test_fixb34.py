"""fixb34: items left open by the previous session (real torch/SB3 training on a tiny instance, no mocks).

2. ``optdist.rl.ppo.train_maskable_ppo`` refused a checkpoint in ``optdist train-rl``'s words
   (``--resume``, ``--seed``, ``--timesteps``, ``--out``), and ``resume=True`` without
   ``checkpoint=`` was a TypeError; now in its own (as :func:`optdist.rl.train.train`, fixd32b), the
   CLI's messages still in flags. A missing PPO checkpoint said "train-rl writes one when a signal
   stops it, and every --checkpoint-every episodes", which is the DQN's rule: now the PPO's.
"""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402

from .conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.learn

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"
N_STEPS = 64  # rollouts of 64 env steps: the checkpoint is written at the second one's start


@pytest.fixture(scope="module")
def ppo_checkpoint(tmp_path_factory):
    """A MaskablePPO checkpoint of micro-1x3 (seed 0, 2 rollouts planned, 1 done): its folder."""
    from optdist.rl.ppo import train_maskable_ppo

    folder = tmp_path_factory.mktemp("ppo") / "ck"
    train_maskable_ppo(load_instance(MICRO), 2 * N_STEPS, 0, n_steps=N_STEPS, checkpoint=folder)
    assert (folder / "checkpoint.json").is_file()
    return folder


def _refusal(**kw) -> str:
    from optdist.rl.ppo import train_maskable_ppo

    with pytest.raises(ValueError) as e:
        train_maskable_ppo(load_instance(MICRO), n_steps=N_STEPS, resume=True, **kw)
    return str(e.value)


def test_the_ppo_training_refuses_a_checkpoint_in_its_own_words(ppo_checkpoint, tmp_path):
    msg = _refusal(timesteps=2 * N_STEPS, seed=1, checkpoint=ppo_checkpoint)
    assert "field settings.seed" in msg and "resume with the checkpoint's seed=" in msg, msg
    assert "call train_maskable_ppo without resume=True, or with another checkpoint= folder" in msg, msg
    assert "--" not in msg, msg
    msg = _refusal(timesteps=N_STEPS // 2, seed=0, checkpoint=ppo_checkpoint)
    assert msg.startswith(f"timesteps={N_STEPS // 2}: the checkpoint in ") and "--" not in msg, msg
    assert f"(fix: give a larger timesteps=, or give timesteps=None to train the {2 * N_STEPS} it had planned)" in msg
    msg = _refusal(timesteps=None, seed=0, checkpoint=tmp_path / "none")
    assert msg.startswith("resume=True: ") and "--" not in msg, msg
    assert "train_maskable_ppo writes one at the start of every rollout after its first update" in msg, msg


def test_the_ppo_training_refuses_resume_without_a_checkpoint_folder():
    msg = _refusal(timesteps=None)
    assert re.match(r"resume=True without checkpoint=: .*fix: give checkpoint= the folder", msg), msg


def test_the_dqn_training_names_the_function_of_a_ppo_checkpoint(ppo_checkpoint):
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    inst = load_instance(MICRO)
    with pytest.raises(ValueError) as e:
        train(inst, preset_for(inst), checkpoint=ppo_checkpoint, resume=True, progress=False)
    msg = str(e.value)
    assert 'field settings.algo: the checkpoint was saved by a training with algo "maskable-ppo"' in msg, msg
    assert "resume with the checkpoint's algo (dqn: optdist.rl.train.train, maskable-ppo: " \
           "optdist.rl.ppo.train_maskable_ppo)" in msg and "--" not in msg, msg


def test_train_rl_keeps_its_flags_and_says_when_a_ppo_checkpoint_is_written(tmp_path, capsys):
    assert main(["train-rl", str(MICRO), "--algo", "maskable-ppo", "--resume", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"--resume: {tmp_path / 'checkpoint.json'} not found" in err, err
    assert ("(fix: leave out --resume and give --force, or another --out, to train afresh; train-rl --algo "
            "maskable-ppo writes one at the start of every rollout after its first update)") in err, err
