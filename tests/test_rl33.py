"""rl33: learned methods name their rejections with admission control off (never "the method said
feasible"), policy files are checked field by field against their weights, train-rl -q is quiet,
and the gymnasium env takes only integer actions."""

from __future__ import annotations

import numpy as np
import optdist
import pytest
from optdist.cli import main
from tests.conftest import ROOT

PRIVACY = ROOT / "instances" / "infeasible" / "lenet-1x3-privacy.json"
MIX = ROOT / "models" / "policies" / "mix-70"
PROVEN = ("rejects 1 request (r1) with admission control off: the instance is proven infeasible by 1 pre-solve "
          "check(s) (as --method milp says), the first: [privacy] request r1, layer ReLU2")


def _termination(capsys, *argv) -> str:
    capsys.readouterr()
    assert main(["solve", *argv, "-q"]) == 1
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("termination"))


# --- 1. rejections with admission control off -----------------------------------------------------

def test_rl_names_the_proof_of_its_rejection_instead_of_said_feasible(capsys):
    """Before: 'termination  violated  (the method said feasible; see the violations below)' and no
    word in the result's extra."""
    line = _termination(capsys, str(PRIVACY), "--method", "rl", "--policy", str(MIX))
    assert line.startswith(f"termination  violated  ({PROVEN}"), line
    assert "the method said" not in line
    res = optdist.solve(PRIVACY, method="rl", policy=MIX)
    assert res.termination == "violated" and res.extra["not_modelled"]["admission"].startswith(
        "rejects requests with admission control off: the instance is proven infeasible")
    assert len(res.extra["infeasible_by_checks"]) == 1


def test_greedy_says_the_proof_too_not_that_milp_may_place_it(capsys):
    """Before: greedy offered '--method milp' (which proves the instance infeasible) as the fix."""
    line = _termination(capsys, str(PRIVACY), "--method", "greedy")
    assert line.startswith(f"termination  violated  ({PROVEN}"), line


def test_an_unmasked_policy_names_the_limits_it_does_not_keep():
    """Before: 'violates privacy, which rl models: the method said feasible (a bug in the method)'."""
    from optdist.evaluate import violation_families

    res = optdist.solve(PRIVACY, method="rl", episodes=2, masked=False)
    families = set(violation_families(optdist.load_instance(PRIVACY), res.evaluation.violations))
    assert "privacy" in families and families <= set(res.extra["not_modelled"]), families
    assert res.extra["not_modelled"]["privacy"].startswith("violates privacy (10f): rl's policy is unmasked (masked false)")


def test_rl_ppo_names_the_proof_of_its_rejection():
    res = optdist.solve(PRIVACY, method="rl-ppo", timesteps=64)
    assert res.termination == "violated"
    assert res.extra["not_modelled"]["admission"].startswith(
        "rejects requests with admission control off: the instance is proven infeasible by 1 pre-solve check(s)")


# --- 2./3. policy.json checked against its weights; errors name the folder, the file, the field ------

def _edited_policy(tmp_path, **fields):
    """A copy of the mix-70 policy with ``fields`` of its policy.json set (None: removed)."""
    import json
    import shutil

    folder = tmp_path / "pol"
    shutil.copytree(MIX, folder)
    doc = json.loads((folder / "policy.json").read_text())
    doc.update(fields)
    (folder / "policy.json").write_text(json.dumps(doc))
    return folder


