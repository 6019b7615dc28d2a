"""One request alone on the ``tight`` Pyomo model (``per-map`` for a network tight cannot count),
by stage bounds and rising latency cutoffs.

Any solver adapter or profile of :mod:`optdist.solvers` (seed, threads, tee and raw solver
options honoured). Objectives and bounds in seconds; statuses are
:class:`~optdist.result.Termination` values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.heuristics.incremental import RequestPlacer, Usage
from optdist.instance import Instance
from optdist.milp.data import TIME_UNIT
from optdist.milp.decomposition.bounds import INF, base_bounds, capacities, propagate
from optdist.milp.decomposition.guard import cap_bound
from optdist.milp.model import BuildTimeout, BuiltModel, build
from optdist.milp.run import adapter_for, solve_built
from optdist.milp.tight import lexicographic_symmetry
from optdist.result import Termination, closes_gap, within_rounding
from optdist.transfers import RESOURCES

#: relative latency cutoffs above the stage bound, tried in turn (the last: none)
CUTOFF_STEPS = (0.005, 0.02, 0.08, 0.32, INF)
#: relative margin above the best objective known at which an adapter whose claims are checked
#: (GLPK) is cut off (:func:`solve_single`): cut off at it exactly, GLPK 5's optimum of micro-1x3-tau0.6
#: (within its tolerances) lay 2e-9 under the evaluator's, and its bound with it, so a run asked for a
#: gap of 1e-9 (tests/test_milp_formulations.py) ended ``feasible``; with the margin it stops at the
#: latency floor, 1e-9 under (:func:`restrict`)
CHECKED_MARGIN = 1e-6


@dataclass
class SingleSolve:
    """Request r solved alone (full or given capacities).

    ``owners``: per-layer owner arrays of the best solution (None: none found);
    ``objective``/``bound`` in seconds, the bound valid for the request alone;
    ``steps``: one entry per cutoff round.
    """

    r: int
    termination: Termination
    objective: float | None
    bound: float | None
    nodes: int
    seconds: float
    owners: list[np.ndarray] | None
    solver_status: str = ""
    steps: list[dict] = field(default_factory=list)

    @property
    def has_solution(self) -> bool:
        return self.owners is not None


def alone(inst: Instance, r: int, owners: list[np.ndarray]) -> tuple[float, np.ndarray]:
    """Request r's share of the objective (seconds: latency plus the shared-data weight times
    its bytes moved) and its usage (n_nodes, 3: memory, compute, bandwidth), evaluated alone."""
    own: list = [None] * inst.n_requests
    own[r] = owners
    ev = evaluate(inst, Assignment(own))
    cost = float(ev.latency[r]) + inst.objective.shared_weight * float(ev.shared_bytes[r])
    return cost, np.stack([ev.memory_used, ev.compute_used, ev.bandwidth_used], axis=1).astype(float)


def greedy_alone(inst: Instance, r: int, capacity: dict[str, np.ndarray] | None = None,
                 active: np.ndarray | None = None) -> list[np.ndarray] | None:
    """The DistPrivacy greedy's placement of request r alone within ``capacity`` (per-node
    ``memory``/``compute``/``bandwidth``; default: the instance's) on the nodes ``active``
    (boolean, n_nodes; default: all), or None where it fails.

    A feasible placement of the subproblem (the greedy keeps every capacity and privacy
    limit: :class:`optdist.heuristics.incremental.RequestPlacer`), so its cost bounds the
    subproblem's optimum from above; used as the first incumbent and MIP start of
    :func:`solve_single`.
    """
    full = capacities(inst)
    cap = full if capacity is None else capacity
    used = {k: np.maximum(full[k] - np.asarray(cap[k], dtype=float), 0.0) for k in RESOURCES}
    rp = RequestPlacer(inst, Usage(used["memory"], used["compute"], used["bandwidth"]), r, active)
    return rp.owners if rp.fill_greedy() else None


def bounds_matrix(inst: Instance, nodes: list[np.ndarray], ub: list[np.ndarray]) -> np.ndarray:
    """(L, N) upper bounds on ``n[r,k,i]`` from per-layer candidate arrays and their bounds."""
    out = np.zeros((len(nodes), inst.n_nodes), dtype=np.int64)
    for k, (nd, u) in enumerate(zip(nodes, ub)):
        out[k, nd] = u
    return out


def restrict(b: BuiltModel, r: int, cutoff: float | None, latency_lb: float | None) -> None:
    """Add what a cutoff round knows: ``latency_r <= cutoff`` and ``latency_r >= latency_lb`` (seconds).

    (Stage-time caps and the flows they rule out go in at build time: ``build(stage_max=...)``.)
    """
    import pyomo.environ as pyo

    m = b.model
    if cutoff is not None:
        m.latency_max = pyo.Constraint(expr=b.latency(r) <= cutoff / TIME_UNIT * (1 + 1e-9))
    if latency_lb is not None and math.isfinite(latency_lb):
        m.latency_min = pyo.Constraint(expr=b.latency(r) >= latency_lb / TIME_UNIT * (1 - 1e-9))


def _fits(b: BuiltModel, r: int, owners: list[np.ndarray]) -> bool:
    """Every owner count of ``owners`` is within the model's bounds (a usable MIP start)."""
    nmax = b.data.nmax[r]
    return all((np.bincount(a, minlength=nmax.shape[1]) <= nmax[k]).all() for k, a in enumerate(owners))


