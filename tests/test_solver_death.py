"""A shell solver (CBC, GLPK) that dies on its own or by someone else's hand (``kill -9`` of the
process, the kernel's OOM killer) is a solver failure, not a bug in optdist: the solve's outcome
is ``error`` with ``extra["solver_error"]`` naming the solver, how it ended (the signal) and what
to try; the CLI says so and exits 1 (no feasible result).

Before (sig20): Pyomo's ``ApplicationError`` ("Solver (cbc) did not exit normally") went up to
the CLI, which printed "internal error: ... (this is a bug in optdist ...)" and exited 3; a
library call raised it.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import optdist
from optdist.cli import main
from tests.conftest import ROOT, linux_only, requires_solver, solver_pids

#: per-map on one request: built in 0.1 s, then CBC and GLPK search for more than 20 s (a kill
#: 0.3 s after the process appears hits a running solver)
INSTANCE = str(ROOT / "instances" / "paper" / "lenet-1x10-tau0.8.json")
BINARIES = {"cbc": "cbc", "glpk": "glpsol"}


def kill_solver_once_it_runs(binary: str, killed: list[int]) -> threading.Thread:
    """A started thread that SIGKILLs the first ``binary`` child of this process still running
    0.3 s after it appeared (as the OOM killer would; not a short one such as Pyomo's version
    query), appending its pid to ``killed``."""

    def run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for pid in solver_pids(os.getpid(), binary):
                time.sleep(0.3)
                if pid in solver_pids(os.getpid(), binary):  # still our child: not reaped, pid not reused
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


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
