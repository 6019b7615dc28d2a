"""The sweep runner: records, the wall-clock guard, resume after a kill, Dask = local pool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optdist.bench.runner import run_sweep
from optdist.bench.spec import parse_spec

from .conftest import ROOT

TINY = [f"instances/tiny/{n}.json" for n in ("cifar-1x4-tau0.8", "lenet-1x4-tau0.6", "lenet-1x4-tau0.8", "lenet-2x4-tight",
                                                "micro-1x3-tau0.6", "micro-2x2-tau0.6", "micro-2x3-tight")]
MICRO = TINY[4:]
STAND_IN = "tests.test_bench_methods"
SAME = ("status", "termination", "objective", "evaluator_objective", "feasible", "shared_bytes", "rejected")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # instance globs and stand-in methods resolve from the repo root


def records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def comparable(rec: dict) -> dict:
    s = rec.get("summary") or {}
    return {"status": rec["status"], **{k: s.get(k) for k in SAME if k != "status"}, "per_request": rec.get("per_request")}


def test_sweep_writes_one_complete_record_per_run_and_skips_them_next_time(tmp_path):
    spec = parse_spec({"name": "t", "out": str(tmp_path), "instances": MICRO,
                       "methods": ["greedy", f"{STAND_IN}:solve_greedy_seeded"], "seeds": [3],
                       "seeded_methods": [f"{STAND_IN}:solve_greedy_seeded"]})
    rep = run_sweep(spec, workers=2, progress=False, allow_external=True)
    assert (rep.total, rep.skipped, rep.ran, rep.failed) == (6, 0, 6, 0)
    recs = records(tmp_path)
    assert set(recs) == {r.key for r in spec.runs()}
    for rec in recs.values():
        assert rec["status"] == "ok" and rec["summary"]["feasible"] is True
        assert rec["versions"]["python"] and rec["host"]["hostname"] and rec["started_at"] <= rec["finished_at"]
        assert rec["instance_info"]["n_requests"] == len(rec["per_request"]["latency_s"])
        if rec["run"]["seed"] is not None:
            assert rec["extra"]["seed_seen"] == 3
    again = run_sweep(spec, workers=2, progress=False, allow_external=True)
    assert (again.skipped, again.ran) == (6, 0)
    assert {k: r["run_id"] for k, r in records(tmp_path).items()} == {k: r["run_id"] for k, r in recs.items()}


def test_hung_and_failing_runs_are_recorded_not_fatal(tmp_path):
    spec = parse_spec({"name": "t", "out": str(tmp_path), "instances": ["instances/tiny/micro-1x3-tau0.6.json"],
                       "methods": [f"{STAND_IN}:solve_hang", f"{STAND_IN}:solve_fail", "greedy"], "wall_limit": 4})
    t0 = time.perf_counter()
    rep = run_sweep(spec, workers=2, progress=False, allow_external=True)
    assert time.perf_counter() - t0 < 30
    assert (rep.ran, rep.failed) == (3, 2)
    by = {r["run"]["method"].split(":")[-1]: r for r in records(tmp_path).values()}
    assert by["solve_hang"]["status"] == "timeout" and "guard" in by["solve_hang"]["error"]
    assert by["solve_fail"]["status"] == "error" and "deliberate failure" in by["solve_fail"]["error"]
    assert by["greedy"]["status"] == "ok"
    assert by["solve_hang"]["instance_info"]["n_devices"] == 3  # failed runs keep the instance size
    again = run_sweep(spec, workers=2, progress=False, retry_errors=True, allow_external=True)
    assert (again.skipped, again.ran) == (1, 2)


@pytest.mark.slow
def test_killed_sweep_resumes_without_losing_or_redoing_runs(tmp_path):
    spec = tmp_path / "spec.json"
    out = tmp_path / "out"
    spec.write_text(json.dumps({"name": "kill", "out": str(out), "instances": TINY, "methods": ["greedy"]}))
    cmd = [sys.executable, "-m", "optdist.cli", "bench", str(spec), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 45
    while len(records(out)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its pool and every run in flight
    proc.wait()
    before = {k: r["run_id"] for k, r in records(out).items()}
    assert 2 <= len(before) < 7, "kill the sweep while it still has runs to do"
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(before)} already recorded, {7 - len(before)} run now (0 failed)" in done.stdout
    after = records(out)
    assert len(after) == 7
    assert {k: after[k]["run_id"] for k in before} == before  # nothing redone or rewritten
    assert not list((out / "records").glob(".*.tmp"))


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_records_as_the_local_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    doc = {"name": "dask", "out": str(tmp_path / "local"), "instances": [*MICRO, "instances/tiny/lenet-2x4-tight.json"],
           "methods": ["greedy"]}
    local = run_sweep(parse_spec(doc), workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_sweep(parse_spec(doc), tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert local.ran == remote.ran == 4 and remote.failed == 0
    a, b = records(tmp_path / "local"), records(tmp_path / "dask")
    assert set(a) == set(b)
    for key in a:
        assert comparable(a[key]) == comparable(b[key]), key
