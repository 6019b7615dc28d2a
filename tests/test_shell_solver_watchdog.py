"""A shell solver that does not honour its time limit is stopped by optdist's own clock.

Found at load ~5: ``optdist.solve('instances/paper/lenet-10x70-tight-tau0.8.json',
formulation='compact', solver='cbc', time_limit=15)`` ran 200 s and more: CBC reads the model's
63-MB LP file for minutes before its clock (``-seconds``) starts. Here a real ``cbc`` is started
late by a wrapper script (the stand-in for the slow read), so the test takes seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyomo.common import Executable

from optdist.result import Termination
from optdist.solvers import base, get_solver
from tests.conftest import record_watchdog_timers
from tests.test_decomp_limits import _tiny

CBC = shutil.which("cbc")
pytestmark = pytest.mark.skipif(CBC is None, reason="cbc not installed: apt-get install coinor-cbc")


@contextlib.contextmanager
def _cbc_script(folder: Path, first: str) -> Iterator[Path]:
    """``cbc`` as Pyomo runs it is a script (``folder/cbc``) that, for a solve (``-solve`` on its
    command line), runs the Python lines ``first`` (module ``os``, ``signal``, ``sys`` and ``time``
    imported) and then becomes the real CBC (one process, as CBC is); other calls (the version
    check) run CBC at once."""
    script = folder / "cbc"
    body = "".join(f"    {line}\n" for line in first.splitlines())
    script.write_text(f"#!{sys.executable}\nimport os, signal, sys, time\nif '-solve' in sys.argv:\n{body}"
                      f"os.execv({CBC!r}, [{CBC!r}, *sys.argv[1:]])\n")
    script.chmod(0o755)
    exe = Executable("cbc")
    exe.set_path(str(script))
    try:
        yield script
    finally:
        exe.set_path(None)
        exe.rehash()


def _late_cbc(folder: Path, wait_s: float, exit_status: int | None = None) -> contextlib.AbstractContextManager[Path]:
    """A CBC (:func:`_cbc_script`) that, for a solve, waits ``wait_s`` seconds before it starts, or
    then exits with ``exit_status`` if given (a solver that dies on its own)."""
    return _cbc_script(folder, f"time.sleep({wait_s})" + ("" if exit_status is None else f"\nos._exit({exit_status})"))


@pytest.fixture
def late_cbc(tmp_path: Path) -> Iterator[Path]:
    """A CBC that starts 60 s late (:func:`_late_cbc`)."""
    with _late_cbc(tmp_path, 60.0) as script:
        yield script


def test_a_shell_solver_past_its_limit_is_stopped(late_cbc: Path) -> None:
    """A 2-s limit: the solve returns within the limit + the grace (1 s) + CBC's stop grace (2 s)
    + slack for a loaded machine, without a solution, saying it was stopped (before: 60 s), and
    with the phases it had (``extra["phases_s"]``)."""
    cbc = get_solver("cbc")
    limit = 2.0
    t0 = time.perf_counter()
    out = cbc.solve(_tiny(), time_limit=limit, threads=1)
    wall = time.perf_counter() - t0
    assert wall < limit + base.GRACE_S + cbc.stop_grace + 8.0, wall
    assert out.termination is Termination.NO_SOLUTION and not out.has_solution
    assert "past its" in out.extra["cancelled"] and "time limit" in out.extra["cancelled"]
    # where its time went, as a normal shell solve says, less the read-back it never had (before: nothing)
    phases = out.extra["phases_s"]
    assert set(phases) == {"write", "solver"} and phases["solver"] >= limit and phases["write"] >= 0, phases


#: Pyomo's ERROR report of a solver process's non-zero exit status (logger ``pyomo.opt``)
NONZERO = "returned non-zero return code"


def test_a_shell_solver_optdist_stopped_logs_no_error(late_cbc: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A CBC the watchdog stopped ends with a non-zero status (a signal's): Pyomo's ERROR report of
    it ("Solver (cbc) returned non-zero return code (-2)", then the solver's log) is not shown,
    the outcome says what happened (before: both ERROR lines, as if something broke)."""
    caplog.set_level(logging.WARNING, logger="pyomo")
    out = get_solver("cbc").solve(_tiny(), time_limit=1.0, threads=1)
    assert out.termination is Termination.NO_SOLUTION and "cancelled" in out.extra
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pyomo")] == []


