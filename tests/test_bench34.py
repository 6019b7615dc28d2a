"""bench34: the solver table's columns add up to its runs (a no_solution at the limit is time_limit),
the gap table counts runs without a placement, configurations measured on different instances are
warned and compared on the common ones, grid runs without a record are listed, and the fixes name
the command that does what they say (spec.json's out, another spec's records, a damaged record
outside the grid)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from optdist.bench.records import GRID_FORMAT
from optdist.bench.tables import solver_table
from optdist.cli import main
from tests.conftest import ROOT
from tests.test_bench_tables import record, write

COUNTS = ["solved", "time_limit", "errors", "errors_kept", "other_unsolved"]


def _no_solution(instance: str, solver: str, wall: float, limit: float = 10.0, reached: bool = True) -> dict:
    """A run that stopped without a placement (``no_solution``), by its time limit where ``reached``."""
    rec = record(instance, solver, "no_solution", None, 0.5, wall=wall, limit=limit, feasible=None)
    rec["summary"] |= {"evaluator_objective": None, "total_latency_s": None, "shared_bytes": None}
    rec["extra"] = {"limit_reached": "time_limit"} if reached else {}
    return rec


def test_a_no_solution_at_its_time_limit_is_counted_under_time_limit(tmp_path):
    """Before: runs 5, solved 4, time_limit 0, errors 0 (the fifth run in no column)."""
    recs = [record(i, "highs", "optimal", 1.0, 1.0, limit=10.0) for i in "abcd"]
    df = write(tmp_path, [*recs, _no_solution("e", "highs", wall=9.4)])  # GLPK-like: stopped just before its limit
    row = solver_table(df).set_index("config").loc["milp/highs/compact"]
    assert (row["runs"], row["solved"], row["time_limit"], row["other_unsolved"]) == (5, 4, 1, 0)
    assert sum(row[c] for c in COUNTS) == row["runs"]


def test_every_run_is_in_one_column_of_the_solver_table(tmp_path):
    df = write(tmp_path, [record("a", "scip", "optimal", 1.0, 1.0, limit=10.0),
                          _no_solution("b", "scip", wall=3.0, reached=False),  # stopped early: not the limit
                          record("c", "scip", "feasible", 2.0, 1.0, limit=10.0),
                          _no_solution("d", "scip", wall=10.2, reached=False)])  # an older record: its wall time
    row = solver_table(df).set_index("config").loc["milp/scip/compact"]
    assert (row["time_limit"], row["other_unsolved"]) == (1, 2)
    assert sum(row[c] for c in COUNTS) == row["runs"] == 4


def test_the_gap_table_counts_runs_without_a_placement_and_says_what_its_gaps_are_over(tmp_path):
    """Before: the configuration that found nothing on the hard instance showed mean gap 0 and nothing else."""
    out = tmp_path / "sweep"
    write(out, [record("a", "highs", "optimal", 1.0, 1.0), record("a", "scip", "optimal", 1.0, 1.0),
                record("b", "highs", "time_limit", 2.0, 1.0, wall=100.0), _no_solution("b", "scip", wall=100.0, limit=100.0)])
    assert main(["bench-table", str(out)]) == 0
    gaps = pd.read_csv(out / "tables" / "gaps.csv").set_index("config")
    assert gaps.loc["milp/scip/compact", "no_placement"] == 1 and gaps.loc["milp/highs/compact", "no_placement"] == 0
    assert gaps.loc["milp/scip/compact", "mean_gap_pct"] == 0.0  # the numbers themselves as they were
    md = " ".join((out / "tables" / "gaps.md").read_text().split())
    assert "mean_gap_pct and max_gap_pct are over the runs with a feasible placement only" in md
    solvers = pd.read_csv(out / "tables" / "solvers.csv").set_index("config")
    assert solvers.loc["milp/scip/compact", "time_limit"] == 1


def _uneven(out):
    """highs solved a (1 s) and b (100 s, at its limit); scip has only a record of a (2 s)."""
    write(out, [record("a", "highs", "optimal", 1.0, 1.0, wall=1.0), record("b", "highs", "time_limit", 2.0, 1.0, wall=100.0),
                record("a", "scip", "optimal", 1.0, 1.0, wall=2.0)])


def test_configurations_on_other_instances_are_warned_and_compared_on_the_common_ones(tmp_path, capsys):
    """Before: scip (lacking the hard instance b) got sgm_rel 1.000, silently."""
    out = tmp_path / "sweep"
    _uneven(out)
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    t = pd.read_csv(out / "tables" / "solvers.csv").set_index("config")
    assert t.loc["milp/highs/compact", "sgm_rel"] == 1.0 and t.loc["milp/scip/compact", "sgm_rel"] > 1.0
    assert t.loc["milp/highs/compact", "sgm_time_s"] == pytest.approx(1.0) and t.loc["milp/highs/compact", "instances"] == 2
    said = ("configurations measured on different instances: milp/scip/compact lacks b; in solvers.md, sgm_time_s "
            "and sgm_rel are computed over the 1 instance(s) every configuration has (a)")
    assert said in err, err
    assert said in " ".join((out / "tables" / "solvers.md").read_text().split())
    assert "milp/scip/compact lacks b" in (out / "tables" / "gaps.md").read_text()


def test_grid_runs_without_a_record_are_listed_as_missing(tmp_path, capsys):
    out = tmp_path / "sweep"
    _uneven(out)
    keys = [p.stem for p in (out / "records").glob("*.json")]
    (out / "grid.json").write_text(json.dumps({"format": GRID_FORMAT, "specs": {"s": sorted(keys + ["b--milp--scip"])}}))
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    said = f"{out / 'grid.json'}: 1 of the 4 runs of spec \"s\"'s grid have no record under {out / 'records'} (b--milp--scip)"
    assert said in err, err
    assert said in " ".join((out / "tables" / "solvers.md").read_text().split())


def test_spec_json_records_the_folder_it_was_run_into(tmp_path):
    """Before: OUT/spec.json kept the spec's own out, so `optdist bench DIR/spec.json` wrote there."""
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "b34"\ninstances = ["{ROOT / "instances/tiny/micro-1x3-tau0.6.json"}"]\n'
                    f'methods = ["greedy"]\nout = "{tmp_path / "orig"}"\n')
    trial = tmp_path / "trial"
    assert main(["bench", str(spec), "--out", str(trial), "--no-progress"]) == 0
    assert json.loads((trial / "spec.json").read_text())["out"] == str(trial)
    assert main(["bench", str(trial / "spec.json"), "--no-progress"]) == 0
    assert not (tmp_path / "orig").exists()


