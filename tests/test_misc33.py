"""misc33: an elementwise layer's stricter own output row warned about; other kinds of file given as an
instance named; a typo'd assignment key named; results and assignments of another instance refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main

from .helpers import lenet_with_table, mixed_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"

#: /tmp/breakB/nm2.json: at tau 0.6 layer ReLU2 is governed by conv1 (Nf 3), its own row says Nf 2
NM2 = {
    "format": "optdist-privacy-table/1", "cnn": "lenet", "name": "nm2", "metric": "ssim",
    "provenance": {"source": "misc33 break report"},
    "rows": [{"tensor": "conv1", "maps": 8, "cells": {"1": 0.1, "2": 0.3, "3": 0.55, "4": 0.7, "8": 0.99}},
             {"tensor": "ReLU2", "maps": 16, "cells": {"2": 0.2, "3": 0.7, "4": 0.3, "8": 0.4, "16": 0.75}}],
}
OWN = "its own output row"


@pytest.fixture
def nm2(tmp_path):
    return lenet_with_table(tmp_path, "nm2", NM2, 0.6)


def _said(text: str) -> list[str]:
    return [line for line in text.splitlines() if OWN in line]


def test_output_row_warned_by_validate_of_the_instance_and_the_table(nm2, capsys):
    table, inst = nm2
    capsys.readouterr()
    assert main(["validate", str(inst)]) == 0
    lines = _said(capsys.readouterr().out)
    assert len(lines) == 1, lines
    line = lines[0]
    assert "nm2.json" in line and 'layer "ReLU2" is governed by row "conv1" (Nf 3 at tau 0.6' in line
    assert 'own output row "ReLU2" gives Nf 2' in line
    assert 'add a row for its input tensor, "conv2", with cells at least the "ReLU2" ones' in line
    assert "--layers conv1,conv2,ReLU2" in line
    assert main(["validate", str(table)]) == 0  # no tau: the first tau where it is stricter
    lines = _said(capsys.readouterr().out)
    assert len(lines) == 1 and str(table) in lines[0] and "e.g. at tau" in lines[0]


def test_output_row_warned_once_by_solve_and_profile_and_nf_unchanged(nm2, capsys):
    table, inst = nm2
    capsys.readouterr()
    assert main(["solve", str(inst), "--method", "greedy"]) in (0, 1)  # r1 rejected: rc 1, the warning still said
    assert len(_said(capsys.readouterr().err)) == 1
    assert main(["profile", "lenet", "--privacy", str(table), "--tau", "0.6"]) == 0
    captured = capsys.readouterr()
    assert len(_said(captured.err)) == 1
    relu2 = next(line for line in captured.out.splitlines() if "| ReLU2 " in line)
    assert "| conv1 " in relu2 and "|    3 |" in relu2  # MODEL.md section 6's reading is kept


def test_output_row_not_warned_where_not_stricter(nm2, capsys):
    table, _ = nm2
    for tau in ("0.8", "0.3"):
        assert main(["profile", "lenet", "--privacy", str(table), "--tau", tau]) == 0
        assert not _said(capsys.readouterr().err), tau
    for cnn, name in (("lenet", "paper"), ("lenet", "calibrated"), ("cifar", "paper")):
        assert main(["profile", cnn, "--privacy", name, "--tau", "0.6"]) == 0
        assert not _said(capsys.readouterr().err), (cnn, name)


# --- 2. another kind of file given as an instance -------------------------------------------------------------

MICRO = TINY / "micro-1x3-tau0.6.json"


@pytest.fixture
def model_files(tmp_path):
    lp = tmp_path / "model.lp"
    assert main(["export", str(MICRO), "--out", str(lp)]) == 0
    mps = tmp_path / "model.mps"
    assert main(["export", str(MICRO), "--out", str(mps)]) == 0
    renamed = tmp_path / "model.txt"  # known by its first word, whatever its name
    renamed.write_bytes(lp.read_bytes())
    return lp, mps, renamed


def test_a_model_file_given_as_an_instance_names_import_solution(model_files, capsys):
    for f in model_files:
        capsys.readouterr()
        assert main(["solve", str(f)]) == 2
        err = capsys.readouterr().err
        assert "it is an LP/MPS model file (as `optdist export` writes), not an instance JSON file" in err, err
        assert f"optdist import-solution INSTANCE --model-file {f}" in err and "invalid JSON" not in err
    assert main(["validate", str(model_files[0])]) == 1
    assert "LP/MPS model file" in capsys.readouterr().out


def test_toml_files_given_as_an_instance_name_bench_and_solver(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "b"\ninstances = ["x/*.json"]\n')
    prof = tmp_path / "p1.toml"
    prof.write_text('name = "p1"\nsolver = "cbc"\n')
    capsys.readouterr()
    assert main(["solve", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "it is a TOML bench spec, not an instance JSON file" in err and f"optdist bench {spec}" in err
    assert main(["validate", str(prof)]) == 1
    assert f"TOML solver profile, not an instance JSON file\n      fix: give it to a solve as `--solver {prof}`" in capsys.readouterr().out


def test_a_result_given_as_an_instance_names_evaluate_once(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(MICRO), "-q", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["validate", str(out)]) == 1
    said = capsys.readouterr().out
    assert said.count("optdist evaluate INSTANCE") == 1 and f"score it with `optdist evaluate INSTANCE {out}`" in said


# --- 3. a typo'd key of a request in an assignment ------------------------------------------------------------

LENET = TINY / "lenet-1x4-tau0.8.json"


def test_a_misspelt_layers_key_is_named_with_did_you_mean(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(LENET), "--method", "greedy", "-q", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    entry = doc["assignment"]["requests"]["r1"]
    entry["layrs"] = entry.pop("layers")
    out.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["evaluate", str(LENET), str(out)]) == 2
    err = capsys.readouterr().err
    assert 'requests.r1.layrs: unknown key "layrs" (and no "layers")' in err and 'did you mean "layers"?' in err, err


# --- 4, 5. a result or assignment of another instance ---------------------------------------------------------


@pytest.fixture(scope="module")
def a_and_c():
    import optdist

    a, c = optdist.load_instance(LENET), optdist.load_instance(MICRO)
    return a, c, optdist.solve(a, method="greedy")


def test_save_with_another_instance_is_refused_before_writing(a_and_c, tmp_path):
    _, c, ra = a_and_c
    out = tmp_path / "rAC.json"
    with pytest.raises(ValueError, match=r'SolveResult.save: this result \(greedy\) was made for instance '
                                         r'"lenet-1x4-tau0.8", not "micro-1x3-tau0.6".*\(fix: save it with the instance'):
        ra.save(c, out)
    assert not out.exists()


def test_an_assignment_of_another_instance_names_the_instance_and_the_fix(a_and_c):
    import optdist

    a, c, ra = a_and_c
    for call, run in (("optdist.evaluate", lambda: optdist.evaluate(c, ra.assignment)),
                      (r"optdist.solve\(warm_start=...\)", lambda: optdist.solve(c, warm_start=ra.assignment))):
        with pytest.raises(ValueError, match=call + r': the Assignment does not fit instance "micro-1x3-tau0.6": .*'
                                           r'request "r1": 9 layers assigned, its network "micro" has 4 here.*'
                                           r"\(fix: an Assignment holds the node indices and layer lists"):
            run()
    assert optdist.evaluate(a, ra.assignment).objective == pytest.approx(ra.evaluation.objective)


# --- 6. diagnose names the nodes a restoring relaxation overloads ---------------------------------------------

#: /tmp/breakA/bad/tau_small.json: tau 0.01 puts every layer on the sources, and source cam2 (a pizero) is too slow
TAU_SMALL = mixed_instance("tau_small", tau=0.01)


def test_diagnose_names_the_nodes_the_restoring_relaxation_overloads(tmp_path, capsys):
    f = tmp_path / "tau_small.json"
    f.write_text(json.dumps(TAU_SMALL))
    out = tmp_path / "d.json"
    capsys.readouterr()
    assert main(["diagnose", str(f), "--time-limit", "30", "--json", str(out)]) == 1
    said = capsys.readouterr().out
    assert "minimal relaxation(s) restoring feasibility: {compute}" in said, said
    assert '{compute}: the placement the relaxed model found (one witness) breaks compute at node(s) "cam2"' in said
    doc = json.loads(out.read_text())
    assert next(r for r in doc["relaxations"] if r["families"] == ["compute"])["broken"] == ['compute at node(s) "cam2"']
