"""A shell solver (CBC, GLPK) that dies on its own or by someone else's hand (``kill -9`` of the
process, the kernel's OOM killer) is a solver failure, not a bug in optdist: the solve's outcome
is ``error`` with ``extra["solver_error"]`` naming the solver, how it ended (the signal) and what
to try; the CLI says so and exits 1 (no feasible result). A feasible warm start is then kept as the
incumbent (no bound; the termination stays ``error``; the CLI writes it and exits 0), and the
decomposition, which goes on past a failed solve, reports the failures in
``extra["solver_errors"]``.

Before (sig20): Pyomo's ``ApplicationError`` ("Solver (cbc) did not exit normally") went up to
the CLI, which printed "internal error: ... (this is a bug in optdist ...)" and exited 3; a
library call raised it.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

import optdist
from optdist.cli import main
from tests.conftest import ROOT, kill_solver_once_it_runs, linux_only, requires_solver

#: per-map on one request: built in 0.1 s, then CBC and GLPK search for more than 20 s (a kill
#: 0.3 s after the process appears hits a running solver)
INSTANCE = str(ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json")
#: 8 LeNet requests competing for 4 devices: the decomposed CBC run at --gap 0.05 ends by itself
#: in about 8 s (load 3) after a few dozen CBC processes
COUPLED = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
BINARIES = {"cbc": "cbc", "glpk": "glpsol"}


@linux_only
@pytest.mark.parametrize("solver", [pytest.param(s, marks=requires_solver(s)) for s in BINARIES])
def test_a_killed_solver_is_a_solver_error_in_the_result(solver):
    killed: list[int] = []
    watcher = kill_solver_once_it_runs(BINARIES[solver], killed)
    res = optdist.solve(INSTANCE, formulation="per-map", solver=solver, time_limit=60, threads=1)
    watcher.join(5)
    assert killed, f"{solver} never ran"
    assert res.termination == "error" and res.assignment is None
    why = res.extra["solver_error"]
    assert f"solver {solver} ended abnormally" in why and "SIGKILL" in why and "--tee" in why, why


@linux_only
@requires_solver("cbc")
def test_the_cli_reports_a_killed_solver_as_a_solver_failure(capsys):
    killed: list[int] = []
    watcher = kill_solver_once_it_runs("cbc", killed)
    rc = main(["solve", INSTANCE, "--formulation", "per-map", "--solver", "cbc", "--time-limit", "60", "--threads", "1"])
    watcher.join(5)
    assert killed, "cbc never ran"
    out, err = capsys.readouterr()
    assert "internal error" not in err and "Traceback" not in err, err
    assert rc == 1, err
    assert "no solution: solver cbc ended abnormally: it was killed by signal SIGKILL (exit status -9)" in err, err
    assert "another solver" in err and "memory" in err, err
    assert "termination  error" in out and "no solution" in out


@linux_only
@requires_solver("cbc")
def test_a_killed_solver_keeps_a_feasible_warm_start():
    """Before (keep21): the run ended ``error`` without a placement although greedy's was feasible."""
    killed: list[int] = []
    watcher = kill_solver_once_it_runs("cbc", killed)
    res = optdist.solve(INSTANCE, formulation="per-map", solver="cbc", warm_start="greedy", time_limit=60, threads=1)
    watcher.join(5)
    assert killed, "cbc never ran"
    assert res.termination == "error" and "SIGKILL" in res.extra["solver_error"]
    assert res.assignment is not None and res.evaluation.feasible and res.bound is None and res.gap is None
    assert res.objective == pytest.approx(res.extra["warm_start_objective"], rel=1e-9)
    assert res.extra["incumbent"] == "the warm start: the solver failed before it returned an incumbent"


