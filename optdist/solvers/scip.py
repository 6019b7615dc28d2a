"""SCIP through pyscipopt and ``pyomo.contrib.solver`` (``scip_direct``).

Typical raw options: ``"limits/nodes" = 10000``, ``"presolving/maxrounds" = 0``,
``"display/verblevel" = 4``. SCIP solves on one thread (no :attr:`~optdist.solvers.base.Feature.THREADS`: ``threads`` > 1
says so, :func:`~optdist.solvers.base.one_thread`).

SIGINT/SIGTERM stop a solve with its incumbent and bound: SCIP solves through pyscipopt's
``optimizeNogil`` (Pyomo's ``scip_direct`` calls ``optimize``, which holds the GIL, so no Python
code ran until SCIP's own time limit), and a watcher thread woken by the signal
(:func:`optdist.solvers.base.stop_native_code_on_signals`) calls ``Model.interruptSolve``: SCIP
stops with status ``userinterrupt``. SIGINT SCIP also catches itself (``misc/catchctrlc``).

A solve still running :data:`~optdist.solvers.base.GRACE` past its time limit, or at the run's
deadline (:func:`~optdist.solvers.base.run_deadline`), is stopped the same way, from the watchdog's
timer thread (:func:`~optdist.solvers.base.watchdog`), where SCIP's own clock does not bound it: a
``limits/time`` given raw beyond the run's deadline; ``timing/enabled = FALSE`` (``limits/time``
then stops nothing: ``tests/test_scip_watchdog.py``). The outcome is then ``time_limit`` with the
incumbent and bound SCIP had (``no_solution`` without one) and ``extra["cancelled"]``, as for
HiGHS and the shell solvers. The watchdog's interrupt, as a signal's, takes effect only at SCIP's
next check of its interrupt flag.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pyomo.environ as pyo

from optdist.jsonfile import json_text
from optdist.options import OUT_OF_RANGE, raw_example, take_whole, unknown_option_fix
from optdist.result import Termination
from optdist.solvers.base import (ContribSolver, Feature, SolverOutcome, overran_note, shown, stop_native_code_on_signals,
                                  unknown_name_fix, watchdog)

PARAMS_URL = "https://www.scipopt.org/doc/html/PARAMETERS.php"
#: SCIP's parameter kinds (by the type of the default pyscipopt reads), as an error message says them
_KINDS = {bool: "a true/false", int: "an integer", float: "a real", str: "a text"}
#: SCIP's range in its refusal: "Invalid value <1000> for int parameter <lp/threads>. Must be in range [0,64]."
_RANGE = re.compile(r"Must be in range \[([^,\]]+),([^\]]+)\]")
#: the largest ``limits/time`` SCIP takes ("Must be in range [0,1e+20]"): a larger one (``optdist solve
#: --solver scip --time-limit 1e308``) was "SCIP: the value is invalid for the given parameter!", exit 2
TIME_MAX = 1e20


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """While the block runs, what native code writes to file descriptor 2 is captured; the
    yielded list holds its non-empty lines afterwards (nothing is captured without a descriptor 2)."""
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:
        yield lines
        return
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            lines += [x for x in f.read().decode(errors="replace").splitlines() if x.strip()]


def _range(m: Any, key: str) -> tuple[str, str] | None:
    """SCIP's range of the integer parameter ``key`` of the pyscipopt ``Model`` ``m``, as it states
    it when refusing a value ("Must be in range [0,64]"): asked with the extremes of a C long and a
    C int (the one beyond the parameter's C type overflows in pyscipopt, the other SCIP refuses),
    the parameter reset after; None where SCIP takes them all."""
    for probe in (-2**63, -2**31, 2**63 - 1, 2**31 - 1):
        with _native_stderr() as said:
            try:
                m.setParam(key, probe)
            except (OverflowError, ValueError, TypeError, LookupError):
                pass
        m.resetParam(key)
        if said and (found := _RANGE.search(said[0])):
            return found.group(1), found.group(2)
    return None


class _SolveWithoutGil:
    """A pyscipopt ``Model`` as Pyomo's ``ScipDirect.solve`` uses it, whose ``optimize`` calls
    ``before()`` and then ``optimizeNogil`` (the GIL released while SCIP solves); everything else
    is the model's."""

    def __init__(self, model: Any, before: Callable[[], None]):
        self._model = model
        self._before = before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def optimize(self) -> None:
        self._before()
        self._model.optimizeNogil()


class _Interrupt:
    """The stop of one SCIP solve (``Model.interruptSolve``), bound to it for the whole solve, by a
    signal (:meth:`signal`, from :func:`~optdist.solvers.base.stop_native_code_on_signals`'
    watcher) or by the watchdog's timer (a call). The first of them to ask is the one that stopped
    it: a timer that fires after a signal's stop, or after the solve returned (:meth:`end`; a
    ``Timer.cancel`` cannot stop an action already started), asks nothing and records nothing.
    SCIP drops a request made before it optimises (``SCIPsolve`` clears its interrupt flag): the
    watchdog's request is repeated every :data:`REPEAT_S` seconds until the solve returns (the
    signal watcher repeats its own). ``at``: when the watchdog asked (``time.perf_counter()``),
    None if it did not; whether SCIP stopped on it is its status (``userinterrupt``)."""

    #: seconds between two of the watchdog's requests (as the signal watcher's)
    REPEAT_S = 0.1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scip: Any = None
        self._ended = threading.Event()
        self._signalled = False
        self.at: float | None = None

    def load(self, scip: Any) -> None:
        """The solve's pyscipopt ``Model``, built now (a stop asked before reaches it at its next repeat)."""
        with self._lock:
            self._scip = scip

    def signal(self) -> None:
        """A signal's stop: ask SCIP now (a no-op before its model exists or once the solve returned)."""
        with self._lock:
            if self._ended.is_set():
                return
            self._signalled = True
            if self._scip is not None:
                self._ask()

    def __call__(self) -> None:
        """The watchdog's stop: unless a signal's came first, ask SCIP until the solve returns."""
        with self._lock:
            if self._ended.is_set() or self._signalled:
                return
            self.at = time.perf_counter()
        while True:
            with self._lock:
                if self._ended.is_set():
                    return
                if self._scip is not None:
                    self._ask()
            if self._ended.wait(self.REPEAT_S):
                return

    def _ask(self) -> None:
        """``interruptSolve`` on the solve's model (the lock held). SCIP refuses it in some stages of
        its solve ("SCIP: method cannot be called at this time in solution process!", pyscipopt 6.3):
        that request is dropped, as one made before SCIP optimises, and the next repeat asks again.
        Before, the refusal ended the watchdog's thread, and SCIP ran its own 30-s limit past a 3-s
        deadline (tests/test_scip_watchdog.py, once in a full suite at load ~4, 2026-12-03)."""
        try:
            self._scip.interruptSolve()
        except Exception:  # noqa: BLE001 - pyscipopt raises a bare Exception for a SCIP error code
            pass

    def end(self) -> None:
        """The solve returned: a later call does nothing."""
        with self._lock:
            self._ended.set()


class Scip(ContribSolver):
    """SCIP (Apache 2.0, ``pip install pyscipopt``: the wheel bundles SCIP)."""

    name = "scip"
    pyomo_name = "scip_direct"
    features = frozenset({Feature.WARM_START, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "pip install pyscipopt   (or: pip install 'optdist[solvers]')"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "limits/time",
        "mip_gap": "limits/gap",
        "seed": "randomization/randomseedshift",
    }

    def native_value(self, option: str, value: Any) -> Any:
        """``limits/time`` at most :data:`TIME_MAX` seconds."""
        return min(value, TIME_MAX) if option == "time_limit" else value

    _scip: Any = None  # the pyscipopt Model being built or solved
    _stop: _Interrupt | None = None  # the running solve's stop (a signal's or the watchdog's)

    def _solver(self) -> Any:
        """Pyomo's ``scip_direct``, made to solve with the GIL released and to keep a handle on
        its pyscipopt ``Model`` (``ScipDirect._create_solver_model``: private in pyomo 6.10,
        pinned by pyproject)."""
        opt = super()._solver()
        create = opt._create_solver_model

        def create_and_keep(model: Any, config: Any) -> tuple[Any, Any, bool]:
            scip_model, loader, has_obj = create(model, config)
            self._scip = scip_model
            if self._stop is not None:
                self._stop.load(scip_model)
            return _SolveWithoutGil(scip_model, self._limit_now), loader, has_obj

        opt._create_solver_model = create_and_keep
        return opt

    def _solve(
        self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]
    ) -> SolverOutcome:
        """:meth:`ContribSolver._solve`, with a signal, or the watchdog :data:`~optdist.solvers.base.GRACE`
        past the time limit (the generic one, or ``limits/time`` given raw), calling
        ``interruptSolve`` on the running SCIP (:class:`_Interrupt`). A solve the watchdog stopped
        (SCIP's status ``userinterrupt``) is ``time_limit`` unless a signal came, with
        ``extra["cancelled"]``."""
        self._scip = None
        stop = self._stop = _Interrupt()
        limit = raw.get(self.option_names["time_limit"], opts.get("time_limit"))  # a raw limit replaces it
        timer = watchdog(limit, limit, self.stop_lag, stop)
        try:
            with stop_native_code_on_signals(stop.signal):
                out = super()._solve(model, opts, warm_start, tee, raw)
        finally:
            if timer is not None:
                timer.cancel()
            stop.end()  # a timer action already started asks nothing more now
            self._stop = self._scip = None
        if stop.at is not None and out.termination is Termination.INTERRUPTED:  # SCIP's userinterrupt
            out.extra["cancelled"] = overran_note(stop.at)
            if not self._stop_requested:
                out.termination = Termination.TIME_LIMIT  # it was our clock, not the user
        return out

    def _limit_now(self) -> None:
        """Just before SCIP optimises: its ``limits/time`` becomes the time left of the solve's
        limit (:meth:`~optdist.solvers.base.Solver.limit_left`). ``scip_direct`` builds the SCIP
        model inside its ``solve`` and SCIP's clock starts with ``optimize``, so the limit Pyomo
        set left the load out (1.3-1.9 s per pricing model on ``cifar-20x20``)."""
        left = self.limit_left()
        if left is not None and self._scip is not None:
            self._scip.setParam("limits/time", min(left, TIME_MAX))

    def raw_span(self, generic: str) -> tuple[str, Any, bool, str]:
        """``limits/time`` in (0, :data:`TIME_MAX`]: the one range its every message states (1e30
        said "[0, 1e+20], e.g. limits/time=1e+20", -1 "seconds > 0")."""
        if generic == "time_limit":
            return "a number of seconds in (0, 1e+20]", lambda v: 0 < v <= TIME_MAX, False, "60"
        return super().raw_span(generic)

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each raw option through pyscipopt on a throwaway ``Model``: the parameter must exist
        (``getParam``; else the fix names a close one, or SCIP's name and optdist's flag for a
        generic option under another solver's name, :func:`~optdist.options.unknown_option_fix`)
        and ``setParam`` must accept the value. The parameter's default says its kind: an integer
        one (int and longint) takes a whole number by :func:`~optdist.options.take_whole`
        (``limits/nodes=1e2`` passed on as the int in ``options``; ``2.5`` and ``true`` refused:
        pyscipopt truncated ``2.5`` to 2 and took ``true`` as 1), a true/false one only true or
        false (pyscipopt took ``2`` as true). A number beyond C's (``limits/nodes=1e30``: an
        OverflowError in pyscipopt) or SCIP's range is "out of range" with SCIP's range
        (:func:`_range`); every refusal echoes the value given and gives the parameter's default
        as an example it takes. SCIP's own complaint (printed on file descriptor 2 as
        ``[paramset.c:...] ERROR`` lines) is captured into the message otherwise."""
        import pyscipopt

        from optdist.solvers import ADAPTERS

        m = pyscipopt.Model()
        m.hideOutput()
        for key, given in options.items():
            try:
                default = m.getParam(key)
            except KeyError:
                fix = unknown_option_fix(key, given, m.getParams(), self.option_names,
                                         [a.option_names for a in ADAPTERS.values()], where)
                raise ValueError(f"{where}: SCIP has no parameter {json_text(key)} (fix: "
                                 f"{unknown_name_fix(fix, PARAMS_URL)})") from None
            kind = type(default)
            value, problem = given, None
            if kind is int:
                value, problem = take_whole(given)
                options[key] = value
            elif kind is bool and not isinstance(given, bool):
                problem = "not true or false"
            span = why = None
            if problem is None:
                refused: Exception | None = None
                with _native_stderr() as said:
                    try:
                        m.setParam(key, value)
                    except OverflowError:  # beyond a C int or long
                        problem = OUT_OF_RANGE
                    except (ValueError, TypeError, LookupError) as e:
                        refused = e
                if refused is not None:
                    why = said[0].split("ERROR: ", 1)[-1] if said else str(refused)
                if why is not None and (found := _RANGE.search(why)):
                    problem, span = OUT_OF_RANGE, found.groups()
                if problem == OUT_OF_RANGE and span is None:
                    span = _range(m, key)
            if problem is None and why is None:
                continue
            what = {int: "a whole number", float: "a number", bool: "true or false"}.get(kind, "a value it takes")
            within = f" in [{span[0]}, {span[1]}]" if span else (" in its range" if kind in (int, float) else "")
            raise ValueError(f"{where}: SCIP refuses {key} = {shown(given)}: {problem or why} ({_KINDS.get(kind, 'a')} "
                             f"parameter; fix: give {what}{within}, {raw_example(where, key, default)}; "
                             f"see {PARAMS_URL})")

    def _nodes(self, opt: Any, res: Any) -> int | None:
        model = getattr(opt, "_solver_model", None)
        return None if model is None else int(model.getNNodes())
