"""benchmarks/online/hetero_seeds.py (the hetero preset across seeds and held-out sets) and its held-out sets."""

from __future__ import annotations

import json
import math
import os

import pytest
from .conftest import ROOT, load_script

from optdist.instance import load_instance

TRAINING = ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json"
TINY = "instances/tiny/lenet-2x4-tight.json"


@pytest.fixture(scope="module")
def hs():
    return load_script("benchmarks/online/hetero_seeds.py")


def test_heldout_sets_load_and_differ_from_the_training_set(hs):
    train = load_instance(TRAINING)
    files = [ROOT / p for p in hs.INSTANCES[1:]]
    assert hs.INSTANCES[0] == "instances/coupled/mixed-8x6-nexus-rpi3.json" and len(files) == 3
    seen = set()
    for path in files:
        inst = load_instance(path)
        assert "held-out" in path.stem or "heldout" in path.stem
        assert "heldout_instances.py" in inst.spec.description and "make_coupled.py" in inst.spec.description
        # the same devices and CNN mix, the policy's observation layout ...
        assert list(inst.node_ids[:inst.n_devices]) == list(train.node_ids[:train.n_devices])
        assert sorted(inst.request_cnn) == sorted(train.request_cnn) and inst.spec.tau == train.spec.tau
        # ... but other arrivals (or cameras)
        arrivals = tuple(zip(inst.request_cnn, (inst.node_ids[s] for s in inst.request_source)))
        assert arrivals != tuple(zip(train.request_cnn, (train.node_ids[s] for s in train.request_source)))
        seen.add(arrivals)
    assert len(seen) == 3


def _rec(instance: str, method: str, rejected: int, latency_ms: float, *, bound: float | None = None,
         feasible: bool = True, training: bool = True) -> dict:
    return {"instance": instance, "set": "training" if training else "held-out", "method": method,
            "rejected": rejected, "capacity_viol": 0, "privacy_viol": 0, "placement_viol": 0, "latency_ms": latency_ms,
            "feasible": feasible, "decision_ms_per_request": 1.0, "wall_s": 0.1, "bound": bound,
            "command": f"optdist solve {instance}.json", "machine": "test"}


def test_table_gaps_to_the_engine_bound_only_where_all_are_admitted(hs):
    recs = [_rec("b", "rl-seed1", 0, 12.0, training=False), _rec("a", "rl-seed2", 2, 5.0), _rec("a", "rl-seed1", 0, 11.0),
            _rec("a", "engine", 0, 10.5, bound=0.010), _rec("a", "greedy", 0, 11.0, feasible=False),
            _rec("b", "greedy", 0, 13.0, training=False)]
    df = hs.table(recs)
    assert list(df.columns) == hs.COLUMNS
    # training set first, baselines in their order, then the seeds
    assert list(zip(df["instance"], df["method"])) == [("a", "greedy"), ("a", "engine"), ("a", "rl-seed1"),
                                                       ("a", "rl-seed2"), ("b", "greedy"), ("b", "rl-seed1")]
    gap = dict(zip(zip(df["instance"], df["method"]), df["gap_to_bound_%"]))
    assert gap[("a", "rl-seed1")] == pytest.approx(10.0) and gap[("a", "engine")] == pytest.approx(5.0)
    assert math.isnan(gap[("a", "rl-seed2")])  # 2 rejected
    assert math.isnan(gap[("a", "greedy")])  # a violation
    assert math.isnan(gap[("b", "rl-seed1")])  # no engine record on b
    assert df["engine_bound_ms"].tolist()[:4] == [pytest.approx(10.0)] * 4
    wide = hs.summary(df)
    assert list(wide.index) == ["greedy", "engine", "rl-seed1", "rl-seed2"] and list(wide.columns) == ["a", "b"]
    assert wide.loc["rl-seed2", "a"] == "5.0 (2)" and wide.loc["greedy", "b"] == "13.0 (0)"


def test_time_v_reads_wall_and_cpu(hs, tmp_path):
    log = tmp_path / "seed1.time"
    log.write_text('\tCommand being timed: "python -m optdist train-rl"\n\tUser time (seconds): 400.50\n'
                   "\tSystem time (seconds): 12.25\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.5\n")
    assert hs.time_v(log) == (pytest.approx(3723.5), pytest.approx(412.75))
    assert hs.time_v(tmp_path / "none.time") is None


