"""The bench sub-commands: dry run, tables (with a .solu merge) and figures from records,
damaged records, the flag for methods from outside optdist."""

from __future__ import annotations

import json
import subprocess
import sys

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
    out, err = capsys.readouterr()
    assert "optdist: warning: a.json: optimality claims disagree on a" in err and "WARNING" not in out + err
    assert (tmp_path / "tables" / "solvers.md").exists()
    assert read_solu(solu)["a"].opt == 1.0
    assert main(["bench-figures", str(tmp_path), "--figure", "scaling", "--dest", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "scaling-solve-time.png").exists()
    assert main(["bench-figures", str(tmp_path)]) == 2  # no figure named and no spec listing one


def test_bench_table_and_figures_skip_a_damaged_record_naming_it(tmp_path):
    write(tmp_path, [record("a", "highs", "optimal", 1.0, 1.0), record("b", "highs", "optimal", 2.0, 2.0)])
    bad = tmp_path / "records" / "b--milp--highs.json"
    bad.write_text(bad.read_text()[:50])
    for args in (["bench-table", str(tmp_path)], ["bench-figures", str(tmp_path), "--figure", "scaling"]):
        done = subprocess.run([sys.executable, "-m", "optdist.cli", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"optdist: warning: {bad}: damaged record (unreadable JSON" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "tables" / "solvers.md").exists() and (tmp_path / "figures" / "scaling-solve-time.png").exists()


def test_bench_sets_a_damaged_record_aside_and_runs_it_again(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": ["instances/tiny/micro-1x3-tau0.6.json"],
                                "methods": ["greedy"]}))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    (rec,) = (tmp_path / "o" / "records").glob("*.json")
    rec.write_text('{"format": "optdist-bench-record/1", "key": ')
    capsys.readouterr()
    assert main(["bench", str(spec), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert f"optdist: warning: {rec}: damaged record" in err and "1 of 1 runs to do" in out and rec.exists()
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert "1 run now (0 failed)" in (out := capsys.readouterr().out) and "1 damaged record(s) set aside" in out
    assert json.loads(rec.read_text())["status"] == "ok"
    assert len(list((tmp_path / "o" / "records" / "damaged").glob("*.json"))) == 1


def test_methods_from_outside_optdist_need_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": ["instances/tiny/micro-1x3-tau0.6.json"],
                                "methods": ["tests.test_bench_methods:solve_fail"]}))
    assert main(["bench", str(spec)]) == 2
    assert "not in the registry" in (err := capsys.readouterr().err) and "--allow-external-methods" in err
    assert main(["bench", str(spec), "--dry-run", "--allow-external-methods"]) == 0
    assert "1 of 1 runs to do" in capsys.readouterr().out


def test_a_sigterm_before_the_sweeps_own_handler_is_reported_as_sigterm(tmp_path, capsys, monkeypatch):
    """review16: the CLI's SIGTERM handler raises ``Terminated`` until the sweep installs its own
    (while it takes the lock and hashes the instance files); ``bench`` said SIGINT and exited 130."""
    import optdist.bench.runner as runner
    from optdist.interrupts import Terminated

    def terminated(*args, **kwargs):
        raise Terminated

    monkeypatch.setattr(runner, "run_sweep", terminated)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "methods": ["greedy"],
                                "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")]}))
    assert main(["bench", str(spec), "--no-progress"]) == 143
    assert "interrupted by SIGTERM" in capsys.readouterr().err
    assert issubclass(runner.SweepInterrupted, Terminated)  # the sweep's own handler: the same status
