"""Plan-guided online placement: the exact engine's plan for the expected load, then exact repair.

An online method (requests arrive in order; each is placed once, on the capacities the earlier
ones left, or rejected) that looks ahead through a *forecast* of the load, as bid-price and
"certainty-equivalent" controls do in network revenue management (Talluri and van Ryzin, *The
Theory and Practice of Revenue Management*, 2004, ch. 3: decisions from the deterministic
problem over the expected demand, re-planned or repaired when the arrivals deviate).

Maths (MODEL.md sections 5-7). Requests interact only through the node capacities (10b-10d),
and a request's usage of a node does not depend on the others (MODEL.md section 6). Let a
*class* be the requests of one CNN on one source node (they have the same placements, latency
and usage).

1. **Plan (before the first request, not a decision).** The exact engine
   (:func:`optdist.solve.solve`, method ``milp``: the decomposition by request and, where
   capacities bind, Dantzig-Wolfe column generation, :mod:`optdist.milp.decomposition`) solves
   the *forecast*, an instance with the expected requests (default: the instance's own
   classes and counts, i.e. a forecast that is exact in the counts per class, not in the
   order). Its evaluator-feasible placement gives each class ``c`` a multiset ``Q_c`` of
   planned placements (one per forecast request), each with its cost alone
   ``c_p = latency_p + lambda shared_p`` and usage ``a_p[i, res]``
   (:func:`optdist.milp.decomposition.repair.alone`). Together they fit the capacities: the
   capacity rows of the master hold at the plan, so *following* it keeps every request's
   place free for it, which a myopic rule (each request at its own best) does not.
2. **Decision for request r of class c** (timed): with the residual capacities
   ``R = cap - sum_{placed q} a_q``, take the cheapest unused planned placement ``p in Q_c``
   with ``a_p <= R`` (every resource, every node), and mark it used.
   With ``improve``, r then gets the best placement alone on ``R - sum_{p' in Q} a_{p'}``
   (the capacity left once every planned placement still unused, of every class, is
   reserved; exact single-request solve, at most ``repair_time_limit`` s) when it is cheaper
   than ``p``: ``p`` itself fits there (the plan fits together), so the later requests'
   planned placements all still fit. This is the improvement step of
   :func:`optdist.milp.decomposition.repair.fill_and_improve`, made online (one request, once).
3. **Repair** (the forecast was short of class c, or no planned placement fits): the cheaper
   of the DistPrivacy greedy's placement of r on ``R`` (:mod:`optdist.heuristics.greedy`,
   milliseconds) and r alone, exactly, on ``R``
   (:func:`optdist.milp.decomposition.single.solve_single` with ``capacity=R``, at most
   ``repair_time_limit`` s; per-map where the tight model cannot count the network); neither
   found: r is rejected.

If the exact engine finds no feasible placement of the whole forecast (more requests forecast
than fit, or none found in time), it plans again with admission control (MODEL.md section 8:
a forecast request may be rejected at a penalty of 1000 x a latency bound), so an
over-forecast still plans the requests that fit.

Every accepted request fits ``R``, so the placement never breaks (10b-d); one-owner, placement
and privacy rows hold for every planned or repaired placement (each is a placement of the
request alone on the tight model). With an exact forecast and a complete plan, the online
placement is the plan (latency: the exact engine's incumbent on the forecast); a shorter or
different forecast is repaired request by request (``extra["repaired"]``).

A heuristic: no bound. The objective it claims is re-scored by the independent evaluator
(:func:`optdist.solve.solve`). ``extra``: ``rejected``/``rejected_ids`` (as every online
method), ``decision_ms_mean``/``decision_ms_max`` (per request, plan excluded),
``decision_us_per_segment`` (all decisions over all segments), ``plan_s`` (the
exact engine's seconds), ``plan_objective`` (s, its evaluator objective on the forecast, None
if it found no feasible placement), ``followed``, ``improved`` and ``repaired`` (requests placed each way).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.heuristics.incremental import OnlineOutcome, require_parallel_uplink
from optdist.instance import Instance, load_instance
from optdist.milp.decomposition.bounds import capacities
from optdist.milp.decomposition.repair import alone
from optdist.milp.decomposition.single import greedy_alone, solve_single
from optdist.result import SolveResult
from optdist.transfers import RESOURCES

FIT_RTOL = 1e-9  # relative slack of the fit test (the evaluator's own tolerance is looser)


def _key(inst: Instance, r: int) -> tuple[str, int]:
    """The class of request r: its CNN and its source node."""
    return inst.request_cnn[r], int(inst.request_source[r])


def _fits(use: np.ndarray, resid: np.ndarray) -> bool:
    """``use <= resid`` on every node and resource (``use``, ``resid``: (n_nodes, 3))."""
    return bool((use <= resid * (1 + FIT_RTOL) + FIT_RTOL).all())


def _plan(forecast: Instance, inst: Instance, *, time_limit: float, solver: str, threads: int | None,
          seed: int | None) -> tuple[dict[tuple[str, int], list[tuple[float, list[np.ndarray], np.ndarray]]], float | None]:
    """Per class of ``inst``: the exact engine's placements of the forecast's requests of that class
    as ``(cost alone s, owners, usage (n_nodes, 3))``, cheapest first; and the plan's objective."""
    from optdist.solve import solve

    res = solve(forecast, method="milp", solver=solver, time_limit=time_limit, threads=threads, seed=seed)
    ev = res.evaluation
    plans: dict[tuple[str, int], list] = defaultdict(list)
    if (res.assignment is None or ev is None or not ev.feasible) and not forecast.objective.admission:
        admit = forecast.with_spec(objective=forecast.objective.model_copy(update={"admission": True}))
        res = solve(admit, method="milp", solver=solver, time_limit=time_limit, threads=threads, seed=seed)
        ev = res.evaluation
    if res.assignment is None or ev is None or not ev.feasible:
        return plans, None
    for q, own in enumerate(res.assignment.owners):
        if own is None:
            continue
        cost, use = alone(inst, next(r for r in range(inst.n_requests) if _key(inst, r) == _key(forecast, q)), own)
        plans[_key(forecast, q)].append((cost, own, use))
    for v in plans.values():
        v.sort(key=lambda t: t[0])
    return plans, float(ev.objective)


