"""calib30: `optdist calibrate` defects a fresh user found (real torch, tiny settings).

1. a `lenet.pt` without `lenet.json` in --weights-dir was retrained and overwritten silently;
2. a calibration too weak to mean anything (one optimiser step, a near-chance target, attacks no
   better than the mean image) wrote a table without a word;
3. --layers fc1 trained every attack, then failed writing the table; flatten was listed as valid;
4. NaN weights ended in a raw pydantic dump after all the training, exit 1;
5. inputs under 7x7 failed after the training with skimage's win_size error;
6. --table over an instance (even --force), --table in a missing folder, --out FILE, --out X --table X;
7. --samples above what the data holds was clamped silently.
"""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from optdist.attacks import calibrate as cal  # noqa: E402
from optdist.cli import main  # noqa: E402
from optdist.paths import MODELS_DIR, REPO_ROOT  # noqa: E402
from optdist.privacy import PrivacyTable  # noqa: E402

from .helpers import images, tiny_module  # noqa: E402

BUNDLED = MODELS_DIR / "weights"
QUICK = ["--subsets", "1", "--epochs", "1", "--no-progress", "--threads", "1"]


# 1. an orphan lenet.pt is refused, not retrained over


def test_orphan_weights_are_refused_before_training_and_kept(tmp_path, capsys):
    w = tmp_path / "W"
    w.mkdir()
    shutil.copy(BUNDLED / "lenet.pt", w / "lenet.pt")
    before = (w / "lenet.pt").read_bytes()
    out = tmp_path / "O"
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1", "--maps", "8", "--samples", "64",
               "--test-samples", "8", "--out", str(out), "--target-epochs", "1", "--target-samples", "200", *QUICK])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{w / 'lenet.pt'} exists without {w / 'lenet.json'}" in err and "--force" in err and "sidecar" in err
    assert (w / "lenet.pt").read_bytes() == before and not (w / "lenet.json").exists()
    assert not out.exists()  # refused before any training or attack


def test_orphan_sidecar_is_refused_too(tmp_path, capsys):
    w = tmp_path / "W"
    w.mkdir()
    shutil.copy(BUNDLED / "lenet.json", w / "lenet.json")
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1", "--maps", "8", "--samples", "64",
               "--test-samples", "8", "--out", str(tmp_path / "O"), "--target-epochs", "1", "--target-samples", "200",
               *QUICK])
    assert rc == 2 and f"{w / 'lenet.json'} exists without {w / 'lenet.pt'}" in capsys.readouterr().err
    assert not (w / "lenet.pt").exists()


# 2 and 7. weak calibrations are said on stderr, in the table and by validate


def test_weak_calibration_warns_on_stderr_in_the_table_and_in_validate(tmp_path, capsys):
    imgs = images(tmp_path / "imgs", 6)
    w = tmp_path / "W"  # the bundled LeNet with a sidecar recording a near-chance accuracy
    w.mkdir()
    shutil.copy(BUNDLED / "lenet.pt", w / "lenet.pt")
    meta = json.loads((BUNDLED / "lenet.json").read_text())
    (w / "lenet.json").write_text(json.dumps({**meta, "test_accuracy": 0.19}))
    table = tmp_path / "t.json"
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--images", str(imgs), "--test-fraction", "0.5",
               "--samples", "20000", "--test-samples", "8", "--layers", "conv1", "--maps", "8",
               "--out", str(tmp_path / "O"), "--table", str(table), *QUICK])
    err = capsys.readouterr().err
    assert rc == 0  # quick runs are allowed
    warnings = PrivacyTable.load(table).provenance["warnings"]
    said = " ".join(warnings)
    assert "--samples 20000: only 3 adversary images" in said  # 7: not clamped silently
    assert "--test-samples 8: only 3 test images" in said
    assert "one optimiser step per epoch" in said and "fewer than one batch of 64" in said
    assert "test accuracy 0.19 is near chance (0.1 for 10 classes" in said
    for w_ in warnings:
        assert w_ in err
    assert "this table is weak evidence" in err
    capsys.readouterr()
    assert main(["validate", str(table)]) == 0
    shown = capsys.readouterr().out
    assert "warning: provenance.warnings[0]: --samples 20000" in shown and "near chance" in shown


