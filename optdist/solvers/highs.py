"""HiGHS in-process through ``pyomo.contrib.solver`` (the default solver).

Typical raw options (``solver_options`` in a profile): ``presolve = "on"``,
``mip_heuristic_effort = 0.05``, ``mip_feasibility_tolerance = 1e-6``, ``log_to_console``.
HiGHS's gap is ``|p - d| / |p|``; optdist reports its own (:func:`optdist.result.gap`).
A SIGINT/SIGTERM during the solve calls highspy's ``Highs.cancelSolve`` (its user-interrupt
callbacks ``cbMipInterrupt``/``cbSimplexInterrupt``/``cbIpmInterrupt``, enabled by Pyomo's
``HandleKeyboardInterrupt``), from a watcher thread (HiGHS runs in the main thread, in native
code: :func:`optdist.solvers.base.stop_native_code_on_signals`): HiGHS stops with status
``kInterrupt`` at its next interrupt check and keeps its incumbent and dual bound (in its
root-node heuristics it checks none: lenet-10x10-tau0.8 per-map ran 4-15 s past the signal);
a second signal ends the process at once. The same cancellation, from a timer thread, stops a solve that runs past its
time limit (HiGHS checks its clock only now and then: ERGO-Code/HiGHS#885) a little after it
(:data:`optdist.solvers.base.GRACE`), and at the run's deadline (:func:`optdist.solvers.base.run_deadline`) at the
latest: the outcome is then ``time_limit`` with the incumbent and bound HiGHS had. A solve given a
:class:`StallStop` (:attr:`Highs.stall`) also stops once its search stalls (no improving solution
for a while): its outcome is ``time_limit`` too, ``extra["stalled"]`` says when.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyomo.environ as pyo

from optdist.io import quiet_native_stdout
from optdist.jsonfile import json_text, text_of
from optdist.options import is_whole, raw_example, take_whole, unknown_option_fix
from optdist.result import Termination
from optdist.solvers.base import (ContribSolver, Feature, SolverRefused, shown, stop_native_code_on_signals,
                                  stop_on_signals, stop_requested, unknown_name_fix, watchdog)

#: the most :attr:`Highs.stop_lag` learns (seconds)
MAX_STOP_LAG = 30.0

OPTIONS_URL = "https://ergo-code.github.io/HiGHS/stable/options/definitions/"
#: HiGHS's option types, as an error message says them
_KINDS = {"bool": "a true/false", "int": "an integer", "double": "a number", "string": "a text"}


def fresh_thread_pool() -> None:
    """Start HiGHS's thread pool anew; call it just before every HiGHS run.

    HiGHS keeps one global thread pool per process, sized by the ``threads`` option of the first
    run, and refuses a later run whose ``threads`` differs (status ``noSolution`` at once, no
    message): in one process the adapter's solves (``--threads 1``) and the decomposition's
    own HiGHS models (masters, pricing LPs, the relabelling MIP; default threads) alternate. A
    fresh pool (``Highs.resetGlobalScheduler(True)``) lets each run have its own count.
    """
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


#: HiGHS options that run its sub-MIPs without presolve (``mip_root_presolve_only``: HiGHS's
#: ``HighsPrimalHeuristics::solveSubMip`` then sets ``presolve`` off in every sub-MIP that RENS,
#: RINS and the root reduced-cost heuristic start; the MIP's own presolve still runs). HiGHS 1.16
#: hears no cancellation in a sub-MIP (``HighsMipSolverData::checkLimits`` asks the user interrupt
#: only where ``!mipsolver.submip``) and none in presolve, whose clock is read only between rows
#: and every 1024th reduction (``HPresolve::checkLimits``): the cover loop of
#: ``HPresolve::strengthenInequalities`` reads none. Twice on 2026-12-06 a per-device integer
#: master of an in-process ``column_generation`` on ``mixed-8x6-nexus-rpi3`` sat there, in the
#: presolve of a sub-MIP of a sub-MIP (RENS -> root reduced cost or RINS), through every cancel and
#: a SIGTERM (one given 1.5 s, for 7.7 min; ``benchmarks/scale/README.md``). A sub-MIP without
#: presolve still reads its clock (its parent's time left) in its branch and bound. Sub-MIPs kept
#: on: without them (RENS, RINS, root reduced cost off) the 60-s incumbent on
#: ``cifar-6x5-nexus-rpi3`` was worse in 4 of 5 runs (``benchmarks/scale/README.md`` "hang44").
NO_SUB_MIP_PRESOLVE = {"mip_root_presolve_only": True}


def run_stoppable(h: Any) -> None:
    """``h.run()`` on a raw ``highspy.Highs`` model (the decomposition's own: the integer masters,
    the relabelling MIP), its sub-MIPs without presolve (:data:`NO_SUB_MIP_PRESOLVE`: where HiGHS
    hears no stop), that
    SIGINT/SIGTERM stop as they stop the adapter's solves: none starts
    once a stop was requested (:func:`~optdist.solvers.base.stop_requested`; the model then holds
    no solution), and one under way is cancelled (``cancelSolve``, with highspy's
    ``HandleUserInterrupt`` on: without it ``cancelSolve`` does nothing), its incumbent kept; the
    run gets a fresh thread pool (:func:`fresh_thread_pool`). As the adapter's solves, it is also
    cancelled a little past its own ``time_limit`` option and at the run's deadline
    (:func:`~optdist.solvers.base.watchdog`): HiGHS does not always honour its limit (a per-device
    integer master given 1.9 s ran over 20 min inside a 60-s engine run on ``mixed-8x6-nexus-rpi3``,
    2026-12-05, ERGO-Code/HiGHS#885). Before, the per-device integer master after branch-and-price
    ran out its ~100 s through a SIGINT. Raises ``RuntimeError`` if this HiGHS refuses an option of
    :data:`NO_SUB_MIP_PRESOLVE` (renamed in another HiGHS version)."""
    import highspy

    if stop_requested():
        return
    for name, value in NO_SUB_MIP_PRESOLVE.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS {h.version()} refused option '{name}' = {value}: the decomposition's MIPs run "
                               "their sub-MIPs without presolve (optdist.solvers.highs.NO_SUB_MIP_PRESOLVE); fix: "
                               "install highspy 1.11 or later (pyproject.toml), or name that option as this HiGHS "
                               "does in NO_SUB_MIP_PRESOLVE")
    fresh_thread_pool()
    h.HandleUserInterrupt = True
    limit = _option_value(h, "time_limit")
    limit = limit if limit is not None and math.isfinite(limit) and limit < 1e20 else None
    timer = watchdog(limit, limit, 0.0, h.cancelSolve)
    try:
        with stop_on_signals(lambda signum: h.cancelSolve()), stop_native_code_on_signals(h.cancelSolve):
            h.run()
    finally:
        if timer is not None:
            timer.cancel()
        h.HandleUserInterrupt = False


def _option_value(h: Any, name: str) -> float | None:
    """A numeric option of a ``highspy.Highs`` (``getOptionValue`` returns ``(status, value)`` in
    some highspy versions and the value in others); None where it has no such number."""
    got = h.getOptionValue(name)
    value = got[1] if isinstance(got, tuple) else got
    return float(value) if isinstance(value, (int, float)) else None


def _check_loaded(opt: Any, model: pyo.ConcreteModel) -> None:
    """Raise :class:`SolverRefused` unless HiGHS holds every row and column Pyomo passed: HiGHS
    refuses a batch of rows with a coefficient above its ``large_matrix_value`` (1e15) and Pyomo
    6.10 ignores that status, so the solve would run on a model without those rows (an empty
    model is 'optimal' at 0)."""
    h = opt._solver_model
    rows, cols = len(opt._pyomo_con_to_solver_con_map), len(opt._pyomo_var_to_solver_var_map)
    if (h.getNumRow(), h.getNumCol()) == (rows, cols):
        return
    raise SolverRefused(
        f"HiGHS refused the model {text_of(model.name)}: it holds {h.getNumRow()} of {rows} rows and {h.getNumCol()} "
        f"of {cols} columns (a coefficient outside its range, |a| <= 1e+15; --tee shows its message). The "
        "instance's numbers span too wide a range (e.g. devices whose mults_per_s or rate differ by 1e12, or a "
        "huge rejection penalty); fix: bring them closer, or try another solver (--solver scip)")


class _Cancel:
    """The watchdog's stop of one HiGHS solve, bound to it when the timer is armed (as the shell
    solvers' watchdog binds its solve's :class:`~optdist.solvers.subprocesses.SolverProcesses`):
    it cancels the ``highspy.Highs`` that solve loaded (:meth:`load`), and nothing once that solve
    has ended (:meth:`end`), even with the same Highs kept loaded for the next solve (a
    ``Timer.cancel`` cannot stop an action already started). ``at``: when it asked HiGHS to stop
    (``time.perf_counter()``), None if it did not; whether HiGHS stopped on it is HiGHS's model
    status (``kInterrupt``): an action that runs after ``run()`` returned, before :meth:`end`, sets
    ``at`` and stops nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._highs: Any = None
        self._ended = False
        self.at: float | None = None

    def load(self, h: Any) -> None:
        """The solve's Highs, loaded now; cancelled at once if the timer fired while it loaded."""
        with self._lock:
            self._highs = h
            if self.at is not None:
                h.cancelSolve()

    def __call__(self) -> None:
        with self._lock:
            if self._ended:
                return
            self.at = time.perf_counter()
            if self._highs is not None:
                self._highs.cancelSolve()

    def end(self) -> None:
        """The solve returned: a later call does nothing."""
        with self._lock:
            self._ended = True


