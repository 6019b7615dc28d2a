"""priv32: a table whose first row is deep (shallow layers governed by a deeper row) is warned about;
target weights tied to their sidecar by a sha256; provenance fields checked when a table is read;
calibrate's recorded command reruns; --split-seed / --test-fraction only with --images, small test
sets warned; plan-guided / plan-rollout on an infeasible instance answer as milp does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from optdist.cli import main

from .helpers import lenet_with_table, tiny_module

ROOT = Path(__file__).resolve().parents[1]

#: the ReLU2 row a real calibration measured (/tmp/break32b: `optdist calibrate lenet --layers ReLU2
#: --maps 16,8,4 --subsets 1 --epochs 3 --samples 2000 --test-samples 200`)
ONLY_RELU2 = {
    "format": "optdist-privacy-table/1", "cnn": "lenet", "name": "only2",
    "provenance": {"source": "optdist calibrate (priv32 break report)"},
    "rows": [{"tensor": "ReLU2", "maps": 16, "cells": {"16": 0.5598, "8": 0.6187, "4": 0.3197}}],
}
DEEPER = "governed by a deeper row"


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def only2(tmp_path):
    return lenet_with_table(tmp_path, "only2", ONLY_RELU2, 0.8)


def _said(text: str) -> list[str]:
    return [line for line in text.splitlines() if DEEPER in line]


def test_deeper_row_warned_by_validate_of_the_table_and_the_instance(only2, capsys):
    table, inst = only2
    capsys.readouterr()
    assert main(["validate", str(table)]) == 0
    lines = _said(capsys.readouterr().out)
    assert len(lines) == 1
    assert str(table) in lines[0] and '"ReLU1", "pool1", "conv2" by "ReLU2"' in lines[0]
    assert "may be too weak" in lines[0] and "--layers conv1,ReLU2" in lines[0]
    assert main(["validate", str(inst)]) == 0
    lines = _said(capsys.readouterr().out)
    assert len(lines) == 1 and "only2.json" in lines[0]


def test_deeper_row_warned_once_by_solve_and_profile(only2, capsys):
    table, inst = only2
    capsys.readouterr()
    assert main(["solve", str(inst), "--method", "greedy"]) == 0
    assert len(_said(capsys.readouterr().err)) == 1
    assert main(["profile", "lenet", "--privacy", str(table), "--tau", "0.8"]) == 0
    captured = capsys.readouterr()
    assert len(_said(captured.err)) == 1 and "split point ReLU1" in captured.out  # the rule itself unchanged


def test_bundled_tables_are_not_warned(capsys):
    """A conv1 row (lenet) and a ReLU11 row for layer ReLU11 (cifar: neighbours) govern no layer from deeper."""
    for cnn, table in (("lenet", "paper"), ("lenet", "calibrated"), ("cifar", "paper"), ("vgg16", "paper")):
        assert main(["profile", cnn, "--privacy", table, "--tau", "0.6"]) == 0
        assert not _said(capsys.readouterr().err), (cnn, table)


# --- 2. the sidecar tied to its weights ------------------------------------------------------------------------

BUNDLED = ROOT / "models" / "weights"
TINY = ["--layers", "ReLU2", "--maps", "16", "--subsets", "1", "--epochs", "1", "--samples", "64",
        "--test-samples", "40", "--no-progress"]


def _bundled_copy(folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    for f in ("lenet.pt", "lenet.json"):
        shutil.copy(BUNDLED / f, folder / f)
    return folder / "lenet.pt", folder / "lenet.json"


def test_shipped_sidecars_carry_the_sha256_of_their_weights():
    import hashlib

    for name in ("lenet", "orlvgg"):
        meta = json.loads((BUNDLED / f"{name}.json").read_text())
        assert meta["weights_sha256"] == hashlib.sha256((BUNDLED / f"{name}.pt").read_bytes()).hexdigest(), name


def test_flipped_weights_are_refused_naming_both_files(tmp_path, capsys):
    """2,000 bytes of fc1 flipped (finite values, loadable): the sidecar's accuracy 0.9905 was recorded for them."""
    pt, sidecar = _bundled_copy(tmp_path / "W")
    data = bytearray(pt.read_bytes())
    for i in range(60_000, 62_000):
        data[i] ^= 0x5A
    pt.write_bytes(bytes(data))
    from optdist.attacks import targets

    with pytest.raises(targets.UnreadableTarget) as e:
        targets.load("lenet", tmp_path / "W")
    assert str(pt) in str(e.value) and str(sidecar) in str(e.value) and "weights_sha256" in str(e.value)
    rc = main(["calibrate", "lenet", "--weights-dir", str(tmp_path / "W"), "--out", str(tmp_path / "out"), *TINY])
    err = capsys.readouterr().err
    assert rc == 2 and str(pt) in err and str(sidecar) in err and "--force" in err, err
    assert not (tmp_path / "out").exists()


