"""preset36: ``train_freq`` is a field of each RL preset (lenet, cifar 1; vgg 16; hetero 4), the
default of ``optdist train-rl --train-freq`` and of ``train(train_freq=)``.

Before: train-rl's --train-freq defaulted to 1 whatever the preset (the hetero preset's 10 000
episodes took 1977 s on mixed-8x6, over issue 14's 15 min), so policy.json said 1 without the flag,
and a checkpoint saved with 1 resumed under a preset whose value is now another.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import train  # noqa: E402

from .conftest import load_script  # noqa: E402

TINY = str(Path(__file__).resolve().parents[1] / "instances" / "tiny" / "lenet-1x4-tau0.8.json")


def _policy(out: Path) -> dict:
    return json.loads((out / "policy.json").read_text())


def test_presets_say_their_train_freq():
    assert {name: p.train_freq for name, p in PRESETS.items()} == {"lenet": 1, "cifar": 1, "vgg": 16, "hetero": 4}


@pytest.mark.parametrize("preset, flag, used", [("hetero", [], 4), ("vgg", [], 16), ("hetero", ["--train-freq", "2"], 2),
                                                ("hetero", ["--train-freq", "1"], 1)])
def test_cli_train_freq_defaults_to_the_presets_and_a_flag_overrides_it(tmp_path, preset, flag, used):
    out = tmp_path / "pol"
    assert main(["train-rl", TINY, "--preset", preset, "--episodes", "30", *flag, "--quiet", "--out", str(out)]) == 0
    cfg = _policy(out)
    assert cfg["train_freq"] == used and cfg["preset"]["train_freq"] == PRESETS[preset].train_freq
    # the first gradient step needs a batch (64 transitions), then one every train_freq env steps
    assert cfg["gradient_steps"] == (cfg["env_steps"] - 64) // used + 1


def test_tiny_instance_default_keeps_one_gradient_step_per_env_step(tmp_path):
    out = tmp_path / "pol"
    assert main(["train-rl", TINY, "--episodes", "20", "--masked", "--quiet", "--out", str(out)]) == 0
    cfg = _policy(out)
    assert cfg["preset"]["name"] == "lenet" and cfg["train_freq"] == 1 == cfg["preset"]["train_freq"]
    assert cfg["gradient_steps"] == cfg["env_steps"] - 63
    assert main(["solve", TINY, "--method", "rl", "--policy", str(out)]) == 0


def test_python_train_defaults_to_the_presets_train_freq():
    res = train(load_instance(TINY), PRESETS["hetero"], episodes=12, progress=False)
    assert res.config["train_freq"] == 4 == res.agent.cfg.train_freq


def _checkpoint(folder: Path, train_freq: int | None) -> None:
    """A checkpoint of the hetero preset at episode 40 in ``folder`` (train() leaves it)."""
    train(load_instance(TINY), PRESETS["hetero"], episodes=60, reward="stage", train_freq=train_freq,
          checkpoint=folder, checkpoint_every=40, progress=False)
    assert json.loads((folder / "checkpoint.json").read_text())["settings"]["train_freq"] == (train_freq or 4)


def test_resume_compares_the_effective_train_freq(tmp_path, capsys):
    resume = ["train-rl", TINY, "--preset", "hetero", "--reward", "stage", "--quiet", "--resume"]
    one = tmp_path / "one"
    _checkpoint(one, 1)  # saved with 1 (the old CLI default): resuming without the flag now means the preset's 4
    assert main([*resume, "--out", str(one)]) == 2
    err = capsys.readouterr().err
    assert "field settings.train_freq" in err and "train_freq 1, this one has 4" in err
    assert "fix: give --train-freq 1 to resume it" in err and "Traceback" not in err
    assert main([*resume, "--train-freq", "1", "--out", str(one)]) == 0
    assert _policy(one)["train_freq"] == 1 and _policy(one)["episodes"] == 60
    default = tmp_path / "default"
    _checkpoint(default, None)  # saved with the preset's 4
    assert main([*resume, "--train-freq", "2", "--out", str(default)]) == 2
    assert "train_freq 4, this one has 2" in capsys.readouterr().err
    assert main([*resume, "--out", str(default)]) == 0
    assert _policy(default)["train_freq"] == 4 and _policy(default)["episodes"] == 60


def test_python_resume_refusal_is_in_python_words(tmp_path):
    _checkpoint(tmp_path, None)
    with pytest.raises(ValueError, match=r"train_freq 4, this one has 1 .*fix: give train_freq=4 to resume it"):
        train(load_instance(TINY), PRESETS["hetero"], reward="stage", train_freq=1, checkpoint=tmp_path, resume=True,
              progress=False)


@pytest.fixture
def train_time(tmp_path, monkeypatch):
    mod = load_script("benchmarks/online/train_time.py")
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "RECORDS", tmp_path / "train_time")
    return mod


def test_train_time_runs_each_preset_at_its_own_train_freq_and_keeps_the_placement(train_time, tmp_path, capsys):
    assert all("--train-freq" not in extra for _, extra in train_time.RUNS.values())
    assert main(["train-rl", TINY, "--episodes", "20", "--quiet", "--out", str(tmp_path / "pol")]) == 0
    lines = train_time.placement_lines(capsys.readouterr().out)
    assert lines[0].startswith("# the policy placing lenet-1x4-tau0.8 online") and "rejected" in lines[0]
    assert any(line.startswith("total latency") for line in lines) and any("rejected" in line for line in lines[1:])
    record = {"preset": "lenet", "instance": "lenet-1x4-tau0.8", "episodes": 20, "train_freq": 1, "env_steps": 1,
              "gradient_steps": 1, "train_s": 1.0, "wall_s": 2.0, "cpu_s": 1.5, "load_before": 1.0, "load_after": 1.0,
              "date_utc": "2026-12-05 14:00", "command": "optdist train-rl x", "machine": "m"}
    (tmp_path / "train_time").mkdir()
    (tmp_path / "train_time" / "lenet.json").write_text(json.dumps({**record, "placement": lines}))
    (tmp_path / "train_time" / "cifar.json").write_text(json.dumps({**record, "preset": "cifar"}))
    assert train_time.main(["--render"]) == 0
    md = (tmp_path / "train_time.md").read_text()
    assert "- `lenet`: the policy placing lenet-1x4-tau0.8 online" in md and "- `cifar`: not recorded" in md


def test_a_checkpoint_saved_before_the_field_resumes(tmp_path):
    """A checkpoint whose settings.preset lacks train_freq (saved before the preset had it) resumes
    where the value used (settings.train_freq) is the same."""
    _checkpoint(tmp_path, None)
    meta_path = tmp_path / "checkpoint.json"
    meta = json.loads(meta_path.read_text())
    assert "train_freq" not in meta["settings"]["preset"]  # the value used is settings.train_freq, once
    res = train(load_instance(TINY), PRESETS["hetero"], reward="stage", checkpoint=tmp_path, resume=True, progress=False)
    assert res.config["episodes"] == 60 and res.config["train_freq"] == 4
