"""Decomposition by request with a certified bound (``formulation="decomposed"``).

Requests interact only through the shared node capacities (memory, compute, bandwidth;
MODEL.md section 6). Dropping the sharing leaves one independent problem per request, so

* the sum over requests of each request's optimum *alone* (full capacities) is a valid
  lower bound on the whole problem (the makespan: their maximum);
* requests of one class (:func:`classes.request_classes`) share one solve;
* if the combined per-request optima (:func:`classes.combine`), re-scored by the independent
  evaluator, satisfy the shared capacities, the combination is optimal: bound = objective.

Each per-class solve starts from the greedy alone (its first incumbent) and the stage bounds
(its first bound), runs to a tenth of the run's gap (:func:`sub_gap`) and gets at most half
the time limit (:data:`RESERVE`). When the combination
is infeasible and no start is known, a placement by shares of the devices
(:func:`construct.placement_by_construction`: the better of equal shares and windows sized by
a capacity price, or where neither fits, small teams that move few bytes; feasible by construction,
re-scored) is the incumbent: a
certified gap is reported even when the time runs out while a model is being built.
When the capacities bind, the requests compete: for the sum of latencies, Dantzig-Wolfe
column generation (:func:`optdist.milp.decomposition.colgen.column_generation`); for the
makespan, the ``tight`` model of all requests, strengthened by the per-request bounds
(``latency_r >= LB_r``, valid cuts) and warm-started from the best assignment known. Every
step runs on the solver the user chose.
Objectives the decomposition does not cover (serial uplink, admission control) are solved
with the ``tight`` formulation directly.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.milp.data import TIME_UNIT
from optdist.milp.decomposition.bounds import base_bounds, propagate
from optdist.milp.decomposition.classes import combine, request_classes
from optdist.milp.decomposition.colgen import column_generation
from optdist.milp.decomposition.construct import placement_by_construction
from optdist.milp.decomposition.single import SingleSolve, solve_single
from optdist.milp.model import BuildTimeout, build
from optdist.milp.run import (DEFAULT_MIP_GAP, Clock, adapter_for, claim_discarded, offer, solve_built,
                              solve_formulation, stop_before_build, warm_start_assignment)
from optdist.result import SolveResult, Termination, add_warning, closes_gap
from optdist.solvers import Feature
from optdist.solvers.base import (AdapterFailure, no_seed, one_thread, reports_solver_failures, solver_failures,
                                  stop_requested, stoppable)

#: share of the run's relative gap that each per-class solve is solved to (:func:`sub_gap`)
SUB_GAP_SHARE = 0.1
#: the finest gap a per-class solve is asked for when the run's gap allows a coarser one (the
#: constant all per-class solves ran at before :func:`sub_gap`)
SUB_GAP_FLOOR = 1e-6
#: share of the time limit the per-class solves leave for the steps after them (a placement
#: when the requests compete, the coupled step)
RESERVE = 0.5
#: share of the time left that :func:`construct.placement_by_construction` may take when the
#: combination of per-request optima is infeasible and no incumbent is known
WINDOW_SHARE = 0.35


def applies(inst: Instance) -> bool:
    """Whether the decomposition covers the instance: parallel uplink and no admission control
    (any network of MODEL.md section 9: its subproblems are ``tight`` models, which index per map
    the layers where a map's identity matters, :func:`~optdist.milp.data.map_identity_layers`)."""
    return inst.objective.uplink == "parallel" and not inst.objective.admission


def sub_gap(mip_gap: float) -> float:
    """Relative gap of the per-class solves for a run to ``mip_gap``: ``mip_gap / 10``, but not
    under :data:`SUB_GAP_FLOOR` unless ``mip_gap`` itself is (``min(mip_gap, max(mip_gap / 10,
    1e-6))``: 1e-5 at the default 1e-4).

    Why the bound stays valid and the run exact: a per-class solve reports its solver's proven
    dual bound ``B_c <= v_c`` whatever gap it stops at, so ``sum_c n_c B_c`` (the makespan: the
    max) is a lower bound for any sub-gap; the sub-gap only sets how far under ``sum_c n_c v_c``
    it may lie, at most ``mip_gap / 10`` of it. When the per-request optima fit together, the
    combination's objective is within the sub-gap, hence within ``mip_gap``, of that bound: the
    run is ``optimal`` to its own gap, as it was at the old constant 1e-6. Never coarser than
    ``mip_gap``, never finer than the old ``min(mip_gap, 1e-6)``. ``mip_gap``: relative, >= 0."""
    return min(mip_gap, max(SUB_GAP_SHARE * mip_gap, SUB_GAP_FLOOR))


def instance_bound(inst: Instance, per_request: list[float]) -> float | None:
    """A lower bound on the whole instance (seconds) from one lower bound per request on its
    objective alone (full capacities; module docstring): their sum, the makespan their maximum;
    None where they bound nothing (a makespan with a shared-data weight: not separable)."""
    obj = inst.objective
    if obj.kind == "makespan" and obj.shared_weight:
        return None
    return max(per_request) if obj.kind == "makespan" else float(sum(per_request))


def bound_abs_gap(inst: Instance, abs_gap: float) -> float:
    """The absolute tolerance (``abs_gap``'s unit) within which :func:`instance_bound` of per-request
    bounds, each proven by the solver to its own absolute tolerance ``abs_gap``, proves the run's
    objective: ``abs_gap`` per request for their sum (the latency objective), once for the
    makespan (their maximum). Before, the sum was held to one request's: CBC's three per-request
    optima on lenet-3x10-tau0.8 (``--gap 0``), each within its cutoff increment (4.3e-6 µs of 1e-5),
    left the run 1.3e-5 µs apart and ``feasible``."""
    return abs_gap if inst.objective.kind == "makespan" else abs_gap * max(inst.n_requests, 1)


def solve_classes(inst: Instance, *, time_limit: float, mip_gap: float, solver: str = "highs",
                  threads: int | None = None, seed: int | None = None, tee: bool = False,
                  solver_options: dict[str, Any] | None = None, log: list | None = None,
                  clock: Clock | None = None, reserve: float = 0.0,
                  progress: bool = False, bound_log: list[dict] | None = None) -> list[tuple[list[int], SingleSolve]]:
    """Solve one representative per request class with full capacities: (requests, its solve).

    ``reserve``: seconds of the clock's time left kept for later steps. Each class's bound is
    its solve's, uncapped (:func:`solve_single`: the run caps its own bound). ``progress``:
    offer the run's progress (:func:`optdist.milp.run.offer`) the instance bound
    (:func:`instance_bound`) as soon as it is known and each time a class's bound rises: the
    classes not yet solved count with their stage bounds (:func:`bounds.propagate`, no solver),
    so a run stopped inside a long class solve still reports a bound. ``bound_log``: the run's
    record of the solvers' claims refuted by a known placement (:func:`solve_single`; the run's
    ``extra['bound_capped']``).
    """
    clock = clock or Clock(time_limit)
    out = []
    classes = request_classes(inst)
    known: list[float] = []  # per class: its best proven bound so far (progress only)
    if progress:
        known = [propagate(inst, reqs[0], *base_bounds(inst, reqs[0])).lower_bound for reqs in classes]

    def offer_known() -> None:
        if known and all(math.isfinite(b) for b in known):
            offer(bound=instance_bound(inst, [known[c] for c, reqs in enumerate(classes) for _ in reqs]))

    def raised(q: int, v: float) -> None:
        known[q] = max(known[q], v)
        offer_known()

    offer_known()  # the stage bounds, before any solver runs
    for q, reqs in enumerate(classes):
        left = (clock.left() if clock.time_limit is not None else time_limit) - reserve
        if left <= 0 or stop_requested():  # out of time or stopped: the classes left have no solution nor bound
            out += [(rs, SingleSolve(rs[0], Termination.NO_SOLUTION, None, None, 0, 0.0, None)) for rs in classes[q:]]
            break
        ss = solve_single(inst, reqs[0], solver=solver, time_limit=max(left / (len(classes) - q), 0.05),
                          mip_gap=mip_gap, threads=threads, seed=seed, tee=tee, solver_options=solver_options,
                          on_bound=(lambda v, q=q: raised(q, v)) if progress else None, bound_log=bound_log)
        if log is not None:
            log.append({"class": q, "requests": len(reqs), "representative": inst.request_ids[reqs[0]],
                        "status": str(ss.termination), "objective": ss.objective, "bound": ss.bound,
                        "nodes": ss.nodes, "seconds": round(ss.seconds, 3), "steps": ss.steps})
        out.append((reqs, ss))
        clock.report(f"class {q + 1}/{len(classes)}", None, None)
    return out


def _ends_at_adapter_failure(method: Callable[..., SolveResult]) -> Callable[..., SolveResult]:
    """Decorate a run of many solves so that it ends ``error`` where a user adapter failed in any
    of them (it raised, or returned no SolverOutcome: an
    :class:`~optdist.solvers.base.AdapterFailure`), as a single solve with that adapter ends
    (:func:`~optdist.milp.run.solve_formulation`): ``extra["solver_error"]`` names the adapter and
    what it did (the first such failure), the bound is dropped (a run whose solver failed proves
    nothing) and a placement its other steps found stays the incumbent (evaluator-scored). A
    built-in solver's failure is not the user's code failing: it stays a step without a solution."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> SolveResult:
        with solver_failures() as failed:
            res = method(*args, **kwargs)
        user = next((why for why in failed if isinstance(why, AdapterFailure)), None)
        if user is not None:
            res.termination, res.bound = Termination.ERROR, None
            res.extra["solver_error"] = user
        return res

    return run


@stoppable
@reports_solver_failures
@_ends_at_adapter_failure
def solve_decomposed(
    inst: Instance,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    warm_start: Assignment | str | None = None,
    tee: bool = False,
    solver_options: dict[str, Any] | None = None,
    pricing_solver: str | None = None,
    pricing_solver_options: dict[str, Any] | None = None,
    spread: bool = True,
    coupled: bool = True,
    formulation: str = "decomposed",
) -> SolveResult:
    """Decomposition by request; the coupled step when capacities bind (module docstring).

    Options as :func:`optdist.milp.solve.solve_milp`; ``pricing_solver`` and
    ``pricing_solver_options`` reach column generation's pricing problems only
    (:func:`~optdist.milp.decomposition.colgen.column_generation`; None: the run's solver), recorded
    in ``options['pricing_solver']``; ``mip_gap`` defaults to
    :data:`~optdist.milp.run.DEFAULT_MIP_GAP`. Returns a :class:`SolveResult` whose ``bound``
    is the per-class bounds summed, or the coupled step's, whichever is larger, and whose
    ``termination`` is ``optimal`` only when the evaluator's objective is within ``mip_gap`` of
    it (:func:`_settle`). Not re-scored here: :func:`optdist.solve.solve` finalizes once, and
    caps a bound above the placement's score (:func:`optdist.result.finalize`).
    ``coupled=False`` skips the coupled step (the combination or the warm start is then the
    incumbent, if feasible). The per-class placements (each at least the greedy's) are combined
    for every objective: for a makespan with a shared-data weight, whose per-class bounds bound
    nothing (:func:`instance_bound`), the combination, if feasible, is still the incumbent (kept
    when every later step fails), without a bound. A feasible warm start is the incumbent to beat (and the coupled
    step's MIP start where it is the best known and the solver takes one, else
    ``extra["warm_start_not_seeded"]`` says why): the start kept, ``extra["incumbent"]`` says "the
    warm start: " and why. One that breaks a constraint (an assignment the evaluator rejects) is
    not used: ``options["warm_start"]`` False, ``extra["warm_start_skipped"]`` says why. A step
    whose solver fails (termination ``error``, e.g. a CBC process killed by the OOM killer) counts
    as a step without a solution; the run goes on with the others and reports why in
    ``extra["solver_errors"]``
    (:func:`~optdist.solvers.base.reports_solver_failures`). A user adapter that raises or returns
    no SolverOutcome in any step ends the run ``error`` instead, naming it in
    ``extra["solver_error"]`` (:func:`_ends_at_adapter_failure`). A signal while the warm start runs
    (an rl start's training) ends the run there, as in :func:`~optdist.milp.run.solve_formulation`
    (:func:`~optdist.milp.run.stop_before_build`): nothing is solved. SIGINT/SIGTERM stop the whole
    call, also one made directly rather than through :func:`optdist.solve`
    (:func:`~optdist.solvers.base.stoppable`: ``interrupted`` with the incumbent and bound so far).
    """
    clock = Clock(time_limit)
    adapter = adapter_for(solver, solver_options)
    if mip_gap is None:
        mip_gap = adapter.defaults.get("mip_gap", DEFAULT_MIP_GAP)
    common = dict(solver=solver, threads=threads, seed=seed, tee=tee, solver_options=solver_options)
    if not applies(inst):
        res = solve_formulation(inst, "tight", time_limit=time_limit, mip_gap=mip_gap, warm_start=warm_start, **common)
        res.extra["decomposed"] = "not applicable (serial uplink or admission control): solved with 'tight'"
        if pricing_solver is not None:
            res.extra["pricing_solver_unused"] = "the decomposition does not apply: no pricing"
        return res
    obj = inst.objective
    log: list[dict] = []
    res = SolveResult(inst.name, "milp", Termination.NO_SOLUTION, solver=solver, formulation=formulation,
                      options={**adapter.settings(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
                               "spread": spread, "coupled": coupled, "warm_start": False})
    asked = res.options.get("threads") or 1
    if asked > 1 and not adapter.has(Feature.THREADS):  # as Solver.solve says of each of its solves
        res.extra["threads_unused"] = one_thread(adapter.name, asked)
    if "seed" in res.options and not adapter.has(Feature.SEED):
        res.extra["seed_unused"] = no_seed(adapter.name, res.options["seed"])
    if pricing_solver is not None:
        res.options["pricing_solver"] = pricing_solver
        if pricing_solver_options:
            res.options["pricing_solver_options"] = dict(pricing_solver_options)
    separable = not (obj.kind == "makespan" and obj.shared_weight)
    start: Assignment | None = None
    if warm_start is not None:
        start, info = warm_start_assignment(inst, warm_start, clock.left())
        res.extra.update(info)
    start_ev = None if start is None else evaluate(inst, start)
    if stop_requested():  # a signal while the warm start ran (rl's training ended there): solve nothing
        stop_before_build(inst, res, warm_start, start, start_ev)
        res.wall_time = clock.elapsed
        return res
    if start_ev is not None and not start_ev.feasible:  # a given assignment that breaks constraints
        res.extra["warm_start_skipped"] = (f"it breaks {len(start_ev.violations)} constraint(s), e.g. "
                                           f"{start_ev.violations[0].message}; the decomposition starts only from a "
                                           "feasible placement")
        start = None
    if start is not None:  # the incumbent to beat, and the MIP start of the coupled step
        res.options["warm_start"] = adapter.has(Feature.WARM_START)
        if not adapter.has(Feature.WARM_START):
            res.extra["warm_start_not_seeded"] = f"solver {adapter.name} takes no MIP start"
    reserve = RESERVE * time_limit if (coupled and time_limit is not None and inst.n_requests > 1) else 0.0
    capped: list[dict] = []  # bounds capped at a feasible point (guard.cap_bound): extra["bound_capped"]
    solves = solve_classes(inst, time_limit=1e9 if time_limit is None else time_limit,
                           mip_gap=sub_gap(mip_gap), log=log, clock=clock, reserve=reserve,
                           progress=True, bound_log=capped, **common)
    res.extra["classes"] = log
    res.nodes = sum(s.nodes for _, s in solves)
    claimed = [inst.request_ids[r] for reqs, s in solves if s.termination is Termination.INFEASIBLE for r in reqs]
    if claimed and start is None:
        # a request alone (full capacities) is infeasible: so is the whole (a relaxation); a proof: +inf
        res.termination, res.bound = Termination.INFEASIBLE, math.inf
        res.extra["infeasible_requests"] = claimed
        res.wall_time = clock.elapsed
        return res
    if claimed:  # the feasible warm start disproves it: those classes have neither placement nor bound
        add_warning(res.extra, claim_discarded(solver, f"request(s) {', '.join(claimed)} infeasible alone",
                                               start_ev.objective))
    lb_of = {r: None if s.termination is Termination.INFEASIBLE else s.bound for reqs, s in solves for r in reqs}
    bounds_known = all(v is not None for v in lb_of.values())
    if bounds_known and separable:
        res.bound = instance_bound(inst, list(lb_of.values()))
    if all(s.has_solution for _, s in solves):  # the makespan with a shared weight too: an incumbent, no proof
        asg = combine(inst, [(reqs, s.owners) for reqs, s in solves], spread=spread)
        ev = evaluate(inst, asg)
        res.extra["combination_feasible"] = ev.feasible
        if ev.feasible:
            res.assignment, res.objective = asg, ev.objective
        else:
            res.extra["combination_violations"] = [v.message for v in ev.violations[:10]]
    clock.report("per-request optima", res.objective, res.bound)
    offer(res.assignment, res.objective, res.bound)
    if start is not None and (res.objective is None or start_ev.objective < res.objective):
        # the start is the incumbent until something better is found
        res.extra["incumbent"] = ("the warm start: the per-request optima gave no feasible placement (not all "
                                  "found, or they do not fit together)" if res.objective is None else
                                  f"the warm start: the evaluator scores it {start_ev.objective:.9g} s, better than "
                                  f"the combination of the per-request optima ({res.objective:.9g} s)")
        res.assignment, res.objective = start, start_ev.objective
        offer(start, start_ev.objective)
    if res.assignment is None and separable and inst.n_requests > 1:  # the requests compete: a placement by shares
        left = clock.left()
        until = time.perf_counter() + (60.0 if left is None else WINDOW_SHARE * left)
        asg = placement_by_construction(inst, deadline=until)
        if asg is not None:  # feasible (the evaluator said so); the MIP start of the coupled step
            res.assignment, res.objective = asg, evaluate(inst, asg).objective
            res.extra["incumbent"] = asg.meta["found_by"]
        clock.report("placement by shares", res.objective, res.bound)
        offer(res.assignment, res.objective)
    left = clock.left()
    abs_gap = bound_abs_gap(inst, adapter.abs_gap)  # model units
    closed = closes_gap(res.objective, res.bound, mip_gap, abs_gap * TIME_UNIT)  # as _settle rules
    if coupled and (left is None or left > 0.5) and not closed and not stop_requested():
        res.extra["coupled"] = True
        alone = {s.r: (s.bound, s.owners) for _, s in solves
                 if s.bound is not None and s.termination is not Termination.INFEASIBLE}
        _coupled(inst, res, lb_of if (bounds_known and separable) else {}, alone, clock=clock, mip_gap=mip_gap,
                 bound_log=capped, pricing=(pricing_solver, pricing_solver_options), **common)
    if capped:
        res.extra["bound_capped"] = capped
    _settle(res, clock, mip_gap=mip_gap, abs_gap=abs_gap)
    if pricing_solver is not None and res.extra.get("coupled_solve", {}).get("method") != "column generation":
        res.extra["pricing_solver_unused"] = (
            "the coupled step is the tight model of all requests (makespan objective): no pricing"
            if res.extra.get("coupled") else "no column generation ran (the per-class solves settled the run)")
    res.wall_time = clock.elapsed
    return res


def _settle(res: SolveResult, clock: Clock, *, mip_gap: float, abs_gap: float) -> None:
    """Set the termination of a decomposed run from its incumbent and bound: ``no_solution``
    without a placement (``extra["stopped"]`` says so where the clock ran out), ``optimal`` where
    the gap closes (:func:`optdist.result.closes_gap`, the one home of the rule: ``mip_gap``,
    relative; or ``abs_gap``, the solver's absolute tolerance in its time unit, as the run's bound
    sums it: :func:`bound_abs_gap`), else
    :func:`_gap_left`; ``infeasible`` (a step proved that no placement exists) keeps none and its
    bound is +inf, as every proof of infeasibility's (README "Gap"). The run's bound is not capped
    here: :func:`optdist.result.finalize` is the one home of the run's cap. A bound above the incumbent
    beyond the solvers' tolerance (a false claim: the per-class bounds come uncapped) is capped
    there at the placement's score, recorded, and the ``optimal`` it would prove becomes
    ``feasible`` (``extra["optimality_unproven"]``); one within the tolerance is capped silently
    and stands. A run whose bound rests on a cap column generation made (its pricing, its own
    bound; listed in ``extra["bound_capped"]``) is not ``optimal`` either."""
    if res.termination is Termination.INFEASIBLE:  # a proof that no placement exists: its bound is +inf
        res.assignment = res.objective = None
        res.bound = math.inf
    elif res.assignment is None:
        res.termination = Termination.NO_SOLUTION
        left = clock.left()
        if left is not None and left <= 0.5:
            res.extra.setdefault("stopped", f"the solve's time limit ({clock.time_limit:g} s; from the CLI, its "
                                            "--time-limit less start-up and an exit reserve) was reached before a "
                                            "placement was found (fix: raise --time-limit)")
    elif closes_gap(res.objective, res.bound, mip_gap, abs_gap * TIME_UNIT):
        res.termination = Termination.OPTIMAL
    else:
        res.termination = _gap_left(res.extra.get("coupled_solve", {}).get("termination"), clock.left())


def _gap_left(coupled: str | None, left: float | None) -> Termination:
    """The termination of a decomposed solve that ends with a placement and a gap left (README
    "Results"): ``time_limit`` where the clock stopped it, ``feasible`` where its search ended by
    itself. ``coupled``: the coupled step's own termination (``extra.coupled_solve.termination``;
    None if it did not run); column generation says ``time_limit`` when its branch-and-price was
    stopped by its deadline, which leaves a reserve of the time for the integer master, so
    seconds may be left on the clock then (lenet-9x5-nexus-rpi3, ``--time-limit 60``: 9 nodes
    open, ended at 51 s). ``left``: seconds left on the clock (None: no limit)."""
    if coupled in (Termination.FEASIBLE, Termination.TIME_LIMIT):
        return Termination(coupled)
    return Termination.TIME_LIMIT if left is not None and left <= 0.5 else Termination.FEASIBLE


def _coupled(inst: Instance, res: SolveResult, lb_of: dict[int, float], alone: dict, *, clock: Clock, mip_gap: float,
             solver: str, threads: int | None, seed: int | None, tee: bool,
             solver_options: dict[str, Any] | None, bound_log: list[dict],
             pricing: tuple[str | None, dict[str, Any] | None] = (None, None)) -> None:
    """Capacities bind: column generation (sum of latencies), or the tight model of all requests
    (makespan) (module docstring).

    Updates ``res`` in place: a better evaluator-feasible incumbent, a larger valid bound.
    ``alone``: the per-class solves (request -> (bound alone, placement)) for column generation's
    round 0; ``bound_log``: the run's record of bounds capped at a feasible point (column
    generation's caps join it: the run warns once); ``pricing``: column generation's pricing
    solver and its raw options (None: the run's; the makespan's tight model has no pricing).
    """
    lower = res.bound if res.bound is not None else 0.0
    if inst.objective.kind == "latency":
        try:
            out = column_generation(inst, solver=solver, time_limit=clock.left(), mip_gap=mip_gap, threads=threads,
                                    seed=seed, tee=tee, solver_options=solver_options, pricing_solver=pricing[0],
                                    pricing_solver_options=pricing[1], start=res.assignment,
                                    lower_bound=lower, alone=alone, progress_origin=clock.start, bound_log=bound_log)
        except BuildTimeout as e:  # a pricing model could not be built in the time left
            res.extra["coupled_solve"] = {"method": "column generation", "stopped": str(e)}
            return
        res.extra["coupled_solve"] = {"method": "column generation", "termination": str(out.termination),
                                      "objective": out.objective, "bound": out.bound, **out.extra}
        _merge(inst, res, out.assignment, out.bound, out.termination, out.nodes)
        return
    adapter = adapter_for(solver, solver_options)
    try:
        b = build(inst, "tight", deadline=clock.deadline, interruptible=True)
    except BuildTimeout as e:  # out of time, or SIGINT/SIGTERM (BuildInterrupted): the incumbent and bound so far
        res.extra["coupled_solve"] = {"stopped": str(e)}
        return
    # per-request bounds bound the latency only when the objective is the latency alone
    cuts = lb_of if not inst.objective.shared_weight else {}
    b.model.request_bounds = pyo.Constraint(
        sorted(cuts), rule=lambda _, r: b.latency(r) >= cuts[r] / TIME_UNIT * (1 - 1e-9))
    left = clock.left()
    out, asg, seeded = solve_built(b, adapter, time_limit=None if left is None else max(left, 0.05),
                                   mip_gap=mip_gap, threads=threads, seed=seed, tee=tee, start=res.assignment)
    bound = out.bound if out.bound is not None or out.termination is not Termination.OPTIMAL else out.incumbent
    res.extra["coupled_solve"] = {"method": "tight model of all requests", "termination": str(out.termination),
                                  "solver_status": out.status, "objective": out.incumbent and out.incumbent * TIME_UNIT,
                                  "bound": bound and bound * TIME_UNIT, "nodes": out.nodes, "seeded": seeded,
                                  "seconds": round(out.wall_time, 3), **b.stats()}
    _merge(inst, res, asg, None if bound is None else bound * TIME_UNIT, out.termination, out.nodes)
    clock.report("coupled tight model", res.objective, res.bound)


def _merge(inst: Instance, res: SolveResult, asg: Assignment | None, bound: float | None,
           termination: Termination, nodes: int | None) -> None:
    """Keep the better incumbent (evaluator-scored) and the larger bound. A step's claim that the
    instance is infeasible ends the run ``infeasible``, unless ``res`` holds a feasible placement
    (the warm start, the combination, one by shares): then the claim and its bound are discarded
    and a warning in ``extra["warning"]`` names the solver and the claim
    (:func:`~optdist.milp.run.claim_discarded`, after any warning already there:
    :func:`~optdist.result.add_warning`)."""
    res.nodes = (res.nodes or 0) + (nodes or 0)
    if termination is Termination.INFEASIBLE and res.objective is not None:  # a feasible placement disproves it
        add_warning(res.extra, claim_discarded(res.solver, "the coupled model infeasible", res.objective))
        return
    if termination is Termination.INFEASIBLE:
        res.termination = Termination.INFEASIBLE
        return
    if bound is not None:
        res.bound = max(res.bound if res.bound is not None else -float("inf"), bound)
    if asg is not None:
        ev = evaluate(inst, asg)
        if ev.feasible and (res.objective is None or ev.objective < res.objective):
            res.assignment, res.objective = asg, ev.objective
            res.extra.pop("incumbent", None)
    offer(res.assignment, res.objective, res.bound)