def test_zeroed_state_dict_is_refused(tmp_path):
    import torch

    from optdist.attacks import targets

    pt, _ = _bundled_copy(tmp_path / "W")
    state = torch.load(pt, weights_only=True)
    torch.save({k: torch.zeros_like(v) for k, v in state.items()}, pt)
    with pytest.raises(targets.UnreadableTarget, match="differs from"):
        targets.load("lenet", tmp_path / "W")


def test_sidecar_without_hash_has_its_accuracy_measured(tmp_path, caplog):
    """A zeroed state_dict whose sidecar records no hash: the accuracy is measured (about 0.1, not 0.9905),
    so the provenance says it and the near-chance warning fires."""
    import torch

    pt, sidecar = _bundled_copy(tmp_path / "W")
    meta = json.loads(sidecar.read_text())
    del meta["weights_sha256"]
    sidecar.write_text(json.dumps(meta))
    state = torch.load(pt, weights_only=True)
    torch.save({k: torch.zeros_like(v) for k, v in state.items()}, pt)
    table = tmp_path / "t.json"
    assert main(["calibrate", "lenet", "--weights-dir", str(tmp_path / "W"), "--out", str(tmp_path / "out"),
                 "--table", str(table), *TINY]) == 0
    prov = json.loads(table.read_text())["provenance"]
    assert prov["target"]["test_accuracy"] < 0.2 and "sha256" in prov["target"]["test_accuracy_measured"]
    assert "records no sha256" in caplog.text
    assert any("near chance" in w for w in prov["warnings"]), prov["warnings"]


def test_train_target_writes_the_hash(tmp_path):
    import hashlib

    w = tmp_path / "W"
    assert main(["train-target", "lenet", "--epochs", "1", "--samples", "1000", "--weights-dir", str(w),
                 "--no-progress"]) == 0
    meta = json.loads((w / "lenet.json").read_text())
    assert meta["weights_sha256"] == hashlib.sha256((w / "lenet.pt").read_bytes()).hexdigest()


def test_module_without_weights_is_warned_and_recorded(tmp_path, caplog):
    from .helpers import images

    imgs = images(tmp_path / "imgs", 60, side=6)
    table = tmp_path / "t.json"
    args = ["calibrate", "--module", f"{tiny_module(tmp_path)}:tiny6", "--input", "1,6,6", "--images", str(imgs),
            "--samples", "40", "--test-samples", "20", "--maps", "4", "--subsets", "1", "--epochs", "1",
            "--no-progress", "--out", str(tmp_path / "O"), "--table", str(table)]
    assert main(args) == 0
    said = [w for w in json.loads(table.read_text())["provenance"]["warnings"] if "without --weights" in w]
    assert len(said) == 1 and "untrained initial weights" in said[0] and "--weights FILE" in said[0]
    assert "without --weights" in caplog.text


# --- 3. provenance fields checked when a table is read -------------------------------------------------------

CALIBRATED = ROOT / "models" / "privacy" / "lenet-calibrated.json"


