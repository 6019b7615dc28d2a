"""Solver processes started by Pyomo's shell interfaces: they die with the process that started
them (Linux ``PR_SET_PDEATHSIG``) and can be stopped by a signal (:meth:`SolverProcesses.stop`).

Pyomo's shell interfaces (CBC, GLPK: ``pyomo.opt.solver.shellcmd``) start the solver binary
with ``subprocess.run`` and take no ``preexec_fn``, so a process that solved through them and
was SIGKILLed (an ``optdist bench`` worker, with its sweep) left the solver running. Inside
:func:`solver_dies_with_parent`, a solver that Pyomo starts from that thread asks the kernel,
between fork and exec, to SIGKILL it when the thread that started it ends, however it ends, and
is recorded in the block's :class:`SolverProcesses` (Pyomo never hands out the process).
Elsewhere than Linux the processes are still recorded, but nothing kills them with their parent
(there the bench runner's guard kills the worker's whole process group, which a SIGKILL of the
sweep cannot do).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h

_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: a forked child only calls it

_local = threading.local()
_install_lock = threading.Lock()

#: seconds between two SIGINTs to a solver asked to stop (CBC drops one that arrives before its
#: branch-and-bound starts: its handler only flags a running search)
RESEND_S = 0.2


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when the thread that started it ends.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); returns False elsewhere or if the call failed.
    """
    return _prctl is not None and _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def _child_dies_with(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGKILL on parent death; exit at once if ``parent`` is already gone."""

    def preexec() -> None:
        set_parent_death_signal()
        if os.getppid() != parent:  # it ended between fork and prctl
            os._exit(1)

    return preexec


class SolverProcesses:
    """The solver processes started inside one :func:`solver_dies_with_parent` block.

    :meth:`stop` (safe to call from a signal handler) asks them to stop: SIGINT at once and
    every :data:`RESEND_S` seconds (CBC then writes its incumbent; one sent before CBC's search
    starts is dropped), SIGKILL once ``grace`` seconds have passed (GLPK has no interrupt
    handler: ``grace`` 0 kills it at once). A process started after the request gets the same
    (SIGKILL at once when the grace is over). A watcher thread does it until the block ends.
    """

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen] = []
        #: (start, end) of each process, ``time.perf_counter()`` values (end: once it was reaped)
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.RLock()  # stop() may run in a signal handler while the main thread is in add()
        self._ended = threading.Event()
        self._kill_at: float | None = None  # time.monotonic() of the SIGKILL; None: no stop asked
        #: when a stop's signal first reached a process still running (``time.perf_counter()``);
        #: None: none did (no stop asked, or every process had ended)
        self.signalled_at: float | None = None

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.append(proc)

    def stop(self, grace: float, first: Callable[[], None] | None = None) -> bool:
        """Ask every process of the block to stop, SIGKILL after ``grace`` seconds. Returns whether
        this call asked it (False: a second call, or the block has ended: nothing done). ``first``
        runs only if this call is the one that asks, before any signal goes out and before any
        other call can ask: where a caller records that the stop is its own (the solver may die,
        and the solve end, before this call returns; a second caller records nothing)."""
        with self._lock:
            if self._kill_at is not None or self._ended.is_set():
                return False
            if first is not None:
                first()
            self._kill_at = time.monotonic() + max(grace, 0.0)
        threading.Thread(target=self._watch, name="optdist-solver-stopper", daemon=True).start()
        return True

    def _watch(self) -> None:
        assert self._kill_at is not None
        while not self._ended.is_set():
            late = time.monotonic() >= self._kill_at
            with self._lock:
                running = [p for p in self._procs if p.returncode is None]
            for p in running:
                if p.poll() is not None:  # ended meanwhile: not signalled
                    continue
                if self.signalled_at is None:  # first: the solve may see the process die before this thread runs again
                    self.signalled_at = time.perf_counter()
                with contextlib.suppress(OSError):
                    p.send_signal(signal.SIGKILL if late else signal.SIGINT)  # polls first: never a reaped pid
            self._ended.wait(RESEND_S)

    def end(self) -> None:
        """The block ended: the watcher (if any) stops."""
        self._ended.set()


class _SubprocessForPyomo:
    """``subprocess`` as Pyomo's shell solvers see it: ``run`` adds :func:`_child_dies_with`
    and records the process in a thread inside :func:`solver_dies_with_parent`; everything else
    is ``subprocess``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def run(self, *args: Any, input: Any = None, timeout: float | None = None, check: bool = False,
            **kwargs: Any) -> subprocess.CompletedProcess:
        group: SolverProcesses | None = getattr(_local, "group", None)
        if group is None:
            return subprocess.run(*args, input=input, timeout=timeout, check=check, **kwargs)
        if _prctl is not None and kwargs.get("preexec_fn") is None:
            kwargs["preexec_fn"] = _child_dies_with(os.getpid())
        if input is not None:
            kwargs["stdin"] = subprocess.PIPE
        started = time.perf_counter()
        with subprocess.Popen(*args, **kwargs) as proc:  # subprocess.run's steps, with the process recorded
            group.add(proc)
            try:
                out, err = proc.communicate(input, timeout=timeout)
            except BaseException:  # a timeout, or a second signal's KeyboardInterrupt: the solver ends too
                proc.kill()
                raise
            finally:
                group.spans.append((started, time.perf_counter()))
        done = subprocess.CompletedProcess(proc.args, proc.poll(), out, err)
        if check:
            done.check_returncode()
        return done


@contextlib.contextmanager
def solver_dies_with_parent() -> Iterator[SolverProcesses]:
    """Within the block, shell solvers Pyomo starts from this thread die with it (Linux) and are
    recorded in the :class:`SolverProcesses` yielded (to stop them on a signal)."""
    from pyomo.opt.solver import shellcmd

    with _install_lock:
        if not isinstance(shellcmd.subprocess, _SubprocessForPyomo):
            shellcmd.subprocess = _SubprocessForPyomo()  # type: ignore[assignment]
    before = getattr(_local, "group", None)
    group = _local.group = SolverProcesses()
    try:
        yield group
    finally:
        group.end()
        _local.group = before