def test_a_well_set_up_run_has_no_warnings(tmp_path, capsys):
    table = tmp_path / "t.json"
    rc = main(["calibrate", "lenet", "--layers", "conv1", "--maps", "8", "--samples", "300", "--test-samples", "30",
               "--out", str(tmp_path / "O"), "--table", str(table), *QUICK])
    assert rc == 0
    prov = PrivacyTable.load(table).provenance
    assert "warnings" not in prov, prov.get("warnings")
    assert "weak evidence" not in capsys.readouterr().err


def test_attacks_no_better_than_the_mean_image_are_named():
    attacks = [cal.Attack("conv1", 8, tuple(range(8)), 0, 0.41, 12.0), cal.Attack("conv1", 4, (0, 1, 2, 3), 0, 0.2, 9.0),
               cal.Attack("conv1", 4, (4, 5, 6, 7), 0, 0.3, 9.0)]
    said = cal._no_better_than(attacks, 0.4)
    assert said is not None and "1 of 2 cells" in said and "conv1 m=4 (0.250)" in said and "SSIM 0.400" in said
    assert cal._no_better_than(attacks, 0.1) is None


def test_one_step_attacks_on_a_random_target_are_no_better_than_the_mean_image(tmp_path, capsys):
    table = tmp_path / "t.json"
    mod = tiny_module(tmp_path)
    imgs = images(tmp_path / "imgs", 40, side=6)
    rc = main(["calibrate", "--module", f"{mod}:tiny6", "--input", "1,6,6", "--images", str(imgs),
               "--samples", "30", "--test-samples", "10",
               "--out", str(tmp_path / "O"), "--table", str(table), "--maps", "4", *QUICK])
    assert rc == 0, capsys.readouterr().err
    said = " ".join(PrivacyTable.load(table).provenance["warnings"])
    assert "no better than predicting the adversary's mean image" in said


# 3. layers checked against the profile before any training


def test_unknown_or_unattackable_layer_is_refused_before_training(tmp_path, capsys):
    w = tmp_path / "W"
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1,flatten", "--samples", "64",
               "--test-samples", "8", "--out", str(tmp_path / "O"), "--target-epochs", "1", "--target-samples", "200",
               *QUICK])
    err = capsys.readouterr().err
    assert rc == 2 and "no attackable layer 'flatten'" in err.replace('"', "'")
    listed = err.split("its layers (maps):")[1]
    assert "fc1 (1)" in listed and "conv1 (8)" in listed
    for bad in ("flatten", "fc1_relu", "fc2_relu"):
        assert bad not in listed
    assert not w.exists() and not (tmp_path / "O").exists()  # no target trained, nothing written


def test_fc_layer_is_one_map_and_its_table_is_written(tmp_path, capsys):
    table = tmp_path / "t.json"
    rc = main(["calibrate", "lenet", "--layers", "fc1,conv1", "--maps", "8", "--samples", "100", "--test-samples", "8",
               "--out", str(tmp_path / "O"), "--table", str(table), *QUICK])
    assert rc == 0, capsys.readouterr().err
    t = PrivacyTable.load(table)
    assert t.row("fc1").maps == 1 and sorted(t.row("fc1").cells) == [1] and t.row("conv1").maps == 8


# 4. NaN weights: checked at load, exit 2, naming file and tensor


