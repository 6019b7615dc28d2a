"""benchw27: bench-table's warnings name the file that is wrong and a fix that fits it; its
disagreement check honours the runs' gaps; a spec takes ``threads = 2.0``; an rl warm start
stopped before its first episode says the untrained policy placed it.

1. A record filed under another name (a copy, a renamed file) was told to rerun `optdist bench`,
   which never reads it as its run's record, so the warning came back every time.
2. The records outside the grid were warned about by folder ("2 record(s) under ..."), not file.
3. A bound above a feasible value named the records folder, not the records that gave them.
4. Two runs each optimal within the default gap 1e-4 "disagreed" at 1e-6.
5. ``threads = 2.0`` in a spec was "not a whole number" while ``--threads 2.0`` was taken.
"""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from optdist.bench.records import read_records
from optdist.bench.spec import Run, parse_spec
from optdist.bench.tables import disagreements, write_tables
from optdist.io import atomic_write_json

from .conftest import ROOT
from .test_bench_tables import record, write

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")


def _stored(tmp_path, rec: dict, name: str | None = None):
    atomic_write_json(tmp_path / "records" / f"{name or rec['key']}.json", rec)


def test_a_copied_record_is_told_to_be_deleted_and_a_renamed_one_to_be_renamed(tmp_path):
    rec = record("a", "highs", "optimal", 1.0, 1.0)
    rec["key"] = Run.from_json(rec["run"]).key  # as optdist bench names it
    _stored(tmp_path, rec)
    shutil.copy(tmp_path / "records" / f"{rec['key']}.json", tmp_path / "records" / "copy.json")
    _, warns = read_records(tmp_path)
    assert warns == [f"{tmp_path}/records/copy.json: damaged record (key {json.dumps(rec['key'])} is not the file's name); left "
                     f"out of the tables and figures (fix: it is a copy of the record of run {rec['key']}, which is "
                     f"{rec['key']}.json: delete it or move it out of {tmp_path}/records)"]
    (tmp_path / "records" / f"{rec['key']}.json").unlink()
    _, warns = read_records(tmp_path)
    assert f"(fix: rename it {rec['key']}.json, the name of its run's record, or move it out of" in warns[0]


def test_a_damaged_record_is_still_told_to_rerun(tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "x.json").write_text("{")
    _, warns = read_records(tmp_path)
    assert "(fix: run `optdist bench SPEC` again: it sets the record aside under" in warns[0]


def test_records_outside_the_grid_are_named_by_file(tmp_path):
    a, b = record("a", "highs", "optimal", 1.0, 1.0), record("b", "highs", "optimal", 2.0, 2.0)
    for rec in (a, b):
        _stored(tmp_path, rec)
    atomic_write_json(tmp_path / "grid.json", {"format": "optdist-bench-grid/1", "specs": {"s": []}})
    _, warns = read_records(tmp_path)
    assert warns == [f"{tmp_path}/records/{a['key']}.json and 1 other record(s): of runs in no spec's grid "
                     f"({tmp_path}/grid.json: the spec was edited since they ran); left out of the tables and figures, "
                     f"kept on disk (fix: to count them, run the spec as it was when they ran; to be rid of them, move "
                     f"them out of {tmp_path}/records)"]


def test_a_bound_above_a_feasible_value_names_the_records_that_gave_them(tmp_path):
    lo = record("a", "highs", "feasible", 1.0, None, method="greedy", limit=None)
    hi = record("a", "scip", "time_limit", 3.0, 2.0)
    write(tmp_path, [lo, hi])
    _, warns = write_tables(tmp_path)
    said = [w for w in warns if "exceeds a feasible value" in w]
    assert len(said) == 1 and said[0].startswith(f"{tmp_path}/records: a: bound 2 exceeds a feasible value 1 (from the "
                                                 f"record(s) {tmp_path}/records/{hi['key']}.json, "
                                                 f"{tmp_path}/records/{lo['key']}.json) (fix: ")


