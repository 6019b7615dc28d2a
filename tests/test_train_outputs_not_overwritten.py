"""`optdist train-target` and `optdist train-rl` refuse to replace existing weights or policy files
without --force, before any training, naming the paths and the flag (fixes17: both overwrote the
committed models/weights and models/policies silently)."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main

from .conftest import ROOT

INST = str(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json")


def _taken(folder, names) -> dict[str, bytes]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"committed " + name.encode())
    return {name: (folder / name).read_bytes() for name in names}


def test_train_target_refuses_existing_weights_without_force(tmp_path, capsys):
    before = _taken(tmp_path, ["lenet.pt", "lenet.json"])
    assert main(["train-target", "lenet", "--epochs", "1", "--samples", "1000", "--weights-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'lenet.pt'}, {tmp_path / 'lenet.json'} already exist; not overwritten" in err
    assert "give --force to replace them, or another --weights-dir DIR" in err
    assert {n: (tmp_path / n).read_bytes() for n in before} == before


def test_train_target_refuses_one_existing_file_too(tmp_path, capsys):
    _taken(tmp_path, ["lenet.json"])
    assert main(["train-target", "lenet", "--weights-dir", str(tmp_path)]) == 2
    assert f"{tmp_path / 'lenet.json'} already exists" in capsys.readouterr().err
    assert not (tmp_path / "lenet.pt").exists()


@pytest.mark.slow
def test_train_target_with_force_replaces_them(tmp_path):
    _taken(tmp_path, ["lenet.pt", "lenet.json"])
    assert main(["train-target", "lenet", "--epochs", "1", "--samples", "1000", "--weights-dir", str(tmp_path),
                 "--no-progress", "--force"]) == 0
    meta = json.loads((tmp_path / "lenet.json").read_text())
    assert meta["epochs"] == 1 and "--force" in meta["command"]


@pytest.mark.parametrize("present", [["policy.pt", "policy.json", "curves.csv", "curves.png"], ["curves.png"]])
def test_train_rl_refuses_an_out_folder_holding_a_policy_without_force(tmp_path, capsys, present):
    out = tmp_path / "pol"
    before = _taken(out, present)
    assert main(["train-rl", INST, "--episodes", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out / present[0]}" in err and "not overwritten (fix: give --force to replace" in err
    assert "another --out DIR" in err and "train-rl lenet" not in err  # refused before training (no progress bar)
    assert {n: (out / n).read_bytes() for n in before} == before and sorted(p.name for p in out.iterdir()) == sorted(present)


def test_train_rl_with_force_replaces_the_policy(tmp_path, capsys):
    out = tmp_path / "pol"
    _taken(out, ["policy.pt", "policy.json", "curves.csv", "curves.png"])
    assert main(["train-rl", INST, "--episodes", "3", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "policy.json").read_text())["episodes"] == 3
    assert main(["train-rl", INST, "--episodes", "3", "--out", str(tmp_path / "new")]) == 0  # a new folder needs no --force


def test_train_target_refuses_a_weights_dir_that_is_a_file_before_training(tmp_path, capsys):
    """review17: --weights-dir naming a file passed the overwrite check (no FILE/lenet.pt) and
    failed only when the weights were written, after the training."""
    file = tmp_path / "weights"
    file.write_text("not a folder")
    assert main(["train-target", "lenet", "--epochs", "1", "--samples", "1000", "--weights-dir", str(file),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"--weights-dir {file}: exists and is not a folder" in err and "epoch" not in err
    assert file.read_text() == "not a folder"


def test_calibrate_on_other_data_suggests_a_train_target_command_that_runs(tmp_path, capsys):
    """review17: calibrate's fix for a target trained on other data was `optdist train-target
    lenet --data natural`, which train-target now refuses (the committed models/weights/lenet.*
    exist); it names another --weights-dir, or --force to replace the committed weights."""
    assert main(["calibrate", "lenet", "--data", "natural", "--out", str(tmp_path / "cal")]) == 2
    err = capsys.readouterr().err
    assert 'was trained on "mnist", not "natural"' in err
    assert "`optdist train-target lenet --data natural --weights-dir DIR`, then give --weights-dir DIR here" in err
    assert f"--force replaces the weights in {ROOT / 'models' / 'weights'}" in err


def test_train_rl_refuses_an_out_folder_under_a_file_before_training(tmp_path, capsys):
    """review17: `--out FILE/sub` passed the "is not a folder" check (FILE/sub does not exist) and
    ended, after the training, in `[Errno 20] Not a directory` naming no option or fix."""
    file = tmp_path / "f"
    file.write_text("x")
    assert main(["train-rl", INST, "--episodes", "3", "--out", str(file / "sub"), "--force"]) == 2
    err = capsys.readouterr().err
    assert f"--out {file / 'sub'}: exists and is not a folder, or a folder above it is a file (fix: " in err
    assert "train-rl lenet" not in err  # refused before training (no progress bar)


@pytest.mark.parametrize("algo", ["dqn", "maskable-ppo"])
def test_train_rl_with_force_leaves_no_file_of_the_earlier_run(tmp_path, capsys, algo):
    """--force into a folder that held a DQN run (policy, curves) and a file of the user's: the new
    run's files replace the old ones, and those it does not write (maskable-ppo: curves.csv,
    curves.png) are removed, so figures cannot read the DQN's curves as the new policy's; the
    user's file stays (before: the old curves stayed beside a MaskablePPO policy)."""
    if algo == "maskable-ppo":
        pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")
    out = tmp_path / "pol"
    assert main(["train-rl", INST, "--episodes", "3", "--seed", "1", "--out", str(out)]) == 0  # an earlier DQN run
    before = {**{n: (out / n).read_bytes() for n in ("policy.pt", "policy.json", "curves.csv", "curves.png")},
              **_taken(out, ["notes.txt"])}
    budget = ["--timesteps", "128"] if algo == "maskable-ppo" else ["--episodes", "3"]
    assert main(["train-rl", INST, "--algo", algo, *budget, "--out", str(out), "--force"]) == 0
    written = {"policy.pt", "policy.json"} | ({"curves.csv", "curves.png"} if algo == "dqn" else set())
    assert {p.name for p in out.iterdir()} == written | {"notes.txt"}
    assert (out / "notes.txt").read_bytes() == before["notes.txt"]
    assert all((out / n).read_bytes() != before[n] for n in written)


def test_train_rl_maskable_ppo_with_force_keeps_curves_no_dqn_run_wrote(tmp_path, capsys):
    """--force with maskable-ppo into a folder (e.g. the user's working folder) holding a
    curves.csv and curves.png of the user's, no DQN run's policy beside them: they stay, as PPO
    does not write them (before: deleted as "an earlier run's")."""
    pytest.importorskip("sb3_contrib", reason="MaskablePPO needs sb3-contrib: pip install 'optdist[rl-baselines]'")
    out = tmp_path / "work"
    before = _taken(out, ["curves.csv", "curves.png"])
    assert main(["train-rl", INST, "--algo", "maskable-ppo", "--timesteps", "128", "--out", str(out), "--force"]) == 0
    assert {p.name for p in out.iterdir()} == {"policy.pt", "policy.json", "curves.csv", "curves.png"}
    assert all((out / n).read_bytes() == b for n, b in before.items())
