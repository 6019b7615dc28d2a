"""A feasible warm start is the incumbent of any solve that ends without a placement and without a
proof that none exists (tidy22b): a time limit spent while building the model, before the solver
started or in it, as well as a signal or a failed solver (tests/test_solver_death.py,
tests/test_solver_signals.py). ``extra["incumbent"]`` says so, no bound is claimed, a limit's
``no_solution`` becomes ``time_limit`` and the CLI exits 0 with the placement written and printed.

Before: ``optdist solve FILE --time-limit 1e-9 --warm-start FEASIBLE.json`` said no_solution and
exited 1 (the stop at the deadline reported before the solve had offered the start; in a library
call, the build's time limit dropped it).

Each solve here ends without the solver's placement whatever the machine's speed: a limit of
1e-9 s is gone before the build starts (the build checks its estimate against the time left,
:func:`optdist.milp.model.build`), and a run deadline already past starts no solver
(:func:`optdist.solvers.base.run_deadline`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import pytest

import optdist
from optdist.cli import main
from optdist.solvers.base import run_deadline
from tests.conftest import LENET_1X4, ROOT, same_placement

#: one LeNet request on 4 devices; its feasible warm start is the fixture ``lenet_optimum``
INSTANCE = LENET_1X4


def _start_objective(start: optdist.Assignment) -> float:
    return optdist.evaluate(optdist.load_instance(INSTANCE), start).objective


@pytest.mark.parametrize("formulation", ["tight", "compact", "per-map"])
def test_a_time_limit_spent_building_the_model_keeps_a_feasible_warm_start(formulation, lenet_optimum):
    res = optdist.solve(INSTANCE, formulation=formulation, solver="highs", time_limit=1e-9, warm_start=lenet_optimum)
    assert "time limit" in res.extra["stopped"], res.extra  # the build was stopped: no solver ran
    assert res.termination == "time_limit" and res.assignment is not None, res.extra
    assert same_placement(res.assignment, lenet_optimum) and res.evaluation.feasible
    assert res.objective == pytest.approx(_start_objective(lenet_optimum), rel=1e-12)
    assert res.bound is None and res.gap is None
    assert res.extra["incumbent"] == "the warm start: the time limit ran out while the model was built"


def test_a_solver_not_started_at_the_run_deadline_keeps_a_feasible_warm_start(lenet_optimum):
    with run_deadline(time.perf_counter() - 1.0):  # the model is built (no time limit), no solver starts
        res = optdist.solve(INSTANCE, formulation="tight", solver="highs", warm_start=lenet_optimum)
    assert res.extra["solver_status"] == "not started: the run's deadline has passed", res.extra
    assert res.termination == "time_limit" and same_placement(res.assignment, lenet_optimum)
    assert res.bound is None
    assert res.extra["incumbent"] == "the warm start: the run's deadline had passed before the solver started"


def test_an_infeasible_warm_start_is_not_kept(lenet_optimum):
    """The evaluator decides: a start breaking a constraint leaves the run without a placement."""
    inst = optdist.load_instance(INSTANCE)
    owners = [[layer.copy() for layer in per_request] for per_request in lenet_optimum.owners]
    owners[0][0][:] = inst.node_ids.index("rpi3-1")  # the first conv on a device, not its camera
    bad = optdist.Assignment(owners)
    assert not optdist.evaluate(inst, bad).feasible
    res = optdist.solve(inst, formulation="tight", solver="highs", time_limit=1e-9, warm_start=bad)
    assert res.termination == "no_solution" and res.assignment is None and "incumbent" not in res.extra


def test_the_cli_writes_and_prints_the_warm_start_kept_at_the_time_limit(lenet_optimum, lenet_optimum_file, tmp_path,
                                                                          capsys):
    """The limit's line names the --warm-start file kept (tidy24; before, it said "the warm start" only)."""
    out_file = tmp_path / "res.json"
    rc = main(["solve", str(INSTANCE), "--formulation", "tight", "--time-limit", "1e-9", "--warm-start",
               str(lenet_optimum_file), "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "termination  time_limit" in out and "bound -   gap -" in out, out
    assert (f"incumbent    the warm start: the time limit ran out while the model was built; no bound; the kept "
            f"placement is the --warm-start {lenet_optimum_file}\n") in out, out
    assert "# evaluator" in out and "no solution" not in out, out
    doc = json.loads(out_file.read_text())
    assert doc["termination"] == "time_limit" and doc["bound"] is None and doc["feasible"], doc["extra"]
    assert doc["evaluator_objective"] == pytest.approx(_start_objective(lenet_optimum), rel=1e-12)


def test_optdist_solve_keeps_the_warm_start_when_the_limit_is_spent_starting_up(lenet_optimum, lenet_optimum_file,
                                                                                tmp_path):
    """The process's own command: ``--time-limit 1e-9`` is gone before the solve starts, so the
    stop at the deadline reports (:class:`optdist.commands.solve._Stopper`); the warm start is
    offered before it can. Exit 0 with the start written and printed (before: exit 1, no solution)."""
    out_file = tmp_path / "res.json"
    cmd = [sys.executable, "-m", "optdist", "solve", str(INSTANCE), "--time-limit", "1e-9", "--warm-start",
           str(lenet_optimum_file), "--out", str(out_file)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "termination  time_limit" in run.stdout and "bound -   gap -" in run.stdout, run.stdout
    kept = [line for line in run.stdout.splitlines() if line.startswith("incumbent    ")]
    assert kept and "warm start" in kept[0], run.stdout
    assert kept[0].endswith(f"; the kept placement is the --warm-start {lenet_optimum_file}"), run.stdout
    assert kept[0].count("no bound") + kept[0].count("nor a bound") == 1, kept[0]  # said once (fix24)
    doc = json.loads(out_file.read_text())
    assert doc["termination"] == "time_limit" and doc["bound"] is None and doc["feasible"], doc["extra"]
    assert doc["evaluator_objective"] == pytest.approx(_start_objective(lenet_optimum), rel=1e-12)
    assert "warm start" in doc["extra"]["incumbent"]
