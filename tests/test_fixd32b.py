"""fixd32b: a fresh user's findings in the day's changes (real HiGHS/torch, tiny instances, no mocks).

1. ``bench-table --write-solu`` rewrites per line: a line whose own value is unchanged keeps its
   text and trailing comment when another line of its instance changes; the warning of a changed
   line shows the line written in its place. Before: ``=best= X 0.00722081717452 # keep me`` lost
   its comment when ``=bestdual= X`` changed, "rewritten as `...; =bestdual= ...`".
2. A damaged checkpoint.pt on ``train-rl --resume``: "not a readable checkpoint: damaged, or it holds
   more than tensors" and the fix; before: "it holds more than tensors (Unsupported operand 184)".
3. Library ``train``: Python words (resume=True, checkpoint=) and checkpoint_every without
   checkpoint= refused (ValueError); before: CLI flags, and checkpoint_every silently ignored.
4. ``--method defended``: each requested cut that is rejected is said on stderr, with why.
"""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from optdist.cli import main

from .conftest import ROOT

# --- 1. bench-table --write-solu: per line ----------------------------------------------------------

TIGHT = "lenet-10x10-tight-tau0.8"  # records: =best= 0.00722081717452, =bestdual= 0.00712464252548


def _sweep(tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(ROOT / "benchmarks/milp/competing-tight" / "records", out / "records")
    return out


def test_an_unchanged_line_keeps_its_comment_when_another_line_of_its_instance_changes(tmp_path, capsys):
    out, solu = _sweep(tmp_path), tmp_path / "ref.solu"
    solu.write_text(f"# refs\n=best=     {TIGHT}  0.00722081717452 # keep me\n=bestdual= {TIGHT}  0.0070  # old\n")
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    lines = solu.read_text().splitlines()
    assert lines[:3] == ["# refs", f"=best=     {TIGHT}  0.00722081717452 # keep me",
                         f"=bestdual= {TIGHT}  0.00712464252548"], lines
    assert "keep me" not in err, err
    warned = [line for line in err.splitlines() if "dropped" in line]
    assert warned == [f'optdist: warning: {solu}:3: "=bestdual= {TIGHT}  0.0070  # old" is rewritten as '
                      f'"=bestdual= {TIGHT}  0.00712464252548" and its comment "# old" dropped, as it described the '
                      "old value (fix: write the comment again if it still holds)"], err


def test_a_best_line_that_changes_keeps_the_comment_of_the_unchanged_bestdual_line(tmp_path, capsys):
    out, solu = _sweep(tmp_path), tmp_path / "ref.solu"
    solu.write_text(f"=best=     {TIGHT}  0.009  # paper\n=bestdual= {TIGHT}  0.00712464252548  # keep me too\n")
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    lines = solu.read_text().splitlines()
    assert lines[:2] == [f"=best=     {TIGHT}  0.00722081717452",
                         f"=bestdual= {TIGHT}  0.00712464252548  # keep me too"], lines
    assert f'is rewritten as "=best=     {TIGHT}  0.00722081717452" and its comment "# paper" dropped' in err, err
    assert "keep me too" not in err, err


# --- 2. / 3. train-rl --resume of a damaged checkpoint; the library train's own words -------------------------------

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


def _checkpoint(folder):
    pytest.importorskip("torch")
    pytest.importorskip("gymnasium")
    from optdist.instance import load_instance
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    inst = load_instance(MICRO)
    train(inst, preset_for(inst), episodes=60, checkpoint=folder, checkpoint_every=40, progress=False)
    assert (folder / "checkpoint.pt").is_file()
    return inst, preset_for(inst)


def test_a_damaged_checkpoint_is_said_damaged_with_the_fix(tmp_path, capsys):
    folder = tmp_path / "ck"
    _checkpoint(folder)
    pt = folder / "checkpoint.pt"
    data = bytearray(pt.read_bytes())
    start = zipfile.ZipFile(pt).infolist()[0].header_offset + 100  # the pickle of the state's structure
    data[start:start + 2000] = bytes(b ^ 0xFF for b in data[start:start + 2000])  # 2,000 bytes inverted
    pt.write_bytes(bytes(data))
    assert main(["train-rl", str(MICRO), "--resume", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{pt}: not a readable checkpoint: damaged, or it holds more than tensors" in err, err
    assert f"(fix: resume from an intact copy of {folder}, or leave out --resume and give --force" in err, err
    assert "Traceback" not in err, err


def test_the_library_train_speaks_python_and_refuses_checkpoint_every_alone(tmp_path):
    folder = tmp_path / "ck"
    inst, preset = _checkpoint(folder)
    from optdist.rl.train import train

    with pytest.raises(ValueError) as e:
        train(inst, preset, episodes=60, seed=1, checkpoint=folder, resume=True, progress=False)
    msg = str(e.value)
    assert "settings.seed" in msg and "checkpoint's seed=" in msg and "without resume=True" in msg, msg
    assert "checkpoint= folder" in msg and "--" not in msg, msg
    with pytest.raises(ValueError) as e:
        train(inst, preset, checkpoint=tmp_path / "none", resume=True, progress=False)
    assert str(e.value).startswith("resume=True: ") and "checkpoint_every episodes" in str(e.value), e.value
    assert "--" not in str(e.value), e.value
    with pytest.raises(ValueError, match=r"^checkpoint_every=10 without checkpoint=: .*fix: give checkpoint=FOLDER"):
        train(inst, preset, episodes=5, checkpoint_every=10, progress=False)


# --- 4. --method defended: each named cut not taken is said on stderr, with why -------------------------------------

DEFENDED = ROOT / "benchmarks" / "defences" / "placement" / "instances" / "lenet-10x10-tau0.8-defended.json"


def test_each_named_cut_rejected_is_said_on_stderr_with_why(tmp_path, capsys):
    doc = json.loads(DEFENDED.read_text())
    doc["requests"], doc["devices"] = doc["requests"][:2], doc["devices"][:4]
    doc["sources"] = [s for s in doc["sources"] if s["id"] in {r["source"] for r in doc["requests"]}]
    doc["defence"] = {"lenet": {"mode": "auto", "cuts": ["conv2", "fc2"], "max_accuracy_drop_pct": 15}}
    inst, out = tmp_path / "def.json", tmp_path / "r.json"
    inst.write_text(json.dumps(doc))
    assert main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert any(line.startswith("defence ") and "distribution alone" in line for line in cap.out.splitlines()), cap.out
    said = [line for line in cap.err.splitlines() if "not taken" in line]
    assert said == [
        f"optdist: warning: {inst}: defence.lenet.cuts: conv2 not taken (dp at conv2: accuracy drop 22.50% at eps 7 > "
        "bound 15.0%; hybrid at conv2: conv cut: its owners hold partial sums, the noise would add up (accuracy not "
        "modelled)); lenet is placed with distribution alone",
        f"optdist: warning: {inst}: defence.lenet.cuts: fc2 not taken (dp at fc2: layer fc2 is followed by no "
        "intermediate layer before the split point (SP = 5); hybrid at fc2: layer fc2 is followed by no intermediate "
        "layer before the split point (SP = 5)); lenet is placed with distribution alone"], cap.err
    rejected = json.loads(out.read_text())["extra"]["options_rejected"]
    assert {(r["mode"], r["cut"]) for r in rejected} == {("dp", "conv2"), ("hybrid", "conv2"), ("dp", "fc2"),
                                                          ("hybrid", "fc2")}