def test_a_shell_solver_that_dies_on_its_own_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A CBC that exits with status 3 by itself (optdist stopped nothing) is a solver failure: the
    outcome is ``error`` and says so (since sig20; before: Pyomo's ApplicationError, an "internal
    error" in the CLI), instead of Pyomo's ERROR report and log; with raw options given (maybe
    their cause) the error names them and Pyomo's report stays."""
    caplog.set_level(logging.WARNING, logger="pyomo")
    with _late_cbc(tmp_path, 0.0, exit_status=3):
        out = get_solver("cbc").solve(_tiny(), time_limit=30.0, threads=1)
        assert out.termination is Termination.ERROR and not out.has_solution
        assert "solver cbc ended abnormally: it exited with status 3" in out.extra["solver_error"]
        assert [r.getMessage() for r in caplog.records if r.name.startswith("pyomo")] == []
        with pytest.raises(ValueError, match="raw solver options"):
            get_solver("cbc").solve(_tiny(), threads=1, solver_options={"sec": 30})
    assert any(NONZERO in r.getMessage() and "(3)" in r.getMessage() for r in caplog.records), caplog.text


def test_a_shell_solver_within_its_limit_is_not_stopped() -> None:
    """The real CBC on the same model with the same limit: optimal, nothing cancelled."""
    out = get_solver("cbc").solve(_tiny(), time_limit=2.0, threads=1)
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0)
    assert "cancelled" not in out.extra


def test_a_late_firing_timer_does_not_stop_the_next_solve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A solve's watchdog whose action runs after that solve returned (``Timer.cancel`` cannot
    stop an action already started) stops nothing of the next solve: here the first solve's
    action is run by hand 1 s into a second solve (a CBC that starts 3 s late), which must still
    end optimal, not cancelled (before: it was stopped, ``no_solution``)."""
    timers = record_watchdog_timers(monkeypatch, base)
    cbc = get_solver("cbc")
    assert cbc.solve(_tiny(), time_limit=30.0, threads=1).termination is Termination.OPTIMAL
    assert len(timers) == 1
    with _late_cbc(tmp_path, 3.0):
        late = threading.Timer(1.0, timers[0].function)
        late.start()
        out = cbc.solve(_tiny(), time_limit=30.0, threads=1)
        late.join()
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0), out
    assert "cancelled" not in out.extra


def test_a_raw_time_limit_is_watched_too(late_cbc: Path) -> None:
    """The limit given raw under CBC's own name (``sec``, as ``--solver-option sec=2``) bounds the
    solve as the generic one does (before: no watchdog, 60 s; found on lenet-10x70-tight-tau0.8
    --formulation tight --solver-option sec=3: CBC ran 188 s reading the LP file)."""
    cbc = get_solver("cbc")
    limit = 2.0
    t0 = time.perf_counter()
    out = cbc.solve(_tiny(), threads=1, solver_options={"sec": limit})
    wall = time.perf_counter() - t0
    assert wall < limit + base.GRACE_S + cbc.stop_grace + 8.0, wall
    assert out.termination is Termination.NO_SOLUTION and "past its" in out.extra["cancelled"] and "time limit" in out.extra["cancelled"]


@pytest.mark.skipif(shutil.which("glpsol") is None, reason="glpsol not installed: apt-get install glpk-utils")
def test_a_timer_firing_during_the_read_back_is_not_a_cancellation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog's action runs after GLPK has ended, while Pyomo reads its solution back (run
    here by hand at that point, as a timer firing then would): no process is signalled, so the
    solve is not marked ``cancelled`` (before: it was, though GLPK had stopped by itself)."""
    from pyomo.solvers.plugins.solvers.GLPK import GLPKSHELL

    timers = record_watchdog_timers(monkeypatch, base)
    read = GLPKSHELL.process_soln_file

    def read_late(plugin: GLPKSHELL, results: object) -> object:
        timers[-1].function()
        time.sleep(0.5)  # the stop's watcher looks for running processes
        return read(plugin, results)

    monkeypatch.setattr(GLPKSHELL, "process_soln_file", read_late)
    out = get_solver("glpk").solve(_tiny(), time_limit=30.0, threads=1)
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0), out
    assert "cancelled" not in out.extra, out.extra


