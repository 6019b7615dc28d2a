"""misc38: a policy folder whose policy.json was edited since train-rl wrote it is refused (policy.pt
records the training fields), ..."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

TINY = ROOT / "instances" / "tiny"
LENET = TINY / "lenet-1x4-tau0.6.json"
MIX = ROOT / "models" / "policies" / "mix-70"


# --- 1. policy.pt records the training fields of policy.json -------------------------------------

@pytest.fixture(scope="module")
def dqn_folder(tmp_path_factory):
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import save_policy, train

    return save_policy(train(load_instance(LENET), PRESETS["lenet"], episodes=2, masked=True, progress=False),
                       tmp_path_factory.mktemp("dqn"))


def _edited(src, dst, edit):
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "policy.json").read_text())
    edit(cfg)
    (dst / "policy.json").write_text(json.dumps(cfg, indent=1))
    return dst


def test_an_edited_masked_is_refused_naming_the_folder_field_and_fix(dqn_folder, tmp_path, capsys):
    """Before: masked false loaded and placed unmasked, with a network trained masked."""
    from optdist.rl.policy import PolicyError, load_policy

    folder = _edited(dqn_folder, tmp_path / "pol", lambda c: c.update(masked=False))
    with pytest.raises(PolicyError) as e:
        load_policy(folder)
    (p,) = e.value.problems
    assert e.value.source == str(folder / "policy.json"), e.value.source
    assert p.path == "masked" and p.message.startswith("false, but policy.pt was trained with true"), p
    assert p.fix.startswith('restore "masked" true as written, or') and "optdist train-rl" in p.fix, p
    capsys.readouterr()
    assert main(["solve", str(LENET), "--method", "rl", "--policy", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'policy.json'}" in err and "masked: false, but policy.pt was trained with true" in err, err
    assert "Traceback" not in err


def test_every_edited_training_field_is_named_nested_ones_by_their_path(dqn_folder, tmp_path):
    """Before: reward, double, the preset and a removed train_freq were all accepted silently."""
    from optdist.rl.policy import PolicyError, load_policy

    def edit(c):
        c.update(reward="latency", double=not c["double"])
        c["preset"]["lr"] = 0.5
        del c["train_freq"]
    with pytest.raises(PolicyError) as e:
        load_policy(_edited(dqn_folder, tmp_path / "pol", edit))
    said = {p.path: p.message for p in e.value.problems}
    assert set(said) == {"reward", "double", "preset.lr", "train_freq"}, said
    assert said["preset.lr"].startswith("0.5, but policy.pt was trained with 0.0001"), said
    assert said["train_freq"].startswith("missing, but policy.pt was trained with 1"), said


def test_an_edited_hidden_names_the_field_not_only_the_tensor_shapes(dqn_folder, tmp_path):
    """Before: 'mlp.2.weight: shape (64, 64), policy.json's network needs (32, 64)'."""
    from optdist.rl.policy import PolicyError, load_policy

    with pytest.raises(PolicyError) as e:
        load_policy(_edited(dqn_folder, tmp_path / "pol", lambda c: c.update(hidden=[64, 32])))
    (p,) = e.value.problems
    assert p.path == "hidden" and p.message.startswith("[64, 32], but policy.pt was trained with [64, 64]"), p


def test_the_record_loads_weights_only_and_leaves_notes_and_old_policies_alone(dqn_folder, tmp_path):
    """policy.pt stays a state_dict torch.load(weights_only=True) reads and a network loads; a field
    added to policy.json (a note) is no training field; committed policies (no record) load as before."""
    from optdist.rl.policy import load_policy
    from optdist.rl.train import TRAINED_WITH

    state = torch.load(dqn_folder / "policy.pt", weights_only=True)
    trained = getattr(state, TRAINED_WITH)
    cfg = json.loads((dqn_folder / "policy.json").read_text())
    assert trained == {k: v for k, v in cfg.items() if k != "train_s"}  # before: no record
    policy = load_policy(_edited(dqn_folder, tmp_path / "note", lambda c: c.update(note="best of 3", train_s=1.0)))
    policy.net.load_state_dict(state)
    old = load_policy(_edited(MIX, tmp_path / "old", lambda c: c.update(reward="latency")))
    assert old.config["reward"] == "latency"  # saved before the record: not checked


def test_an_edited_ppo_policy_is_refused_too(tmp_path):
    """Before: an edited reward or seed of a MaskablePPO folder loaded silently."""
    pytest.importorskip("sb3_contrib")
    from optdist.rl.policy import PolicyError
    from optdist.rl.ppo import load_ppo, save_ppo, train_maskable_ppo

    folder = save_ppo(train_maskable_ppo(load_instance(LENET), 64, 0, n_steps=64)[0], tmp_path / "ppo")
    load_ppo(folder)
    with pytest.raises(PolicyError) as e:
        load_ppo(_edited(folder, tmp_path / "edited", lambda c: c.update(reward="latency")))
    (p,) = e.value.problems
    assert p.path == "reward" and p.message.startswith('"latency", but policy.pt was trained with "stage"'), p
    assert "--algo maskable-ppo" in p.fix, p