def _provenance_edited(tmp_path: Path, **fields) -> Path:
    doc = json.loads(CALIBRATED.read_text())
    doc["provenance"].update(fields)
    return _write(tmp_path / "edited.json", doc)


@pytest.mark.parametrize(("fields", "path", "said"), [
    ({"attacker": None}, "provenance.attacker", "got null"),
    ({"attacker": {"samples": "lots"}}, "provenance.attacker.samples", 'got "lots"'),
    ({"attacker": {"samples": True, "epochs": True}}, "provenance.attacker.samples", "got true"),
    ({"attacker": {"samples": 5000, "epochs": 6, "lr": -1}}, "provenance.attacker.lr", "got -1"),
    ({"attacker": {"samples": 5000, "strength": 3}}, "provenance.attacker.strength", "unknown field"),
    ({"warnings": 5}, "provenance.warnings", "got 5"),
    ({"warnings": ["fine", 7]}, "provenance.warnings[1]", "got 7"),
])
def test_bad_provenance_is_refused_naming_file_field_and_fix(tmp_path, capsys, fields, path, said):
    table = _provenance_edited(tmp_path, **fields)
    assert main(["validate", str(table)]) == 1
    out = capsys.readouterr().out
    assert f"{table}: INVALID" in out and f"  {path}: {said}" in out and "fix: " in out, out


def test_null_attacker_is_refused_by_solve_defended_not_an_internal_error(tmp_path, capsys):
    table = _provenance_edited(tmp_path)
    inst = tmp_path / "d.json"
    assert main(["generate", "--name", "d", "--requests", "lenet=1", "--devices", "rpi3=2", "--tau", "0.6",
                 "--privacy", str(table), "--out", str(inst)]) == 0
    _provenance_edited(tmp_path, attacker=None)  # the same file, edited after the instance was made
    capsys.readouterr()
    rc = main(["solve", str(inst), "--method", "defended"])
    err = capsys.readouterr().err
    assert rc == 2 and "provenance.attacker: got null" in err and "internal error" not in err, err


def test_a_good_attacker_record_still_reads():
    from optdist.attacks.attacker import Attacker
    from optdist.privacy import PrivacyTable

    prov = PrivacyTable.load(CALIBRATED).provenance
    assert Attacker.from_provenance(prov) is not None


# --- 4. the recorded command reruns; 5. --split-seed / --test-fraction with --images only; few test images ----


def _namespace(argv: list[str]) -> dict:
    from optdist.cli import build_parser

    args = vars(build_parser().parse_args(argv))
    return {k: v for k, v in args.items() if k != "func"}


def test_recorded_command_parses_back_to_the_same_options(tmp_path, caplog):
    """-vv, --split-seed 0 (a zero), --images and --force: the recorded argv, parsed by the real parser, gives the
    options the run was given (the defaults --images implies spelt out), and no --whole-process."""
    import shlex

    from .helpers import images

    imgs = images(tmp_path / "imgs", 80)
    table = tmp_path / "t.json"
    argv = ["calibrate", "lenet", "-vv", "--images", str(imgs), "--split-seed", "0", "--layers", "ReLU2",
            "--maps", "16", "--subsets", "1", "--epochs", "1", "--samples", "40", "--test-samples", "30",
            "--out", str(tmp_path / "out dir"), "--table", str(table), "--no-progress"]
    assert main(argv) == 0
    command = json.loads(table.read_text())["provenance"]["command"]
    words = shlex.split(command)
    assert words[0] == "optdist" and "--whole-process" not in words and "--split-seed" in words
    assert words.count("--verbose") == 2 and "--test-fraction" in words
    again = _namespace(words[1:])
    first = _namespace(argv)
    assert again == {**first, "test_fraction": 0.2}, (again, first)
    caplog.clear()
    assert main([*words[1:], "--force"]) == 0  # it reruns (over its own outputs)


