"""The solver adapter interface: capability flags, availability, option names, one ``solve``.

An adapter solves a Pyomo model in place: it maps optdist's generic options (``time_limit``
seconds, relative ``mip_gap``, ``threads``, ``seed``) to the solver's own names, always keeps
the incumbent when a limit stops the search (loading it into the model's Vars), and reports a
:class:`SolverOutcome`. Two back ends cover every solver here: Pyomo's new
``pyomo.contrib.solver`` interface (typed results: incumbent and bound) and the legacy
``pyomo.environ.SolverFactory`` (text interfaces, ``results.problem`` bounds).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import pyomo.environ as pyo

from optdist.result import Termination


class Feature(StrEnum):
    """What an adapter can do."""

    WARM_START = "warm_start"  # accepts a MIP start from the model's current Var values
    THREADS = "threads"
    SEED = "seed"
    BOUND = "bound"  # reports a proven dual bound
    NODES = "nodes"  # reports a branch-and-bound node count


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


GENERIC_OPTIONS = ("time_limit", "mip_gap", "threads", "seed")


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
    _available: ClassVar[bool | None] = None

    def __init__(self, defaults: dict[str, Any] | None = None, solver_options: dict[str, Any] | None = None):
        unknown = sorted(set(defaults or {}) - set(GENERIC_OPTIONS))
        if unknown:
            raise ValueError(f"{self.name}: unknown options {unknown}; generic options are {GENERIC_OPTIONS}")
        self.defaults = dict(defaults or {})
        self.solver_options = dict(solver_options or {})

    @classmethod
    def is_available(cls) -> bool:
        """Whether the solver can run here (checked once, then cached)."""
        if cls._available is None:
            try:
                cls._available = cls._check_available()
            except Exception:  # a broken install is an unavailable solver
                cls._available = False
        return cls._available

    @classmethod
    @abstractmethod
    def _check_available(cls) -> bool: ...

    def require(self) -> None:
        if not self.is_available():
            raise SolverUnavailable(f"solver {self.name!r} is not available here; install it: {self.install_hint}")

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    def settings(self, **given: Any) -> dict[str, Any]:
        """Generic options: the call's values over the profile's defaults (``None`` = not given)."""
        out = dict(self.defaults)
        out.update({k: v for k, v in given.items() if v is not None})
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
    ) -> SolverOutcome:
        """Minimise ``model``; load the incumbent (if any) into its Vars."""
        self.require()
        opts = self.settings(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed)
        start = time.perf_counter()
        out = self._solve(model, opts, warm_start and self.has(Feature.WARM_START), tee)
        out.wall_time = time.perf_counter() - start
        if out.termination in (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT) and not out.has_solution:
            out.termination = Termination.NO_SOLUTION
        return out

    @abstractmethod
    def _solve(self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool) -> SolverOutcome: ...

    def raw_options(self, opts: dict[str, Any], generic: tuple[str, ...]) -> dict[str, Any]:
        """Generic options in ``generic`` renamed to the solver's names, plus the profile's raw options."""
        out = {self.option_names[k]: self.native_value(k, opts[k]) for k in generic if k in opts and k in self.option_names}
        out.update(self.solver_options)
        return out

    def native_value(self, option: str, value: Any) -> Any:
        """A generic option's value as the solver wants it (override for e.g. integer seconds)."""
        return value


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


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

    def _config(self, opts: dict[str, Any], tee: bool) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "load_solutions": False,
            "raise_exception_on_nonoptimal_result": False,
            "tee": tee,
            "solver_options": self.raw_options(opts, self.raw_generic),
        }
        if "time_limit" in opts:
            cfg["time_limit"] = float(opts["time_limit"])
        if "mip_gap" in opts:
            cfg["rel_gap"] = float(opts["mip_gap"])
        if "threads" in opts and self.has(Feature.THREADS) and "threads" not in self.raw_generic:
            cfg["threads"] = int(opts["threads"])
        return cfg

    def _solve(self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool) -> SolverOutcome:
        opt = self._solver()
        cfg = self._config(opts, tee)
        if warm_start:
            self._warm_start(opt, model, cfg)
        res = opt.solve(model, **cfg)
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
    }.get(name, Termination.ERROR)


class LegacySolver(Solver):
    """Back end: ``pyomo.environ.SolverFactory`` (shell or direct plugins, ``results.problem`` bounds)."""

    @classmethod
    def _check_available(cls) -> bool:
        return bool(pyo.SolverFactory(cls.pyomo_name).available(exception_flag=False))

    def _solve(self, model: pyo.ConcreteModel, opts: dict[str, Any], warm_start: bool, tee: bool) -> SolverOutcome:
        from pyomo.opt import SolutionStatus, TerminationCondition

        opt = pyo.SolverFactory(self.pyomo_name)
        kwargs: dict[str, Any] = {"load_solutions": False, "tee": tee, "options": self.raw_options(opts, GENERIC_OPTIONS)}
        if warm_start:
            kwargs["warmstart"] = True
        res = opt.solve(model, **kwargs)
        tc = res.solver.termination_condition
        usable = (SolutionStatus.optimal, SolutionStatus.feasible, SolutionStatus.bestSoFar, SolutionStatus.stoppedByLimit)
        has = any(s.status in usable for s in res.solution)
        if has and hasattr(opt, "load_vars"):
            opt.load_vars()  # direct plugins: straight from the solver (xpress_direct's name map is unreliable)
        elif has:
            model.solutions.load_from(res)
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
        }.get(tc, Termination.ERROR)
        if term is Termination.ERROR and has and "time_limit" in opts:
            term = Termination.TIME_LIMIT  # e.g. GLPK reports 'feasible' when its time limit stops it
        bound = _finite(res.problem.lower_bound)
        if term is Termination.OPTIMAL and bound is None:
            bound = incumbent
        return SolverOutcome(
            termination=term,
            status=f"{res.solver.status}/{tc}",
            incumbent=incumbent,
            bound=bound,
            has_solution=has,
            nodes=self._nodes(res),
            version=".".join(map(str, opt.version() or ())) or None,
        )

    def _nodes(self, res: Any) -> int | None:
        try:
            n = res.solver.statistics.branch_and_bound.number_of_created_subproblems
        except AttributeError:
            return None
        return None if n is None or not isinstance(n, (int, float)) else int(n)
