"""left41: a solver without a parallel search (GLPK, SCIP) says that it runs on one thread where
more are asked (before, ``--threads 4`` was dropped unsaid)."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.solvers import base

from .conftest import requires_solver
from .test_fix39 import MICRO

ONE_THREAD = "solver glpk runs on one thread whatever threads says (4 asked: it has no parallel search)"


@pytest.fixture
def noted_afresh():
    """The one-thread note is said once a process: said again in each test."""
    base._note_one_thread.cache_clear()
    yield
    base._note_one_thread.cache_clear()


@requires_solver("glpk")
def test_glpk_at_four_threads_says_it_runs_on_one(tmp_path, capsys, noted_afresh):
    """``--threads 4``: a note on stderr (none with ``-q``) and ``extra["threads_unused"]``; the run's
    options keep the 4 asked. HiGHS, which runs on 4, says nothing."""
    out = tmp_path / "r.json"
    solve = ["solve", str(MICRO), "--formulation", "tight", "--threads", "4"]
    assert main([*solve, "--solver", "glpk", "--out", str(out)]) == 0
    assert capsys.readouterr().err.count(f"optdist: {ONE_THREAD}\n") == 1
    doc = json.loads(out.read_text())
    assert doc["options"]["threads"] == 4 and doc["extra"]["threads_unused"] == ONE_THREAD
    base._note_one_thread.cache_clear()
    assert main(["-q", *solve, "--solver", "glpk"]) == 0
    assert "thread" not in capsys.readouterr().err
    assert main([*solve, "--solver", "highs", "--out", str(tmp_path / "highs.json")]) == 0
    assert "one thread" not in capsys.readouterr().err
    assert "threads_unused" not in json.loads((tmp_path / "highs.json").read_text())["extra"]


@requires_solver("glpk")
def test_a_glpk_profile_at_four_threads_says_so(tmp_path, capsys, noted_afresh):
    profile = tmp_path / "glpk-4.toml"
    profile.write_text('name = "glpk-4"\nsolver = "glpk"\n\n[options]\nthreads = 4\n')
    assert main(["solve", str(MICRO), "--formulation", "tight", "--solver", str(profile)]) == 0
    assert f"optdist: {ONE_THREAD}\n" in capsys.readouterr().err


def test_a_bench_spec_at_four_threads_says_glpk_runs_on_one(tmp_path, capsys):
    """Said once where the sweep starts (each run's own note goes to its log), for GLPK, not HiGHS."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'name = "s"\nout = "{tmp_path / "out"}"\ninstances = ["{MICRO}"]\nmethods = ["milp"]\n'
                    'solvers = ["glpk", "highs"]\nformulations = ["tight", "compact"]\nthreads = 4\n')
    assert main(["bench", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"optdist: {spec}: {ONE_THREAD}\n") == 1 and "highs" not in err