@pytest.mark.parametrize("fields,field,words", [
    ({"cnns": ["cifar", "lenet", "vgg16"]}, "cnns, max_layers", 'and "max_layers" 40 give 44 global features'),
    ({"max_layers": 20}, "cnns, max_layers", 'and "max_layers" 20 give 25 global features'),
    ({"n_device": 12}, "n_device", "12 per-device features, but optdist's observation has 11"),
    ({"n_actions": 4}, "device_ids", 'is not 4 distinct device ids ("n_actions" 4'),
    ({"device_ids": ["a", "b"]}, "device_ids", '["a", "b"] is not 70 distinct device ids'),
])
def test_an_edited_policy_json_is_refused_naming_the_file_and_field(tmp_path, fields, field, words):
    """Before: cnns/max_layers failed at placement with 'policy reads 45 global and 11 per-device
    features, X gives 44 and 11: retrain it' (no file, no field); n_actions, device_ids and n_device
    (the last as the .pt's 'shape (64, 56), policy.json's network needs (64, 57)') not named."""
    from optdist.rl.policy import PolicyError, load_policy

    folder = _edited_policy(tmp_path, **fields)
    with pytest.raises(PolicyError) as e:
        load_policy(folder)
    text = str(e.value)
    assert text.startswith(f"{folder / 'policy.json'}: ") and f"  - {field}: " in text and words in text, text
    assert "the file was edited since it was written" in text


@pytest.mark.parametrize("keep,missing", [("policy.pt", "policy.json"), ("policy.json", "policy.pt")])
def test_a_folder_with_one_of_the_two_files_says_which_is_missing(tmp_path, keep, missing):
    """Before: 'no policy here (need policy.pt and policy.json)' for either."""
    from optdist.rl.policy import load_policy

    folder = tmp_path / "half"
    folder.mkdir()
    (folder / keep).write_bytes((MIX / keep).read_bytes())
    with pytest.raises(FileNotFoundError, match=f"{keep} is there but {missing} is missing"):
        load_policy(folder)


def test_a_policy_of_other_cnns_is_named_by_its_folder(capsys):
    """Before: "the policy's observation layout (CNNs [...]) does not cover ..." without the folder."""
    capsys.readouterr()
    assert main(["solve", str(ROOT / "instances/tiny/micro-2x2-tau0.6.json"), "--method", "rl", "--policy", str(MIX)]) == 2
    err = capsys.readouterr().err
    assert f"the policy {MIX}: its observation layout (policy.json's \"cnns\" " in err, err


# --- 3./4. checkpoint.json: agent_rng cross-checked with checkpoint.pt; an edited preset value --------

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


@pytest.fixture(scope="module")
def dqn_checkpoint(tmp_path_factory):
    """A real DQN checkpoint: 40 of 60 episodes done on the micro instance (saved every 40)."""
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    folder = tmp_path_factory.mktemp("dqn")
    inst = optdist.load_instance(MICRO)
    train(inst, preset_for(inst), episodes=60, checkpoint=folder, checkpoint_every=40, progress=False)
    return folder


