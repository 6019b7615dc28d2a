"""lead30: break30c's findings fixed by the lead: an empty or blank path flag is refused on every
command (cli.PathFlag; train-rl --out '' wrote its policy into the current folder, calibrate --out ''
used its default), calibrate --table must be a .json file (an instance's "privacy" names tables by
.json), and the "--stages" hint names placed requests only."""

from __future__ import annotations

from pathlib import Path

import pytest

from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.instance import load_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
MICRO = str(TINY / "micro-2x2-tau0.6.json")


@pytest.mark.parametrize("argv, said", [
    (["train-rl", str(TINY / "lenet-1x4-tau0.8.json"), "--out", ""], "--out is empty (fix: give a folder, e.g. --out runs/rl/"),
    (["calibrate", "lenet", "--out", ""], "--out is empty (fix: give a folder, e.g. --out runs/attacks/lenet)"),
    (["train-target", "lenet", "--weights-dir", " "], "--weights-dir is empty (fix: give a folder, e.g. --weights-dir "),
    (["schema", "--out", ""], "--out is empty (fix: give a file, e.g. --out instances/schema.json)"),
    (["diagnose", MICRO, "--json", ""], "--json is empty (fix: give a file for one instance, e.g. --json diagnosis.json, or a folder for several, e.g. --json diagnoses)"),
    (["import-solution", MICRO, "--model-file", "m.lp", "--solution", "m.sol", "--out", ""],
     "--out is empty (fix: give a file, e.g. --out assignment.json)"),
])
def test_an_empty_path_flag_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys, argv, said):
    monkeypatch.chdir(tmp_path)  # where train-rl --out '' used to write policy.pt
    assert main(argv) == 2
    assert said in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_calibrate_table_must_be_a_json_file(tmp_path, capsys):
    assert main(["calibrate", "lenet", "--table", str(tmp_path / "t.txt"), "--samples", "64"]) == 2
    err = capsys.readouterr().err
    assert "a privacy table is a .json file" in err and f"--table {tmp_path / 't.json'}" in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_stages_hint_names_placed_requests_only(tmp_path, capsys):
    inst = TINY / "micro-3x2-admission.json"
    res = tmp_path / "res.json"
    assert main(["solve", str(inst), "--method", "greedy", "--out", str(res)]) == 0
    ids = load_instance(inst).request_ids
    placed = [rid for rid, ok in zip(ids, evaluate(inst, res).admitted) if ok]
    assert len(placed) == 2, placed  # one rejected: the hint names the other placed one only
    capsys.readouterr()
    assert main(["evaluate", str(inst), str(res)]) == 0
    out = capsys.readouterr().out
    assert f"(other requests' stages: --stages {placed[1]} or --stages all)" in out, out


def test_solve_repeats_a_weak_calibrations_warnings(tmp_path, caplog):
    """A table whose provenance records warnings (calibrate's weak-calibration ones) lifts privacy
    limits it may not have measured: solve says so, not only validate (break30c)."""
    import json
    import logging

    table = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
    table.setdefault("provenance", {})["warnings"] = ["those attacks learnt nothing (test)"]
    (tmp_path / "weak.json").write_text(json.dumps(table))
    inst = json.loads((TINY / "lenet-1x4-tau0.8.json").read_text())
    inst["privacy"] = {"lenet": "weak.json"}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["solve", str(tmp_path / "i.json"), "--method", "greedy"]) == 0
    assert "privacy.lenet (weak.json): provenance.warnings[0]: those attacks learnt nothing (test)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="optdist"):  # the bundled table: no such warning
        assert main(["solve", str(TINY / "lenet-1x4-tau0.8.json"), "--method", "greedy"]) == 0
    assert "provenance.warnings" not in caplog.text