def test_train_target_command_parses_back(tmp_path):
    import shlex

    w = tmp_path / "W"
    argv = ["train-target", "lenet", "--epochs", "1", "--samples", "1000", "--seed", "0", "--weights-dir", str(w),
            "--no-progress"]
    assert main(argv) == 0
    words = shlex.split(json.loads((w / "lenet.json").read_text())["command"])
    assert "--seed" in words and _namespace(words[1:]) == _namespace(argv)


@pytest.mark.parametrize("flags", [["--split-seed", "3"], ["--test-fraction", "0.5"], ["--split-seed", "0"]])
def test_split_flags_without_images_are_refused(tmp_path, capsys, flags):
    rc = main(["calibrate", "lenet", "--out", str(tmp_path / "o"), *TINY, *flags])
    err = capsys.readouterr().err
    assert rc == 2 and f"{flags[0]} goes with --images" in err and "fix: leave" in err, err
    assert not (tmp_path / "o").exists()


def test_few_test_images_are_warned(tmp_path):
    table = tmp_path / "t.json"
    args = ["calibrate", "lenet", "--out", str(tmp_path / "o"), "--table", str(table), *TINY]
    args[args.index("--test-samples") + 1] = "1"
    assert main(args) == 0
    said = [w for w in json.loads(table.read_text())["provenance"]["warnings"] if "fewer than 30" in w]
    assert len(said) == 1 and "scored on 1 test image(s)" in said[0] and "--test-samples 500" in said[0]
    args[args.index("--test-samples") + 1] = "30"
    assert main([*args, "--force"]) == 0
    assert not any("fewer than 30" in w for w in json.loads(table.read_text())["provenance"].get("warnings", []))


# --- 6. plan-guided / plan-rollout on an infeasible instance ---------------------------------------------------


@pytest.fixture
def inf2(tmp_path):
    path = tmp_path / "inf2.json"
    assert main(["generate", "--name", "inf2", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.6",
                 "--out", str(path)]) == 0
    return path


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_plan_methods_reject_every_request_of_an_infeasible_instance_with_the_reason(inf2, capsys, method):
    capsys.readouterr()
    assert main(["solve", str(inf2), "--method", "milp"]) == 1
    assert "INFEASIBLE, proven by 4 pre-solve check(s)" in capsys.readouterr().out
    out_file = inf2.parent / f"{method}.json"
    rc = main(["solve", str(inf2), "--method", method, "--out", str(out_file)])
    captured = capsys.readouterr()
    assert rc == 1 and "error" not in captured.err, captured.err
    assert "rejected 2" in captured.out and "proven infeasible by 4 pre-solve check(s)" in captured.out
    assert "[privacy] request r1, layer ReLU2" in captured.out
    extra = json.loads(out_file.read_text())["extra"]
    assert extra["rejected_ids"] == ["r1", "r2"] and len(extra["infeasible_by_checks"]) == 4


def test_plan_guided_library_call_on_an_infeasible_instance(inf2):
    from optdist.instance import load_instance
    from optdist.solve import solve

    res = solve(load_instance(inf2), method="plan-guided")
    assert res.extra["rejected"] == 2 and all(o is None for o in res.assignment.owners)


def test_calibrate_summary_warns_of_the_deeper_row_once(tmp_path, caplog):
    """1. in calibrate's summary: a run attacking ReLU2 alone leaves ReLU1, pool1 and conv2 to that row."""
    table = tmp_path / "t.json"
    assert main(["calibrate", "lenet", "--out", str(tmp_path / "o"), "--table", str(table), *TINY]) == 0
    said = [r.getMessage() for r in caplog.records if DEEPER in r.getMessage()]
    assert len(said) == 1 and str(table) in said[0] and "--layers conv1,ReLU2" in said[0], said
    caplog.clear()
    table2 = tmp_path / "t2.json"
    args = ["calibrate", "lenet", "--out", str(tmp_path / "o2"), "--table", str(table2), *TINY]
    args[args.index("--layers") + 1] = "conv1,ReLU2"
    args[args.index("--maps") + 1] = "8"
    assert main(args) == 0
    assert not [r for r in caplog.records if DEEPER in r.getMessage()]