def _solve_killing_cbc(capsys, tmp_path, args: list[str], *, after: float = 0.3,
                       every: bool = False) -> tuple[int, str, str, dict]:
    """``optdist solve ARGS --solver cbc --threads 1 --out FILE`` in-process while CBC is SIGKILLed
    (:func:`~tests.conftest.kill_solver_once_it_runs`: its first solve, or ``every`` one):
    (exit status, stdout, stderr, the --out document)."""
    killed: list[int] = []
    done = threading.Event()
    watcher = kill_solver_once_it_runs("cbc", killed, after=after, every=done if every else None)
    out_file = tmp_path / "res.json"
    try:
        rc = main(["solve", *args, "--solver", "cbc", "--threads", "1", "--out", str(out_file)])
    finally:
        done.set()
    watcher.join(5)
    assert killed, "cbc never ran"
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return rc, out, err, json.loads(out_file.read_text())


@linux_only
@requires_solver("cbc")
def test_the_cli_writes_and_prints_a_kept_warm_start_of_a_killed_solver(capsys, tmp_path):
    """Exit 0 (a feasible result), --out written, the failure warned, no bound claimed."""
    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [INSTANCE, "--formulation", "per-map", "--warm-start",
                                                               "greedy", "--time-limit", "60"])
    assert rc == 0, err
    assert doc["termination"] == "error" and doc["assignment"] is not None and doc["bound"] is None
    assert "termination  error" in out and "bound -   gap -" in out, out
    assert "WARNING      solver cbc ended abnormally: it was killed by signal SIGKILL" in out, out
    assert "incumbent    the warm start: the solver failed before it returned an incumbent; no bound" in out, out
    assert "# evaluator" in out and "no solution" not in out, out


@linux_only
@requires_solver("cbc")
def test_a_solver_killed_inside_the_decomposition_is_reported(capsys, tmp_path):
    """The first CBC solve of a decomposed run is SIGKILLed as it starts: the run goes on and ends
    with a feasible result, and the failure is in ``extra["solver_errors"]`` and printed. Before
    (keep21): nothing said that a solver had failed."""
    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [COUPLED, "--formulation", "decomposed", "--gap", "0.05",
                                                               "--time-limit", "60"], after=0.0)
    assert rc == 0, err
    assert doc["assignment"] is not None and doc["feasible"], doc["termination"]
    errors = doc["extra"]["solver_errors"]
    assert errors and errors[0]["solves"] >= 1, errors
    assert errors[0]["message"].startswith("solver cbc ended abnormally: it was killed by signal SIGKILL"), errors
    assert "solver call of this run failed (the result is what its other steps found): solver cbc ended " \
           "abnormally: it was killed by signal SIGKILL" in out, out


@linux_only
@requires_solver("cbc")
def test_column_generation_stops_when_its_pricing_solver_keeps_failing(capsys, tmp_path):
    """Every CBC killed as it starts: column generation went 260 empty rounds of 0.07 s to its 30-s
    limit (review21). Now :data:`~optdist.milp.decomposition.colgen.PRICING_FAILURES_MAX` rounds in
    a row with a failed pricing solve end the rounds; the run keeps the incumbent and bound it had."""
    from optdist.milp.decomposition.colgen import PRICING_FAILURES_MAX

    started = time.perf_counter()
    rc, out, err, doc = _solve_killing_cbc(capsys, tmp_path, [COUPLED, "--formulation", "decomposed",
                                                               "--time-limit", "60"], after=0.0, every=True)
    took = time.perf_counter() - started
    assert rc == 0 and doc["feasible"], err
    coupled = doc["extra"]["coupled_solve"]
    assert coupled["rounds"][-1]["round"] == PRICING_FAILURES_MAX, len(coupled["rounds"])  # round 0 too: prices 0
    assert coupled["pricing_stopped"].startswith(f"column generation stopped after round {PRICING_FAILURES_MAX}: "
                                                 "the pricing solver failed in 3 rounds in a row (solver cbc ended "
                                                 "abnormally: it was killed by signal SIGKILL"), coupled
    assert doc["bound"] is not None and doc["bound"] <= doc["objective"] * (1 + 1e-9)
    assert took < 45, f"{took:.0f} s: the rounds did not stop"
