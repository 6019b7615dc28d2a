"""fixb34: items left open by the previous session (real torch/SB3 training on a tiny instance, no mocks).

2. ``optdist.rl.ppo.train_maskable_ppo`` refused a checkpoint in ``optdist train-rl``'s words
   (``--resume``, ``--seed``, ``--timesteps``, ``--out``), and ``resume=True`` without
   ``checkpoint=`` was a TypeError; now in its own (as :func:`optdist.rl.train.train`, fixd32b), the
   CLI's messages still in flags. A missing PPO checkpoint said "train-rl writes one when a signal
   stops it, and every --checkpoint-every episodes", which is the DQN's rule: now the PPO's.
3. A DQN checkpoint kept the training curves as lists (56 bytes an episode: 2.5 of 3.45 MB after 44k
   episodes); now packed per column (:data:`optdist.rl.train.CURVES_ENCODING`), still read with
   ``torch.load(weights_only=True)`` and resumed bit for bit; a checkpoint with lists still resumes.
"""

from __future__ import annotations

import json
import re
import shutil

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


# --- 3. the curves packed in a DQN checkpoint -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory):
    """A DQN training of micro-1x3 to 60 episodes, its checkpoint at episode 40 left in its folder:
    (the training's result, the folder)."""
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    folder = tmp_path_factory.mktemp("dqn") / "ck"
    inst = load_instance(MICRO)
    return train(inst, preset_for(inst), episodes=60, checkpoint=folder, checkpoint_every=40, progress=False), folder


def _resumed(folder):
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    inst = load_instance(MICRO)
    return train(inst, preset_for(inst), checkpoint=folder, resume=True, progress=False)


def test_the_curves_are_packed_read_weights_only_and_resumed_bit_for_bit(dqn_run, tmp_path):
    from optdist.rl.train import CURVES_ENCODING

    whole, folder = dqn_run
    copy = shutil.copytree(folder, tmp_path / "ck")
    assert json.loads((copy / "checkpoint.json").read_text())["curves_encoding"] == CURVES_ENCODING
    curves = torch.load(copy / "checkpoint.pt", weights_only=True)["curves"]
    assert set(curves) == set(whole.curves.columns)
    assert all(c["packed"].dtype == torch.uint8 and c["packed"].dim() == 1 for c in curves.values()), curves
    assert {k: c["dtype"] for k, c in curves.items() if c["dtype"] == "float64"}.keys() == {
        "reward", "latency_penalty_ms", "stage_time_ms", "epsilon", "loss"}
    assert curves["episode"]["dtype"] == "int8" and curves["request"]["names"] == ["r1"], curves
    resumed = _resumed(copy)
    assert resumed.config["resumed_at"] == 40 and resumed.curves.equals(whole.curves)
    a, b = whole.agent.q.state_dict(), resumed.agent.q.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_with_the_curves_as_lists_still_resumes(dqn_run, tmp_path):
    """Guard (passes before the change too): a checkpoint as optdist wrote it before, its curves lists
    of the Python values of the episodes done (those of the uninterrupted training)."""
    whole, folder = dqn_run
    copy = shutil.copytree(folder, tmp_path / "ck")
    meta = json.loads((copy / "checkpoint.json").read_text())
    state = torch.load(copy / "checkpoint.pt", weights_only=True)
    meta.pop("curves_encoding", None)
    state["curves"] = {k: whole.curves[k][:40].tolist() for k in whole.curves}
    torch.save(state, copy / "checkpoint.pt")
    (copy / "checkpoint.json").write_text(json.dumps(meta))
    assert _resumed(copy).curves.equals(whole.curves)


def test_a_damaged_packed_curve_is_refused_naming_the_column_and_the_fix(dqn_run, tmp_path):
    copy = shutil.copytree(dqn_run[1], tmp_path / "ck")
    state = torch.load(copy / "checkpoint.pt", weights_only=True)
    state["curves"]["loss"]["packed"] = state["curves"]["loss"]["packed"][:-3]  # cut short
    torch.save(state, copy / "checkpoint.pt")
    with pytest.raises(ValueError) as e:
        _resumed(copy)
    msg = str(e.value)
    assert f"{copy / 'checkpoint.pt'}: field curves.loss: not up to 60 values (checkpoint.json's episodes_planned) " \
           "packed as zlib-columns/1; the file is damaged" in msg, msg
    assert "or call train without resume=True, to train afresh)" in msg, msg