def test_nan_zoo_weights_are_refused_at_load(tmp_path, capsys):
    w = tmp_path / "W"
    w.mkdir()
    state = torch.load(BUNDLED / "lenet.pt", weights_only=True)
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, w / "lenet.pt")
    shutil.copy(BUNDLED / "lenet.json", w / "lenet.json")
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1", "--maps", "8", "--samples", "64",
               "--test-samples", "8", "--out", str(tmp_path / "O"), *QUICK])
    err = capsys.readouterr().err
    assert rc == 2 and f"{w / 'lenet.pt'}: tensor 'conv1.weight' holds 1 NaN value(s)" in err.replace('"', "'")
    assert "validation error" not in err and not (tmp_path / "O").exists()


def test_infinite_module_weights_are_refused_at_load(tmp_path, capsys):
    mod = tiny_module(tmp_path)
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_for_test", mod)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    state = m.tiny6().state_dict()
    state["3.bias"][1] = float("inf")
    torch.save(state, tmp_path / "inf.pt")
    rc = main(["calibrate", "--module", f"{mod}:tiny6", "--input", "1,6,6", "--weights", str(tmp_path / "inf.pt"),
               "--images", str(images(tmp_path / "imgs", 4, side=6)), "--samples", "64", "--test-samples", "8",
               "--out", str(tmp_path / "O"), *QUICK])
    err = capsys.readouterr().err
    assert rc == 2 and f"--weights {tmp_path / 'inf.pt'}: tensor '3.bias' holds 1 infinite value(s)" in err.replace('"', "'")


# 5. inputs under 7x7: an odd window that fits, recorded; under 3x3 refused up front


def test_six_pixel_inputs_use_a_5x5_window_recorded_in_the_table(tmp_path, capsys):
    table = tmp_path / "t.json"
    rc = main(["calibrate", "--module", f"{tiny_module(tmp_path)}:tiny6", "--input", "1,6,6",
               "--images", str(images(tmp_path / "imgs", 8, side=6)), "--samples", "64", "--test-samples", "8",
               "--maps", "4", "--out", str(tmp_path / "O"), "--table", str(table), *QUICK])
    assert rc == 0, capsys.readouterr().err
    prov = PrivacyTable.load(table).provenance
    assert "5x5 window" in prov["metric"] and prov["ssim_window"].startswith("5x5")


def test_ssim_window_sizes():
    assert cal.ssim_window((1, 28, 28)) == 7 and cal.ssim_window((3, 6, 9)) == 5 and cal.ssim_window((1, 3, 3)) == 3
    with pytest.raises(ValueError, match="2x5 pixels: SSIM needs at least 3x3"):
        cal.ssim_window((1, 2, 5))


# 6. output paths: clear errors before any training


def _refused(tmp_path, capsys, *extra: str) -> str:
    w = tmp_path / "W"
    rc = main(["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1", "--maps", "8", "--samples", "64",
               "--test-samples", "8", "--target-epochs", "1", "--target-samples", "200", *QUICK, *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert not w.exists()  # no target was trained
    assert "Errno" not in err and "fix:" in err
    return err


def test_table_over_an_instance_is_refused_even_with_force(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    shutil.copy(REPO_ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json", inst)
    before = inst.read_bytes()
    err = _refused(tmp_path, capsys, "--out", str(tmp_path / "O"), "--table", str(inst), "--force")
    assert f"--table {inst}: exists and is an optdist-instance" in err or f"--table {inst}: exists and is" in err
    assert inst.read_bytes() == before


def test_table_in_a_missing_folder_is_refused_and_not_created(tmp_path, capsys):
    err = _refused(tmp_path, capsys, "--out", str(tmp_path / "O"), "--table", str(tmp_path / "missing" / "x.json"))
    assert "the folder" in err and "does not exist" in err and not (tmp_path / "missing").exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_text("x")
    err = _refused(tmp_path, capsys, "--out", str(f))
    assert f"--out {f}: exists and is not a folder" in err


def test_out_and_table_the_same_path_is_refused(tmp_path, capsys):
    x = tmp_path / "X"
    err = _refused(tmp_path, capsys, "--out", str(x), "--table", str(x))
    assert f"--table {x} is the --out folder" in err and not x.exists()
