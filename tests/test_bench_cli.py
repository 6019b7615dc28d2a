"""The bench sub-commands: dry run, tables (with a .solu merge) and figures from records."""

from __future__ import annotations

import json

from optdist.bench.solu import read_solu
from optdist.cli import main

from .conftest import ROOT
from .test_bench_tables import record, write


def test_dry_run_lists_the_runs_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": ["instances/tiny/micro-1x3-tau0.6.json", "instances/tiny/micro-2x2-tau0.6.json"], "methods": ["greedy", "per-layer"]}))
    assert main(["bench", str(spec), "--dry-run"]) == 0
    assert "4 of 4 runs to do" in capsys.readouterr().out
    assert main(["bench", str(spec), "--dry-run", "--method", "greedy"]) == 0
    out = capsys.readouterr().out
    assert "micro-1x3-tau0.6--greedy--" in out and "per-layer" not in out and "2 of 2 runs to do" in out
    assert main(["bench", str(spec), "--dry-run", "--method", "rl"]) == 2


def test_bench_table_and_figures_from_records(tmp_path, capsys):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("a", "scip", "optimal", 1.5, 1.5),
                     record("a", None, "feasible", 1.2, method="greedy", limit=None)])
    solu = tmp_path / "ref.solu"
    assert main(["bench-table", str(tmp_path), "--write-solu", str(solu)]) == 0
    out = capsys.readouterr().out
    assert "WARNING a: optimality claims disagree" in out and (tmp_path / "tables" / "solvers.md").exists()
    assert read_solu(solu)["a"].opt == 1.0
    assert main(["bench-figures", str(tmp_path), "--figure", "scaling", "--dest", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "scaling-solve-time.png").exists()
    assert main(["bench-figures", str(tmp_path)]) == 2  # no figure named and no spec listing one
