"""Solver processes die with the process that started them (Linux ``PR_SET_PDEATHSIG``).

Pyomo's shell interfaces (CBC, GLPK: ``pyomo.opt.solver.shellcmd``) start the solver binary
with ``subprocess.run`` and take no ``preexec_fn``, so a process that solved through them and
was SIGKILLed (an ``optdist bench`` worker, with its sweep) left the solver running. Inside
:func:`solver_dies_with_parent`, a solver that Pyomo starts from that thread asks the kernel,
between fork and exec, to SIGKILL it when the thread that started it ends, however it ends.
Elsewhere than Linux nothing changes (there the bench runner's guard kills the worker's whole
process group, which a SIGKILL of the sweep cannot do).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h

_prctl: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: a forked child only calls it

_local = threading.local()
_install_lock = threading.Lock()


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


class _SubprocessForPyomo:
    """``subprocess`` as Pyomo's shell solvers see it: ``run`` adds :func:`_child_dies_with`
    in a thread inside :func:`solver_dies_with_parent`; everything else is ``subprocess``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def run(self, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
        if getattr(_local, "active", False) and kwargs.get("preexec_fn") is None:
            kwargs["preexec_fn"] = _child_dies_with(os.getpid())
        return subprocess.run(*args, **kwargs)


@contextlib.contextmanager
def solver_dies_with_parent() -> Iterator[None]:
    """Within the block, shell solvers Pyomo starts from this thread die with it (Linux)."""
    if _prctl is None:
        yield
        return
    from pyomo.opt.solver import shellcmd

    with _install_lock:
        if not isinstance(shellcmd.subprocess, _SubprocessForPyomo):
            shellcmd.subprocess = _SubprocessForPyomo()  # type: ignore[assignment]
    before = getattr(_local, "active", False)
    _local.active = True
    try:
        yield
    finally:
        _local.active = before
