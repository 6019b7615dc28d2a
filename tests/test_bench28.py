"""bench28: bench-table survives one ill-typed record, does not certify an unproven optimum, gives
the sweep's output folder when given another path, and warns a false bound once.

1. One record with summary.objective "abc" (or summary.bound [0.001]) stopped every table with
   pandas' "could not convert string to float"; now it is a damaged record, named and left out.
2. A bound of Infinity / -Infinity on an "optimal" record was silently no certificate while the gap
   tables still took its objective as the optimum; NaN, "0.001" and true (taken as 1) were read.
3. ``bench-table OUT/records``, a folder above OUT, a spec or a missing path got advice for
   another folder (and OUT/records/tables was created); record fixes named "SPEC" though the
   folder holds its spec.json.
4. A record's bound above its own objective was warned twice (per record and as a reference).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from optdist.cli import main
from optdist.io import atomic_write_json

from .conftest import ROOT
from .test_bench_tables import record

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")


def _sweep(tmp_path, edit=None, spec_json: bool = False):
    """Three records of instance a (highs optimal 1.0 with bound 1.0, glpk at its limit, greedy), the
    highs one's summary changed by ``edit``; with ``spec_json``, the folder holds its spec.json."""
    hi = record("a", "highs", "optimal", 1.0, 1.0)
    hi["summary"]["gap"] = 0.0
    recs = [hi, record("a", "glpk", "time_limit", 1.0), record("a", None, "feasible", 1.2, method="greedy", limit=None)]
    if edit is not None:
        edit(hi["summary"])
    for r in recs:
        (tmp_path / "records").mkdir(exist_ok=True)
        (tmp_path / "records" / f"{r['key']}.json").write_text(json.dumps(r, allow_nan=True))
    if spec_json:
        atomic_write_json(tmp_path / "spec.json", {"name": "t", "out": str(tmp_path), "instances": [MICRO],
                                                    "methods": ["greedy"]})
    return tmp_path / "records" / f"{hi['key']}.json"