def _exact_alone(inst: Instance, r: int, cap: np.ndarray, *, solver: str, time_limit: float, threads: int | None,
                 seed: int | None) -> list[np.ndarray] | None:
    """Request r at its best alone within the capacities ``cap`` (n_nodes, 3), or None if none found:
    :func:`optdist.milp.decomposition.single.solve_single` (stage bounds, then the tight model, or
    per-map where tight cannot count the network; chains and DAGs, MODEL.md section 9)."""
    capacity = {k: cap[:, i] for i, k in enumerate(RESOURCES)}
    return solve_single(inst, r, solver=solver, time_limit=time_limit, threads=threads, seed=seed,
                        capacity=capacity).owners


def _repair(inst: Instance, r: int, resid: np.ndarray, *, solver: str, time_limit: float,
            threads: int | None, seed: int | None) -> tuple[list[np.ndarray] | None, np.ndarray | None]:
    """Step 3 of the module docstring: the cheaper of the greedy's and the exact single-request
    placement of r on the residual capacities ``resid``; ``(owners, usage)`` or ``(None, None)``."""
    found = []
    g = greedy_alone(inst, r, {k: resid[:, i] for i, k in enumerate(RESOURCES)})
    if g is not None:
        found.append(g)
    exact = _exact_alone(inst, r, resid, solver=solver, time_limit=time_limit, threads=threads, seed=seed)
    if exact is not None:
        found.append(exact)
    best = None
    for own in found:
        cost, use = alone(inst, r, own)
        if not _fits(use, resid):  # both keep every capacity: this cannot happen unless one is broken
            raise RuntimeError(f"{inst.name}: the repaired placement of request {r} exceeds the capacity left")
        if best is None or cost < best[0]:
            best = (cost, own, use)
    return (None, None) if best is None else (best[1], best[2])


