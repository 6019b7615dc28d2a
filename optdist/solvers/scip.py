"""SCIP through pyscipopt and ``pyomo.contrib.solver`` (``scip_direct``).

Typical raw options: ``"limits/nodes" = 10000``, ``"presolving/maxrounds" = 0``,
``"display/verblevel" = 4``. SCIP solves on one thread (``threads`` sets ``lp/threads`` only).

SIGINT/SIGTERM stop a solve with its incumbent and bound: SCIP solves through pyscipopt's
``optimizeNogil`` (Pyomo's ``scip_direct`` calls ``optimize``, which holds the GIL, so no Python
code ran until SCIP's own time limit), and a watcher thread woken by the signal
(:func:`optdist.solvers.base.stop_native_code_on_signals`) calls ``Model.interruptSolve``: SCIP
stops with status ``userinterrupt``. SIGINT SCIP also catches itself (``misc/catchctrlc``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pyomo.environ as pyo

from optdist.solvers.base import ContribSolver, Feature, SolverOutcome, stop_native_code_on_signals

PARAMS_URL = "https://www.scipopt.org/doc/html/PARAMETERS.php"


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

    _scip: Any = None  # the pyscipopt Model being built or solved, to interrupt on a signal

    def _solver(self) -> Any:
        """Pyomo's ``scip_direct``, made to solve with the GIL released and to keep a handle on
        its pyscipopt ``Model`` (``ScipDirect._create_solver_model``: private in pyomo 6.10,
        pinned by pyproject)."""
        opt = super()._solver()
        create = opt._create_solver_model

        def create_and_keep(model: Any, config: Any) -> tuple[Any, Any, bool]:
            scip_model, loader, has_obj = create(model, config)
            self._scip = scip_model
            return _SolveWithoutGil(scip_model, self._limit_now), loader, has_obj

        opt._create_solver_model = create_and_keep
        return opt

    def _solve(
        self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool, raw: dict[str, Any]
    ) -> SolverOutcome:
        """:meth:`ContribSolver._solve`, with a signal calling ``interruptSolve`` on the running SCIP."""
        self._scip = None
        try:
            with stop_native_code_on_signals(self._interrupt):
                return super()._solve(model, opts, warm_start, tee, raw)
        finally:
            self._scip = None

    def _limit_now(self) -> None:
        """Just before SCIP optimises: its ``limits/time`` becomes the time left of the solve's
        limit (:meth:`~optdist.solvers.base.Solver.limit_left`). ``scip_direct`` builds the SCIP
        model inside its ``solve`` and SCIP's clock starts with ``optimize``, so the limit Pyomo
        set left the load out (1.3-1.9 s per pricing model on ``cifar-20x20``)."""
        left = self.limit_left()
        if left is not None and self._scip is not None:
            self._scip.setParam("limits/time", left)

    def _interrupt(self) -> None:
        """Ask the running SCIP to stop (from the signal watcher thread; a no-op before its model exists)."""
        scip = self._scip
        if scip is not None:
            scip.interruptSolve()

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each raw option through pyscipopt on a throwaway ``Model``: the parameter must exist
        (``getParam``) and ``setParam`` must accept the value. SCIP's own complaint (printed on
        file descriptor 2 as ``[paramset.c:...] ERROR`` lines) is captured into the message."""
        import pyscipopt

        m = pyscipopt.Model()
        m.hideOutput()
        for key, value in options.items():
            try:
                m.getParam(key)
            except KeyError:
                raise ValueError(f"{where}: SCIP has no parameter {key!r} (fix: a name from {PARAMS_URL})") from None
            with _native_stderr() as said:
                try:
                    m.setParam(key, value)
                    refused = None
                except (ValueError, TypeError, LookupError) as e:
                    refused = e
            if refused is not None:
                why = said[0].split("ERROR: ", 1)[-1] if said else str(refused)
                raise ValueError(f"{where}: SCIP refuses {key} = {value!r}: {why} (fix: see {PARAMS_URL})")

    def _nodes(self, opt: Any, res: Any) -> int | None:
        model = getattr(opt, "_solver_model", None)
        return None if model is None else int(model.getNNodes())