def _table(tmp_path, capsys) -> str:
    assert main(["bench-table", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "tables:" in out and (tmp_path / "tables" / "certificates.md").exists()
    return err


@pytest.mark.parametrize(("field", "value", "typed", "fix"), [
    ("objective", "abc", '"abc"', None),
    ("bound", [0.001], "[0.001]", '"bound": 0.001'),
    ("bound", "0.001", '"0.001"', '"bound": 0.001'),
    ("bound", True, "true", None),
    ("bound", float("nan"), "NaN", None),
    ("feasible", "true", '"true"', '"feasible": true'),
])
def test_an_ill_typed_field_leaves_its_record_out_and_the_tables_are_written(tmp_path, capsys, field, value, typed, fix):
    path = _sweep(tmp_path, lambda s: s.__setitem__(field, value))
    err = _table(tmp_path, capsys)
    kind = "true or false" if field == "feasible" else "a number"
    assert (f"optdist: warning: {path}: damaged record (field summary.{field} is {typed}, not {kind}); left out of "
            "the tables and figures (fix: ") in err
    redo = (f"run `optdist bench SPEC` again: it sets the record aside under {path.parent}/damaged and redoes the run)")
    assert (f"(fix: write the field as {fix}, or {redo}" if fix else f"(fix: {redo}") in err
    cert = pd.read_csv(tmp_path / "tables" / "certificates.csv")
    assert not cert["certified_optimal"].any()  # the highs record, the only bound, is out
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bound", [float("inf"), float("-inf")])
def test_an_optimal_claim_with_an_infinite_bound_is_warned_and_no_optimum(tmp_path, capsys, bound):
    path = _sweep(tmp_path, lambda s: s.__setitem__("bound", bound), spec_json=True)
    err = _table(tmp_path, capsys)
    typed = json.dumps(bound)
    assert (f"optdist: warning: {path}: it claims termination optimal on a (milp/highs/compact) with bound {typed}, "
            "which proves nothing; its objective is not taken as the instance's optimum nor as certified (fix: solve "
            f"the instance again to check, e.g. `optdist solve a.json`; then delete this record and run `optdist bench "
            f"{tmp_path}/spec.json` again, which redoes the run)") in err
    rows = pd.read_csv(tmp_path / "tables" / "gaps-by-instance.csv")
    assert "opt" not in set(rows["ref_kind"].dropna())
    assert not pd.read_csv(tmp_path / "tables" / "certificates.csv")["certified_optimal"].any()
    assert f"WARNING {path}: it claims termination optimal" in (tmp_path / "tables" / "gaps.md").read_text()


def test_a_sound_optimal_claim_is_still_the_optimum_and_certified(tmp_path, capsys):
    _sweep(tmp_path)
    assert _table(tmp_path, capsys) == ""
    assert set(pd.read_csv(tmp_path / "tables" / "gaps-by-instance.csv")["ref_kind"]) == {"opt"}
    assert pd.read_csv(tmp_path / "tables" / "certificates.csv")["certified_optimal"].all()


def test_the_records_folder_is_answered_with_the_output_folder(tmp_path, capsys):
    _sweep(tmp_path)
    assert main(["bench-table", str(tmp_path / "records")]) == 2
    assert capsys.readouterr().err == (f"optdist bench-table: error: {tmp_path}/records: the sweep's records folder, given "
                                       "where its output folder (the one above) is expected (fix: `optdist bench-table "
                                       f"{tmp_path}`)\n")
    assert not (tmp_path / "records" / "tables").exists()
    assert main(["bench-figures", str(tmp_path / "records"), "--figure", "scaling"]) == 2
    assert f"(fix: `optdist bench-figures {tmp_path}`)" in capsys.readouterr().err


def test_a_folder_above_the_sweep_names_the_sweeps_in_it(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    _sweep(tmp_path / "run")
    assert main(["bench-table", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"optdist bench-table: error: {tmp_path}: not a sweep output folder, it holds no "
                                       f"records/ (fix: `optdist bench-table {tmp_path}/run`)\n")
    assert not (tmp_path / "tables").exists()


def test_a_spec_given_as_the_output_folder_is_told_to_run_first(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "t"\nout = "{tmp_path}/o"\ninstances = ["{MICRO}"]\nmethods = ["greedy"]\n')
    assert main(["bench-table", str(spec)]) == 2
    assert capsys.readouterr().err == (f"optdist bench-table: error: {spec}: a sweep spec, given where the sweep's "
                                       f"output folder is expected (fix: `optdist bench {spec}` first, then `optdist "
                                       f"bench-table {tmp_path}/o`)\n")


def test_a_missing_folder_is_one_fix(tmp_path, capsys):
    assert main(["bench-table", str(tmp_path / "nothere")]) == 2
    err = capsys.readouterr().err
    assert err.count("(fix: ") == 1 and f"{tmp_path}/nothere: no such folder (fix: give the folder" in err
    assert not (tmp_path / "nothere").exists()


def test_record_fixes_name_the_saved_spec(tmp_path, capsys):
    path = _sweep(tmp_path, lambda s: s.__setitem__("objective", "abc"), spec_json=True)
    err = _table(tmp_path, capsys)
    assert (f"{path}: damaged record (field summary.objective is \"abc\", not a number); left out of the tables and "
            f"figures (fix: run `optdist bench {tmp_path}/spec.json` again: it sets the record aside") in err


def test_no_usable_record_is_one_fix_naming_the_saved_spec(tmp_path, capsys):
    (tmp_path / "records").mkdir()
    atomic_write_json(tmp_path / "spec.json", {"name": "t"})
    assert main(["bench-table", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("(fix: ") == 1 and f"(fix: run `optdist bench {tmp_path}/spec.json`, which does the runs" in err


def test_a_bound_above_its_own_objective_is_warned_once(tmp_path, capsys):
    path = _sweep(tmp_path, lambda s: s.__setitem__("bound", 1.5))
    err = _table(tmp_path, capsys)
    assert len(err.strip().splitlines()) == 1 and f"optdist: warning: {path}: its bound 1.5 is above its own " in err
    assert "exceeds a feasible value" not in err + (tmp_path / "tables" / "gaps.md").read_text()
