"""msgs28: instance type errors in the user's terms (file, field path, value as typed, what is
expected, a fix with an example); per-layer and edge-cloud violations they make by design named
as such, not as "the method said feasible"; a bench record whose own bound is above its own
objective warned, naming the record file."""

from __future__ import annotations

import json
import re

import pytest

from optdist.bench.tables import write_tables
from optdist.cli import main
from optdist.io import atomic_write_json
from tests.conftest import ROOT
from tests.test_bench_tables import record

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


# --- item 4: a record's own bound above its own objective --------------------------------------

def test_bench_table_warns_a_record_whose_bound_is_above_its_own_objective(tmp_path, capsys):
    """Before: no warning named the record (disagreements() compares two runs' claims, never a run
    with itself, and the reference check counts only feasible placements' values)."""
    recs = [record("a", "highs", "optimal", 1.0, 1.5, feasible=False), record("a", "scip", "optimal", 2.0, 2.0),
            record("b", "highs", "optimal", 2.0, 2.0 * (1 + 1e-9)), record("c", "highs", "time_limit", 3.0, 2.5)]
    for r in recs:
        atomic_write_json(tmp_path / "records" / f"{r['key']}.json", r)
    _, warns = write_tables(tmp_path)
    bad = [w for w in warns if "above its own objective" in w]
    assert len(bad) == 1, warns  # b is above by rounding only, c is below
    assert [w for w in warns if "a--milp--highs.json" in w] == bad  # the only warning that names it
    path = tmp_path / "records" / "a--milp--highs.json"
    assert bad[0].startswith(f"{path}: its bound 1.5 is above its own objective 1 (rel. diff 0.333) on a "
                             "(milp/highs/compact, termination optimal)")
    assert "(fix: solve the instance again to check, e.g. `optdist solve a.json`; then delete this record" in bad[0]
    assert f"WARNING {bad[0]}" in (tmp_path / "tables" / "solvers.md").read_text()
    capsys.readouterr()
    assert main(["bench-table", str(tmp_path)]) == 0
    assert f"optdist: warning: {bad[0]}" in capsys.readouterr().err