def test_a_watchdog_stop_is_known_however_late_its_timer_thread_resumes(late_cbc: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog's timer thread asks the stop and may be descheduled right after (a loaded
    machine): the solver dies, and the solve returns before that thread runs again. Here it resumes
    only 3 s after asking (the solve returns in well under that): the solve is still a watchdog
    stop, not an error (before: ``overran`` was recorded only once ``procs.stop`` returned, so the
    solve re-raised Pyomo's ApplicationError, and the CLI said "internal error")."""
    from optdist.solvers.subprocesses import SolverProcesses

    asked = SolverProcesses.stop

    def slow_to_return(procs: SolverProcesses, *args: Any) -> bool:
        done = asked(procs, *args)
        if threading.current_thread() is not threading.main_thread():
            time.sleep(3.0)
        return done

    monkeypatch.setattr(SolverProcesses, "stop", slow_to_return)
    out = get_solver("cbc").solve(_tiny(), time_limit=1.0, threads=1)
    assert out.termination is Termination.NO_SOLUTION and "past its" in out.extra["cancelled"] and "time limit" in out.extra["cancelled"], out


def test_pyomo_reports_no_error_however_late_the_stopper_records_its_signal(late_cbc: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """The stopper thread may be descheduled right after its signal reached the solver (a loaded
    machine), and Pyomo log the process's exit status before it runs again: the ERROR is dropped
    all the same (before: ``signalled_at`` was set after the signal was sent, so Pyomo's
    "returned non-zero return code" ERROR passed)."""
    sent = subprocess.Popen.send_signal

    def slow_to_return(proc: subprocess.Popen, sig: int) -> None:
        sent(proc, sig)
        time.sleep(3.0)

    monkeypatch.setattr(subprocess.Popen, "send_signal", slow_to_return)
    caplog.set_level(logging.WARNING, logger="pyomo")
    out = get_solver("cbc").solve(_tiny(), time_limit=1.0, threads=1)
    assert out.termination is Termination.NO_SOLUTION, out
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pyomo")] == []


def test_a_solve_drops_no_message_of_another_thread(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """While one solve drops Pyomo's exit-status ERROR of the process it stopped
    (:func:`~optdist.solvers.base.dropped_messages`, held here as that solve holds it once it
    signalled), a CBC that dies on its own in a solve in another thread is still reported (before:
    the filter, on the shared ``pyomo.opt`` logger, dropped every thread's report). That solve
    has raw options, so it keeps Pyomo's report (they may be the cause)."""
    caplog.set_level(logging.WARNING, logger="pyomo")
    failed: list[BaseException] = []

    def other() -> None:
        try:
            get_solver("cbc").solve(_tiny(), threads=1, solver_options={"sec": 30})
        except ValueError as e:
            failed.append(e)

    with _late_cbc(tmp_path, 0.0, exit_status=3), base.dropped_messages("pyomo.opt", base._NONZERO_RETURN_CODE):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert failed, "the CBC exiting 3 did not fail"
    assert any(NONZERO in r.getMessage() and "(3)" in r.getMessage() for r in caplog.records), caplog.text


def test_a_timer_firing_just_after_a_signals_stop_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 sigint_handled: None) -> None:
    """A SIGINT stops a CBC solve, and the watchdog fires just after the signal's stop, its timer
    thread descheduled 3 s once it has asked (a loaded machine) while CBC returns its solution: the
    outcome is CBC's (optimal) with the signal's mark (``extra["interrupted"]``), no ``cancelled`` note
    (before: the watchdog recorded its stop before asking and took it back only once the refused
    request returned, so a solve ending in between said the watchdog had stopped it). The CBC
    here is a script that waits for the SIGINT (ignoring it, and those resent, from then on) and
    then becomes the real CBC, which solves the tiny model at once; the recorded watchdog timer is
    fired by hand inside the signal's stop, right after it asked."""
    from optdist.solvers.cbc import Cbc
    from optdist.solvers.subprocesses import SolverProcesses

    timers = record_watchdog_timers(monkeypatch, base)
    asked, returned = SolverProcesses.stop, threading.Event()

    def slow_to_return(procs: SolverProcesses, *args: Any) -> bool:
        done = asked(procs, *args)
        if threading.current_thread() is not threading.main_thread():
            returned.set()
            time.sleep(3.0)
        return done

    monkeypatch.setattr(SolverProcesses, "stop", slow_to_return)
    on_signal = Cbc._on_signal

    def then_the_timer(self: Cbc, signum: int) -> None:
        on_signal(self, signum)
        threading.Thread(target=timers[-1].function, daemon=True).start()
        assert returned.wait(10.0), "the watchdog's stop did not run"

    monkeypatch.setattr(Cbc, "_on_signal", then_the_timer)
    ready = tmp_path / "ready"  # the script has its SIGINT handler: a signal now does not kill it
    waits = ("got = []\n"
             "signal.signal(signal.SIGINT, lambda *a: got.append(1))\n"
             f"open({str(ready)!r}, 'w').close()\n"
             "deadline = time.monotonic() + 60\n"
             "while not got and time.monotonic() < deadline:\n"
             "    time.sleep(0.01)\n"
             "signal.signal(signal.SIGINT, signal.SIG_IGN)")

    def signal_once_ready() -> None:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    with _cbc_script(tmp_path, waits):
        sender = threading.Thread(target=signal_once_ready)
        sender.start()
        out = get_solver("cbc").solve(_tiny(), time_limit=60.0, threads=1)
        sender.join()
    # CBC solved it (an optimal outcome stays optimal after a signal), and said so: it was not killed
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0), out
    assert out.extra["interrupted"] == "SIGINT", out.extra
    assert "cancelled" not in out.extra, out.extra