def _resume_refused(capsys, src, dst, edit) -> str:
    import json
    import shutil

    shutil.copytree(src, dst)
    meta = json.loads((dst / "checkpoint.json").read_text())
    edit(meta)
    (dst / "checkpoint.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["train-rl", str(MICRO), "--resume", "--out", str(dst), "-q"]) == 2
    err = capsys.readouterr().err
    assert not (dst / "policy.json").exists() and "Traceback" not in err
    return err


def test_an_edited_agent_rng_is_refused_against_checkpoint_pt(dqn_checkpoint, tmp_path, capsys):
    """Before: agent_rng.state.state = 1 (a valid PCG64 state, not the saved one) was resumed."""
    err = _resume_refused(capsys, dqn_checkpoint, tmp_path / "out",
                          lambda meta: meta["agent_rng"]["state"].update(state=1))
    assert "checkpoint.json: field agent_rng: " in err and "does not match the agent's RNG state saved in" in err, err
    assert "checkpoint.pt" in err and "was edited" in err


def test_an_edited_preset_value_says_the_checkpoint_was_edited(dqn_checkpoint, tmp_path, capsys):
    """Before: '... this one has 0.0001; not resumed (fix: resume with the checkpoint's --preset ...)',
    but --preset takes only a name."""
    err = _resume_refused(capsys, dqn_checkpoint, tmp_path / "out",
                          lambda meta: meta["settings"]["preset"].update(lr=1.0))
    assert "field settings.preset.lr: 1.0, but preset " in err and "the checkpoint was edited" in err, err
    assert "resume with the checkpoint's --preset" not in err and "restore settings.preset.lr" in err


# --- 5. train-rl -q: no progress bars ---------------------------------------------------------------

def test_train_rl_quiet_draws_no_progress_bar(tmp_path, capsys):
    """Before: 'train-rl micro-1x3-tau0.6: 100%|##########| 30/30 [...]' on stderr despite -q."""
    capsys.readouterr()
    assert main(["train-rl", str(MICRO), "--episodes", "30", "--out", str(tmp_path / "p"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "ep/s" not in err and "%|" not in err, err


# --- 6. the wall time says what it counts where rl trained first -------------------------------------

def test_rl_without_policy_labels_its_wall_time(capsys):
    """Before: 'wall time    0.019 s' beside '...; trained 4.5 s' on the decisions line."""
    capsys.readouterr()
    assert main(["solve", str(ROOT / "instances/tiny/lenet-1x4-tau0.8.json"), "--method", "rl", "--episodes", "5",
                 "-q"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("wall time"))
    assert line.endswith(" s)") and "s (placement; training " in line, line
    assert "; trained" not in out


# --- 7. the gymnasium env: integer actions only; action_masks after the episode raises -----------------

def _env():
    import gymnasium

    import optdist.rl  # noqa: F401  (registers the env)

    env = gymnasium.make("optdist/DistPrivacy-v0", instance=str(ROOT / "instances/tiny/lenet-1x4-tau0.8.json"))
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("action", [True, np.bool_(True), np.array(True), np.array([1]), 1.0])
def test_step_refuses_a_bool_and_any_non_integer_scalar(action):
    """Before: step(True) and step(np.bool_(True)) placed on device 1."""
    env = _env()
    with pytest.raises(ValueError, match="is not in the action space"):
        env.step(action)


@pytest.mark.parametrize("action", [1, np.int64(1), np.array(1), np.array(1, dtype=np.int8)])
def test_step_takes_integer_scalars(action):
    env = _env()
    env.step(action)
    assert env.unwrapped.pass_actions == [1]


def test_action_masks_after_the_episode_raises_as_step_does():
    """Before: action_masks() returned all False silently once the layer's episode was over."""
    env = _env()
    done = False
    while not done:
        _, _, done, _, _ = env.step(int(np.flatnonzero(env.unwrapped.action_masks())[0]))
    for call in (lambda: env.unwrapped.action_masks(), lambda: env.step(0)):
        with pytest.raises(RuntimeError, match=r"the layer's episode is over: call reset\(\)"):
            call()
    env.reset()
    assert env.unwrapped.action_masks().any()


def test_weights_that_disagree_with_policy_json_name_its_fields(tmp_path):
    """Before: 'mlp.2.weight: shape (64, 64), policy.json's network needs (32, 64) (fix: retrain it ...)':
    neither the fields the shape follows from nor that policy.json may have been edited."""
    from optdist.rl.policy import PolicyError, load_policy

    with pytest.raises(PolicyError) as e:
        load_policy(_edited_policy(tmp_path, hidden=[64, 32]))
    text = str(e.value)
    assert "mlp.2.weight: shape (64, 64), policy.json's network needs (32, 64) (from its \"hidden\"" in text, text
    assert "if policy.json was edited since it was written, restore its \"hidden\"" in text


def test_a_ppo_policy_of_another_instance_is_named_by_its_folder(tmp_path):
    """Before: 'the PPO policy was trained for CNNs ...' without the folder."""
    from optdist.rl.ppo import save_ppo, solve_rl_ppo, train_maskable_ppo

    policy, _ = train_maskable_ppo(optdist.load_instance(PRIVACY), 64, 0)
    folder = save_ppo(policy, tmp_path / "ppo")
    with pytest.raises(ValueError, match=f"the PPO policy {folder} was trained for CNNs"):
        solve_rl_ppo(optdist.load_instance(ROOT / "instances/tiny/lenet-1x4-tau0.8.json"), policy=folder)
