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
    table = _write(tmp_path / "only2.json", ONLY_RELU2)
    assert main(["generate", "--name", "o2", "--requests", "lenet=1", "--devices", "rpi3=2", "--tau", "0.8",
                 "--privacy", str(table), "--out", str(tmp_path / "o2.json")]) == 0
    return table, tmp_path / "o2.json"


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
