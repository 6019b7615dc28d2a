"""The solver adapter interface: capability flags, availability, option names, one ``solve``.

An adapter solves a Pyomo model in place: it maps optdist's generic options (``time_limit``
seconds, relative ``mip_gap``, ``threads``, ``seed``) to the solver's own names, always keeps
the incumbent when a limit stops the search (loading it into the model's Vars), and reports a
:class:`SolverOutcome`. Two back ends cover every solver here: Pyomo's new
``pyomo.contrib.solver`` interface (typed results: incumbent and bound) and the legacy
``pyomo.environ.SolverFactory`` (text interfaces, ``results.problem`` bounds).

Honesty rules every adapter obeys (checked by ``tests/test_solver_conformance.py``):

* options are range-checked before anything runs (:func:`check_options`);
* SIGINT/SIGTERM while the solver runs stop it and return the incumbent with its proven bound
  as :attr:`Termination.INTERRUPTED`; a second signal aborts at once (KeyboardInterrupt, or
  the process ends when the solver runs in native code in the main thread: HiGHS, SCIP). A
  shell solver is sent SIGINT and killed after the adapter's :attr:`LegacySolver.stop_grace`
  (CBC 2 s, GLPK at once), its incumbent then lost (CBC: the bound its log proved is kept, and
  ``extra["incumbent_lost"]`` names the lost solution's value); shell solvers work in a private temporary
  folder that is removed whatever happens, and die with the thread that started them even when
  this process is SIGKILLed (Linux, :mod:`optdist.solvers.subprocesses`);
* ``optimal`` only when the proven bound closes the requested gap (the solver's own absolute
  tolerance allowed); otherwise the incumbent is reported as ``feasible``;
* a limit that stops the search without an incumbent is ``no_solution``, never ``error``, with
  ``extra["limit_reached"]`` (``time_limit`` or ``iteration_limit``: the solver's own status);
* a shell solver whose process ends abnormally on its own or by someone else's hand (``kill -9``,
  the kernel's OOM killer) is ``error`` with ``extra["solver_error"]`` naming the solver, its exit
  status or signal and what to try, not an exception (one failing with raw options given raises
  :meth:`Solver.raw_failure`, unless a signal killed it);
* a solve still running :data:`GRACE` past its time limit (or at the run's deadline) is stopped
  by optdist's own clock, as by a signal, and reported as ``time_limit`` / ``no_solution`` with
  ``extra["cancelled"]`` (HiGHS: ``cancelSolve``; SCIP: ``interruptSolve``; shell solvers: their
  process, whose own clock starts only after it has read the model file; for them also a limit given
  raw, e.g. CBC's ``sec``); a shell solve's note says which stop it was and when
  (:func:`watch_words`: at the run's deadline there is no grace);
* a shell solve whose termination is not the one Pyomo read (CBC's "intermediateNonInteger" at its
  time limit) has the status in optdist's words ("aborted/time_limit"), Pyomo's in
  ``extra["solver_said"]``, and a time limit ``extra["stopped_by"]`` (the solver's own limit, or
  optdist's watchdog).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import math
import numbers
import os
import re
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import pyomo.environ as pyo

from optdist.interrupts import forget_requests, interrupt, repeated, same_request
from optdist.jsonfile import json_text, quoted
from optdist.options import (GENERIC_OPTIONS, IN_RANGE, MAX_SEED, MAX_THREADS, OPTION_EXAMPLES,  # noqa: F401 (re-exported)
                             OPTION_RANGES, WHOLE_OPTIONS,
                             check_options, number_problem, option_problem)
from optdist.result import GAP_EPS, Termination, closes_gap, gap
from optdist.solvers.subprocesses import SolverProcesses, solver_dies_with_parent

log = logging.getLogger("optdist")

#: what Pyomo's ``ModelSolutions.load_from`` logs (logger ``pyomo.core``) for every result whose
#: solver status is ``aborted`` and which holds a solution: its shell plugins (CBC, GLPK) mark a
#: stop at a time, node or solution limit so (CBCplugin: status aborted, solution
#: ``stoppedByLimit``)
_ABORTED_WITH_SOLUTION = re.compile(re.escape(
    "Loading a SolverResults object with an 'aborted' status, but containing a solution"))


#: what Pyomo's shell solvers log (logger ``pyomo.opt``, ``OptSolver.solve``) for a solver process
#: that exited with a non-zero status (e.g. ``-9``: SIGKILLed), then the solver's log or a pointer
#: to it, before raising ``ApplicationError``
_NONZERO_RETURN_CODE = re.compile(r"Solver \(\w+\) returned non-zero return code \(-?\d+\)$|"
                                  r"See the solver log above for diagnostic information\.$|Solver log:\n")


class _DropMessages(logging.Filter):
    """Drops the records logged by the thread that made it whose message ``pattern`` matches (at
    its start) while ``when()`` is true (a logger is shared by every thread's solve)."""

    def __init__(self, pattern: re.Pattern[str], when: Callable[[], bool]) -> None:
        super().__init__()
        self.pattern, self.when, self.thread = pattern, when, threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.thread == self.thread and self.pattern.match(record.getMessage()) and self.when())


@contextlib.contextmanager
def dropped_messages(logger: str, pattern: re.Pattern[str], when: Callable[[], bool] = lambda: True) -> Iterator[None]:
    """While the block runs, ``logger`` drops the messages this thread logs that ``pattern`` matches
    (at their start) when ``when()`` (asked as each is logged) is true; other messages pass. As Pyomo's own GDPopt
    drops its warning-status message (``pyomo.contrib.gdpopt.util.SuppressInfeasibleWarning``)."""
    log_, quiet = logging.getLogger(logger), _DropMessages(pattern, when)
    log_.addFilter(quiet)
    try:
        yield
    finally:
        log_.removeFilter(quiet)


def load_results(model: pyo.ConcreteModel, res: Any) -> None:
    """Load the solution of ``res`` (Pyomo's ``SolverResults``) into ``model``, without Pyomo's
    warning for an ``aborted`` status: a limit stop with an incumbent, which the caller classifies
    itself (the termination vocabulary's ``time_limit`` with the incumbent). Pyomo has no loader without that
    warning; :func:`dropped_messages`, on ``pyomo.core`` for the call only, drops that one message.
    Other messages, and errors (``ValueError`` for a result without a solution), pass."""
    with dropped_messages("pyomo.core", _ABORTED_WITH_SOLUTION):
        model.solutions.load_from(res)


class Feature(StrEnum):
    """What an adapter can do."""

    WARM_START = "warm_start"  # accepts a MIP start from the model's current Var values
    THREADS = "threads"
    SEED = "seed"
    BOUND = "bound"  # reports a proven dual bound
    NODES = "nodes"  # reports a branch-and-bound node count


class SolverRefused(ValueError):
    """The solver would not load the model as built (e.g. HiGHS refuses a coefficient above
    1e15 and drops every row passed with it): the message names the cause and the fix."""


class SolverUnavailable(ValueError):
    """The named solver cannot run here; the message says how to install it."""


@dataclass
class SolverOutcome:
    """What a solve produced, in the model's objective units."""

    termination: Termination
    status: str  # the solver's own words
    incumbent: float | None = None
    bound: float | None = None
    has_solution: bool = False  # an incumbent was loaded into the model's Vars
    wall_time: float = 0.0
    nodes: int | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)



def example(where: str, key: str, value: str) -> str:
    """``", e.g. --solver-option KEY=VALUE"`` for an error about raw options given by a flag
    (``where`` starts with ``--``), else nothing: a fix's example as the user would type it."""
    return f", e.g. {where} {key}={value}" if where.startswith("--") else ""


def shown(value: Any) -> str:
    """A raw option's value in a message as the user wrote it: JSON's text (``"abc"`` quoted,
    ``true``; a number as typed, :func:`optdist.jsonfile.json_text`), an infinite or nan number as
    typed after ``KEY=`` (``inf``: JSON's ``Infinity`` is no word a user wrote)."""
    from optdist.jsonfile import json_text
    from optdist.options import option_text

    text = json_text(value)
    return option_text(value) if text.lstrip("-") in ("Infinity", "NaN") else text


def unknown_name_fix(fix: str, names: str) -> str:
    """The fix of an unknown raw option's name: ``fix`` (:func:`~optdist.options.unknown_option_fix`:
    "did you mean mip_rel_gap?"), then where the names are listed (``names``), as one sentence
    each ("did you mean mip_rel_gap? The names: URL"; it was "did you mean mip_rel_gap?; the
    names"), or "a name from URL" where nothing is close."""
    if not fix:
        return f"a name from {names}"
    return f"{fix}{'' if fix.endswith('?') else '.'} The names: {names}"


def one_thread(solver: str, threads: int) -> str:
    """What a solve by ``solver``, an adapter without :attr:`Feature.THREADS` (GLPK, SCIP), does
    with ``threads`` > 1 (``--threads``, a bench spec's ``threads``, a solver profile's): "solver
    glpk runs on one thread whatever threads says (4 asked: it has no parallel search)". Before,
    the count was dropped unsaid, and a comparison of solvers at 4 threads ran GLPK on one."""
    return f"solver {solver} runs on one thread whatever threads says ({threads} asked: it has no parallel search)"


def no_seed(solver: str, seed: int) -> str:
    """What a solve by ``solver``, an adapter without :attr:`Feature.SEED` (GLPK), does with
    ``seed`` (``--seed``, a bench spec's ``seeds``, a solver profile's ``seed``): "solver glpk takes
    no seed (seed 3 given: its search makes no random choice to seed)". Before, GLPK passed it on as
    glpsol's ``--seed``, which seeds only a MathProg model's random numbers, not the MIP search: runs
    compared across seeds were one run."""
    return f"solver {solver} takes no seed (seed {seed} given: its search makes no random choice to seed)"


@functools.cache
def _note_once(text: str) -> None:
    """Note ``text`` (:func:`one_thread`, :func:`no_seed`) on stderr, once a process (a
    decomposition solves many models; ``-q`` hides it, as every note)."""
    log.info("%s", text)


def check_solver_options(options: Mapping[str, Any], where: str = "solver_options",
                         infinite: bool = False) -> dict[str, Any]:
    """Raw solver options: names are strings, values are str, int, float or bool (finite; with
    ``infinite``, for a solver that is asked about each value, ``inf`` and ``-inf`` too: HiGHS's
    ``objective_bound`` is ``inf`` by default; nan never); no NUL character in a name or a text."""
    out: dict[str, Any] = {}
    for key, value in dict(options).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}: option name {json_text(key)} is not a non-empty string (fix: give each "
                             f"option its name, as the solver spells it{example(where, 'presolve', 'off')})")
        if "\0" in key + (value if isinstance(value, str) else ""):  # before: "embedded null byte", naming nothing
            raise ValueError(f"{where}: {json_text(key)} = {json_text(value)} holds a NUL character, which no "
                             "solver reads (fix: remove it)")
        if isinstance(value, float) and not math.isfinite(value) and not (infinite and math.isinf(value)):
            raise ValueError(f"{where}: {key} = {json_text(value)} is not finite (fix: give a finite number"
                             f"{example(where, key, '0')})")
        if not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{where}: {key} = {json_text(value)} must be a string, number or boolean")
        out[key] = value
    return out