@dataclass(frozen=True)
class StallStop:
    """Stop a HiGHS MIP solve on its own progress: once it has gone ``stall_s`` seconds without an
    improving solution, and has run ``floor_s`` seconds at least (its time limit stays the ceiling).

    Rule: with ``t0`` the moment the model is loaded in HiGHS (just before its run) and ``t_last``
    the moment of its last improving solution (HiGHS's ``cbMipImprovingSolution`` callback, a MIP
    start it accepts included; ``t0`` while it has none), the solve stops at the first of HiGHS's
    interrupt checks (``cbMipInterrupt``) at a time ``t`` with ``t - t0 >= floor_s`` and
    ``t - t_last >= stall_s``; so a solve that does not close (optimal or infeasible) runs
    ``min(floor_s, time limit)`` seconds at least and its time limit at most, and a search that
    keeps improving keeps going. HiGHS calls
    ``cbMipInterrupt`` in its branch-and-bound and not during some root-node work (the module
    docstring), so a stall found there stops it at the next check. Source: the HiGHS callbacks
    (https://ergo-code.github.io/HiGHS/stable/callbacks; highspy 1.16's ``Highs.cbMipInterrupt``,
    ``HighsCallbackEvent.interrupt``). ``stall_s``, ``floor_s``: wall-clock seconds
    (``time.perf_counter()``); raises ``ValueError`` unless ``stall_s > 0`` and ``floor_s >= 0``,
    both finite."""

    stall_s: float
    floor_s: float = 0.0

    def __post_init__(self) -> None:
        if not (0 < self.stall_s < float("inf")) or not (0 <= self.floor_s < float("inf")):
            raise ValueError(f"StallStop(stall_s={self.stall_s!r}, floor_s={self.floor_s!r}): "
                             "fix: stall_s > 0 and floor_s >= 0, both finite seconds")


