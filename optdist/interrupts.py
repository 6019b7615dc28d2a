"""How a signal that stops a run is told apart and reported: SIGINT is Python's
``KeyboardInterrupt``; SIGTERM, where optdist turns it into an interrupt, raises
:class:`Terminated`. Exit statuses are ``128 +`` the signal's number, as a shell reports a
process the signal killed (130 SIGINT, 143 SIGTERM). Used by the solvers, the sweeps and the CLI
(which re-exports these names)."""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # SIGINT; SIGTERM: EXIT_TERMINATED (see interrupted_status)
EXIT_TERMINATED = 143

#: seconds after a signal within which the same signal again is the same stop request, not a
#: second one (which aborts): coreutils ``timeout -s INT`` sends its signal to optdist and then to
#: optdist's whole process group, so optdist gets it twice microseconds apart (before: aborted as
#: by a second Ctrl-C, losing the incumbent and ``--out``); a person's second Ctrl-C comes later
#: (the tests of a second signal send it 0.3 s and more after the first)
SAME_REQUEST_S = 0.1


def same_request(signum: int, previous: tuple[int, float] | None, now: float) -> bool:
    """Whether ``signum`` received at ``now`` (``time.monotonic()``) repeats ``previous``, the
    (signal, time) of the stop request counted last (None: none yet): the same signal within
    :data:`SAME_REQUEST_S` of it."""
    return previous is not None and previous[0] == signum and now - previous[1] < SAME_REQUEST_S


_last: tuple[int, float] | None = None  # the signal a handler of this process counted last, and when


def repeated(signum: int) -> bool:
    """For a signal handler (main thread): whether ``signum``, received now, repeats the request
    counted last (:func:`same_request`), by whichever handler (optdist's solve blocks, the CLI's):
    then it does nothing. Otherwise it is counted: the next call compares with it."""
    global _last
    now = time.monotonic()
    if same_request(signum, _last, now):
        return True
    _last = (signum, now)
    return False


def forget_requests() -> None:
    """A new run starts (the outermost solve block): no signal before it makes one in it a repeat."""
    global _last
    _last = None


class Terminated(KeyboardInterrupt):
    """SIGTERM as an interrupt (exit status 143); a plain KeyboardInterrupt is SIGINT (130)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT as :func:`interrupt` raises it in a process that ends with its command
    (:func:`process_ends_with_command`; exit status 130): a KeyboardInterrupt to every handler, but
    not of that exact type, which CPython (3.11) records as "unhandled" when it ends code run by
    ``exec`` of a string (``collections.namedtuple``, ``dataclasses``: frequent while modules
    import), even if a handler then catches it; such a process ended, after its message and clean-up,
    killed by SIGINT (status -2 to its parent), not with 130 (bpo-1054041: the interpreter's exit by
    the signal after an uncaught Ctrl-C)."""


def signal_name(error: KeyboardInterrupt) -> str:
    """The signal behind an interrupt: ``"SIGTERM"`` for :class:`Terminated`, else ``"SIGINT"``."""
    return "SIGTERM" if isinstance(error, Terminated) else "SIGINT"


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` through :func:`interrupt` (main thread
    only; elsewhere the block changes nothing), so a script's clean-up and message run as on Ctrl-C;
    the previous handler is put back on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, lambda signum, frame: interrupt(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def interrupted_status(signal_name: str | None) -> int:
    """Exit status of a run a signal stopped: 143 when ``signal_name`` starts with ``SIGTERM``
    (e.g. a result's ``extra["interrupted"]``), else 130 (SIGINT, or a solver that caught Ctrl-C)."""
    return EXIT_TERMINATED if (signal_name or "").startswith("SIGTERM") else EXIT_INTERRUPTED


_ends_with_command = False  # this process ends when its command returns (set by the CLI)
_stopped: int | None = None  # the signal whose interrupt has been raised in such a process: it is exiting


def process_ends_with_command() -> None:
    """This process is one command line's (the CLI's ``main``, not a library call): from now on,
    once a signal has stopped the command (:func:`interrupt`), further SIGINT/SIGTERM raise nothing.
    Also makes SIGINT go through :func:`interrupt` (where Python's own handler raises it; an
    ignored SIGINT, e.g. under ``nohup``, stays ignored), a :func:`repeated` one not."""
    global _ends_with_command
    _ends_with_command = True
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        signal.signal(signal.SIGINT, lambda signum, frame: None if repeated(signum) else interrupt(signum))


def interrupt(signum: int, error: KeyboardInterrupt | None = None) -> None:
    """What a signal handler calls to stop the command: raises ``error`` (default KeyboardInterrupt,
    :class:`Terminated` for SIGTERM). In a process that ends with its command
    (:func:`process_ends_with_command`) SIGINT's default is :class:`Interrupted`, and only the first
    call raises (:func:`stopped_by` tells its signal): the later ones return, so a
    signal that comes while the stopped command cleans up and exits raises nowhere (before, one that
    landed in a weakref callback printed "Exception ignored in: ..." with a traceback)."""
    global _stopped
    if _stopped is not None:
        return
    _stopped = signum if _ends_with_command else None
    raise (error if error is not None else Terminated if signum == signal.SIGTERM
           else Interrupted if _ends_with_command else KeyboardInterrupt)


def stopped_by() -> int | None:
    """In a process that ends with its command (:func:`process_ends_with_command`): the signal whose
    interrupt :func:`interrupt` has raised, None if none. The command is stopping by it: an error
    that comes after it is its doing (e.g. an import it broke inside a C extension, which reports
    an ImportError, not the interrupt: numpy's "PyCapsule_Import could not import module")."""
    return _stopped


def ignore_further_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on (main thread only; elsewhere a no-op).

    For a command line that a signal stopped and that now cleans up and exits with
    :func:`interrupted_status`: a second Ctrl-C (or SIGTERM) would otherwise raise in the middle of
    its clean-up (a traceback), or, once the interpreter finalises and has put the default
    handlers back, kill it by the signal (status -2 or -15, no message). The process starts no
    program after this (an ignored signal stays ignored in a child).

    Where a signal stopped the command (:func:`stopped_by`), the objects alive now are also left
    out of the interpreter's last garbage collection (``gc.freeze()``): after a train-rl stopped
    while its policy placed a large instance's requests, that collection took 2-3 s between the
    "interrupted" line and the exit (the output files are written atomically, before or never)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        if _stopped is not None:
            gc.freeze()