def test_finished_records_are_not_redone(hs, tmp_path):
    """Every record present: no training (the policies folder is never made), no placement, the table rendered."""
    records, policies = tmp_path / "hs", tmp_path / "policies"
    records.mkdir()
    (records / "train--seed1.json").write_text(json.dumps(
        {"seed": 1, "episodes": 20, "train_freq": 4, "train_s": 2.0, "wall_s": 5.0, "cpu_s": 4.0, "load_before": 1.0,
         "load_after": 1.0, "timed_by": "this script", "date_utc": "2026-12-05 17:00", "machine": "test"}))
    for method, bound in (("rl-seed1", None), ("greedy", None), ("plan-guided", None), ("engine", 0.002)):
        (records / f"lenet-2x4-tight--{method}.json").write_text(
            json.dumps(_rec("lenet-2x4-tight", method, 0, 2.5, bound=bound)))
    before = {p.name: os.stat(p).st_mtime_ns for p in records.iterdir()}
    assert hs.main(["--seeds", "1", "--policies", str(policies), "--records", str(records), "--instances", TINY]) == 0
    assert not policies.exists()
    assert {p.name: os.stat(p).st_mtime_ns for p in records.iterdir()} == before
    assert "## Training" in (tmp_path / "hs.md").read_text()
    rows = (tmp_path / "hs.csv").read_text().splitlines()
    assert len(rows) == 5 and any(r.startswith("lenet-2x4-tight,training,rl-seed1,") and ",25.0," in r for r in rows)


def test_a_record_of_another_policy_is_stale(hs, tmp_path):
    policy = tmp_path / "seed1"
    policy.mkdir()
    (policy / "policy.json").write_text(json.dumps({"episodes": 837, "episodes_planned": 10000, "train_s": 3.5,
                                                    "interrupted": "SIGTERM"}))
    stamp = hs.policy_stamp(policy)
    assert stamp == {"episodes": 837, "episodes_planned": 10000, "train_s": 3.5, "interrupted": "SIGTERM"}
    rec = tmp_path / "a--rl-seed1.json"
    assert hs._stale(rec, stamp) and hs._stale(rec, None)  # missing
    rec.write_text(json.dumps({"policy": stamp}))
    assert not hs._stale(rec, stamp) and not hs._stale(rec, None)
    finished = {**stamp, "episodes": 10000, "train_s": 9.0, "interrupted": None}  # resumed to the end since
    assert hs._stale(rec, finished)


@pytest.mark.slow
def test_trains_places_and_resumes_on_a_tiny_instance(hs, tmp_path):
    """A 20-episode training and every method on a tiny set; a rerun adds nothing, a new seed only its own."""
    records, policies = tmp_path / "hs", tmp_path / "policies"
    argv = ["--policies", str(policies), "--records", str(records), "--instances", TINY, "--episodes", "20",
            "--engine-time-limit", "60"]
    assert hs.main(["--seeds", "0", *argv]) == 0
    names = sorted(p.name for p in records.iterdir())
    assert names == sorted(["train--seed0.json", *(f"lenet-2x4-tight--{m}.json"
                                                   for m in ("rl-seed0", "greedy", "plan-guided", "engine"))])
    train = json.loads((records / "train--seed0.json").read_text())
    assert train["episodes"] == 20 and train["cpu_s"] > 0 and train["timed_by"] == "this script"
    rl = json.loads((records / "lenet-2x4-tight--rl-seed0.json").read_text())
    assert rl["rejected"] == 0 and rl["evaluate"] and rl["evaluate"][0].startswith("total latency")
    before = {p.name: os.stat(p).st_mtime_ns for p in records.iterdir()}
    assert hs.main(["--seeds", "0", *argv]) == 0
    assert {p.name: os.stat(p).st_mtime_ns for p in records.iterdir()} == before
    df = hs.table(hs.read_records(records)[0])
    assert df.loc[df["method"] == "engine", "gap_to_bound_%"].iloc[0] == pytest.approx(0, abs=1e-6)
