"""fix29d: import-solution checks the exported instance's content fingerprint; pareto names its
axis after the objective kind; dp-sweep and defq-eval check their outputs before the work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from optdist.cli import main
from optdist.instance import load_instance
from optdist.milp.export import fingerprint_of, formulation_of, instance_fingerprint, instance_of
from tests.test_export import run_highs

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
TIGHT = TINY / "micro-2x3-tight.json"


def same_name_other_devices(tmp_path: Path) -> Path:
    """micro-2x3-tight with every node's device type changed (the name kept)."""
    doc = json.loads(TIGHT.read_text())
    for group in ("devices", "sources"):
        for node in doc[group]:
            node["type"] = "nexus" if node["type"] != "nexus" else "rpi3"
    path = tmp_path / "micro-2x3-tight.json"
    path.write_text(json.dumps(doc))
    return path


# --- 1. import-solution: the instance content fingerprint ----------------------------------------

@pytest.mark.parametrize("ext", ["lp", "mps"])
def test_import_solution_refuses_a_model_of_other_instance_content(tmp_path, capsys, ext):
    other = same_name_other_devices(tmp_path)
    a, b = load_instance(TIGHT), load_instance(other)
    assert a.name == b.name and instance_fingerprint(a) != instance_fingerprint(b)
    assert instance_fingerprint(a) == instance_fingerprint(load_instance(TIGHT))  # stable across loads
    model, sol = tmp_path / f"m.{ext}", tmp_path / "m.sol"
    assert main(["export", str(TIGHT), "--out", str(model)]) == 0
    assert (instance_of(model), formulation_of(model), fingerprint_of(model)) == (
        "micro-2x3-tight", "tight", instance_fingerprint(a))
    run_highs(model, sol)
    capsys.readouterr()
    asg = tmp_path / "asg.json"
    rc = main(["import-solution", str(other), "--model-file", str(model), "--solution", str(sol), "--out", str(asg)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert instance_fingerprint(a) in err and instance_fingerprint(b) in err
    assert "export the model of this instance again" in err and not asg.exists()
    # the instance it was exported from still imports
    assert main(["import-solution", str(TIGHT), "--model-file", str(model), "--solution", str(sol)]) == 0


def test_a_model_file_without_a_fingerprint_skips_the_check(tmp_path, capsys):
    """Files exported before fingerprints (header ``name=<inst>-<formulation>``) stay readable."""
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    assert main(["export", str(TIGHT), "--out", str(model)]) == 0
    text = model.read_text()
    old = re.sub(r"~[0-9a-f]{12}", "", text, count=1)
    assert old != text
    model.write_text(old)
    assert (instance_of(model), formulation_of(model), fingerprint_of(model)) == ("micro-2x3-tight", "tight", None)
    run_highs(model, sol)
    capsys.readouterr()
    assert main(["import-solution", str(TIGHT), "--model-file", str(model), "--solution", str(sol)]) == 0


# --- 2. pareto: the swept axis named after the objective kind ------------------------------------

@pytest.mark.parametrize("name, axis, other", [("micro-2x3-makespan", "makespan_s", "latency_s"),
                                                ("micro-2x3-tight", "latency_s", "makespan_s")])
def test_pareto_names_its_axis_after_the_objective_kind(tmp_path, capsys, name, axis, other):
    import csv

    from optdist.evaluate import evaluate
    from optdist.solve import solve

    inst = load_instance(TINY / f"{name}.json")
    assert main(["pareto", str(TINY / f"{name}.json"), "--points", "2", "--out", str(tmp_path / "front")]) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "front.csv").open()))
    assert axis in rows[0] and other not in rows[0]
    md = (tmp_path / "front.md").read_text()
    assert re.search(rf"\|\s+{axis}\s+\|", md) and other not in md
    assert re.search(rf"\|\s+{axis}\s+\|", printed) and other not in printed
    assert md.startswith(f"# {inst.objective.kind.capitalize()} / shared-data front")
    # the axis is the instance's objective kind: the latency-optimal point's value is the evaluator's
    best = min(float(r[axis]) for r in rows)
    ev = evaluate(inst.with_spec(objective=inst.objective.model_copy(update={"shared_weight": 0.0})),
                  solve(inst.with_spec(objective=inst.objective.model_copy(update={"shared_weight": 0.0})),
                        mip_gap=0.0).assignment)
    assert best == pytest.approx(ev.objective, rel=1e-6)


def test_pareto_help_names_both_axis_columns(capsys):
    with pytest.raises(SystemExit):
        main(["pareto", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "latency_s" in text and "makespan_s" in text


# --- 3. dp-sweep and defq-eval check every output before the work --------------------------------

@pytest.mark.parametrize("command, name", [(["dp-sweep", "--quick", "--layers", "ReLU2", "--eps", "10"], "results.md"),
                                           (["dp-sweep", "--quick"], "dp_sweep.png"),
                                           (["defq-eval", "--quick"], "results.md"),
                                           (["defq-eval", "--quick"], "perturbation.csv")])
def test_a_torch_command_refuses_an_output_that_is_a_folder_before_the_work(tmp_path, capsys, command, name):
    """OUT/results.md a folder: the minutes of torch work ran, then the write failed."""
    import time

    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    t0 = time.monotonic()
    assert main([*command, "--out", str(out)]) == 2
    assert time.monotonic() - t0 < 60  # refused, not run (the quick runs take minutes on 2 cores)
    err = " ".join(capsys.readouterr().err.split())
    assert f"{out / name}" in err and "is a directory" in err and "nothing was written" in err, err
    assert "give another --out folder" in err
    assert sorted(p.name for p in out.iterdir()) == [name]


@pytest.mark.parametrize("command", [["dp-sweep", "--quick"], ["defq-eval", "--quick"]])
def test_a_torch_command_refuses_an_empty_out(tmp_path, capsys, monkeypatch, command):
    """`--out ""` was Path("."): the results went into the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--out", ""]) == 2
    assert "--out is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_dp_sweep_checks_the_install_path_before_the_work(tmp_path, capsys, monkeypatch):
    """--install's optdist/data/dp_measured_<cnn>.json a folder: refused before the sweep (the
    package data folder is pointed at tmp_path, the file checked is the one the command writes)."""
    from optdist.commands import defences

    monkeypatch.setattr(defences, "PACKAGE_DATA", tmp_path / "data")
    (tmp_path / "data" / "dp_measured_lenet.json").mkdir(parents=True)
    assert main(["dp-sweep", "--install", "--layers", "ReLU2", "--eps", "10", "--out", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--install" in err and "dp_measured_lenet.json" in err and "leave out --install" in err, err
    assert list((tmp_path / "o").iterdir()) == []
