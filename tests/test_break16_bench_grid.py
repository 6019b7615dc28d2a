"""The tables count the runs of the spec's grid only (break16: a spec edited between runs,
`time_limit = 3` then `4`, left both sweeps' records in OUT/records and the solver table
counted 12 runs of milp/highs on 6 instances, each instance twice). Specs of other names that
write into one folder (the paper-250 specs) keep each its own grid: their records join."""

from __future__ import annotations

import json

import pytest

from optdist.bench.records import GRID_NAME, read_records
from optdist.bench.runner import run_sweep
from optdist.bench.spec import parse_spec
from optdist.bench.tables import load_records, solver_table
from optdist.cli import main

from .conftest import ROOT

MICRO = [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json"), str(ROOT / "instances/tiny/micro-2x2-tau0.6.json")]


def _spec(out, **kw):
    return parse_spec({"name": "t", "out": str(out), "instances": MICRO, "methods": ["milp", "greedy"],
                       "solvers": ["highs"], "time_limit": 5, **kw})


def test_an_edited_spec_counts_each_run_once(tmp_path, caplog):
    run_sweep(_spec(tmp_path), progress=False)
    run_sweep(_spec(tmp_path, time_limit=6), progress=False)  # the edit: two new milp runs
    assert len(list((tmp_path / "records").glob("*.json"))) == 6  # every record is kept
    table = solver_table(load_records(tmp_path)).set_index("config")
    assert table.loc["milp/highs", "runs"] == 2 and table.loc["milp/highs", "instances"] == 2
    assert ".json and 1 other record(s): of runs in no spec's grid" in caplog.text
    df = load_records(tmp_path)
    assert set(df.loc[df["method"] == "milp", "time_limit"]) == {6}  # the edited spec's runs, not the old ones


def test_running_one_method_keeps_the_others_in_the_tables(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "t"\nout = "{tmp_path / "o"}"\ninstances = {MICRO!r}\nmethods = ["milp", "greedy"]\n'
                    f'solvers = ["highs"]\ntime_limit = 5\n'.replace("'", '"'))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert main(["bench", str(spec), "--no-progress", "--method", "greedy"]) == 0
    grid = json.loads((tmp_path / "o" / GRID_NAME).read_text())["specs"]
    assert list(grid) == ["t"] and len(grid["t"]) == 4
    recs, warns = read_records(tmp_path / "o")
    assert len(recs) == 4 and not warns


@pytest.mark.parametrize("text", ["{", '{"format": "other", "specs": {}}', "[]", '{"format": "optdist-bench-grid/1", "specs": {"t": 5}}'])
def test_an_unusable_grid_file_counts_every_record_with_a_warning(tmp_path, text):
    run_sweep(_spec(tmp_path, methods=["greedy"]), progress=False)
    (tmp_path / GRID_NAME).write_text(text)
    recs, warns = read_records(tmp_path)
    assert len(recs) == 2 and len(warns) == 1 and f"{GRID_NAME}: " in warns[0]
    assert f"run `optdist bench {tmp_path}/spec.json` again" in warns[0]  # the spec the sweep saved


def test_a_folder_without_a_grid_file_is_read_whole(tmp_path):
    run_sweep(_spec(tmp_path, methods=["greedy"]), progress=False)
    (tmp_path / GRID_NAME).unlink()
    recs, warns = read_records(tmp_path)
    assert len(recs) == 2 and not warns


def test_specs_of_other_names_into_one_folder_join(tmp_path):
    """review16: the paper-250 specs write into one folder; each sweep overwrote grid.json, so
    the tables kept only the spec run last (Figs. 13-14 lost greedy or RL)."""
    a = parse_spec({"name": "a", "out": str(tmp_path), "instances": MICRO, "methods": ["greedy"]})
    b = parse_spec({"name": "b", "out": str(tmp_path), "instances": MICRO, "methods": ["per-layer"]})
    run_sweep(a, progress=False)
    run_sweep(b, progress=False)
    recs, warns = read_records(tmp_path)
    assert sorted(r["run"]["method"] for r in recs) == ["greedy", "greedy", "per-layer", "per-layer"] and not warns
    run_sweep(a, progress=False)  # a again: b's grid stays
    assert len(read_records(tmp_path)[0]) == 4