def test_a_fix_for_another_specs_record_names_that_spec_and_the_folder(tmp_path, capsys):
    """Before: "fix: ... run `optdist bench OUT/spec.json`", the spec run last, whose grid lacks the run."""
    out = tmp_path / "sweep"
    bad = record("a", "highs", "optimal", 1.0, 1.2) | {"spec": "other"}  # its bound above its objective
    write(out, [record("a", "scip", "optimal", 1.0, 1.0) | {"spec": "mine"}, bad])
    (out / "spec.json").write_text(json.dumps({"name": "mine", "out": str(out)}))
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert (f"run `optdist bench SPEC --out {out}` with SPEC the file of spec \"other\" ({out / 'spec.json'} is "
            "spec \"mine\"'s, run last into this folder) again") in err, err


def test_a_damaged_record_outside_the_grid_is_to_be_moved_not_rerun(tmp_path, capsys):
    """Before: "fix: run ... again: it sets the record aside", which a rerun of the grid never does."""
    out = tmp_path / "sweep"
    write(out, [record("a", "highs", "optimal", 1.0, 1.0)])
    (out / "grid.json").write_text(json.dumps({"format": GRID_FORMAT, "specs": {"s": ["a--milp--highs"]}}))
    damaged = out / "records" / "old--milp--highs.json"
    damaged.write_text('{"format": "optdist-bench-rec')
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert (f"(fix: it is of no run in {out / 'grid.json'}, so no `optdist bench` of this folder reads it or sets it "
            f"aside: move {damaged} out of {out / 'records'}, or delete it)") in err, err


def test_a_damaged_record_of_another_specs_grid_names_that_spec(tmp_path, capsys):
    """Before: "fix: run `optdist bench OUT/spec.json` again: it sets the record aside", but that spec
    (the last one run into the folder) has no such run."""
    out = tmp_path / "sweep"
    write(out, [record("a", "highs", "optimal", 1.0, 1.0) | {"spec": "mine"}])
    (out / "spec.json").write_text(json.dumps({"name": "mine", "out": str(out)}))
    (out / "grid.json").write_text(json.dumps({"format": GRID_FORMAT, "specs": {"mine": ["a--milp--highs"],
                                                                                 "other": ["b--milp--highs"]}}))
    (out / "records" / "b--milp--highs.json").write_text('{"format": "optdist-bench-rec')
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert (f"(fix: run `optdist bench SPEC --out {out}` with SPEC the file of spec \"other\" ({out / 'spec.json'} "
            "is spec \"mine\"'s, run last into this folder) again: it sets the record aside under") in err, err


def test_records_left_out_as_stale_name_their_own_specs_command(tmp_path, capsys):
    """Before: "fix: run `optdist bench OUT/spec.json` again, which redoes those runs", the other spec's."""
    out = tmp_path / "sweep"
    inst = tmp_path / "b.json"
    inst.write_text("{}")
    stale = record("b", "highs", "optimal", 1.0, 1.0) | {"spec": "other", "instance_sha256": "0" * 64}
    stale["run"]["instance_path"] = str(inst)
    write(out, [record("a", "highs", "optimal", 1.0, 1.0) | {"spec": "mine"}, stale])
    (out / "spec.json").write_text(json.dumps({"name": "mine", "out": str(out)}))
    assert main(["bench-table", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert (f"{inst}: the instance file or a file it names (a profile, a privacy table) changed since 1 record(s) of "
            f"it were made") in err, err
    assert f"(fix: run `optdist bench SPEC --out {out}` with SPEC the file of spec \"other\" (" in err, err
