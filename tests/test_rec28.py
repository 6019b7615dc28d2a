"""rec28: bench-table reads hand-edited records that contradict themselves; ``optdist evaluate``'s
assignment-file messages.

1. A record whose summary contradicts itself (evaluator_objective 5.0 against an objective of
   0.01009 on a feasible placement; "optimal" with gap 0.5; the unknown termination "finished";
   feasible false with termination "feasible") was read without a warning: certificates.md showed
   upper_bound 5 and gap_pct 99.8, the gaps table "optimal" with gap 0.5, and an instance without a
   feasible placement "upper_bound nan, by nan". Now each is warned, naming the record file, the
   field as typed and a fix, left out of the certificates, and no table prints nan.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from optdist.bench.tables import write_tables

from .conftest import ROOT

LENET = ROOT / "benchmarks/milp/competing-lenet"


def _edit(tmp_path, i: int, **fields):
    """A copy of the competing-lenet sweep with record ``i``'s summary fields set to ``fields``;
    returns the folder and that record's file."""
    out = tmp_path / "sweep"
    shutil.copytree(LENET / "records", out / "records")
    path = sorted((out / "records").glob("*.json"))[i]
    rec = json.loads(path.read_text())
    rec["summary"].update(fields)
    path.write_text(json.dumps(rec))
    return out, path


def _tables(out):
    files, warns = write_tables(out, out / "tab")
    return {p.name: p.read_text() for p in files}, warns


def test_unedited_sweep_has_no_contradiction(tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(LENET / "records", out / "records")
    texts, warns = _tables(out)
    assert not [w for w in warns if "left out of the certificates" in w]
    assert "nan" not in "".join(texts.values())


@pytest.mark.parametrize("fields, said", [
    ({"evaluator_objective": 5.0}, ['summary.evaluator_objective 5 is not its objective 0.0100861235061',
                                    '"evaluator_objective": 0.0100861235061']),
    ({"termination": "optimal", "gap": 0.5}, ['"optimal" with summary.gap 0.5', '"termination": "time_limit"']),
    ({"termination": "finished"}, ['summary.termination "finished" is not a termination word',
                                   '"termination": "feasible"', '"time_limit"']),
    ({"feasible": False}, ['summary.feasible false with termination "feasible"', '"termination": "violated"']),
])
def test_contradictory_record_is_warned_and_not_certified(tmp_path, fields, said):
    out, path = _edit(tmp_path, 2, **fields)
    texts, warns = _tables(out)
    mine = [w for w in warns if w.startswith(f"{path}: ")]
    assert len(mine) == 1, warns
    for s in said:
        assert s in mine[0]
    assert "left out of the certificates" in mine[0] and "(fix: " in mine[0] 
    assert not re.search(r"'[^' ]+'", mine[0])  # JSON quoting, not Python's
    cert = texts["certificates.md"]
    assert "lenet-9x5-nexus-rpi3" not in cert and "99.8" not in cert  # its only record: nothing certified
    assert "nan" not in "".join(texts.values())
    assert "WARNING " + mine[0] in texts["gaps.md"]


def test_no_feasible_placement_prints_no_nan(tmp_path):
    out, _ = _edit(tmp_path, 2, feasible=False, termination="violated")
    texts, warns = _tables(out)
    assert not [w for w in warns if "left out of the certificates" in w]  # consistent: no warning
    assert "nan" not in texts["certificates.md"] and "nan" not in texts["gaps.md"]
    row = next(line for line in texts["certificates.md"].splitlines() if "lenet-9x5-nexus-rpi3" in line)
    assert "0.009984" in row  # its bound still counts


# 2. ``optdist evaluate``'s assignment-file messages: JSON quoting, the value as typed, a fix with an
# example; a count in quotes, out of range or not whole; an unknown id with the close one; the
# arguments swapped.

PAPER = ROOT / "instances/paper/lenet-1x10-tau0.6.json"


@pytest.fixture()
def placed(tmp_path):
    """An assignment of PAPER (greedy's), as a dict, and a writer of an edited copy."""
    from optdist.assignment import Assignment
    from optdist.instance import load_instance
    inst = load_instance(PAPER)
    owners = [[np.zeros(la.segments, dtype=np.int64) for la in inst.profile(r).layers] for r in range(inst.n_requests)]
    doc = Assignment(owners).to_json(inst)
    doc["requests"]["r1"]["layers"]["conv1"] = [["cam1", inst.profile(0).layers[0].segments]]

    def write(edit):
        d = json.loads(json.dumps(doc))
        edit(d)
        path = tmp_path / "a.json"
        path.write_text(json.dumps(d))
        return path
    return write


def _evaluate(capsys, *args):
    from optdist.cli import main
    rc = main(["evaluate", *map(str, args)])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("conv1, said", [
    ([["cam1", "1"]], ['conv1[0]: ["cam1", "1"] is not [node_id, count]: its count is a string',
                       'remove the quotes around the count: ["cam1", 1]']),
    ([["camX", 1]], ['conv1[0]: unknown node id "camX"', 'did you mean "cam1"?', '"rpi3-1", "rpi3-2"']),
    ([["cam1", 1e30]], ['conv1[0]: count 1e+30 is out of range: the layer has 1 segment', 'e.g. ["cam1", 1]']),
    ({"cam1": 1}, ["conv1: is an object, not a list", 'e.g. [["']),
    ([["cam1", 1.0]], ["conv1[0]: count 1.0 is not a whole number", 'e.g. ["cam1", 1]']),
])
def test_assignment_messages(placed, capsys, conv1, said):
    def edit(d):
        d["requests"]["r1"]["layers"]["conv1"] = conv1
    rc, err = _evaluate(capsys, PAPER, placed(edit))
    assert rc == 2, err
    for s in said:
        assert s in err
    assert not re.search(r"\['|'\]|: '[^' ]+'", err)  # JSON quoting, not Python's


def test_unknown_layer_and_request_messages(placed, capsys):
    rc, err = _evaluate(capsys, PAPER, placed(lambda d: d["requests"]["r1"]["layers"].update(convZ=[["cam1", 1]])))
    assert rc == 2 and 'not a layer of "lenet"' in err and 'use the layers "conv1", "ReLU1"' in err and "['" not in err
    rc, err = _evaluate(capsys, PAPER, placed(lambda d: d["requests"].update(r9=d["requests"]["r1"])))
    assert rc == 2 and '(1 such id: "r9")' in err and "such ids" not in err and 'made for: "r1"' in err


def test_swapped_arguments(placed, capsys):
    path = placed(lambda d: None)
    rc, err = _evaluate(capsys, path, PAPER)
    assert rc == 2 and "the arguments are swapped" in err and f"`optdist evaluate {PAPER} {path}`" in err
    rc, err = _evaluate(capsys, PAPER, path)
    assert rc in (0, 1), err
