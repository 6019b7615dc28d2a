"""MaskablePPO (sb3-contrib) on the registered environment: training, saving, placing, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")
pytestmark = pytest.mark.learn

import optdist  # noqa: E402
from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.policy import PolicyError  # noqa: E402
from optdist.rl.ppo import load_ppo, save_ppo, train_maskable_ppo  # noqa: E402

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    inst = load_instance(TINY / "lenet-1x4-tau0.6.json")
    pols = [train_maskable_ppo(inst, 256, seed=1, n_steps=128)[0] for _ in range(2)]
    return inst, pols, save_ppo(pols[0], tmp_path_factory.mktemp("ppo"))


def test_same_seed_same_weights_and_saved_policy_reloads(trained):
    inst, (a, b), folder = trained
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values(), strict=True))
    loaded = load_ppo(folder)
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), loaded.net.state_dict().values(), strict=True))
    cfg = json.loads((folder / "policy.json").read_text())
    assert cfg["format"] == "optdist-rl-ppo/1" and cfg["n_actions"] == inst.n_devices and cfg["timesteps"] == 256


def test_placed_by_the_registry_and_rescored(trained):
    inst, _, folder = trained
    res = optdist.solve(inst, method="rl-ppo", policy=folder)
    assert res.method == "rl-ppo" and res.evaluation is not None
    assert res.evaluation.n_rejected == res.extra["rejected"]
    assert not [v for v in res.evaluation.violations if v.constraint != "admission"]  # masked: never breaks a constraint
    assert res.extra["decision_ms_mean"] > 0


def test_bad_policy_files_are_refused(trained, tmp_path):
    _, _, folder = trained
    (tmp_path / "policy.json").write_text(json.dumps({**json.loads((folder / "policy.json").read_text()), "format": "x"}))
    (tmp_path / "policy.pt").write_bytes((folder / "policy.pt").read_bytes())
    with pytest.raises(PolicyError, match="format"):
        load_ppo(tmp_path)
    (tmp_path / "policy.json").write_text((folder / "policy.json").read_text())
    torch.save({"mlp": object}, tmp_path / "policy.pt")  # a pickled object: never unpickled
    with pytest.raises(PolicyError, match="weights_only"):
        load_ppo(tmp_path)
    with pytest.raises(ValueError, match="trained for CNNs"):
        optdist.solve(load_instance(TINY / "cifar-1x4-tau0.8.json"), method="rl-ppo", policy=folder)


def test_cli_trains_and_places(tmp_path, capsys):
    out = tmp_path / "ppo"
    inst = str(TINY / "lenet-1x4-tau0.8.json")
    assert main(["train-rl", inst, "--algo", "maskable-ppo", "--timesteps", "128", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"policy.pt", "policy.json"}
    assert "placing lenet-1x4-tau0.8 online" in capsys.readouterr().out
    assert main(["solve", inst, "--method", "rl-ppo", "--policy", str(out)]) == 0
    assert "method       rl-ppo" in capsys.readouterr().out
    assert main(["train-rl", inst, "--algo", "maskable-ppo", "--episodes", "5"]) == 2
    assert "--episodes is an option of --algo dqn" in capsys.readouterr().err


def test_policy_json_records_the_env_steps_taken():
    """MaskablePPO collects whole rollouts: ``timesteps`` 1 with rollouts of 128 steps trains on
    128. ``policy.json`` keeps the request (``timesteps``) and what ran (``env_steps``); before,
    only the request, so a policy looked trained on 1 step."""
    inst = load_instance(TINY / "lenet-1x4-tau0.6.json")
    cfg = train_maskable_ppo(inst, 1, seed=0, n_steps=128)[0].config
    assert cfg["timesteps"] == 1 and cfg["env_steps"] == 128
