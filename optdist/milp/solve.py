"""``solve_milp``: the exact engine behind method ``milp`` of :mod:`optdist.solve`.

``formulation='auto'`` (the default) picks the fastest exact path for the instance: the
decomposition by request (:mod:`optdist.milp.decomposition`) when it applies (parallel
uplink, no admission control), the ``tight`` formulation otherwise; any other name in
:data:`FORMULATIONS` or ``'decomposed'`` forces that path. Every path runs on any adapter or
profile of :mod:`optdist.solvers`, honours :data:`~optdist.milp.run.DEFAULT_MIP_GAP` (one
number for all) and bounds the whole run, model building included, by ``time_limit``.
A time limit returns the incumbent with its bound (the gap is optdist's own,
:func:`optdist.result.gap`), never an exception. SIGINT/SIGTERM during the run stop every
solve inside it (:func:`optdist.solvers.base.stop_on_signals`) and return the incumbent as
``interrupted``; an instance that a pre-solve necessary condition
(:func:`optdist.diagnose.check`) proves infeasible is ``infeasible`` before any model is built.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from optdist.assignment import Assignment
from optdist.diagnose import check
from optdist.instance import Instance
from optdist.jsonfile import json_text
from optdist.milp.decomposition.orchestrate import applies, solve_decomposed
from optdist.milp.decomposition.pricing import check_pricing_solver
from optdist.milp.model import FORMULATIONS, unknown_formulation
from optdist.milp.run import DEFAULT_MIP_GAP, adapter_for, solve_formulation, warm_start_assignment
from optdist.result import SolveResult, Termination
from optdist.solvers import Solver, get_solver
from optdist.solvers.base import check_options, record_signals, stop_on_signals

#: every value ``formulation`` takes: the Pyomo formulations, the decomposition, and auto
SOLVE_FORMULATIONS = ("auto", "decomposed", *FORMULATIONS)

log = logging.getLogger("optdist")

__all__ = ["DEFAULT_MIP_GAP", "SOLVE_FORMULATIONS", "choose_formulation", "solve_milp", "warm_start_assignment"]


def choose_formulation(inst: Instance, formulation: str | None = "auto") -> str:
    """The path ``formulation`` (None or 'auto') resolves to for ``inst``; ValueError if unknown.

    'auto' is the decomposition where it applies (parallel uplink, no admission control), else
    'tight'; on every network, DAGs with grouped convolutions or adds of whole maps included
    (tight indexes those layers per map: :func:`optdist.milp.data.map_identity_layers`, MODEL.md section 9).
    """
    formulation = "auto" if formulation is None else formulation  # "" is no formulation (it was read as auto)
    if formulation not in SOLVE_FORMULATIONS:
        raise ValueError(unknown_formulation(formulation, SOLVE_FORMULATIONS))
    if formulation == "auto":
        return "decomposed" if applies(inst) else "tight"
    return formulation


def _infeasible_by_checks(inst: Instance, formulation: str, solver: str) -> SolveResult | None:
    """``infeasible`` at once when a necessary condition fails (:func:`optdist.diagnose.check`).

    Those checks take milliseconds and prove infeasibility without admission control (every
    request must be placed); a MILP or column generation can take minutes to prove the same.
    ``extra['infeasible_by_checks']`` lists the failed conditions in words. The bound is +inf, as
    for a solver's proof that no placement exists (README, "bound"): the checks are a proof.
    """
    t0 = time.perf_counter()
    findings = check(inst)
    if not findings:
        return None
    res = SolveResult(inst.name, "milp", Termination.INFEASIBLE, solver=solver, formulation=formulation,
                      bound=math.inf)
    res.extra["infeasible_by_checks"] = [f"[{f.family}] {f.where}: {f.message}" for f in findings]
    res.wall_time = time.perf_counter() - t0
    return res


def solve_milp(
    inst: Instance,
    *,
    formulation: str | None = "auto",
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    warm_start: Assignment | str | None = None,
    tee: bool = False,
    solver_options: Mapping[str, Any] | None = None,
    pricing_solver: str | None = None,
    pricing_solver_options: Mapping[str, Any] | None = None,
) -> SolveResult:
    """Solve ``inst`` exactly with ``formulation`` (module docstring) and ``solver`` (adapter or profile).

    Options given here beat the profile's; ``mip_gap`` falls back to the profile's, then to
    :data:`DEFAULT_MIP_GAP`. ``warm_start``: an :class:`Assignment` or a method name (e.g.
    ``'greedy'``), passed to solvers that accept a MIP start (the others: noted in ``extra``);
    a feasible one is the result where the evaluator scores it better than the solver's
    placement (:func:`optdist.milp.run.solve_formulation`, the decomposition likewise). ``solver_options``: raw options for the solver (over the profile's).
    ``extra['formulation_chosen']`` records what ``auto`` picked.

    ``pricing_solver``: adapter or profile for the pricing problems of the decomposition's column
    generation only (:func:`optdist.milp.decomposition.colgen.column_generation`; None, the
    default: ``solver``), with ``pricing_solver_options`` its raw options (over its profile's;
    ``solver_options`` are the run's solver's own and do not reach it); recorded in
    ``options['pricing_solver']``. With a formulation forced other than ``'decomposed'`` it is an
    error; where ``'auto'`` picks ``'tight'`` (no decomposition) it is logged as a warning and
    noted in ``extra['pricing_solver_unused']``, as where no column generation runs.

    ``options['solver_options']`` records the raw options applied (:func:`record_raw_options`).

    Raises ValueError for an unknown formulation, ``solver_options`` that is not a mapping, an
    out-of-range option or a raw option the solver refuses, ``mip_gap`` beside a raw gap of another
    value (the user's or the profile's: :meth:`~optdist.solvers.Solver.gap_conflict`), an unknown or GLPK pricing solver, or
    pricing options without a pricing solver (before any model is built;
    :func:`optdist.milp.decomposition.pricing.check_pricing_solver`;
    :func:`optdist.solvers.base.check_options`, :meth:`~optdist.solvers.Solver.check_raw_options`),
    SolverUnavailable if the solver is not installed.
    """
    chosen = choose_formulation(inst, formulation)
    check_options(dict(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed))
    adapter = get_solver(solver)  # checks the profile's raw options too
    if solver_options is not None:
        if not isinstance(solver_options, Mapping):
            raise ValueError(f"solver_options must be a mapping of option name to value, not {type(solver_options).__name__} "
                             f"{json_text(solver_options)} (fix: e.g. solver_options={{\"presolve\": \"off\"}})")
        solver_options = adapter.check_raw_options(solver_options)
    raw = {**adapter.solver_options, **(solver_options or {})}
    if (two_gaps := adapter.gap_conflict(mip_gap, solver_options)) is not None:  # a raw gap would override mip_gap
        raise ValueError(two_gaps)
    pricing = _pricing_options(formulation or "auto", chosen, pricing_solver, pricing_solver_options)
    if not inst.objective.admission:
        proof = _infeasible_by_checks(inst, chosen, solver)
        if proof is not None:
            return proof
    opts = dict(solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                warm_start=warm_start, tee=tee, solver_options=solver_options)
    with stop_on_signals(lambda signum: None):  # every solve inside stops; loops see stop_requested()
        if chosen == "decomposed":
            res = solve_decomposed(inst, **opts, **pricing)
        else:
            res = solve_formulation(inst, chosen, **opts)
            if pricing_solver is not None:
                res.options["pricing_solver"] = pricing_solver
                res.extra["pricing_solver_unused"] = f"'auto' chose the {chosen!r} formulation: no pricing"
    record_signals(res)  # by this block's handler or by one inside it (a solver's, a warm start's training)
    if (formulation or "auto") == "auto":
        res.extra["formulation_chosen"] = res.formulation
    record_raw_options(res, adapter, raw)
    return res


def _pricing_options(formulation: str, chosen: str, pricing_solver: str | None,
                     pricing_solver_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keyword options :func:`solve_decomposed` takes for the pricing solver (empty: the run's),
    checked before any model is built (:func:`solve_milp`'s docstring says what each case does).

    ``formulation``: what the caller asked for; ``chosen``: what it resolved to
    (:func:`choose_formulation`). Raises ValueError as :func:`check_pricing_solver` does, for a
    formulation forced other than ``'decomposed'``, for ``pricing_solver_options`` without
    ``pricing_solver``, and :class:`optdist.solvers.SolverUnavailable` when the decomposition runs
    and the pricing solver is not installed.
    """
    if pricing_solver is None:
        if pricing_solver_options:
            raise ValueError("pricing_solver_options without pricing_solver: they are one solver's raw options "
                             "(fix: name the pricing solver, e.g. pricing_solver='scip', or leave them out)")
        return {}
    checked = check_pricing_solver(pricing_solver, pricing_solver_options)
    if formulation not in ("auto", "decomposed"):
        raise ValueError(f"a pricing solver ({json_text(pricing_solver)}) applies only to the decomposition's column "
                         f"generation, not to formulation {json_text(formulation)} (fix: leave the pricing solver out, or "
                         "use formulation 'auto' or 'decomposed')")
    if chosen != "decomposed":
        log.warning("pricing solver %s not used: the decomposition does not apply to this instance (serial "
                    "uplink or admission control), so 'auto' solves the %s formulation, which has no pricing",
                    pricing_solver, chosen)
        return {}
    adapter_for(pricing_solver, checked)  # installed? (SolverUnavailable before any model is built)
    return {"pricing_solver": pricing_solver, "pricing_solver_options": checked or None}


def record_raw_options(res: SolveResult, adapter: Solver, raw: dict[str, Any]) -> None:
    """Record the raw options the solver was given in ``res.options['solver_options']``.

    A raw option that is a generic option under the solver's own name (HiGHS's ``time_limit``,
    SCIP's ``limits/time``; same units) overrides that generic option inside the solver, so its
    value replaces the generic one in ``res.options`` (the overridden value is kept in
    ``res.options['overridden']``).
    """
    if not raw:
        return
    res.options["solver_options"] = dict(raw)
    for generic, native in adapter.option_names.items():
        if native in raw and res.options.get(generic) != raw[native]:
            if generic in res.options:
                res.options.setdefault("overridden", {})[generic] = res.options[generic]
            res.options[generic] = raw[native]