def solve_single(
    inst: Instance,
    r: int,
    *,
    solver: str = "highs",
    time_limit: float = 60.0,
    mip_gap: float = 1e-6,
    threads: int | None = None,
    seed: int | None = None,
    tee: bool = False,
    solver_options: dict[str, Any] | None = None,
    capacity: dict[str, np.ndarray] | None = None,
    steps: Sequence[float] = CUTOFF_STEPS,
    on_bound: Callable[[float], None] | None = None,
    bound_log: list[dict] | None = None,
) -> SingleSolve:
    """Request r alone (exact), on the tight model (any network of MODEL.md section 9) with ``solver``.

    ``capacity``: per-node capacities keyed ``memory``/``compute``/``bandwidth`` (default:
    the instance's). The objective is request r's share of the instance's objective
    (latency, plus ``shared_weight`` x bytes moved), r placed: with admission control
    (MODEL.md section 8) too, the model has no rejection of r (the callers with admission control,
    :mod:`optdist.heuristics.plan_guided`, want its placement; before, the solver's rejection came
    back as the incumbent and the next round's MIP start crashed on it).

    1. Stage bounds (:func:`bounds.propagate` without a cutoff) give ``LB0 <= latency``;
       the greedy alone (:func:`greedy_alone`; parallel uplink) gives the first incumbent.
    2. For cutoffs ``c = min(LB0 (1 + delta), best objective so far)``, delta in ``steps``
       (the last: none): every solution with latency at most c lies in the domain that
       :func:`bounds.propagate` leaves (tightened ``u``; stage times at most ``LB_k + slack``;
       elementwise flows that could not arrive in time removed), so the small model
       restricted to it, plus ``latency <= c``, either has no solution (then every solution
       has latency, hence objective, above c: the bound rises to c) or its optimum v, if
       ``v <= c``, is the request's optimum (solutions outside have objective >= latency > c).
       With a shared-data weight, ``v > c`` can happen: the bound becomes ``min(v, c)`` and
       the next round cuts off at v.

    Identical devices are ordered lexicographically by their segments per layer
    (:func:`optdist.milp.tight.lexicographic_symmetry`, as in the column generation's pricing;
    the optimum is unchanged): one CIFAR request of ``mixed-8x6-nexus-rpi3`` alone closed at gap
    1e-6 in 3.9 s (8 nodes) instead of 25.7 s (2,406 nodes), one of ``cifar-6x5-nexus-rpi3`` in
    3.2 s instead of 8.4 s (``benchmarks/scale/README.md``, branch price11f).

    A model that cannot be built in the time left (:class:`~optdist.milp.model.BuildTimeout`), or
    whose build SIGINT/SIGTERM stops (:class:`~optdist.milp.model.BuildInterrupted`), ends the
    rounds: the incumbent and bound so far are returned.

    The bound returned is the solvers' as proven, not capped at the best objective found (only
    rounding above it is taken off: :func:`optdist.result.within_rounding`): a
    solver's false optimum leaves it above that objective, and the run that sums it caps its
    own bound once, at its placement's score, and records the cap
    (:func:`optdist.result.finalize`, the one home of the cap; before, this solve capped it
    itself, so the run's bound equalled its objective and the run said ``optimal``). The solve
    is ``optimal`` where the bound closes ``mip_gap`` on the objective
    (:func:`optdist.result.closes_gap`, with the solver's absolute tolerance), else
    ``time_limit``. ``on_bound``: called with each new proven bound (seconds; the stage
    bound first, before any solver runs), e.g. to offer the run's progress a bound before a long
    solve (:func:`optdist.milp.decomposition.orchestrate.solve_classes`).

    A solver's ``infeasible`` on a model the known placement lies in (the MIP start: the best
    objective so far is at most the round's cutoff and its owner counts fit the model's bounds) is
    a false claim (GLPK 5 on request 0 of break34a's ``fz102``, cutoff at the greedy's 0.184509 s:
    no primal feasible LP; CBC and HiGHS find 0.182728 s). It is refuted: every bound that solver's
    claims raised in this solve is suspect (earlier rounds cut off below the optimum, where no
    placement could refute them), so the bound reverts to what the stage bounds alone proved
    (:func:`bounds.propagate`, the rounds it pruned), the claim is recorded in ``bound_log``
    (:func:`optdist.milp.decomposition.guard.cap_bound`: ``reported`` None, an infinite bound;
    the run's ``extra['bound_capped']``, so :func:`optdist.result.finalize` leaves it unproven;
    default: a list of this solve's own) and the round's entry says ``refuted``, and one
    round without a cutoff follows (a second refuted claim ends the rounds). An adapter whose
    claims are checked (:meth:`~optdist.solvers.base.Solver.bound_checked`: GLPK, a user's) is not
    trusted from the start: its ``infeasible`` on a cutoff model raises no bound, so no bound on the
    way (``on_bound``, the progress a stopped run reports) rests on a claim not yet refuted. Its
    rounds below the best objective known are therefore stage bounds only, and it solves cut off at
    that objective (times ``1 +`` :data:`CHECKED_MARGIN`), where the known placement refutes a false
    ``infeasible`` (GLPK: lenet-1x10-tau0.8's request in 0.2 s; before, cut off 8 % above the stage
    bound, not closed in 60 s); without a known placement the next round cuts off higher, the last
    not at all.
    """
    t0 = time.perf_counter()
    if inst.objective.admission:  # r is placed here: a rejected request has no placement (nor MIP start)
        inst = inst.with_spec(objective=inst.objective.model_copy(update={"admission": False}))
    log: list[dict] = []
    adapter = adapter_for(solver, solver_options)
    cap_override = None if capacity is None else {k: v for k, v in capacity.items()}
    nodes, ub = base_bounds(inst, r, None, capacity)
    p0 = propagate(inst, r, nodes, ub)
    lb = lat_lb = staged = p0.lower_bound  # staged: what the stage bounds alone prove (optdist's own)
    record: list[dict] = [] if bound_log is None else bound_log
    nodes_total = 0
    best: tuple[float, list[np.ndarray]] | None = None
    status = ""
    if not math.isfinite(lb):
        log.append({"step": "stage bounds", "result": "a layer cannot be placed"})
        return SingleSolve(r, Termination.INFEASIBLE, None, None, 0, time.perf_counter() - t0, None, "", log)

    own = greedy_alone(inst, r, capacity) if inst.objective.uplink == "parallel" else None
    if own is not None:  # a feasible placement: the first incumbent, cutoff and MIP start
        cost, use = alone(inst, r, own)
        cap = capacity or capacities(inst)
        if (use <= np.stack([cap[k] for k in RESOURCES], axis=1) * (1 + 1e-9) + 1e-9).all():  # re-checked
            best = (cost, own)
            log.append({"step": "greedy", "objective": best[0]})

    def tell() -> None:
        """The bound so far to ``on_bound`` (as :func:`done` returns it)."""
        if on_bound is not None and math.isfinite(lb):
            on_bound(lb if best is None else within_rounding(lb, best[0]))

    tell()  # the stage bound, before any solver runs

    def done(term: Termination | None = None) -> SingleSolve:
        secs = time.perf_counter() - t0
        if best is None:
            return SingleSolve(r, term or Termination.NO_SOLUTION, None, lb, nodes_total, secs, None, status, log)
        bound = within_rounding(lb, best[0])
        closed = closes_gap(best[0], bound, mip_gap, adapter.abs_gap * TIME_UNIT)
        term = Termination.OPTIMAL if closed else Termination.TIME_LIMIT
        return SingleSolve(r, term, best[0], bound, nodes_total, secs, best[1], status, log)

    # trusted: the solver's infeasibility claims raise the bound (none refuted yet, and not an adapter
    # whose claims are checked, Solver.bound_checked: GLPK, a user's). An untrusted claim on a cutoff
    # model raises nothing, so no bound shown on the way (on_bound) rests on it.
    # cut: the rounds cut off at the best objective known, if lower (until a claim is refuted). A checked
    # adapter's rounds below it are stage bounds only: its solver runs cut off at it (plus CHECKED_MARGIN),
    # where the known placement refutes a false infeasible (before, its rounds ran at LB0 (1 + delta) above
    # it, GLPK 5 with no MIP start in a model with a latency floor it could not close: lenet-1x10-tau0.8
    # stopped at gap 9.9e-4 in 60 s, where --formulation tight proved the optimum in 9.8 s).
    todo, trusted, cut = list(steps), not adapter.bound_checked(), True
    while todo:
        d = todo.pop(0)
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.01:
            break
        cutoff = INF if d == INF else p0.lower_bound * (1 + d)
        if best is not None and cut:
            cutoff = min(cutoff, best[0] * (1 + (0.0 if trusted else CHECKED_MARGIN)))
        cutoff = None if cutoff == INF else cutoff
        p = propagate(inst, r, nodes, ub, cutoff=cutoff)
        entry: dict = {"cutoff": cutoff, "stage_bound": p.lower_bound}
        log.append(entry)
        if cutoff is not None and p.pruned:
            lb = lat_lb = max(lb, cutoff)
            staged = max(staged, cutoff)
            tell()
            entry["result"] = "pruned by stage bounds"
            if best is not None and cutoff >= best[0]:
                return done()
            continue
        if not trusted and cut and best is not None and cutoff < best[0] * (1 + CHECKED_MARGIN):  # not refutable
            todo = [INF]  # cut off at the best known (cut)
            entry["result"] = "not pruned: the solver runs cut off at the best objective known (its claims are checked)"
            continue
        stage_max = None if cutoff is None else [x + cutoff - p.lower_bound for x in p.stage_lb]
        tb = time.perf_counter()
        try:
            b = build(inst, "tight", requests=[r], capacity_override=cap_override,
                      bounds={r: bounds_matrix(inst, nodes, p.ub)},
                      stage_max=None if stage_max is None else {r: stage_max}, deadline=t0 + time_limit,
                      interruptible=True)
        except BuildTimeout as e:  # out of time, or SIGINT/SIGTERM, before the solver could start: keep what is known
            entry["result"] = str(e)
            break
        lexicographic_symmetry(b)  # identical devices ordered by their segments per layer
        restrict(b, r, cutoff, lat_lb)
        start = None
        if best is not None and (cutoff is None or best[0] <= cutoff) and _fits(b, r, best[1]):
            owners: list = [None] * inst.n_requests
            owners[r] = best[1]
            start = Assignment(owners)
        build_s = time.perf_counter() - tb
        left = time_limit - (time.perf_counter() - t0)
        out, asg, _ = solve_built(b, adapter, time_limit=max(left, 0.05), mip_gap=mip_gap, threads=threads,
                                  seed=seed, tee=tee, start=start)
        status = out.status
        nodes_total += out.nodes or 0
        obj = None if out.incumbent is None else out.incumbent * TIME_UNIT
        bnd = out.bound if out.bound is not None or out.termination is not Termination.OPTIMAL else out.incumbent
        bnd = None if bnd is None else bnd * TIME_UNIT
        entry.update(status=str(out.termination), objective=obj, bound=bnd, nodes=out.nodes,
                     build_s=round(build_s, 3), seconds=round(out.wall_time, 3), **b.stats())
        if out.termination is Termination.INFEASIBLE and start is not None:  # refuted by the known placement
            what = (f"request {inst.request_ids[r]} alone, "
                    + ("no cutoff" if cutoff is None else f"latency cutoff {cutoff:.9g} s"))
            cap_bound(math.inf, [best[0]], solver=solver, what=what, record=record)
            entry["result"] = (f"refuted: the known placement (objective {best[0]:.9g} s) lies in this model; the "
                               f"bound reverts to the stage bounds' {staged:.9g} s")
            lb = lat_lb = staged
            todo, trusted, cut = ([] if cutoff is None else [INF]), False, False  # no more cutoffs: one round without
            continue
        if out.termination is Termination.INFEASIBLE:
            if cutoff is None:
                return done(Termination.INFEASIBLE)
            if not trusted:  # an unchecked claim: proves nothing; the next round cuts off higher, or not at all
                entry["result"] = "infeasible (not trusted: the solver's claims are checked; the bound stays)"
                continue
            lb = lat_lb = max(lb, cutoff)
            tell()
            if best is not None and cutoff >= best[0]:
                return done()
            continue
        if asg is not None and obj is not None and (best is None or obj < best[0]):
            best = (obj, asg.owners[r])
        # every solution of latency <= cutoff lies in this model: min(its bound, cutoff) bounds all;
        # a bound above the solve's own incumbent (beyond rounding) is a false claim: it goes up
        # as it is, not hidden under the cutoff, for the run to cap and record
        # (optdist.result.finalize)
        bound = bnd if bnd is not None else lb
        false = bnd is not None and obj is not None and within_rounding(bnd, obj) > obj
        lb = max(lb, bound if false else min(bound, INF if cutoff is None else cutoff))
        tell()
        if out.termination is Termination.OPTIMAL and cutoff is not None and best is not None and best[0] > cutoff:
            continue  # shared data: the objective exceeds the latency cutoff; look further
        break
    return done()
