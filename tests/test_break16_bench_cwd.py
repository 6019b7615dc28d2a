"""A run resolves the spec's relative paths against the sweep's working directory wherever it
executes (break16: on a Dask worker started in another folder every run of a spec with
`instances = ["instances/tiny/*.json"]` was recorded as `instance file not found`: the worker's
process ran in the Dask worker's own folder)."""

from __future__ import annotations

from optdist.bench.runner import execute
from optdist.bench.spec import Run

from .conftest import ROOT


def test_a_run_started_elsewhere_runs_in_the_sweeps_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a Dask worker was started
    run = Run("micro-1x3-tau0.6", "instances/tiny/micro-1x3-tau0.6.json", "greedy")
    rec = execute(run, 120.0, cwd=str(ROOT))
    assert rec["status"] == "ok", rec.get("error")


def test_a_folder_missing_on_the_worker_leaves_its_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = Run("micro-1x3-tau0.6", str(ROOT / "instances/tiny/micro-1x3-tau0.6.json"), "greedy")
    rec = execute(run, 120.0, cwd=str(tmp_path / "not-on-this-machine"))
    assert rec["status"] == "ok", rec.get("error")  # an absolute path still runs