_received: list[int] = []  # signals received during the current (outermost) stop_on_signals block
_depth = 0  # nesting of stop_on_signals blocks in the main thread
#: whether the main thread is inside :func:`stop_at_once`, where the first signal raises at once
_at_once = False
#: the note a signal that stops a :func:`stop_at_once` block logs (None: none; its caller says its own line)
AT_ONCE_NOTE = "stopping now, keeping the incumbent, if any"
_at_once_note: str | None = AT_ONCE_NOTE
#: nesting of :func:`stop_native_code_on_signals` blocks in the main thread: a solver runs in native code
_native = 0


class _StopAtOnce(BaseException):
    """What the signal handler raises inside :func:`stop_at_once`, where the main thread is; the
    block turns it into its ``error``. A BaseException, as KeyboardInterrupt is, so that library code
    that turns any Exception into its own passes it on: Python's ``inspect.getfullargspec`` (Pyomo calls
    it on every rule while a model is built) raised "TypeError: unsupported callable" from a stop
    that landed inside it, and ``optdist solve`` ended with an internal error, exit 3 (CI, SIGTERM
    1 s into the solve of lenet-10x10-tight-tau0.8)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

#: what Pyomo logs (logger ``pyomo.core``, ERROR) when a component's construction raised, before it
#: re-raises: a :func:`stop_at_once` stop that landed there (the component's, and, inside a rule,
#: the rule's: ``pyomo/core/base/{block,var,constraint,indexed_component}.py``)
_CONSTRUCT_FAILED = re.compile(r"Constructing component '.*' from data=.* failed:|Rule failed "
                               r"(when initializing variable for|when generating expression for|for) ", re.S)


class _Stderr:
    """A duplicate of descriptor 2 held while the outermost :func:`stop_on_signals` block runs:
    :func:`_abort` writes its note there (a solve may redirect descriptor 2: Pyomo's
    ``capture_output``). ``fd`` is -1 when closed or when there is no descriptor 2."""

    fd = -1

    def open(self) -> None:
        try:
            self.fd = os.dup(2)
        except OSError:
            self.fd = -1

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = -1

    def captured(self) -> bool:
        """Whether descriptor 2 now points elsewhere than when the outermost block opened: a solve
        captures it (Pyomo's ``capture_output(capture_fd=True)`` around HiGHS's ``run()``, whose
        capture optdist drops), so a note logged now would be lost. False when unknown."""
        try:
            now, then = os.fstat(2), os.fstat(self.fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) != (then.st_dev, then.st_ino)


_stderr = _Stderr()


@contextlib.contextmanager
def stop_on_signals(on_stop: Callable[[int], None],
                    stopping: str | Callable[[], str] = "stopping the solver and keeping its incumbent"
                    ) -> Iterator[list[int]]:
    """While the block runs, SIGINT/SIGTERM call ``on_stop(signum)`` instead of killing the run.

    Yields the list of signals received. The first one's warning ("SIGINT: " + ``stopping`` + "
    (again to abort)", e.g. "SIGINT: stopping the solver and keeping its incumbent (again to
    abort)"; ``stopping`` says what the block does on a stop, or is a function that says it when the
    signal comes, e.g. whether a training had begun: :func:`optdist.rl.policy.stopping_training`)
    is logged at once, or, when it comes while a solve has captured descriptor 2 (HiGHS: Pyomo
    captures its output around ``run()``, where Python runs this handler as HiGHS returns; before,
    the warning went into that capture and was lost) or while a solver runs in native code
    (:func:`stop_native_code_on_signals`: Pyomo's capture restores descriptor 2 before it closes
    the stream it had made ``sys.stderr``, and a warning written there then raised "I/O operation
    on closed file", which ended the command with a traceback), as the block ends: once either way, through
    the ``optdist`` logger (the CLI's ``-q`` hides it as it hides every note and warning). A
    second signal aborts: KeyboardInterrupt
    (:class:`optdist.interrupts.Terminated` for SIGTERM; the CLI exits 130 or 143); the same signal
    again within :data:`~optdist.interrupts.SAME_REQUEST_S` is the same request (``timeout -s INT``
    sends it twice), not counted. Inside :func:`stop_at_once` the first raises at once. Python runs the
    handler only when the main thread runs Python code: a solver running in native code in the
    main thread needs :func:`stop_native_code_on_signals` as well.
    Only the main thread can install handlers; elsewhere this does nothing. Signals the
    process ignores (e.g. SIGINT under ``nohup``) stay ignored.
    """
    global _depth
    got: list[int] = []
    owed: list[str] = []  # the first signal's note, when it came while descriptor 2 was captured
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    if _depth == 0:
        _received.clear()
        forget_requests()

    def handler(signum: int, frame: Any) -> None:
        if repeated(signum):
            return  # e.g. `timeout -s INT`'s to the process group, microseconds after its own to optdist
        got.append(signum)
        _received.append(signum)
        if len(_received) > 1:  # a second signal, whichever nested block caught the first: abort
            interrupt(signum)  # raises, unless the command is already exiting from an earlier one
            return
        what = (_at_once_note if _at_once  # no solver runs, or it stops now
                else stopping() if callable(stopping) else stopping)
        note = f"{signal.Signals(signum).name}: {what} (again to abort)"
        if what is None:  # the stop_at_once block's caller says its own line (break39)
            pass
        elif _stderr.captured() or _native:  # a solve's capture may hold descriptor 2 or sys.stderr: said at the end
            owed.append(note)
        else:
            log.warning("%s", note)
        on_stop(signum)
        if _at_once and not _native:  # in native code, raised as it returns (stop_native_code_on_signals)
            raise _StopAtOnce(signum)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            old[sig] = signal.signal(sig, handler)
    if _depth == 0:
        _stderr.open()
    _depth += 1
    try:
        yield got
    finally:
        _depth -= 1
        for sig, h in old.items():
            signal.signal(sig, h)
        for note in owed:
            log.warning("%s", note)
        if _depth == 0:
            _stderr.close()


@contextlib.contextmanager
def stop_native_code_on_signals(stop: Callable[[], None], every: float = 0.1) -> Iterator[None]:
    """While the block runs, a SIGINT/SIGTERM calls ``stop()`` from a watcher thread at once, and
    again every ``every`` seconds until the block ends (a stop request made before the solver
    starts is lost: pyscipopt 6.3's ``optimizeNogil`` after ``interruptSolve`` ran to its limit).

    For solvers that run in native code in the main thread (pyscipopt's ``optimizeNogil``,
    highspy's ``run``; HiGHS calls back into Python only at its interrupt checks): Python runs
    signal handlers only in the main thread between bytecodes, so :func:`stop_on_signals`'s
    handler runs only when the solve returns; the C-level handler writes the signal's number to
    ``signal.set_wakeup_fd`` at once, which wakes the watcher. A second signal while the solver
    has not returned :data:`ABORT_WAIT_S` later (SCIP checks its interrupt flag only between
    steps: in its symmetry detection on a large model it ran on 21 s) ends the process at once,
    exit status 128 + the signal's number (:func:`_abort`), as the CLI's KeyboardInterrupt would.
    The same signal again within :data:`~optdist.interrupts.SAME_REQUEST_S` of the watcher's
    reading of the first is that request, not a second one (``timeout -s INT``).
    Only signals with a Python handler are written (inside :func:`stop_on_signals`); ``stop``
    must be safe to call from another thread. A wakeup fd set before (asyncio) still receives
    every signal's byte. Only the main thread can set the wakeup fd; elsewhere this does nothing.

    Inside :func:`stop_at_once`, the signal's :class:`_StopAtOnce` is raised as the block ends, not
    by the handler: Python may run the handler inside a callback the solver makes from native code
    (highspy's interrupt checks), and an exception raised there is lost (before, one Ctrl-C of
    ``from_scratch.py`` during a HiGHS solve stopped that solve, and the engine went on for seconds
    to minutes).
    """
    global _native
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import select

    r, w = os.pipe()
    os.set_blocking(w, False)
    old = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    done = threading.Event()

    def watch() -> None:
        stops: list[tuple[int, float]] = []  # (signal, time.monotonic() read), repeats of one request left out
        while not done.is_set():
            if select.select([r], [], [], every if stops else None)[0]:
                got = os.read(r, 512)
                now = time.monotonic()
                if old != -1:
                    with contextlib.suppress(OSError):
                        os.write(old, got)
                for b in got:
                    if b in (signal.SIGINT, signal.SIGTERM) and not same_request(b, stops[-1] if stops else None, now):
                        stops.append((b, now))
            if len(stops) > 1 and not done.wait(ABORT_WAIT_S):  # the main thread is still in native code
                _abort(stops[-1][0], _stderr.fd)
            if stops and not done.is_set():
                stop()

    watcher = threading.Thread(target=watch, name="optdist-signal-watcher", daemon=True)
    watcher.start()
    _native += 1
    try:
        yield
    finally:
        _native -= 1
        done.set()
        signal.set_wakeup_fd(old)
        os.write(w, b"\0")  # wakes the watcher to end it
        watcher.join()
        os.close(r)
        os.close(w)
    if _at_once and _received:  # the handler left the stop to here (stop_on_signals)
        raise _StopAtOnce(_received[0])


#: seconds the watcher of :func:`stop_native_code_on_signals` leaves the main thread, after a
#: second signal, to raise KeyboardInterrupt itself before it ends the process
ABORT_WAIT_S = 0.5


def _abort(signum: int, stderr: int) -> None:
    """End the process at once (a second signal while native code holds the main thread): a note
    on ``stderr`` (a descriptor), exit status 128 + ``signum`` (130 SIGINT, 143 SIGTERM), no clean-up."""
    with contextlib.suppress(OSError):
        os.write(stderr, f"optdist: aborted by a second {signal.Signals(signum).name} "
                    "(the solver had not stopped)\n".encode())
    os._exit(128 + signum)


def stop_requested() -> bool:
    """True once SIGINT/SIGTERM arrived inside the outermost :func:`stop_on_signals` block.

    Multi-solve methods (the decomposition, column generation) check it between solves and
    return their incumbent as :attr:`Termination.INTERRUPTED`; :meth:`Solver.solve` starts no
    new solve after it.
    """
    return _depth > 0 and bool(_received)


@contextlib.contextmanager
def stop_at_once(error: Callable[[int], BaseException], note: str | None = AT_ONCE_NOTE) -> Iterator[None]:
    """While the block runs, the first SIGINT/SIGTERM of the enclosing :func:`stop_on_signals` block
    stops it at once with ``error(signum)`` (Python runs the handler at its next bytecode:
    milliseconds) instead of only being recorded until a solver starts; one received before the
    block raises on entry. Where the main thread is, the handler raises a BaseException
    (:class:`_StopAtOnce`) that code catching Exception passes on (in a solver's native code, as
    its :func:`stop_native_code_on_signals` block ends: the solve is cancelled at once); the block
    raises ``error`` in its place. For work in Python whose result is dropped when it stops half done:
    building a model (:func:`optdist.milp.model.build` ``interruptible``; before, Ctrl-C during the
    20-30 s build of ``lenet-20x70-tight-tau0.6.json --formulation tight`` took effect only when
    the build was done).
    Pyomo's ERROR logs of the component (and rule) whose construction the stop interrupted are dropped. The
    garbage collector is left enabled or disabled as it was at entry: the stop may land inside Pyomo's
    ``PauseGC`` (:mod:`pyomo.common.gc_manager`) after it disabled the collector and before its exit
    enabled it again, which would leave it off for a library caller that carries on. Outside
    a :func:`stop_on_signals` block, or in another thread, nothing changes (a signal there is
    Python's KeyboardInterrupt, as ever). ``note``: what the signal's warning says the block does
    ("SIGINT: NOTE (again to abort)"); None: no warning, for a caller that says its own line on
    ``error`` (a command that keeps nothing: "keeping the incumbent" would be wrong). A block nested
    in another (a model build inside a command's block) says the outermost block's note."""
    global _at_once, _at_once_note
    if threading.current_thread() is not threading.main_thread() or _depth == 0:
        yield
        return
    if _received:
        raise error(_received[0])
    before, collecting, said = _at_once, gc.isenabled(), _at_once_note
    with dropped_messages("pyomo.core", _CONSTRUCT_FAILED, lambda: bool(_received)):
        try:  # the outer try also converts a stop that lands in the inner finally, before it restores the flag
            try:
                _at_once, _at_once_note = True, note if not before else _at_once_note  # the outermost block's note
                yield
            finally:
                _at_once, _at_once_note = before, said
                if collecting:
                    gc.enable()
                else:
                    gc.disable()
        except _StopAtOnce as stop:
            raise error(stop.signum) from None


def signals_received() -> list[int]:
    """The signals of the last outermost :func:`stop_on_signals` block (also after it ended)."""
    return list(_received)


def stoppable(method: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a method that runs many solves (returning a :class:`optdist.result.SolveResult`)
    so that SIGINT/SIGTERM stop the whole run, not only the solve running.

    Without it each solve handles a signal alone (its own outermost :func:`stop_on_signals`
    block): the solve it hits stops and the run goes on with the next ones to the end. Inside
    one block, a signal stops the solve running and :meth:`Solver.solve` starts no new one, so
    the method finishes with what it has (its heuristics place the rest); the result is
    ``interrupted`` (CLI exit 130; 143 for SIGTERM) with the signal's name in
    ``extra["interrupted"]``. A second signal aborts (KeyboardInterrupt).
    """

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with stop_on_signals(lambda signum: None):
            res = method(*args, **kwargs)
        record_signals(res)
        return res

    return run


def record_signals(res: Any) -> None:
    """Record on ``res`` (a :class:`optdist.result.SolveResult`) the SIGINT/SIGTERM of the run's
    outermost :func:`stop_on_signals` block (:func:`signals_received`), if any: ``extra['interrupted']``
    names the first, and the termination becomes ``interrupted`` unless the run proved ``optimal`` or
    ``infeasible`` (its proof stands). The one home of this rule: :func:`stoppable`,
    :func:`optdist.milp.run.solve_formulation` and :func:`optdist.milp.solve.solve_milp`. In a thread
    other than the main one, whose block catches no signal (:func:`stop_on_signals`), only a signal
    of a main-thread block still open is recorded (:func:`stop_requested`: it stops this run's solves
    too), not those of one that has ended (vbreak44: a call from a thread after a main-thread run
    stopped by SIGTERM came back ``interrupted``, naming that SIGTERM)."""
    got = signals_received()
    if not got or (threading.current_thread() is not threading.main_thread() and not stop_requested()):
        return
    if res.termination not in (Termination.OPTIMAL, Termination.INFEASIBLE):
        res.termination = Termination.INTERRUPTED
    res.extra["interrupted"] = signal.Signals(got[0]).name


_failures: list[list[str]] = []  # one list per open solver_failures block, innermost last
_failures_lock = threading.Lock()


@contextlib.contextmanager
def solver_failures() -> Iterator[list[str]]:
    """While the block runs, every :meth:`Solver.solve` (in any thread) that ends in ``error``
    appends why to the yielded list, in the order they ended: its ``extra["solver_error"]`` (e.g.
    "solver cbc ended abnormally: it was killed by signal SIGKILL ..."), or the solver's name and
    status where the adapter gave none. Blocks nest: each sees the failures of the solves inside it.
    Process-wide, as :func:`run_deadline` is: runs in concurrent threads of one process see each
    other's failures."""
    seen: list[str] = []
    with _failures_lock:
        _failures.append(seen)
    try:
        yield seen
    finally:
        with _failures_lock:  # by identity: list.remove would take the first *equal* list, an outer block's
            del _failures[next(i for i, block in enumerate(_failures) if block is seen)]


def _record_failure(why: str) -> None:
    with _failures_lock:
        for seen in _failures:
            seen.append(why)


def failure_counts(failed: list[str]) -> list[dict[str, Any]]:
    """The failures a :func:`solver_failures` block saw, one ``{"message": why, "solves": how
    many}`` per distinct message, in the order each first occurred (``extra["solver_errors"]`` of
    :func:`reports_solver_failures`; also the ``solver_errors`` of a Pareto sweep and a diagnosis)."""
    return [{"message": why, "solves": failed.count(why)} for why in dict.fromkeys(failed)]


def reports_solver_failures(method: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a method that runs many solves (returning a :class:`optdist.result.SolveResult`)
    and goes on when one of them fails (e.g. the decomposition: a per-class solve whose CBC the
    OOM killer ended is a class without a solution; the run still ends with what its other steps
    found): the failures (:func:`solver_failures`) are reported in ``extra["solver_errors"]``, one
    ``{"message": why, "solves": how many}`` per distinct message, in the order each first
    occurred, so that the user learns that a solver failed and why. Left out when the result
    already carries the one failure as its own ``extra["solver_error"]`` (a single solve's)."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with solver_failures() as failed:
            res = method(*args, **kwargs)
        if failed and set(failed) != {res.extra.get("solver_error")}:
            res.extra["solver_errors"] = failure_counts(failed)
        return res

    return run


class AdapterFailure(str):
    """Why a user adapter's call failed (it raised, or returned no :class:`SolverOutcome`:
    :meth:`Solver._adapter_failed`), as :func:`solver_failures` records it: a str like any other
    failure, marked so that a run of many solves can tell the user's code failing from a solver's
    own failure (:func:`optdist.milp.decomposition.orchestrate.solve_decomposed` ends ``error`` on
    the first, and counts the second as a step without a solution)."""


_deadline: float | None = None  # the run's hard deadline (time.perf_counter()), see run_deadline


@contextlib.contextmanager
def run_deadline(at: float | None) -> Iterator[None]:
    """While the block runs, no solve goes past ``at`` (a ``time.perf_counter()`` value; None: no
    deadline). Nested blocks keep the earlier deadline.

    :meth:`Solver.solve` gives each solve at most the time left to ``at`` (less the lag measured
    from a stop request to the solve's return, :func:`deadline_left`), starts none once it has
    passed (outcome ``no_solution``, "not started"), and adapters that can stop their solver
    mid-run (HiGHS: ``Highs.cancelSolve``; SCIP: ``Model.interruptSolve``; shell solvers: their
    process) stop it at the deadline even when the solver overruns its own time limit
    (ERGO-Code/HiGHS#885); the incumbent and bound it had are kept.
    """
    global _deadline
    old = _deadline
    if at is not None:
        _deadline = at if old is None else min(old, at)
    try:
        yield
    finally:
        _deadline = old


def deadline_left() -> float | None:
    """Seconds left to the deadline of the enclosing :func:`run_deadline` (None: none; may be < 0)."""
    return None if _deadline is None else _deadline - time.perf_counter()


def process_age() -> float:
    """Seconds since this process started (Linux: ``/proc/self/stat`` field 22, clock ticks after
    boot, against ``CLOCK_BOOTTIME``: interpreter start-up and imports count; 0.01 s resolution);
    elsewhere the seconds since :mod:`optdist.solvers.base` was imported."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: start time after boot
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


#: seconds a user adapter may run past its time limit before :meth:`Solver._check_overrun` warns
OVERRUN_GRACE_S = 1.0


class Solver(ABC):
    """One MILP solver reached through Pyomo.

    Subclasses set ``name``, ``pyomo_name``, ``features``, ``install_hint`` and
    ``option_names`` (generic option -> the solver's own name, for options passed raw).
    ``defaults`` and ``solver_options`` come from a profile (``solvers/*.toml``).
    """

    name: ClassVar[str]
    pyomo_name: ClassVar[str]
    features: ClassVar[frozenset[Feature]] = frozenset()
    install_hint: ClassVar[str]
    option_names: ClassVar[dict[str, str]] = {}
    #: whether a raw option may be ``inf``/``-inf`` (the solver, asked about each value up front,
    #: decides: HiGHS's ``objective_bound=inf`` is its default); others refuse it before running
    takes_infinite: ClassVar[bool] = False
    _available: ClassVar[bool | None] = None
    _unavailable: ClassVar[str | None] = None  # what :meth:`_check_available` raised, if it did

    #: the solver is known to claim false optima (GLPK 5: :mod:`optdist.milp.decomposition.guard`),
    #: so a run's bound from it is checked against a greedy placement
    #: (:func:`optdist.milp.run.refute_checked_bound`; :meth:`bound_checked`, user adapters too)
    checks_bound: ClassVar[bool] = False

    #: the solver's own absolute gap tolerance in objective units (a stop it may call optimal)
    abs_gap: ClassVar[float] = 0.0
    #: seconds a solve is expected to take past a stop request (reading the solution back; a
    #: solver that cannot be stopped mid-run: its overrun); kept free before a run's deadline
    #: (:func:`run_deadline`). Adapters that measure it update it (:class:`optdist.solvers.highs.Highs`).
    stop_lag: ClassVar[float] = 0.5

    def __init__(self, defaults: dict[str, Any] | None = None, solver_options: dict[str, Any] | None = None):
        self.defaults = check_options(defaults or {}, f"{self.name} [options]")
        self.solver_options = self.check_raw_options(solver_options or {}, f"{self.name} [solver_options]")
        if (two_gaps := self._own_gap_conflict()) is not None:
            raise ValueError(two_gaps)
        #: the profile this adapter was configured from (:func:`optdist.solvers.get_solver`; None: the adapter's defaults)
        self.profile: Any = None
        self._stop_requested = False
        self._keep = False  # this solve keeps its model loaded (``solve(keep=True)``)
        self._limit: float | None = None  # this solve's generic time limit (seconds; None: none or given raw)
        self._started = 0.0  # when this solve was called (time.perf_counter())
        self._kept: tuple[pyo.ConcreteModel, Any] | None = None  # (model, the solver object it is loaded in)

    @classmethod
    def is_available(cls) -> bool:
        """Whether the solver can run here (checked once per class, then cached: a subclass, e.g. a
        user's ``class Mine(Unlicensed)``, checks its own ``_check_available``)."""
        if vars(cls).get("_available") is None:
            try:
                cls._available, cls._unavailable = cls._check_available(), None
            except Exception as e:  # a broken install is an unavailable solver
                cls._available, cls._unavailable = False, f"{type(e).__name__}: {e}"
        return cls._available

    @classmethod
    @abstractmethod
    def _check_available(cls) -> bool: ...

    def require(self) -> None:
        """Raise :class:`SolverUnavailable` where the solver cannot run here: how to install it
        (``install_hint``), or for a user adapter without one, what its :meth:`_check_available`
        did and the fix (before, an AttributeError on the missing ``install_hint``)."""
        if self.is_available():
            return
        hint = getattr(self, "install_hint", None)
        if hint is not None:
            raise SolverUnavailable(f"solver {json_text(self.name)} is not available here; install it: {hint}")
        why = type(self)._unavailable
        raise SolverUnavailable(f"solver {json_text(self.name)} is not available here: {self.adapter_text()}'s "
                                f"_check_available {f'raised {why}' if why else 'returned False'} (fix: make it return "
                                "True where the solver can run; set install_hint = \"how to install it\" in the class "
                                "for this message)")

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    def check_raw_options(self, options: Mapping[str, Any], where: str = "solver_options") -> dict[str, Any]:
        """Raw options checked before anything runs; returns them under the solver's full names.

        Types first (:func:`check_solver_options`); each name is read as the solver reads it
        (:meth:`native_name`: CBC's ``sec`` is ``seconds``), one option given under two names is
        an error; each value is checked (:meth:`_check_value`: a generic option under the
        solver's own name, e.g. HiGHS's ``mip_rel_gap``, SCIP's ``limits/time``, must be a number
        of its kind in the generic range, :data:`OPTION_RANGES`, the error saying which it is not);
        then, if the solver is installed, it is asked
        whether it knows each name and accepts each value (:meth:`_check_raw`: HiGHS and SCIP
        in-process; CBC on its command line, ``cbc -KEY VALUE``; GLPK about each name and whether
        it takes a value, a glpsol run that refuses a value is an error naming the raw options and
        their values, :meth:`raw_failure`). Raises ValueError naming the option, its value and the fix.
        """
        out: dict[str, Any] = {}
        spelled: dict[str, str] = {}  # full name -> the name it was given under
        for key, value in check_solver_options(options, where, self.takes_infinite and self.is_available()).items():
            native = self.native_name(key)
            if native in spelled:
                raise ValueError(f"{where}: {spelled[native]} and {key} both set {self.name}'s {native} "
                                 f"(fix: give it once)")
            spelled[native] = key
            out[native] = self._check_value(key, native, value, where)
        if out and self.is_available():
            self._check_raw(out, where)
        return out

    def native_name(self, key: str) -> str:
        """A raw option's full name as the solver reads ``key`` (default: ``key``; CBC expands abbreviations)."""
        return key

    def _check_value(self, key: str, native: str, value: Any, where: str) -> Any:
        """Check one raw option given as ``key`` (full name ``native``) and return its value as
        passed on: a generic option under the solver's name must be a number of the generic
        option's kind in its range (:func:`~optdist.options.option_problem`; a whole-number one
        given as an integral float, e.g. ``threads=1.0``, is passed as the int). Raises
        ValueError naming ``key``, the value, what is wrong and the fix: "mip_rel_gap = 'abc' is
        not a number (highs's name for mip_gap; fix: give a relative gap in [0, 1] ...)",
        "is not a whole number", "is out of range"."""
        from optdist.options import number_problem

        g = {n: g for g, n in self.option_names.items()}.get(native)
        if g is None:
            return value
        said, within, whole, sample = self.raw_span(g)
        problem = number_problem(value, whole=whole, within=within)
        if problem:
            raise ValueError(f"{where}: {key} = {shown(value)} is {problem} ({self.name}'s name for {g}; "
                             f"fix: give {said}{example(where, key, sample)})")
        return int(value) if whole else value

    def raw_span(self, generic: str) -> tuple[str, Callable[[float], bool], bool, str]:
        """The range of the generic option ``generic`` under this solver's own name, the one its
        every message states: ``(the range as said, its test, whole, an example)``; by default the
        generic range (:data:`OPTION_RANGES`); a solver that takes less narrows it (SCIP's
        ``limits/time`` at most 1e+20, glpsol's ``tmlim`` in whole seconds)."""
        return OPTION_RANGES[generic], IN_RANGE[generic], generic in WHOLE_OPTIONS, OPTION_EXAMPLES[generic]

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Ask the solver whether it knows each raw option and accepts its value (default: cannot ask)."""

    def check_raw_together(self, options: Mapping[str, Any], where: str = "solver_options") -> None:
        """All the raw options of a solve (a profile's and the call's, checked, under their full
        names) checked together for a combination the solver cannot run (default: none; glpsol's
        ``btf`` without ``cbg`` or ``cgr``, :meth:`optdist.solvers.glpk.Glpk.check_raw_together`):
        :meth:`check_raw_options` sees each ``--solver-option`` alone too. Raises ValueError naming
        the options and the fix."""

    def raw_where(self, where: str | None) -> str:
        """``where`` (the call's raw options: ``--solver-option``; None: the call gives none, or they
        were merged into :attr:`solver_options`, as ``optdist.solve(solver_options=...)`` does) for
        :meth:`check_raw_together`, with the solver profile file whose ``[solver_options]`` take part
        (:attr:`profile`; before, a profile's ``btf`` alone said only "solver_options")."""
        prof = self.profile
        own = (f"the [solver_options] of solver profile {prof.name} ({prof.path})"
               if prof is not None and prof.solver_options else None)
        if where is None and (own is None or set(self.solver_options) - {self.native_name(k)
                                                                          for k in prof.solver_options}):
            where = "solver_options"  # not the profile's alone
        if where is None:
            return own
        return f"{where} with {own}" if own else where

    def raw_failure(self, raw: Mapping[str, Any], error: BaseException) -> ValueError:
        """The error for a solver run that failed while raw options were given: it names them and
        their values (``pcost = "bar"``; before, a Python dict), and the profile file those of its
        ``[solver_options]`` came from (:attr:`profile`)."""
        prof = self.profile
        own = [] if prof is None else [k for k in prof.solver_options if self.native_name(k) in raw]
        where = (f"; {', '.join(own)} from the [solver_options] of solver profile {prof.name} ({prof.path})"
                 if own else "")
        given = ", ".join(f"{k} = {shown(v)}" for k, v in raw.items())
        return ValueError(f"{self.name} failed with the raw solver options {given} ({error}){where}; "
                          f"fix: check their names and values in the {self.name} documentation")

    def settings(self, **given: Any) -> dict[str, Any]:
        """Generic options: the call's values over the profile's defaults (``None`` = not given).

        Raises ValueError for an out-of-range value (:func:`check_options`).
        """
        out = dict(self.defaults)
        out.update(check_options(given))
        return out

    def solve(
        self,
        model: pyo.ConcreteModel,
        *,
        time_limit: float | None = None,
        mip_gap: float | None = None,
        threads: int | None = None,
        seed: int | None = None,
        warm_start: bool = False,
        tee: bool = False,
        solver_options: Mapping[str, Any] | None = None,
        keep: bool = False,
    ) -> SolverOutcome:
        """Minimise ``model``; load the incumbent (if any) into its Vars.

        ``solver_options``: raw options passed to the solver (over the profile's), each under its
        full name (:meth:`native_name`).
        ``keep``: keep ``model`` loaded in the solver after this solve, so that the next
        ``solve(model, keep=True)`` of the *same* model object sends the solver only what changed
        (objective, variable bounds, mutable parameters, constraints added or removed) instead of
        the whole model. Only adapters whose Pyomo interface is persistent keep it (HiGHS,
        :meth:`ContribSolver._solve`); the others load the model anew each time, with the same
        result. Solving another model, or :meth:`release`, drops the kept one.
        SIGINT/SIGTERM during the solve stop the solver: the outcome is
        :attr:`Termination.INTERRUPTED` with the incumbent and bound it had.
        A user interrupt the solver catches itself (SCIP handles SIGINT) is INTERRUPTED too.
        ``threads`` > 1 for an adapter without :attr:`Feature.THREADS` runs on one thread:
        ``extra["threads_unused"]`` and a note on stderr, once, say so (:func:`one_thread`);
        ``seed`` for an adapter without :attr:`Feature.SEED` seeds nothing: ``extra["seed_unused"]``
        and a note, once (:func:`no_seed`).
        An outcome ``error`` is recorded for the enclosing :func:`solver_failures` blocks.
        Raises ValueError for out-of-range options or raw options the solver refuses
        (:meth:`check_raw_options`, :meth:`check_raw_together`), :class:`SolverUnavailable` if not installed.
        """
        self.require()
        opts = self.settings(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed)
        raw = {**self.solver_options, **self.check_raw_options(solver_options or {})}  # each under its full name
        if raw:  # (a combination needs options: most solves, the pricing's among them, have none)
            self.check_raw_together(raw, self.raw_where("solver_options" if solver_options else None))
        self._stop_requested = False
        if stop_requested():  # a multi-solve method was interrupted: start nothing new
            return SolverOutcome(Termination.INTERRUPTED, "not started: stopped by a signal")
        left = deadline_left()
        if left is not None:  # the run's deadline: the limit shrinks to it, a stop takes its lag
            budget = left - self.stop_lag
            if budget <= MIN_SOLVER_S:
                return SolverOutcome(Termination.NO_SOLUTION, "not started: the run's deadline has passed",
                                     extra={"deadline": "not started"})
            opts["time_limit"] = min(opts.get("time_limit", math.inf), budget)
        start = time.perf_counter()
        self._started = start
        self._limit = opts.get("time_limit") if self.option_names.get("time_limit") not in raw else None
        self._keep = keep
        if self._kept is not None and (not keep or self._kept[0] is not model):
            self._kept = None
        threads = opts.get("threads", 1)
        unused = threads > 1 and not self.has(Feature.THREADS)
        if unused:
            _note_once(one_thread(self.name, threads))
        unseeded = "seed" in opts and not self.has(Feature.SEED)
        if unseeded:
            _note_once(no_seed(self.name, opts["seed"]))
        with stop_on_signals(self._on_signal) as got:
            out = self._solve_checked(model, opts, warm_start and self.has(Feature.WARM_START), tee, raw)
        if unused:
            out.extra["threads_unused"] = one_thread(self.name, threads)
        if unseeded:
            out.extra["seed_unused"] = no_seed(self.name, opts["seed"])
        out.wall_time = time.perf_counter() - start
        self._check_overrun(out, opts.get("time_limit"))
        if out.termination is Termination.INTERRUPTED and not got and _depth > 0:
            _received.append(signal.SIGINT)  # the solver caught Ctrl-C itself (SCIP): stop the methods around it
        if got and out.termination not in (Termination.OPTIMAL, Termination.INFEASIBLE):
            out.termination = Termination.INTERRUPTED
        if got:
            out.extra["interrupted"] = signal.Signals(got[0]).name
        elif out.termination is Termination.INTERRUPTED:
            out.extra["interrupted"] = "SIGINT (caught by the solver)"  # the only signal solvers catch
        if out.termination in (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT) and not out.has_solution:
            out.extra["limit_reached"] = str(out.termination)  # the solver's word that a limit, not the search, ended it
            out.termination = Termination.NO_SOLUTION
        self._check_optimal(out, self.requested_gap(opts, raw))
        if out.termination is Termination.ERROR:
            _record_failure(out.extra.get("solver_error") or f"solver {self.name} ended in error (status {out.status})")
        return out

    def built_in(self) -> bool:
        """Whether this adapter is one optdist ships (its class is, not a subclass: a user's
        ``class Mine(Highs)``, registered or given to one call, is a user adapter)."""
        from optdist.solvers import ADAPTERS, BUILT_IN

        return any(type(self) is ADAPTERS[name] for name in BUILT_IN)

    def bound_checked(self) -> bool:
        """Whether a run's bound claimed by this adapter is checked against a greedy placement
        (:func:`optdist.milp.run.refute_checked_bound`): a user adapter's (not :meth:`built_in`)
        and a built-in one's whose class sets :attr:`checks_bound` (GLPK); not HiGHS, SCIP, CBC."""
        return type(self).checks_bound or not self.built_in()

    def adapter_text(self) -> str:
        """The adapter as messages name it: ``adapter ffo (mine.FirstFeasibleOptimal)``."""
        cls = type(self)
        return f"adapter {self.name} ({cls.__module__}.{cls.__qualname__})"

    def _solve_checked(self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool,
                       raw: dict[str, Any]) -> SolverOutcome:
        """:meth:`_solve`; for a user adapter (not :meth:`built_in`), one that raises (anything but
        :class:`SolverRefused`, a refusal with its own fix) or returns no :class:`SolverOutcome`
        is a failed solver call, as a crashed CBC is: termination ``error``, no incumbent, and
        ``extra["solver_error"]`` naming the adapter, what it did ("raised RuntimeError: boom",
        "returned dict, not SolverOutcome") and the fix, and so is a malformed one
        (:func:`outcome_problem`, naming the field); its incumbent and bound, any real numbers
        (``numpy.float32``), become floats; a NaN bound is no bound (``optimal`` read as
        ``feasible``), with a warning. A
        built-in adapter's exception propagates."""
        if self.built_in():
            return self._solve(model, opts, warm_start, tee, raw)
        try:
            out = self._solve(model, opts, warm_start, tee, raw)
        except SolverRefused:
            raise
        except Exception as e:  # the user's code: any exception is its failure, not optdist's
            return self._adapter_failed(f"raised {type(e).__name__}: {e}")
        if not isinstance(out, SolverOutcome):
            return self._adapter_failed(f"returned {type(out).__name__}, not SolverOutcome")
        if not isinstance(out.termination, Termination):
            return self._adapter_failed(f"returned a SolverOutcome whose termination is "
                                        f"{_typed(out.termination)}, not an optdist.result.Termination")
        if (problem := outcome_problem(out)) is not None:
            return self._adapter_failed(*problem)
        # a numpy.float32 or Fraction as a float (a float32 was the run's objective, its NaN bound kept)
        out.incumbent, out.bound = (None if v is None else float(v) for v in (out.incumbent, out.bound))
        if isinstance(out.bound, float) and math.isnan(out.bound):  # no bound, said (verify33: it went unsaid)
            from optdist.result import add_warning

            add_warning(out.extra, f"{self.adapter_text()} returned the bound NaN: read as no bound, so no "
                                   "optimality is proven (fix: return bound=None where the solver proved none)")
            out.bound = None
            if out.termination is Termination.OPTIMAL:  # an optimum without a bound is not proven
                out.termination = Termination.FEASIBLE
        return out

    def _adapter_failed(self, what: str, fix: str = "make its _solve return an optdist.solvers.SolverOutcome, e.g. "
                        "SolverOutcome(Termination.FEASIBLE, \"stopped\", incumbent=..., has_solution=True), "
                        "without raising") -> SolverOutcome:
        """The outcome of a user adapter's :meth:`_solve` that did ``what`` instead of returning a
        well-formed :class:`SolverOutcome` (:meth:`_solve_checked`; ``fix``: what to change, by
        default to return one without raising): termination ``error``, its
        ``extra["solver_error"]`` an :class:`AdapterFailure`."""
        why = AdapterFailure(
            f"solver {self.name} failed: {self.adapter_text()} {what}, so the solve has no result, and this is "
            f"not optdist's doing (fix: {fix}; or try a built-in solver, e.g. --solver highs)")
        return SolverOutcome(Termination.ERROR, f"adapter failed: {what}", extra={"solver_error": why})

    def _check_overrun(self, out: SolverOutcome, limit: float | None) -> None:
        """A user adapter (not :meth:`built_in`) is trusted to honour its time limit ``limit`` (s,
        ``opts["time_limit"]``; None: none): an in-process call cannot be stopped. One that ran past
        it by more than :data:`OVERRUN_GRACE_S` (or its :attr:`stop_lag`) gets a warning
        (``extra["warning"]``) naming it, how long it ran and the fix. Built-in adapters are
        stopped at their limit (their watchdogs), so are not checked here."""
        from optdist.result import add_warning

        if limit is None or self.built_in() or out.wall_time <= limit + max(OVERRUN_GRACE_S, self.stop_lag):
            return
        add_warning(out.extra, f"{self.adapter_text()} ran {out.wall_time:.1f} s with a {limit:.3g}-s limit (fix: "
                               "make it honour opts['time_limit'], the seconds it is given, e.g. by handing it to "
                               "its solver's own time limit; optdist cannot stop an adapter's Python code)")

    def requested_gap(self, opts: Mapping[str, Any], raw: Mapping[str, Any]) -> float | None:
        """The relative gap the solver was asked to close: one given raw under the solver's own
        name for ``mip_gap`` (HiGHS ``mip_rel_gap``, SCIP ``limits/gap``) overrides the generic one
        inside the solver, so it is the one :meth:`_check_optimal` holds ``optimal`` to (before, a
        raw ``mip_rel_gap=0.9`` run that closed 0.9 was ``feasible`` and ``--gap 0.9`` ``optimal``;
        :func:`optdist.milp.solve.record_raw_options` records it in ``options['mip_gap']`` likewise)."""
        native = self.option_names.get("mip_gap")
        given = raw[native] if native is not None and native in raw else opts.get("mip_gap")
        try:
            return None if given is None else float(given)
        except (TypeError, ValueError):
            return opts.get("mip_gap")

    def gap_conflict(self, mip_gap: Any, solver_options: Mapping[str, Any] | None = None, *,
                     given: str | None = None, cli: bool = False, raw_taken: bool = True) -> str | None:
        """Why the relative gap ``mip_gap`` given as such (``--gap``, ``mip_gap=``; None: not given)
        cannot be run with the raw options, else None: the one rule for two gaps. A raw gap under
        the solver's own name (HiGHS ``mip_rel_gap``, SCIP ``limits/gap``), the user's
        ``solver_options`` (``--solver-option``) over the profile's ``[solver_options]``, overrides
        ``mip_gap`` inside the solver (:meth:`requested_gap`), so one of another value would win
        silently: the message names both, where the raw one was given (``given``: its text as
        typed, default its value) and the fix, in the caller's words: the Python API's
        ``mip_gap=`` and ``solver_options=`` (default), the command line's ``--gap`` and
        ``--solver-option`` with ``cli``; ``raw_taken`` False: the caller takes no raw options, so
        the fix offers none. The same value both ways is one gap (None).
        Called by :func:`optdist.milp.solve.solve_milp` (ValueError),
        :func:`optdist.milp.pareto.pareto_sweep` (ValueError) and ``optdist solve`` before its run
        (``cli``, exit 2); a profile whose own ``[options] mip_gap`` differs from its own raw gap
        is refused when it is read (:meth:`__init__`, :func:`optdist.solvers.get_solver`)."""
        native = self.option_names.get("mip_gap")
        user = dict(solver_options or {})
        raw = {**self.solver_options, **user}
        if mip_gap is None or native is None or native not in raw:
            return None
        try:
            wanted = float(mip_gap)
        except (TypeError, ValueError):
            return None  # not a gap: check_options says so
        if self.requested_gap({"mip_gap": wanted}, raw) == wanted:
            return None
        text = given if given is not None and native in user else f"{raw[native]:g}" if isinstance(
            raw[native], (int, float)) else str(raw[native])
        label = self.name if self.profile is None else self.profile.name
        gap = f"--gap {wanted:g}" if cli else f"mip_gap={wanted:g}"

        def raw_given(value: str) -> str:
            return f"--solver-option {native}={value}" if cli else f"solver_options={{{native!r}: {value}}}"

        if native in user:
            where = raw_given(text)
            fix = (f"give it once, e.g. --gap {text}" if cli else
                   f"give it once, e.g. mip_gap={text} without {native!r} in solver_options")
        else:
            path = self.profile.path if self.profile is not None else None
            where = f"{native} = {text} in the [solver_options] of solver profile {label}" + (
                f" ({path})" if path is not None else "")
            fix = (f"give it once: leave {'--gap' if cli else 'mip_gap='} out to run the profile's {text}, or remove "
                   f"{native} from the profile's [solver_options]" + (
                       f", or give {raw_given(f'{wanted:g}')} to override it" if raw_taken else ""))
        return f"{gap} and {where} both set the relative gap of solver {label}, to different values (fix: {fix})"

    def _own_gap_conflict(self) -> str | None:
        """Why this adapter's own defaults cannot run (a profile's ``[options] mip_gap`` beside a
        different raw gap in its own ``[solver_options]``: the raw one would win inside the solver,
        silently), else None: the rule of :meth:`gap_conflict`, for one file."""
        native = self.option_names.get("mip_gap")
        if "mip_gap" not in self.defaults or native is None or native not in self.solver_options:
            return None
        wanted = float(self.defaults["mip_gap"])
        if self.requested_gap({"mip_gap": wanted}, self.solver_options) == wanted:
            return None
        value = self.solver_options[native]
        text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
        return (f"mip_gap = {wanted:g} in [options] and {native} = {text} in [solver_options] both set the relative "
                f"gap of solver {self.name}, to different values (fix: give it once: remove mip_gap from [options] "
                f"to run {text}, or {native} from [solver_options] to run {wanted:g})")

    def limit_left(self) -> float | None:
        """Seconds of this solve's time limit left now (at least :data:`MIN_SOLVER_S`); None
        without a limit, or with one given raw under the solver's own name (then the user's words).

        The limit covers loading the model (Pyomo's build of the solver's model, writing the file
        a shell solver reads: seconds on large models), whatever the solver's own clock counts:
        each adapter hands the solver this value at the last moment before its clock starts
        (:meth:`ContribSolver._solve` after :meth:`ContribSolver._prepare`; SCIP just before it
        optimises; shell solvers as their command line is written, after the model file), so a
        solve returns within its limit plus the solver's own overrun and the read-back.
        """
        if self._limit is None:
            return None
        return max(self._limit - (time.perf_counter() - self._started), MIN_SOLVER_S)

    def release(self) -> None:
        """Drop the model kept loaded by ``solve(keep=True)`` (and the solver's copy of it)."""
        self._kept = None

    def _check_optimal(self, out: SolverOutcome, mip_gap: float | None) -> None:
        """``optimal`` only if the proven bound closes the requested gap on the incumbent both
        ways (:func:`optdist.result.closes_gap`, the one home of the rule, in the model's objective
        units with this adapter's :attr:`abs_gap`): the bound proves the incumbent within
        ``mip_gap``, and the incumbent does not refute the bound (a bound above the incumbent
        beyond the same tolerance is a false claim, no proof: the rule with the two swapped).
        Otherwise ``feasible``, the bound kept and ``extra["optimality_unproven"]`` saying why.
        A solver that gives no bound keeps its word (the bound becomes the incumbent)."""
        if out.termination is not Termination.OPTIMAL or not out.has_solution:
            return
        if out.bound is None:
            out.bound = out.incumbent  # solvers that give no bound: their word (see Feature.BOUND)
            return
        if out.incumbent is None:
            return
        requested = mip_gap or 0.0
        if (closes_gap(out.incumbent, out.bound, requested, self.abs_gap)
                and closes_gap(out.bound, out.incumbent, requested, self.abs_gap)):
            return
        g = gap(out.incumbent, out.bound)
        allowed = max(requested, GAP_EPS)
        out.extra["optimality_unproven"] = (
            f"{self.name} said optimal but its proven bound {out.bound:.9g} "
            + ("is not finite" if g is None else
               f"is above its incumbent {out.incumbent:.9g} (a gap of {g:.3g})" if out.bound > out.incumbent else
               f"leaves a gap of {g:.3g} > the requested {allowed:.3g}"))
        out.termination = Termination.FEASIBLE

    def _on_signal(self, signum: int) -> None:
        """First SIGINT/SIGTERM of a solve: ask the running solver to stop (adapters override)."""
        self._stop_requested = True

    @abstractmethod
    def _solve(
        self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]
    ) -> SolverOutcome: ...

    def raw_options(self, opts: dict[str, Any], generic: tuple[str, ...], raw: Mapping[str, Any]) -> dict[str, Any]:
        """Generic options in ``generic`` renamed to the solver's names, then the raw options over them."""
        out = {self.option_names[k]: self.native_value(k, opts[k]) for k in generic if k in opts and k in self.option_names}
        out.update(raw)
        return out

    def native_value(self, option: str, value: Any) -> Any:
        """A generic option's value as the solver wants it (override for e.g. integer seconds)."""
        return value


#: terminations no solver gives: ``violated`` is the evaluator's verdict on a placement, and a
#: latency (with any admission penalty) is never below 0, so no model of MODEL.md is unbounded
NOT_A_SOLVERS_WORD = frozenset({Termination.VIOLATED, Termination.UNBOUNDED})
#: keys of a result's ``extra`` that record optdist's checks of an answer (a capped bound, a claim
#: refuted or discarded): an adapter's ``extra``, merged into the result's, may not set them
#: (:func:`outcome_problem`; ``bound_capped = "oops"`` was a TypeError in finalize)
CHECK_RECORDS = frozenset({"bound_capped", "claimed_bound", "claimed_objective", "claimed_termination", "claim_refuted",
                           "invalid_solution", "objective_mismatch", "optimality_unproven"})
#: terminations that say the solve has no solution (:func:`outcome_problem`)
WITHOUT_SOLUTION = frozenset({Termination.INFEASIBLE, Termination.NO_SOLUTION, Termination.ERROR})


def _typed(value: Any) -> str:
    """A value an adapter returned, with its type: ``'0.001' (str)``."""
    return f"'{value}' ({type(value).__name__})"


def outcome_problem(out: SolverOutcome) -> tuple[str, str] | None:
    """What is wrong with a user adapter's :class:`SolverOutcome` ``out`` (its termination an
    optdist :class:`~optdist.result.Termination`), as ``(what it returned, the fix)`` for
    :meth:`Solver._adapter_failed`, or None: ``incumbent`` and ``bound`` must be numbers or None
    (a bound may be infinite; NaN, no bound, :meth:`Solver._solve_checked` reads as None), the
    incumbent of a loaded solution (``has_solution``) a finite one (model units), ``nodes`` a whole
    number >= 0 or None, ``extra`` a dict without optdist's :data:`CHECK_RECORDS`; a termination of :data:`NOT_A_SOLVERS_WORD` is none a
    solver gives, and one of :data:`WITHOUT_SOLUTION` comes without a loaded solution (before:
    ``infeasible`` beside a feasible placement was reported ``infeasible``; a NaN or infinite
    incumbent became the run's objective; a text bound or node count a TypeError)."""
    said = "returned a SolverOutcome whose"
    for key in ("incumbent", "bound"):
        value = getattr(out, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            return (f"{said} {key} is {_typed(value)}, not a number",
                    f"return {key}=a float in the model's objective units, or None where there is none")
    if out.has_solution and (out.incumbent is None or number_problem(out.incumbent) is not None):
        return (f"{said} has_solution=True with the incumbent {out.incumbent}",
                "return incumbent=the finite objective value of the solution loaded into the model's variables, "
                "or has_solution=False where none was loaded")
    if out.nodes is not None and number_problem(out.nodes, whole=True, within=lambda n: n >= 0) is not None:
        return (f"{said} nodes is {_typed(out.nodes)}, not a whole number >= 0",
                "return nodes=the solver's node count, an int, or None")
    if not isinstance(out.extra, dict):
        return f"{said} extra is {_typed(out.extra)}, not a dict", "return extra={} or a dict of notes"
    if taken := sorted(CHECK_RECORDS & set(out.extra)):
        return (f"{said} extra sets {quoted(taken)}, the record{'s' if len(taken) > 1 else ''} of "
                "optdist's own checks of an answer", "leave it out of extra; give the adapter's own notes other names")
    if out.termination in NOT_A_SOLVERS_WORD:
        return (f"{said} termination is {out.termination}, which no solver says (the evaluator judges violations; "
                "no placement's latency is below 0)",
                "return Termination.OPTIMAL, FEASIBLE, TIME_LIMIT, ITERATION_LIMIT, INFEASIBLE, NO_SOLUTION, "
                "INTERRUPTED or ERROR")
    if out.has_solution and out.termination in WITHOUT_SOLUTION:
        return (f"{said} termination is {out.termination} with has_solution=True, a solution loaded",
                f"return has_solution=False with {out.termination}, or the termination of the solution found, "
                "e.g. Termination.FEASIBLE")
    return None


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


#: seconds a solver keeps at least when loading the model took its whole time limit (it then
#: reports what it has: a MIP start, or nothing)
MIN_SOLVER_S = 0.05

#: a solve still running this long past its time limit (seconds: max(GRACE_S, GRACE * limit)) is
#: stopped by optdist's own clock (HiGHS: cancelled; a shell solver: its process is stopped);
#: measured overruns: HiGHS on the 10,000-segment DAG models 14 s on a 146 s limit, 22 s on 26 s;
#: CBC reading the 63-MB LP file of lenet-10x70-tight's compact model: minutes, before its clock starts
GRACE, GRACE_S = 0.05, 1.0

def watchdog(left: float | None, limit: float | None, stop_lag: float,
             action: Callable[[], None]) -> threading.Timer | None:
    """A started daemon timer that runs ``action`` (the adapter's stop) :data:`GRACE` past a time
    limit of which ``left`` seconds remain now (``limit``: the whole limit, which sets the grace),
    or at the run's deadline (:func:`run_deadline`) less ``stop_lag`` if that comes first; None
    without either. A huge limit waits at most ``threading.TIMEOUT_MAX`` (no overflow)."""
    waits = [] if left is None or limit is None else [left + max(GRACE_S, GRACE * limit)]
    until_deadline = deadline_left()
    if until_deadline is not None:
        waits.append(until_deadline - stop_lag)
    if not waits:
        return None
    timer = threading.Timer(min(max(min(waits), 0.0), threading.TIMEOUT_MAX), action)
    timer.daemon = True
    timer.start()
    return timer


#: ``pyomo.contrib.solver`` AutoUpdateConfig switches: what a persistent solve checks for changes
AUTO_UPDATES = ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                "update_vars", "update_parameters", "update_named_expressions", "update_objective")


class ContribSolver(Solver):
    """Back end: ``pyomo.contrib.solver`` (typed ``time_limit``/``rel_gap``/``threads``)."""

    #: generic options that go in as raw solver options (the rest are typed config)
    raw_generic: ClassVar[tuple[str, ...]] = ("seed",)

    @classmethod
    def _check_available(cls) -> bool:
        from pyomo.contrib.solver.common.factory import SolverFactory

        return bool(SolverFactory(cls.pyomo_name).available())  # Availability: > 0 means usable

    def _solver(self) -> Any:
        from pyomo.contrib.solver.common.factory import SolverFactory

        return SolverFactory(self.pyomo_name)

    def _config(self, opts: dict[str, Any], tee: bool, raw: dict[str, Any]) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "load_solutions": False,
            "raise_exception_on_nonoptimal_result": False,
            "tee": tee,
            "solver_options": self.raw_options(opts, self.raw_generic, raw),
        }
        if "time_limit" in opts:
            cfg["time_limit"] = self.native_value("time_limit", float(opts["time_limit"]))
        if "mip_gap" in opts:
            cfg["rel_gap"] = float(opts["mip_gap"])
        if "threads" in opts and self.has(Feature.THREADS) and "threads" not in self.raw_generic:
            cfg["threads"] = int(opts["threads"])
        return cfg

    def _solve(
        self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]
    ) -> SolverOutcome:
        from pyomo.contrib.solver.common.base import PersistentSolverBase

        cfg = self._config(opts, tee, raw)
        kept, self._kept = self._kept, None  # kept again only if this solve returns
        if kept is not None:  # the same model, kept loaded: send only what changed
            opt = kept[1]
            self._reprepare(opt, model, tee)
            cfg["auto_updates"] = dict.fromkeys(AUTO_UPDATES, False)  # sent just now
        else:
            opt = self._solver()
            if self._prepare(opt, model):  # loaded just now: nothing to send (an update drops a MIP start)
                cfg["auto_updates"] = dict.fromkeys(AUTO_UPDATES, False)
        if warm_start:
            self._warm_start(opt, model, cfg)
        left = self.limit_left()
        if left is not None:  # the limit covers loading the model (large models take seconds)
            cfg["time_limit"] = self.native_value("time_limit", left)
        res = opt.solve(model, **cfg)
        if self._keep and isinstance(opt, PersistentSolverBase):
            self._kept = (model, opt)
        has = res.incumbent_objective is not None
        if has:
            res.solution_loader.load_vars()
        return SolverOutcome(
            termination=contrib_termination(res.termination_condition),
            status=f"{res.termination_condition.name}/{res.solution_status.name}",
            incumbent=_finite(res.incumbent_objective),
            bound=_finite(res.objective_bound),
            has_solution=has,
            nodes=self._nodes(opt, res),
            version=".".join(map(str, opt.version())),
        )

    def _prepare(self, opt: Any, model: pyo.ConcreteModel) -> bool:
        """Before the solve (e.g. load the model and keep a handle to stop it); default nothing.
        Returns True when it loaded ``model`` into ``opt``: the solve then sends no update, which
        would also drop a MIP start set after the load (HiGHS discards it on any model change,
        and an update re-sends every mutable parameter's rows)."""
        return False

    def _reprepare(self, opt: Any, model: pyo.ConcreteModel, tee: bool) -> None:
        """Before the solve of a model kept loaded in the persistent ``opt``: send the changes
        (``PersistentSolverBase.update``, every kind of change checked), so that a warm start is
        set on the updated model; the solver's messages shown only with ``tee`` (as a load's)."""
        import sys

        from pyomo.common.tee import TeeStream, capture_output

        with capture_output(TeeStream(*([sys.stdout] if tee else [])), capture_fd=True):
            opt.update()

    def _warm_start(self, opt: Any, model: pyo.ConcreteModel, cfg: dict[str, Any]) -> None:
        cfg["warmstart_discrete_vars"] = True

    def _nodes(self, opt: Any, res: Any) -> int | None:
        n = getattr(res.extra_info, "mip_node_count", None)
        return None if n is None or n < 0 else int(n)


def contrib_termination(tc: Any) -> Termination:
    """``pyomo.contrib.solver`` TerminationCondition -> :class:`Termination`.

    ``infeasibleOrUnbounded`` reads as infeasible: every optdist objective is bounded below by 0.
    """
    name = tc.name
    return {
        "convergenceCriteriaSatisfied": Termination.OPTIMAL,
        "maxTimeLimit": Termination.TIME_LIMIT,
        "iterationLimit": Termination.ITERATION_LIMIT,
        "objectiveLimit": Termination.ITERATION_LIMIT,
        "provenInfeasible": Termination.INFEASIBLE,
        "locallyInfeasible": Termination.INFEASIBLE,
        "infeasibleOrUnbounded": Termination.INFEASIBLE,
        "unbounded": Termination.UNBOUNDED,
        "interrupted": Termination.INTERRUPTED,  # the solver caught the user's interrupt (SCIP: SIGINT)
    }.get(name, Termination.ERROR)


def overran_note(at: float, why: str | None = None, started: float | None = None) -> str:
    """``extra["cancelled"]`` of a shell or SCIP solve the watchdog stopped at ``at`` (``perf_counter``; as HiGHS's).

    With ``why`` (:func:`watch_words`: which of the two stops it was) and ``started`` (the solve's
    start), it says when in the solve and why, so that its numbers agree with ``solve_s``: at the
    run's deadline the stop comes with no grace, as the solve's limit (the deadline less the stop
    lag) ends; only past the solve's own limit does it wait a grace (before, every note said the
    grace, a 1.41-s solve "stopped at its time limit" of 1.77 s: the CLI's limit, not the solve's)."""
    back = f"returned {time.perf_counter() - at:.2f} s later"
    if why is None or started is None:
        return (f"at its time limit or the run's deadline (the solver had not returned max({GRACE_S:g} s, "
                f"{GRACE:.0%} of the limit) past it); {back}")
    return f"stopped by optdist {why}; the stop reached it {at - started:.2f} s into the solve; it {back}"


def watch_words(left: float | None, limit: float | None, stop_lag: float) -> str | None:
    """Which stop the :func:`watchdog` given the same ``left``, ``limit`` and ``stop_lag`` makes,
    in words for :func:`overran_note`: at the run's deadline (less ``stop_lag``), or :data:`GRACE`
    past the solve's time limit; None without either."""
    own = None if left is None or limit is None else left + max(GRACE_S, GRACE * limit)
    until_deadline = deadline_left()
    at_deadline = None if until_deadline is None else until_deadline - stop_lag
    if at_deadline is not None and (own is None or at_deadline <= own):
        shown = f"this solve's {limit:.2f}-s limit" if limit is not None else "this solve"
        return (f"at the run's deadline less the solver's {stop_lag:g}-s stop lag, which ends {shown} "
                "(no grace past it there: the deadline bounds the run)")
    if own is None:
        return None
    return (f"{max(GRACE_S, GRACE * limit):g} s past its {limit:.2f}-s time limit (the grace: max({GRACE_S:g} s, "
            f"{GRACE:.0%} of the limit)), the solver not having returned by then")


def _cancelled(overran: list[float], procs: SolverProcesses) -> bool:
    """Whether the watchdog stopped a shell solve: it asked the stop (``overran``) and a signal
    reached a solver process still running (not when the solver had ended at its own limit and the
    timer fired while Pyomo read the solution back)."""
    return bool(overran) and procs.signalled_at is not None


class LegacySolver(Solver):
    """Back end: ``pyomo.environ.SolverFactory`` (shell or direct plugins, ``results.problem`` bounds).

    A shell solver's outcome says where its time went: ``extra["phases_s"]`` = seconds writing
    the model file (from the solve's call), running the solver process, and reading the
    solution back (to the return; absent when the solver was stopped before it wrote one).
    """

    _procs: SolverProcesses | None = None  # the shell solver processes of the solve running

    @classmethod
    def _check_available(cls) -> bool:
        return bool(pyo.SolverFactory(cls.pyomo_name).available(exception_flag=False))

    #: seconds a solver process gets to stop after the first SIGINT/SIGTERM (it is sent SIGINT
    #: every :data:`~optdist.solvers.subprocesses.RESEND_S` meanwhile) before it is SIGKILLed
    #: and the solve ends without its incumbent; 0: killed at once (a solver that cannot be
    #: asked to stop, e.g. ``glpsol``)
    stop_grace: ClassVar[float] = 0.0

    def _on_signal(self, signum: int) -> None:
        """Ask the solver process to stop (:meth:`SolverProcesses.stop`: SIGINT, then SIGKILL
        after :attr:`stop_grace`); also one started later in this solve."""
        super()._on_signal(signum)
        if self._procs is not None:
            self._procs.stop(self.stop_grace)

    def _watchdog(self, procs: SolverProcesses, overran: list[float], raw: dict[str, Any]) -> threading.Timer | None:
        """A timer that stops ``procs``, this solve's processes (:meth:`SolverProcesses.stop`: SIGINT,
        SIGKILL after :attr:`stop_grace`), :data:`GRACE` past the solve's time limit (the generic
        one, or one given in ``raw`` under the solver's own name: seconds for every shell solver
        here), or at the run's deadline less :attr:`stop_lag` if that comes first, having appended
        the time (``perf_counter``) to ``overran`` if its stop is the one asked (not after a
        signal's, nor once the solve has ended); None without either. A shell solver's clock starts
        only once it has read the model file (CBC reads a 63-MB LP file for minutes, ignoring
        ``-seconds``), so its own limit does not bound the solve. Both are bound now, not read from
        ``self`` when it fires: an action that runs after its solve returned (``Timer.cancel``
        cannot stop one already started) then stops nothing, and marks no later solve."""
        def stop() -> None:
            # recorded inside procs.stop, before its signals: the solver may die, and the solve
            # return, before procs.stop returns here (before scip21 it was recorded ahead and taken
            # back after a signal's stop: a solve ending in between said the watchdog had stopped it)
            procs.stop(self.stop_grace, lambda: overran.append(time.perf_counter()))

        limit, name = self._limit, self.option_names.get("time_limit")
        if limit is None and name in raw:
            limit = float(raw[name])  # range-checked as the generic limit (Solver._check_value)
        left = None if limit is None else self._started + limit - time.perf_counter()
        self._watch_why = watch_words(left, limit, self.stop_lag)
        return watchdog(left, limit, self.stop_lag, stop)

    def _overran_note(self, at: float) -> str:
        """:func:`overran_note` of this solve's watchdog stop at ``at``: when and why (:func:`watch_words`)."""
        return overran_note(at, getattr(self, "_watch_why", None), self._started)

    def _solve(
        self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]
    ) -> SolverOutcome:
        import tempfile

        from pyomo.common.errors import ApplicationError
        from pyomo.common.tempfiles import TempfileManager
        from pyomo.opt import SolutionStatus, TerminationCondition

        opt = pyo.SolverFactory(self.pyomo_name)
        self._limit_at_start(opt)
        kwargs: dict[str, Any] = {"load_solutions": False, "tee": tee, "options": self.raw_options(opts, GENERIC_OPTIONS, raw)}
        if warm_start:
            kwargs["warmstart"] = True
        # the model, solution and log files live in a private folder, removed whatever happens
        saved = TempfileManager.tempdir
        overran: list[float] = []  # when this solve's watchdog stopped it (perf_counter)
        watchdog = None
        with tempfile.TemporaryDirectory(prefix=f"optdist-{self.name}-") as tmp:
            TempfileManager.tempdir = tmp
            try:
                with solver_dies_with_parent() as procs:  # a SIGKILL of this process ends the solver too
                    self._procs = procs
                    if self._stop_requested:  # the signal came before the block
                        procs.stop(self.stop_grace)
                    watchdog = self._watchdog(procs, overran, raw)
                    # Pyomo's ERROR report of a solver process's exit status (and its whole log) is
                    # noise: the outcome says it (_died); it passes only where raw options may be the
                    # cause (raw_failure: the log tells which)
                    with dropped_messages("pyomo.opt", _NONZERO_RETURN_CODE,
                                          lambda: procs.signalled_at is not None or not raw):
                        res = opt.solve(model, **kwargs)
            except ApplicationError as e:
                phases = self._phases(procs, read=False)  # no solution to read back
                if self._stop_requested or _cancelled(overran, procs):
                    # killed past its grace: no solution file; what its log reported is kept (CBC: its
                    # bound, and the value of the incumbent it lost: _killed)
                    out = self._killed(opt)
                    out.extra.update(phases)
                    if self._stop_requested:
                        out.termination, out.status = Termination.INTERRUPTED, f"stopped by a signal: {e}"
                    else:
                        out.termination = Termination.NO_SOLUTION  # killed: no solution file, nothing loaded
                        out.status = f"stopped past its time limit: {e}"
                        out.extra["cancelled"] = self._overran_note(overran[0])
                    return out
                rc = getattr(opt, "_rc", None)  # the process's exit status (shell solvers; negative: a signal)
                if raw and not (isinstance(rc, int) and rc < 0):  # a signal's death is not the options'
                    raise self.raw_failure(raw, e) from e
                return SolverOutcome(Termination.ERROR, f"ended abnormally: {e}",
                                     extra={"solver_error": self._died(rc), **phases})
            except (ValueError, TypeError) as e:  # Pyomo could not run it or read its answer (a broken install)
                why = self._no_result(opt, e)
                if why is None:
                    raise
                return SolverOutcome(Termination.ERROR, f"no result: {e}",
                                     extra={"solver_error": why, **self._phases(procs, read=False)})
            finally:
                if watchdog is not None:
                    watchdog.cancel()
                TempfileManager.tempdir = saved
                self._procs = None
        refused = self._raw_refused(opt) if raw else None
        if refused:
            raise self.raw_failure(raw, refused)
        tc = res.solver.termination_condition
        usable = (SolutionStatus.optimal, SolutionStatus.feasible, SolutionStatus.bestSoFar, SolutionStatus.stoppedByLimit)
        has = any(s.status in usable for s in res.solution)
        if has and hasattr(opt, "load_vars"):
            opt.load_vars()  # direct plugins: straight from the solver (xpress_direct's name map is unreliable)
        elif has:
            load_results(model, res)
        incumbent = float(pyo.value(model.obj)) if has else None  # full precision, not the log's digits
        term = {
            TerminationCondition.optimal: Termination.OPTIMAL,
            TerminationCondition.globallyOptimal: Termination.OPTIMAL,
            TerminationCondition.maxTimeLimit: Termination.TIME_LIMIT,
            TerminationCondition.maxIterations: Termination.ITERATION_LIMIT,
            TerminationCondition.maxEvaluations: Termination.ITERATION_LIMIT,
            TerminationCondition.infeasible: Termination.INFEASIBLE,
            TerminationCondition.infeasibleOrUnbounded: Termination.INFEASIBLE,
            TerminationCondition.unbounded: Termination.UNBOUNDED,
            TerminationCondition.userInterrupt: Termination.INTERRUPTED,
        }.get(tc, Termination.ERROR)
        extra: dict[str, Any] = {}
        read = term  # as Pyomo read the solver's status
        stopped_by = self._stopped_by(opt, term)
        if stopped_by is not None and stopped_by is not term:  # e.g. CBC's "Stopped on iterations" at its time limit
            extra["solver_said"] = f"{res.solver.status}/{tc}"
            term = stopped_by
        if term is Termination.ERROR and has and self._stopped_within_gap(opt):
            term = Termination.OPTIMAL  # within the requested gap (GLPK says 'feasible'); _check_optimal checks
        elif term is Termination.ERROR and self._hit_time_limit(opt, res, opts):
            term = Termination.TIME_LIMIT  # e.g. GLPK says 'feasible' at its time limit; CBC 'error' with no incumbent
        doubt = self._infeasibility_unproven(opt) if term is Termination.INFEASIBLE else None
        if doubt:  # e.g. CBC's preprocessing stopped by its time limit says 'infeasible'
            term, extra["claim_discarded"] = Termination.TIME_LIMIT, f"{self.name} said infeasible: {doubt}"
        bound = self._bound(opt, res, incumbent)
        cancelled = _cancelled(overran, procs)
        if cancelled:
            extra["cancelled"] = self._overran_note(overran[0])
            if term not in (Termination.OPTIMAL, Termination.INFEASIBLE) and not self._stop_requested:
                term = Termination.TIME_LIMIT  # the solver says 'interrupted': it was our clock
        if term is not read and tc is not TerminationCondition.maxTimeLimit:
            # optdist's word for the stop, Pyomo's beside it (e.g. CBC at its time limit without an
            # incumbent: 'aborted/intermediateNonInteger', which the run printed as the detail)
            extra.setdefault("solver_said", f"{res.solver.status}/{tc}")
        if term is Termination.TIME_LIMIT:
            extra["stopped_by"] = ("optdist's watchdog (see cancelled)" if cancelled
                                   else f"{self.name}'s own time limit")
        extra.update(self._phases(procs, read=True))
        if term is Termination.ERROR:
            extra["solver_error"] = self._failure(opt) or (
                f"{self.name} ended with status {res.solver.status}/{tc}: "
                + ("a placement without a proof of its quality" if has else "neither a placement nor a proof")
                + " (fix: --tee shows the solver's log; or try another solver, e.g. --solver highs)")
        return SolverOutcome(
            termination=term,
            status=f"{res.solver.status}/{tc}" if "solver_said" not in extra else f"{res.solver.status}/{term}",
            incumbent=incumbent,
            bound=bound,
            has_solution=has,
            nodes=self._nodes(res),
            version=".".join(map(str, opt.version() or ())) or None,
            extra=extra,
        )

    def _stopped_by(self, opt: Any, term: Termination) -> Termination | None:
        """What stopped the solver where its log says otherwise than the status Pyomo read (e.g. CBC's
        solution file says "Stopped on iterations" at its time limit: :func:`optdist.solvers.cbc.stopped_by`);
        None (default): the status as read. The outcome's status then names this termination, with
        ``extra["solver_said"]`` keeping what Pyomo read."""
        return None

    def _killed(self, opt: Any) -> SolverOutcome:
        """The outcome of a solve whose solver was killed after a stop was asked (past its grace: no
        solution file), from what its log (``opt._log``, which Pyomo keeps) had reported (default:
        nothing; CBC: :meth:`optdist.solvers.cbc.Cbc._killed`). The caller sets the termination and
        status. It never has a solution (``has_solution`` stays False): the killed solver wrote no
        solution file and nothing was loaded into the model, so a stop past the time limit is
        ``no_solution`` (the run keeps a warm start, :func:`optdist.milp.run._keep_warm_start`)."""
        return SolverOutcome(Termination.NO_SOLUTION, "")

    def _no_result(self, opt: Any, error: BaseException) -> str | None:
        """``extra["solver_error"]`` of a solve that Pyomo could not start or whose answer it could
        not read (``error``, raised inside ``opt.solve``: e.g. a solver that exits 0 without writing
        a solution, or answers no ``--version``), naming the solver, what went wrong and the fix;
        None (default): not such a case, ``error`` is raised (adapters whose binary can fail so override)."""
        return None

    def _died(self, rc: int | None) -> str:
        """``extra["solver_error"]`` of a solve whose solver ended abnormally on its own or by someone
        else's hand (Pyomo's ``ApplicationError``: e.g. ``kill -9`` of the process, the kernel's OOM
        killer): ``rc`` is its exit status (negative: killed by that signal; None: unknown). Names
        the solver, how it ended and what to try."""
        if isinstance(rc, int) and rc < 0:
            try:
                how = f"was killed by signal {signal.Signals(-rc).name} (exit status {rc})"
            except ValueError:
                how = f"was killed by signal {-rc} (exit status {rc})"
        elif isinstance(rc, int):
            how = f"exited with status {rc}"
        else:
            how = "did not exit normally"
        memory = "; a SIGKILL nobody sent is often the kernel's out-of-memory killer: check free memory" \
            if rc == -signal.SIGKILL else ""
        return (f"solver {self.name} ended abnormally: it {how} before reporting a result, so its "
                f"incumbent, if any, is lost (this is not optdist's doing; fix: rerun with --tee to see "
                f"its log, or try another solver, e.g. --solver highs{memory})")

    def _phases(self, procs: SolverProcesses, read: bool) -> dict[str, dict[str, float]]:
        """``{"phases_s": ...}``, where this solve's time went (seconds): writing the model file (from
        the solve's call to the first solver process), running the solver processes, and, if ``read``,
        reading the solution back (to now; a solver stopped before it wrote one has none); ``{}``
        when no solver process started."""
        if not procs.spans:
            return {}
        (first, _), (_, last) = procs.spans[0], procs.spans[-1]
        phases = {"write": first - self._started, "solver": last - first}
        if read:
            phases["read"] = time.perf_counter() - last
        return {"phases_s": phases}

    def _limit_at_start(self, opt: Any) -> None:
        """Make ``opt`` take the time left (:meth:`Solver.limit_left`) as its limit when the solver
        starts, after Pyomo wrote the model file (shell solvers: as it writes the command line,
        ``create_command_line``) or loaded it (direct plugins: as ``_apply_solver`` sets the options)."""
        name = self.option_names.get("time_limit")
        if name is None or self._limit is None:
            return
        hook = "create_command_line" if hasattr(opt, "create_command_line") else "_apply_solver"
        started = getattr(opt, hook)

        def start(*args: Any) -> Any:
            opt.options[name] = self.native_value("time_limit", self.limit_left())
            return started(*args)

        setattr(opt, hook, start)

    def _stopped_within_gap(self, opt: Any) -> bool:
        """Whether the solver stopped because its incumbent is within the requested gap of its
        bound though its status says otherwise (default: False; GLPK's log says so)."""
        return False

    def _failure(self, opt: Any) -> str | None:
        """Why a solve ended in ``error``, from the solver's log (default: None, the generic
        words; adapters whose log names the cause override)."""
        return None

    def _raw_refused(self, opt: Any) -> str | None:
        """What the solver said about raw options it refused but ran on without (default: None;
        CBC's log says 'No match for X')."""
        return None

    def _infeasibility_unproven(self, opt: Any) -> str | None:
        """Why the solver's claim that the model is infeasible is no proof (e.g. CBC's log: it
        stopped on its time limit); None (default) if nothing says so."""
        return None

    def _hit_time_limit(self, opt: Any, res: Any, opts: dict[str, Any]) -> bool:
        """Whether the solver stopped at its time limit: one was set and it kept a solution
        (adapters whose log says so override)."""
        from pyomo.opt import SolutionStatus

        if "time_limit" not in opts:
            return False
        usable = (SolutionStatus.feasible, SolutionStatus.bestSoFar, SolutionStatus.stoppedByLimit)
        return any(s.status in usable for s in res.solution)

    def _bound(self, opt: Any, res: Any, incumbent: float | None) -> float | None:
        """The proven lower bound (default: Pyomo's ``results.problem.lower_bound``)."""
        return _finite(res.problem.lower_bound)

    def _nodes(self, res: Any) -> int | None:
        try:
            n = res.solver.statistics.branch_and_bound.number_of_created_subproblems
        except AttributeError:
            return None
        return None if n is None or not isinstance(n, (int, float)) else int(n)
