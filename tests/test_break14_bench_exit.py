"""break14: ``optdist bench`` exits 1 when runs of its grid are recorded as failed (it exited 0
with every run in error), naming how many and where their records and errors are."""

from __future__ import annotations

import json

from optdist.cli import main

from .conftest import ROOT

FAIL = "tests.test_bench_methods:solve_fail"
MICRO = "instances/tiny/micro-1x3-tau0.6.json"


def _spec(tmp_path, methods: list[str]):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [MICRO], "methods": methods}))
    return spec


def test_a_sweep_whose_runs_all_fail_exits_1_naming_the_records(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = _spec(tmp_path, [FAIL])
    assert main(["bench", str(spec), "--no-progress", "--allow-external-methods"]) == 1
    err = capsys.readouterr().err
    assert "t: all runs failed" in err and f"{tmp_path / 'o'}/records/" in err
    assert "deliberate failure on micro-1x3-tau0.6" in err and "--retry-errors" in err
    # a resume that skips the recorded failure still reports it
    assert main(["bench", str(spec), "--no-progress", "--allow-external-methods"]) == 1
    assert "all runs failed" in capsys.readouterr().err


def test_a_sweep_with_some_failures_says_so_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = _spec(tmp_path, ["greedy", FAIL])
    assert main(["bench", str(spec), "--no-progress", "--allow-external-methods"]) == 1
    captured = capsys.readouterr()
    assert "1 of 2 runs failed" in captured.err and "tables:" in captured.out  # tables are still written


def test_a_sweep_without_failures_exits_0_and_says_nothing_of_failures(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["bench", str(_spec(tmp_path, ["greedy"])), "--no-progress"]) == 0
    assert "failed (status" not in capsys.readouterr().err
