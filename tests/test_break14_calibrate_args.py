"""break14: calibrate / train-target arguments checked by argparse, naming the flag: --threads 0
was an internal error (exit 3), --subsets 0 ran and ended 'the table has no rows', --jobs 0 and
--taus 2 were accepted, --split-seed -1 said numpy's 'expected non-negative integer'."""

from __future__ import annotations

import pytest

from optdist.cli import main

BASE = ["calibrate", "lenet", "--samples", "6", "--test-samples", "2", "--epochs", "1", "--no-progress"]


@pytest.mark.parametrize("flag, value, said", [
    ("--threads", "0", "in [1, 256]"), ("--jobs", "0", "in [1, 256]"), ("--subsets", "0", "in [1, 1,000]"),
    ("--seeds", "-1", "in [1, 1,000]"), ("--split-seed", "-1", "out of range"), ("--taus", "2", "in (0, 1]"),
    ("--taus", "0.8,nan", "in (0, 1]"), ("--taus", "x", "in (0, 1]"),
])
def test_calibrate_names_the_flag(flag, value, said, capsys, tmp_path):
    assert main([*BASE, "--out", str(tmp_path / "o"), flag, value]) == 2
    err = capsys.readouterr().err
    assert f"error: {flag} {value} is " in err and said in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--threads", "0")])
def test_train_target_names_the_flag(flag, value, capsys):
    assert main(["train-target", "lenet", flag, value]) == 2
    assert f"error: {flag} {value} is out of range (fix: " in capsys.readouterr().err