def _improve(inst: Instance, r: int, room: np.ndarray, cost: float, *, solver: str, time_limit: float,
             threads: int | None, seed: int | None) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Request r at its best alone within ``room`` (n_nodes, 3) if cheaper than ``cost`` (s):
    ``(owners, usage)``, else None."""
    owners = _exact_alone(inst, r, room, solver=solver, time_limit=time_limit, threads=threads, seed=seed)
    if owners is None:
        return None
    c, use = alone(inst, r, owners)
    if c < cost * (1 - 1e-9) and _fits(use, room):
        return owners, use
    return None


def solve_plan_guided(
    inst: Instance,
    *,
    forecast: Instance | str | Path | None = None,
    plan_time_limit: float | None = None,
    repair_time_limit: float = 5.0,
    improve: bool = False,
    solver: str = "highs",
    seed: int | None = None,
    time_limit: float | None = None,
    threads: int | None = 1,
) -> SolveResult:
    """Place ``inst``'s requests online, guided by the exact engine's plan for ``forecast``
    (module docstring).

    ``forecast``: the expected load, an instance (or its file) on the same nodes whose requests
    use ``inst``'s CNNs and sources (default: ``inst`` itself, the counts per class known in
    advance); ``plan_time_limit``: seconds for the exact engine on it (default ``time_limit``,
    else 60); ``repair_time_limit``: seconds at most per request placed by the single-request
    solve (and per improvement); ``improve``: try a cheaper placement than the planned one in
    the capacity the rest of the plan leaves (step 2); ``solver``/``threads``/``seed``: for all. Raises ``ValueError`` if ``forecast`` has another node count,
    a class that ``inst`` lacks (its placements could not be used) or a makespan objective.
    """
    fc = inst if forecast is None else (forecast if isinstance(forecast, Instance) else load_instance(forecast))
    if fc.n_nodes != inst.n_nodes:
        raise ValueError(f"forecast {fc.name} has {fc.n_nodes} nodes, instance {inst.name} {inst.n_nodes}: "
                         "the forecast must be on the instance's nodes (fix: generate it with the same devices)")
    known = {_key(inst, r) for r in range(inst.n_requests)}
    extra_cls = sorted({_key(fc, q) for q in range(fc.n_requests)} - known)
    if extra_cls:
        raise ValueError(f"forecast {fc.name} has request classes (CNN, source) {extra_cls} that instance "
                         f"{inst.name} lacks (fix: forecast only the instance's CNNs and sources)")
    require_parallel_uplink(inst, "plan-guided")  # the greedy repair's stage times
    if inst.objective.kind != "latency":
        raise ValueError(f"plan-guided needs objective.kind = 'latency' (sum over requests); {inst.name} sets "
                         f"{inst.objective.kind!r}")
    if plan_time_limit is None:
        plan_time_limit = 60.0 if time_limit is None else float(time_limit)
    t_plan = time.perf_counter()
    plans, plan_obj = _plan(fc, inst, time_limit=plan_time_limit, solver=solver, threads=threads, seed=seed)
    plan_s = time.perf_counter() - t_plan

    caps = np.stack([capacities(inst)[k] for k in RESOURCES], axis=1)
    used = np.zeros_like(caps)
    out = OnlineOutcome(inst)
    decision_ms: list[float] = []
    followed = repaired = improved = 0
    t0 = time.perf_counter()
    for r in range(inst.n_requests):
        td = time.perf_counter()
        resid = np.maximum(caps - used, 0.0)
        queue = plans.get(_key(inst, r), [])
        pick = next((i for i, (_c, _o, use) in enumerate(queue) if _fits(use, resid)), None)
        if pick is not None:
            cost, own, use = queue.pop(pick)
            followed += 1
            if improve:
                reserved = sum((u for q in plans.values() for _c, _o, u in q), np.zeros_like(caps))
                better = _improve(inst, r, np.maximum(resid - reserved, 0.0), cost, solver=solver,
                                  time_limit=repair_time_limit, threads=threads, seed=seed)
                if better is not None:
                    own, use = better
                    improved += 1
        else:
            own, use = _repair(inst, r, resid, solver=solver, time_limit=repair_time_limit, threads=threads,
                               seed=seed)
            repaired += own is not None
        if own is None:
            out.reject(r)
        else:
            used += use
            solo: list = [None] * inst.n_requests
            solo[r] = own
            ev = evaluate(inst, Assignment(solo))
            out.accept(own, float(ev.latency[r]), float(ev.shared_bytes[r]))
        decision_ms.append(1e3 * (time.perf_counter() - td))
    wall = plan_s + time.perf_counter() - t0
    segments = sum(la.segments for r in range(inst.n_requests) for la in inst.profile(r).layers)
    return out.result("plan-guided", wall, decision_ms_mean=float(np.mean(decision_ms)) if decision_ms else math.nan,
                      decision_ms_max=float(np.max(decision_ms)) if decision_ms else math.nan,
                      decision_us_per_segment=1e3 * float(np.sum(decision_ms)) / max(segments, 1),
                      plan_s=plan_s, plan_objective=plan_obj, followed=followed, repaired=repaired, improved=improved,
                      forecast=fc.name)
