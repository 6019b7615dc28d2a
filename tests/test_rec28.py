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