def test_claims_within_their_gap_agree_and_a_bound_above_an_objective_disagrees(tmp_path):
    a1, a2 = record("a", "highs", "optimal", 1.0, 0.99995), record("a", "scip", "optimal", 1.00008, 0.99993)
    b1, b2 = record("b", "highs", "optimal", 1.0, 0.99995), record("b", "scip", "optimal", 1.0002, 1.0001)
    for rec, gap in ((a1, 5e-5), (a2, 9e-5), (b1, 5e-5), (b2, 1e-4)):
        rec["summary"]["gap"] = gap
    c = record("c", "highs", "optimal", 1.0, None)
    c2 = record("c", "scip", "optimal", 1.01, None)
    c2["summary"]["gap"] = 0.02  # no bound recorded: objective less its gap, 0.9898, is under 1.0
    warns = disagreements(write(tmp_path, [a1, a2, b1, b2, c, c2]))
    assert len(warns) == 1 and warns[0].startswith("b.json: optimality claims disagree on b: milp/scip/compact proves a "
                                                   "bound of 1.0001, above the objective 1 of milp/highs/compact")


@pytest.mark.parametrize("where", ["top", "options"])
def test_a_spec_takes_threads_as_an_integral_float(tmp_path, where):
    doc = {"name": "t", "out": str(tmp_path), "instances": [MICRO], "methods": ["milp"]}
    doc |= {"threads": 2.0} if where == "top" else {"options": {"threads": 2.0}}
    spec = parse_spec(doc)
    threads = {json.dumps(run.options.get("threads")) for run in spec.runs()}
    assert threads == {"2"}
    with pytest.raises(ValueError, match=r"threads = 2.5 is not a whole number"):
        parse_spec({**doc, "threads": 2.5} if where == "top" else {**doc, "options": {"threads": 2.5}})


@pytest.mark.learn
def test_a_warm_start_stopped_before_its_first_episode_says_the_untrained_policy_placed_it(monkeypatch,
                                                                                           sigint_handled):
    import optdist
    from optdist.rl.env import DistPrivacyEnv

    reset = DistPrivacyEnv.reset

    def signalled(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # at the first reset, before any episode
        return reset(self, *args, **kwargs)

    monkeypatch.setattr(DistPrivacyEnv, "reset", signalled)
    res = optdist.solve(ROOT / "instances/tiny/lenet-1x4-tau0.8.json", method="milp", formulation="tight",
                        warm_start="rl")
    cut = res.extra["warm_start_train_interrupted"]
    assert cut["episodes"] == 0
    assert res.extra["incumbent"] == (f"the warm start: stopped while the warm start trained, after 0 of "
                                      f"{cut['episodes_planned']} episodes: the untrained (initial) policy placed it")


@pytest.mark.parametrize("key", ["a/b", "x" * 300, "", "\u00e9" * 200, ".."])
def test_a_record_whose_key_is_no_file_name_is_warned_not_fatal(tmp_path, key):
    """A misnamed record's fix was built from its key: 'a/b' or a 300-character key made bench-table
    fail; only a key its run has (as optdist bench names it) is offered as a file name."""
    rec = record("a", "highs", "optimal", 1.0, 1.0)
    _stored(tmp_path, {**rec, "key": key}, "bad")
    _stored(tmp_path, rec)
    recs, warns = read_records(tmp_path)
    assert len(recs) == 1 and warns[0].endswith(f"(fix: its key is not its run's: move it out of {tmp_path}/records)")
    write_tables(tmp_path)


def test_a_run_does_not_disagree_with_itself(tmp_path):
    assert not disagreements(write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.5)]))
    warns = disagreements(write(tmp_path, [record("a", "scip", "optimal", 1.2, 1.1)]))
    assert len(warns) == 1 and "milp/highs/compact proves a bound of 1.5, above the objective 1.2 of milp/scip" in warns[0]


def test_two_seeds_of_one_configuration_are_told_apart(tmp_path):
    a, b = record("a", "highs", "optimal", 1.0, 1.0), record("a", "highs", "optimal", 1.3, 1.2)
    a["run"]["seed"], b["run"]["seed"], b["key"] = 0, 1, b["key"] + "-1"
    warns = disagreements(write(tmp_path, [a, b]))
    assert len(warns) == 1 and ("milp/highs/compact (seed 1) proves a bound of 1.2, above the objective 1 of "
                                "milp/highs/compact (seed 0)") in warns[0]
