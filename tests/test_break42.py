"""break42: a new user walks the less-walked commands (export / import-solution, pareto, diagnose,
the defences, train-target / calibrate, bench-table / bench-figures and bench resume).

1. ``optdist diagnose`` of an instance whose nodes have a capacity of 0 (``bandwidth_capacity: 0``)
   printed a percentage of a divisor of 1e-300: "its bandwidth capacity is 0 B (1843200000...%)", a
   number of 300 digits; now the message stops at "0 B". So did the evaluator's violation of such a
   capacity ("uses 3328 of bandwidth, capacity 0 (33279999...%)"): both now use
   ``optdist.evaluate.share_text``.
"""

from __future__ import annotations

import json

from optdist.cli import main
from tests.conftest import LENET_1X4


def _zero_bandwidth(tmp_path, requests: int = 1):
    """LENET_1X4 with every node's bandwidth capacity 0 and ``requests`` requests of its one source."""
    doc = json.loads(LENET_1X4.read_text())
    for node in doc["devices"] + doc["sources"]:
        node["bandwidth_capacity"] = 0
    doc["requests"] = [{"id": f"r{i + 1}", "source": "cam1", "cnn": "lenet"} for i in range(requests)]
    path = tmp_path / "zero-bw.json"
    path.write_text(json.dumps(doc))
    return path


def test_diagnose_of_a_zero_capacity_prints_no_percentage_of_it(tmp_path, capsys):
    assert main(["diagnose", str(_zero_bandwidth(tmp_path)), "--no-solve"]) == 1
    out = capsys.readouterr().out
    assert "its bandwidth capacity is 0 B\n" in out and "%" not in out, out
    assert "all 4 devices together have 0 B\n" in out


def test_evaluator_violation_of_a_zero_capacity_prints_no_percentage_of_it(tmp_path):
    import optdist

    placed = optdist.solve(optdist.load_instance(LENET_1X4), method="greedy").assignment
    ev = optdist.evaluate(optdist.load_instance(_zero_bandwidth(tmp_path)), placed)
    said = [v.message for v in ev.violations if v.constraint == "bandwidth"]
    assert said and all(m.endswith(", capacity 0") for m in said), said
