"""Tables from records: shifted geometric mean, timeouts at the limit, disagreement warnings,
gaps to the reference, and the .solu file (read, merge, write)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from optdist.bench.solu import Reference, merge_refs, merge_solu_file, read_solu, write_solu
from optdist.bench.tables import certificate_table, disagreements, gap_rows, gap_table, load_records, references, sgm, solver_table, write_tables
from optdist.io import atomic_write_json


def record(instance: str, solver: str | None, termination: str, objective: float | None, bound: float | None = None,
           wall: float = 1.0, limit: float | None = 100.0, method: str = "milp", feasible: bool = True, status: str = "ok",
           **info) -> dict:
    """A minimal bench record, as the runner writes it."""
    key = f"{instance}--{method}--{solver}"
    return {
        "format": "optdist-bench-record/1", "key": key, "status": status, "error": None if status == "ok" else "boom",
        "run": {"instance": instance, "instance_path": f"{instance}.json", "method": method, "solver": solver,
                "formulation": "compact" if solver else None, "seed": None,
                "options": {} if limit is None else {"time_limit": limit, "threads": 1}},
        "summary": None if status != "ok" else {
            "termination": termination, "objective": objective, "bound": bound, "gap": None, "wall_time_s": wall,
            "nodes": 0, "evaluator_objective": objective, "feasible": feasible, "violations": 0, "rejected": 0,
            "total_latency_s": objective, "shared_bytes": 1e6},
        "instance_info": {"n_requests": 2, "n_devices": 4, "tau": 0.6, "period_s": 1.0, "cnns": {"lenet": 2},
                          "device_types": {"rpi3": 3, "nexus": 1}, **info},
        "per_request": {"latency_s": [objective / 2, objective / 2], "shared_bytes": [5e5, 5e5]} if objective else None,
        "requests_ok": 2, "elapsed_s": wall + 1, "host": {"cpu": "test"},
    }


def write(tmp_path, recs: list[dict]):
    for r in recs:
        atomic_write_json(tmp_path / "records" / f"{r['key']}.json", r)
    return load_records(tmp_path)


def test_sgm_is_the_shifted_geometric_mean():
    assert sgm([5.0]) == pytest.approx(5.0)
    assert sgm([0.0, 90.0]) == pytest.approx(math.sqrt(10 * 100) - 10)
    assert sgm([1.0, 2.0, 3.0], shift=0) == pytest.approx(6 ** (1 / 3))


def test_solver_table_charges_unsolved_runs_at_the_limit(tmp_path):
    df = write(tmp_path, [
        record("a", "highs", "optimal", 1.0, 1.0, wall=0.0), record("b", "highs", "time_limit", 2.0, 1.5, wall=100.4),
        record("a", "scip", "optimal", 1.0, 1.0, wall=90.0), record("b", "scip", "error", None, status="timeout", wall=200),
    ])
    t = solver_table(df).set_index("config")
    assert t.loc["milp/highs/compact", "sgm_time_s"] == pytest.approx(math.sqrt(10 * 110) - 10)
    assert t.loc["milp/scip/compact", "sgm_time_s"] == pytest.approx(math.sqrt(100 * 110) - 10)
    assert t.loc["milp/highs/compact", "solved_pct"] == 50 and t.loc["milp/scip/compact", "time_limit"] == 1
    assert t.loc["milp/highs/compact", "sgm_rel"] == 1.0


def test_disagreeing_optimality_claims_are_warned(tmp_path):
    df = write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("a", "scip", "optimal", 1.0 + 1e-7, 1.0),
                          record("b", "highs", "optimal", 2.0, 2.0), record("b", "scip", "optimal", 2.001, 2.001)])
    warns = disagreements(df)
    assert len(warns) == 1 and warns[0].startswith("b.json: optimality claims disagree on b: milp/scip/compact proves a "
                                                   "bound of 2.001, above the objective 2 of milp/highs/compact")


def test_gap_to_the_optimum_else_to_the_best_bound(tmp_path):
    df = write(tmp_path, [
        record("a", "highs", "optimal", 1.0, 1.0), record("a", None, "feasible", 1.25, method="greedy", limit=None),
        record("b", "highs", "time_limit", 4.0, 2.0), record("b", None, "feasible", 5.0, method="greedy", limit=None),
        record("c", None, "feasible", 3.0, method="greedy", limit=None, feasible=False),
    ])
    refs, warns = references(df)
    assert not warns
    rows = gap_rows(df, refs).set_index(["instance", "config"])
    assert rows.loc[("a", "greedy"), "gap_to_ref"] == pytest.approx(0.2)
    assert rows.loc[("b", "greedy"), ["ref_kind", "gap_to_ref"]].tolist() == ["bound", pytest.approx(0.6)]
    assert pd.isna(rows.loc[("c", "greedy"), "gap_to_ref"])  # infeasible placements have no gap
    cert = certificate_table(df).set_index("instance")
    assert cert.loc["b", ["upper_bound", "by", "lower_bound", "gap_pct"]].tolist() == [4.0, "milp/highs/compact", 2.0, 50.0]
    assert cert.loc["a", "certified_optimal"] and pd.isna(cert.loc["c", "upper_bound"])
    assert cert["infeasible_by"].isna().all()
    t = gap_table(gap_rows(df, refs)).set_index("config")
    assert t.loc["greedy", "feasible_pct"] == pytest.approx(200 / 3)
    assert t.loc["milp/highs/compact", "at_ref_pct"] == 50  # b is 50% from its own bound


def test_solu_roundtrip_merge_and_conflicts(tmp_path):
    path = tmp_path / "x.solu"
    write_solu(path, {"a": Reference(opt=1.5), "b": Reference(best=3.0, bestdual=2.0), "c": Reference(infeasible=True)})
    assert path.read_text().splitlines() == ["=opt=      a  1.5", "=best=     b  3", "=bestdual= b  2", "=inf=      c"]
    assert read_solu(path)["b"] == Reference(best=3.0, bestdual=2.0)
    warns = merge_solu_file(path, {"a": Reference(opt=1.6), "b": Reference(best=2.5, bestdual=2.2), "d": Reference(best=7.0)})
    merged = read_solu(path)
    assert merged["a"].opt == 1.5 and merged["b"] == Reference(best=2.5, bestdual=2.2) and merged["d"].best == 7.0
    assert len(warns) == 1 and "a: optimum 1.5 (kept)" in warns[0]
    _, warns = merge_refs({"e": Reference(best=1.0)}, {"e": Reference(bestdual=1.1)})
    assert "bound 1.1 exceeds a feasible value 1" in warns[0]


def test_write_tables_with_a_solu_file(tmp_path):
    write(tmp_path, [record("a", "highs", "time_limit", 1.1, 0.9), record("a", None, "feasible", 1.2, method="greedy", limit=None)])
    solu = tmp_path / "ref.solu"
    solu.write_text("=opt= a 1.0\n")
    files, warns = write_tables(tmp_path, tmp_path / "t", solu)
    assert {f.name for f in files} >= {"solvers.md", "solvers.csv", "gaps.md", "gaps.csv", "gaps-by-instance.csv"}
    gaps = pd.read_csv(tmp_path / "t" / "gaps-by-instance.csv").set_index("config")
    assert gaps.loc["greedy", "ref_kind"] == "opt" and gaps.loc["greedy", "gap_to_ref"] == pytest.approx(0.2 / 1.2)
    assert "milp/highs/compact" in (tmp_path / "t" / "solvers.md").read_text()
    assert "greedy" not in (tmp_path / "t" / "solvers.md").read_text()  # heuristics only in the gap tables


# Damaged records (issue 12): each kind is skipped with a warning naming the file, never fatal.
DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "not utf-8": lambda text: "\udcff",
    "a list": lambda text: "[1, 2]",
    "wrong format": lambda text: text.replace("optdist-bench-record/1", "optdist-bench-record/9"),
    "no format": lambda text: text.replace('"format"', '"formerly"'),
    "no run": lambda text: text.replace('"run"', '"ran"'),
    "no status": lambda text: text.replace('"status"', '"state"'),
    "run without method": lambda text: text.replace('"method"', '"approach"'),
    "unknown status": lambda text: text.replace('"status": "ok"', '"status": "fine"'),
    "ok without summary": lambda text: text.replace('"summary"', '"sum"'),
    "key is not the file name": lambda text: text.replace('"key": "b--milp--highs"', '"key": "c--milp--highs"'),
}


def _damage(path, kind: str) -> None:
    text = DAMAGE[kind](path.read_text())
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_record_is_skipped_with_a_warning_naming_it(tmp_path, caplog, kind):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("b", "highs", "optimal", 2.0, 2.0)])
    bad = tmp_path / "records" / "b--milp--highs.json"
    _damage(bad, kind)
    df = load_records(tmp_path)
    assert df["instance"].tolist() == ["a"]
    assert [r.getMessage() for r in caplog.records if str(bad) in r.getMessage()], caplog.text
    write_tables(tmp_path, tmp_path / "t")
    assert (tmp_path / "t" / "solvers.md").exists() and bad.exists()  # skipped, not moved by a reader


def test_only_damaged_records_is_a_clear_error(tmp_path):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0)])
    (tmp_path / "records" / "a--milp--highs.json").write_text('{"format": "optdist-bench-re')
    with pytest.raises(FileNotFoundError, match=r"no usable records .*\(left out: the 1 warning\(s\) above say why"):
        load_records(tmp_path)


def test_instances_sharing_a_file_name_stay_apart_in_the_tables(tmp_path):
    recs = []
    for folder, obj in (("set1", 1.0), ("set2", 2.0), ("other/set2", 3.0)):
        r = record("x", "highs", "optimal", obj, obj)
        r["run"]["instance_path"] = f"instances/{folder}/x.json"
        r["key"] = f"x--{folder.replace('/', '_')}"
        recs.append(r)
    recs.append(record("y", "highs", "optimal", 4.0, 4.0))
    df = write(tmp_path, recs)
    assert sorted(df["instance"]) == ["instances/set1/x", "instances/set2/x", "other/set2/x", "y"]
    assert not disagreements(df)  # three instances, not three claims about one
    assert len(certificate_table(df)) == 4


def test_only_a_closed_gap_is_written_as_an_optimum(tmp_path):
    """A run "optimal" at a spec's looser mip_gap (here 0.41 %) is a best value, not ``=opt=``."""
    from optdist.bench.solu import refs_from_records

    loose = record("a", "highs", "optimal", 10.0, bound=9.959)
    loose["summary"]["gap"] = 0.0041
    closed = record("b", "highs", "optimal", 5.0, bound=5.0)
    closed["summary"]["gap"] = 0.0
    refs = refs_from_records(write(tmp_path, [loose, closed]))
    assert refs["a"].opt is None and refs["a"].best == 10.0 and refs["a"].bestdual == 9.959
    assert refs["b"].opt == 5.0