class _StallWatch:
    """A :class:`StallStop` on one loaded ``highspy.Highs``: its callbacks subscribed at once
    (:meth:`end` unsubscribes them). ``at``: when it interrupted HiGHS (``time.perf_counter()``),
    None if it did not; ``improved``: the seconds after the load of each improving solution."""

    def __init__(self, rule: StallStop, h: Any) -> None:
        self.rule, self._highs = rule, h
        self.t0 = self.last = time.perf_counter()
        self.at: float | None = None
        self.improved: list[float] = []
        h.cbMipImprovingSolution += self._improving
        h.cbMipInterrupt += self._check

    def _improving(self, e: Any) -> None:
        self.last = time.perf_counter()
        self.improved.append(round(self.last - self.t0, 2))

    def _check(self, e: Any) -> None:
        now = time.perf_counter()
        if self.at is not None or (now - self.t0 >= self.rule.floor_s and now - self.last >= self.rule.stall_s):
            self.at = self.at or now
            e.interrupt()

    def end(self) -> None:
        self._highs.cbMipImprovingSolution -= self._improving
        self._highs.cbMipInterrupt -= self._check


class Highs(ContribSolver):
    """HiGHS (MIT licence, ``pip install highspy``)."""

    name = "highs"
    pyomo_name = "highs"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "pip install highspy"
    abs_gap = 1e-6  # HiGHS's default mip_abs_gap
    takes_infinite = True  # setOptionValue decides (objective_bound=inf: its default; mip_rel_gap=-inf refused)
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "time_limit",
        "mip_gap": "mip_rel_gap",
        "threads": "threads",
        "seed": "random_seed",
    }

    _highs: Any = None  # the running highspy.Highs, to cancel on a signal
    _stop: _Cancel | None = None  # the running solve's watchdog stop
    #: stop each MIP solve of this adapter once its search stalls (:class:`StallStop`); None: only
    #: at its time limit. Set by the caller (``joint_moves``), not a HiGHS option.
    stall: StallStop | None = None
    _watch: _StallWatch | None = None  # the running solve's stall watch

    def _prepare(self, opt: Any, model: pyo.ConcreteModel) -> bool:
        """Load the model now (``opt.solve`` then reuses it, sending no update) and keep its highspy handle.

        Uses the persistent solver's ``_solver_model`` (private in pyomo 6.10, pinned by pyproject).
        """
        opt.set_instance(model)
        self._highs = opt._solver_model
        _check_loaded(opt, model)
        self._loaded()
        return True

    def _loaded(self) -> None:
        """The solve's Highs is loaded: bound to its watchdog stop; cancelled at once if a signal
        or the deadline came while it loaded."""
        if self._stop is not None:
            self._stop.load(self._highs)
        if self.stall is not None:
            self._watch = _StallWatch(self.stall, self._highs)
        if self._stop_requested:
            self._highs.cancelSolve()

    def _reprepare(self, opt: Any, model: pyo.ConcreteModel, tee: bool) -> None:
        """A model kept loaded: HiGHS's options back to its defaults (as a fresh load has them;
        ``opt.solve`` sets the call's), then the changes sent (:meth:`ContribSolver._reprepare`)."""
        self._highs = opt._solver_model
        self._highs.resetOptions()
        super()._reprepare(opt, model, tee)
        self._loaded()

    def _on_signal(self, signum: int) -> None:
        super()._on_signal(signum)
        self._cancel()

    def _cancel(self) -> None:
        """Ask the running HiGHS to stop (also from the signal watcher thread; a no-op before the model is loaded)."""
        h = self._highs
        if h is not None:
            h.cancelSolve()

    def _solve(self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]):
        import highspy

        fresh_thread_pool()
        pyomo_log = logging.getLogger("pyomo.contrib.solver.solvers.highs")
        pyomo_log.addFilter(_quiet_interrupt)  # Pyomo 6.10 warns of HiGHS's kInterrupt; we report it
        stop = self._stop = _Cancel()
        limit = raw.get(self.option_names["time_limit"], opts.get("time_limit"))  # a raw limit replaces it
        timer = watchdog(limit, limit, self.stop_lag, stop)
        try:
            with stop_native_code_on_signals(self._cancel):  # HiGHS runs in the main thread, in native code
                out = super()._solve(model, opts, warm_start, tee, raw)
            interrupted = self._highs.getModelStatus() == highspy.HighsModelStatus.kInterrupt
        finally:
            if timer is not None:
                timer.cancel()
            stop.end()  # before the flag is reset: a timer action already started cancels nothing now
            self._stop = None
            watch, self._watch = self._watch, None
            if watch is not None:
                watch.end()
            if self._highs is not None:  # a cancel that came as the solve ended must not stop the next one
                self._highs._Highs__solver_should_stop = False  # highspy 1.16's flag behind cancelSolve
            pyomo_log.removeFilter(_quiet_interrupt)
            self._highs = None
        if stop.at is not None and interrupted:  # not a timer that fired after HiGHS's run() returned
            # a kept HiGHS, once interrupted, answers kInterrupt at once to every later run (highspy
            # 1.16, even with its stop flag reset and clearSolver): the next solve loads the model anew
            self._kept = None
            lag = time.perf_counter() - stop.at
            type(self).stop_lag = min(max(type(self).stop_lag, lag), MAX_STOP_LAG)
            out.extra["cancelled"] = f"at its time limit or the run's deadline; returned {lag:.2f} s later"
            if out.termination not in (Termination.OPTIMAL, Termination.INFEASIBLE) and not self._stop_requested:
                out.termination = Termination.TIME_LIMIT  # HiGHS says kInterrupt: it was our clock
        elif watch is not None and watch.at is not None and interrupted:
            self._kept = None  # as above: an interrupted HiGHS is loaded anew
            out.extra["stalled"] = (f"stopped {watch.at - watch.t0:.2f} s after the load, "
                                    f"{watch.at - watch.last:.2f} s after its last improving solution "
                                    f"(stall {self.stall})")
            if out.termination not in (Termination.OPTIMAL, Termination.INFEASIBLE) and not self._stop_requested:
                out.termination = Termination.TIME_LIMIT  # HiGHS says kInterrupt: our stall rule, a limit
        if watch is not None:
            out.extra["improving_at_s"] = watch.improved
        return out

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each raw option through highspy on a throwaway ``Highs``: the name must exist
        (``getOptionType``) and ``setOptionValue`` must accept the value (type and HiGHS's range);
        a float for an integer option follows the one rule of whole numbers
        (:func:`~optdist.options.take_whole`): an integral one (``mip_max_nodes=1e3``) is taken,
        as the int, in ``options``, any other refused ("not a whole number").

        A refusal echoes the value as given (``1e+30``, not the int it became) and gives an
        example the option takes (:meth:`example_value`). File options (``log_file``,
        ``solution_file``, ...) are only type-checked: setting them would create the file; the
        true/false ones named ``..._file`` (``write_solution_to_file``) are set as any other (before,
        both of their values were refused, the fix's example ``false`` among them).
        """
        import highspy

        with quiet_native_stdout():  # the banner and HiGHS's own complaint
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            for key, given in options.items():
                status, kind = h.getOptionType(key)
                if status != highspy.HighsStatus.kOk:
                    from optdist.solvers import ADAPTERS

                    names = [n for n in dir(h.getOptions()) if not n.startswith("_")]
                    fix = unknown_option_fix(key, given, names, self.option_names,
                                             [a.option_names for a in ADAPTERS.values()], where)
                    raise ValueError(f"{where}: HiGHS has no option {json_text(key)} (fix: "
                                     f"{unknown_name_fix(fix, OPTIONS_URL)})")
                kind = _KINDS[kind.name.removeprefix("k").lower()]  # HiGHS's bool, int, double, string
                value, problem = given, None
                if kind == _KINDS["int"] and isinstance(given, float):
                    value, problem = take_whole(given)  # 1e3, 2.0: a whole number, passed on as the int
                    options[key] = value
                if problem:
                    ok, why = False, f": {problem}"
                elif key.endswith("_file") and kind == _KINDS["string"]:  # not write_solution_to_file, a bool
                    ok, why = isinstance(value, str), ""
                else:
                    try:
                        ok = h.setOptionValue(key, value) == highspy.HighsStatus.kOk
                    except (TypeError, OverflowError):  # an int beyond C's
                        ok = False
                    number = isinstance(value, (int, float)) and not isinstance(value, bool)
                    why = ": out of its range" if number and kind in (_KINDS["int"], _KINDS["double"]) else ""
                if not ok:
                    what = "a whole number in its range" if kind == _KINDS["int"] else (
                        "a value in its range" if kind == _KINDS["double"] else "a value it takes")
                    example = self.example_value(key)
                    said = f", {raw_example(where, key, example)}" if example is not None else ""
                    raise ValueError(f"{where}: HiGHS refuses {key} = {shown(given)}{why} ({kind} option; "
                                     f"fix: give {what}{said}; see {OPTIONS_URL})")

    @staticmethod
    def example_value(key: str) -> Any:
        """A value HiGHS takes for its option ``key``, for the example of a fix: its default where
        that is finite and below HiGHS's infinity for integers (``mip_max_nodes``'s is
        2147483647), else the first of a few round numbers that ``setOptionValue`` accepts
        (``objective_bound``: 1000); None for an unknown name or where none is taken."""
        import highspy

        with quiet_native_stdout():
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            status, kind = h.getOptionType(key)
            if status != highspy.HighsStatus.kOk:
                return None
            default = h.getOptionValue(key)[1]
            if isinstance(default, (bool, str)):
                return default
            for value in (default, 1000, 100, 10, 1, 0, 0.5, 1e-6, -1):
                if not math.isfinite(value) or abs(value) >= 2**31 - 1:
                    continue
                if kind == highspy.HighsOptionType.kInt and not is_whole(value):
                    continue
                value = int(value) if kind == highspy.HighsOptionType.kInt else value
                if h.setOptionValue(key, value) == highspy.HighsStatus.kOk:
                    return value
        return None

    def _warm_start(self, opt: Any, model: pyo.ConcreteModel, cfg: dict[str, Any]) -> None:
        """``Highs.setSolution`` with every Var that has a value (the new interface has no warm start).

        Uses the persistent solver's ``_solver_model`` / ``_pyomo_var_to_solver_var_map``
        (private in pyomo 6.10, pinned by pyproject); the model is loaded by :meth:`_prepare`.
        """
        cols, vals = [], []
        for v in model.component_data_objects(pyo.Var, descend_into=True):
            col = opt._pyomo_var_to_solver_var_map.get(id(v))
            if col is not None and v.value is not None:
                cols.append(col)
                vals.append(float(v.value))
        opt._solver_model.setSolution(len(cols), np.array(cols, dtype=np.int32), np.array(vals, dtype=float))


def _quiet_interrupt(record: logging.LogRecord) -> bool:
    return "kInterrupt" not in record.getMessage()
