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
   order). With ``plan_start`` (a placement of the forecast, e.g. a longer offline run's), the
   engine starts from it (its MIP start and first incumbent, ``warm_start`` of
   :func:`optdist.solve.solve`), so the plan is never worse than that placement where it is
   feasible. Its evaluator-feasible placement gives each class ``c`` a multiset ``Q_c`` of
   planned placements (one per forecast request), each with its cost alone
   ``c_p = latency_p + lambda shared_p`` and usage ``a_p[i, res]``
   (:func:`optdist.milp.decomposition.repair.alone`). Together they fit the capacities: the
   capacity rows of the master hold at the plan, so *following* it keeps every request's
   place free for it, which a myopic rule (each request at its own best) does not.
1b. **Polish (before the first request, not a decision).** Joint moves on the plan
   (:func:`optdist.milp.decomposition.repair.joint_moves`): two (then three) planned requests
   that share a nearly full capacity are solved together, exactly, in the room the rest of the
   plan leaves them (their ``tight`` model on those capacities, warm-started with their
   planned placements; with HiGHS a solve also stops 5 s after its last improving solution, 15 s
   in at the earliest, 30 s at most: :data:`optdist.milp.decomposition.repair.JOINT_STALL`), and
   replace the old where they cost less together; then, in the time
   the joint moves leave, pair moves (:func:`optdist.milp.decomposition.repair.pair_moves`):
   two planned requests re-placed one after the other, exactly, the first in all of the room
   or in half of it. At most ``polish_time_limit`` s in all. The exact engine's improvement
   re-places one request at a time; under binding bandwidth a cheaper placement of one often
   needs room that only the other's moving frees (``plan_engine_objective`` and
   ``plan_objective`` in ``benchmarks/online/gap_table.md``); the joint solve also chooses how
   to split that room, which the pair moves' two fixed splits miss (mixed-8x6-nexus-rpi3:
   ``benchmarks/online/README.md``).
   Skipped where the exact engine proved its plan optimal.
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

If the exact engine finds no feasible placement of the whole forecast in time, the plan is a
placement by shares of the devices (:func:`optdist.milp.decomposition.construct.placement_by_construction`,
feasible by construction; :data:`WINDOW_SHARE` of ``plan_time_limit`` at most) of the whole forecast or,
where the shares fit no placement of it (more requests forecast than fit), of a longest
prefix in the forecast's order that they fit (bisection on the length), improved request by
request in what the others leave (:func:`optdist.milp.decomposition.repair.fill_and_improve`,
the rest of ``plan_time_limit``). Where that is not the whole forecast, the exact engine plans
again with admission control (MODEL.md section 8: a forecast request may be rejected at a
penalty of 1000 x a latency bound, ``plan_time_limit`` s), and the plan that places more
forecast requests is kept (ties: the admission-control one): an over-forecast plans the
requests that fit, and the rest are repaired (step 3) if they come.
Where none of these found a plan, the placement by shares runs again for ``repair_time_limit`` s
(as long as one online repair may take; ``plan_found_by`` "shares of the devices, after the
plan's time"): at ``plan_time_limit`` <= 1 s the engine and a share of that second are too short
on ``mixed-8x6-nexus-rpi3`` under load, while its shares take 0.24 s at load 0 and place every request.
A plan cut short (none of these placing the whole forecast) is never one that places
fewer forecast requests than the DistPrivacy greedy's placement of the forecast
(:func:`optdist.heuristics.greedy.solve_greedy`, milliseconds) or, where there is no plan at all,
than step 3 applied to the forecast's requests in turn (what the method would do online without
a plan; ``repair_time_limit`` s per exact solve): the one that places the most (then the cheaper)
is the plan (``plan_found_by`` "the greedy (k of n forecast)" / "repairs in turn (k of n
forecast)"). With the forecast exact, every request planned is placed, so a short plan degrades
towards the greedy, never below it in rejections.

**Rollout** (:func:`solve_plan_rollout`, method ``plan-rollout``): the same plan, and per
arriving request r of class c a one-step look-ahead (Bertsekas, *Rollout, Policy Iteration,
and Distributed Reinforcement Learning*, 2020, ch. 2: rollout of a base policy). Arrivals are
matched to the forecast (r takes the first forecast request of class c not yet matched); the
forecast requests not yet matched, in the forecast's order, are the *expected* rest ``E``.
The *base policy* places a sequence of requests on residual capacities: each takes the
cheapest unused planned placement of its class that fits, else the greedy's placement alone
on what is left (:func:`optdist.milp.decomposition.single.greedy_alone`), else it is
rejected. Candidates for r, each a placement alone that fits ``R``: (a) the unused planned
placements of class c that fit (the 3 cheapest of distinct usage); (b) r at its best alone
(exact) in ``R`` less the usage of every unused planned placement but the cheapest fitting
one of class c (step 2's improvement; only where one fits); (c) the greedy's placement of r
on ``R``, and on the shares ``R / 2`` and ``R / (|E| + 1)`` (leaving room for the rest);
(d) only where no planned placement fits: r at its best alone, exactly, on ``R`` (step 3).
Each candidate p is scored by the base policy run over ``E`` on ``R - a_p``:
``(rejections in E, c_p + sum of the costs placed)``, lexicographically; r takes the least
(ties: the order above), and a planned placement taken is used up. With an exact forecast in
order, candidate (a) is the base policy's own decision, so the rollout's score is never worse
than following the plan (the rollout property, for the base policy as simulated); it
departs from the plan where another placement leaves the expected rest as placeable and
costs less in total. ``extra["chosen"]``: how many requests took each kind of candidate.

Every accepted request fits ``R``, so the placement never breaks (10b-d); one-owner, placement
and privacy rows hold for every planned or repaired placement (each is a placement of the
request alone on the tight model). With an exact forecast and a complete plan, the online
placement is the plan (latency: the exact engine's incumbent on the forecast, polished); a shorter or
different forecast is repaired request by request (``extra["repaired"]``).

**Time limit.** Without ``time_limit``, each step has only its own limit as above (the exact engine
and each fallback step ``plan_time_limit``, default 60 s; the polish ``polish_time_limit``; each
exact single-request solve ``repair_time_limit``), so a run may last far longer than any of them
(mixed-8x6-nexus-rpi3, plan-rollout with ``plan_time_limit=1``: 17 s at load 4.7). With
``time_limit`` T (s, from the call; the CLI's start-up is not counted), T is a deadline for the
whole run: no solver call goes past it (:func:`optdist.solvers.base.run_deadline`), and the three
limits are caps inside it whose defaults split T. The exact engine ends by ``plan_time_limit``
(default T / 2, :data:`PLAN_SHARE`) after the plan's start; the fallback, the plan with admission
control and the shares after the plan's time (a plan first: without one, requests are rejected) by
the deadline; the polish gets ``polish_time_limit`` (default T / 4, :data:`POLISH_SHARE`) of what
is left; the online phase the rest: request r's exact solve at most ``min(repair_time_limit,
(deadline - now) / (requests not yet decided))``. Past the deadline no exact solve starts and every
request is still decided by the steps of milliseconds alone: plan-guided follows the plan where a
planned placement fits, else the greedy's placement alone on ``R``, else rejects (no improvement);
the rollout takes its base policy's decision (the same, without candidates or rollouts); the polish
and the floor "repairs in turn" are left out (the online phase then does what that floor would).
``extra["past_deadline"]`` counts those requests. A run ends past T by what cannot be stopped at
the deadline: the model building of an exact solve started before it, a placement by shares running
past its deadline, a decision started before it (the rollout's base-policy runs), the greedy floor
of a short plan and the decisions past the deadline (milliseconds each, every placed request
re-scored by the evaluator): ``benchmarks/online/time_limit.py`` at T = 0.1, 1, 5 s measured at
most +0.3 s on ``instances/coupled/`` lenet-8x4, mixed-8x6, lenet-20x10 and cifar-12x10, and +1.1
to +4.2 s on the 250 requests of lenet-250x70-nexus-rpi3 (also ``--limits 20``; at T = 1 s: its
greedy floor 1.1 s, the plan with admission control 0.6 s past its limit building its model, the
250 decisions 1.4 s), load 3.5-5.

A heuristic: no bound. The objective it claims is re-scored by the independent evaluator
(:func:`optdist.solve.solve`). ``extra``: ``rejected``/``rejected_ids`` (as every online
method), ``decision_ms_mean``/``decision_ms_max`` (per request, plan excluded),
``decision_us_per_segment`` (all decisions over all segments), ``plan_s`` (the
plan's seconds), ``plan_objective`` (s, its evaluator objective on the forecast, or on the
prefix of it the fallback planned; None if there is no plan), ``plan_found_by`` (the exact
engine, the placement by shares, or the admission-control plan), ``followed``, ``improved``
and ``repaired`` (plan-guided: requests placed each way; plan-rollout: ``chosen`` instead).
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.heuristics.greedy import solve_greedy
from optdist.heuristics.incremental import OnlineOutcome, require_parallel_uplink
from optdist.instance import Instance, load_instance
from optdist.jsonfile import json_text, text_of, value_text
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.construct import placement_by_construction
from optdist.milp.decomposition.repair import JOINT_STALL, JointStats, fill_and_improve, joint_moves, pair_moves
from optdist.milp.decomposition.single import alone, greedy_alone, solve_single
from optdist.result import SolveResult
from optdist.solvers.base import reports_solver_failures, run_deadline, stoppable
from optdist.transfers import RESOURCES

log = logging.getLogger("optdist")

FIT_RTOL = 1e-9  # relative slack of the fit test (the evaluator's own tolerance is looser)
#: share of plan_time_limit the placement by shares may take (fallback plan; the improvement gets the rest).
#: A quarter left mixed-8x6-nexus-rpi3 without a plan at plan_time_limit <= 0.5 s (its shares: 0.24 s at load 0)
WINDOW_SHARE = 0.75
ROLLOUT_PLANNED = 3  # rollout: planned placements of distinct usage tried per request (the cheapest)
#: with ``time_limit`` T: the defaults of ``plan_time_limit`` (by which the exact engine ends) and of
#: ``polish_time_limit`` as shares of T; the online phase has the rest: at least 1/4 of T where the
#: exact engine finds the plan, none where the fallback takes the time to the deadline
#: (`benchmarks/online/time_limit.py --instances coupled/mixed-8x6-nexus-rpi3 --methods plan-guided --limits 2`:
#: the plan by shares 2.03 s, all 8 requests decided past the deadline, load 1.8)
PLAN_SHARE = 0.5
POLISH_SHARE = 0.25
#: the default of ``repair_time_limit`` (s per exact single-request solve; with ``time_limit``, at
#: most each request's share of the time left): taken where it is not given (None), and then never
#: warned about; the same 5 given by the caller is their choice and warned about as any other
REPAIR_TIME_LIMIT = 5.0
#: how :func:`_limits_warning` names the limits: None, the Python options (``plan_time_limit =
#: 9 s``); the command line sets its flags and the values' text as typed (``--plan-time-limit 9``,
#: ``--plan-time-limit 1e300``, :func:`limits_named`)
_limit_names: ContextVar[tuple[Mapping[str, str], Mapping[str, str]] | None] = ContextVar("optdist_plan_limit_names",
                                                                                         default=None)

#: per class: its planned placements as (cost alone s, owners, usage (n_nodes, 3)), cheapest first
Plans = dict[tuple[str, int], list[tuple[float, list[np.ndarray], np.ndarray]]]


def _seconds(cap: float, until: float | None) -> float:
    """``cap`` s, or the seconds left to ``until`` (a ``time.perf_counter()`` value; None: no
    deadline) where fewer: <= 0 when ``until`` has passed."""
    return cap if until is None else min(cap, until - time.perf_counter())


def _fits(use: np.ndarray, resid: np.ndarray) -> bool:
    """``use <= resid`` on every node and resource (``use``, ``resid``: (n_nodes, 3))."""
    return bool((use <= resid * (1 + FIT_RTOL) + FIT_RTOL).all())


def _fallback_plan(forecast: Instance, *, time_limit: float, solver: str, threads: int | None,
                   seed: int | None) -> tuple[Instance, Assignment] | None:
    """Where the exact engine found no placement of the forecast in time (module docstring): the
    forecast's longest prefix that shares of the devices fit (the whole forecast first) and its
    placement by shares, improved request by request; None if they fit not even one request."""
    t0 = time.perf_counter()
    share_deadline = t0 + WINDOW_SHARE * time_limit
    part, asg = forecast, placement_by_construction(forecast, deadline=share_deadline)
    if asg is None:
        lo, hi, best = 0, forecast.n_requests, None  # a prefix of lo requests fits (0: trivially), of hi not
        while hi - lo > 1 and time.perf_counter() < share_deadline:
            mid = (lo + hi) // 2
            sub = forecast.with_spec(requests=forecast.spec.requests[:mid])
            found = placement_by_construction(sub, deadline=share_deadline)
            if found is None:
                hi = mid
            else:
                lo, best = mid, (sub, found)
        if best is None:
            return None
        part, asg = best
    better = fill_and_improve(part, asg.owners, deadline=t0 + time_limit, solver=solver, threads=threads,
                              seed=seed)
    return part, (asg if better is None else better)


def _placed_part(forecast: Instance, asg: Assignment) -> tuple[Instance, Assignment | None]:
    """The requests ``asg`` places, as an instance of their own, and their placement: ``asg`` is a
    placement of ``forecast``'s requests or of a prefix of them (the fallback's), None where one
    is not placed (an admission-control plan, the greedy's). Every request of the result is placed;
    ``(forecast, None)`` where ``asg`` places none (an instance has at least one request: no plan)."""
    keep = [q for q, o in enumerate(asg.owners) if o is not None]
    if not keep:
        return forecast, None
    if len(keep) == forecast.n_requests:
        return forecast, asg
    return (forecast.with_spec(requests=[forecast.spec.requests[q] for q in keep]),
            Assignment([asg.owners[q] for q in keep], asg.meta))


def _plan(forecast: Instance, inst: Instance, *, time_limit: float, polish_time_limit: float, per_solve: float,
          solver: str, threads: int | None, seed: int | None, start: Assignment | None = None,
          plan_until: float | None = None, until: float | None = None) -> tuple[Plans, float | None, str, dict]:
    """Per class of ``inst``: the plan's placements of the forecast's requests of that class
    (:data:`Plans`), polished (:func:`~optdist.milp.decomposition.repair.joint_moves`, then
    :func:`~optdist.milp.decomposition.repair.pair_moves`, ``polish_time_limit`` s at most in
    all); the plan's evaluator objective (None: no plan); what found
    it; ``plan_engine_objective`` (s, before the polish), ``polish_moves`` (joint and pair
    moves made), ``polish_joint_moves``, ``polish_joint_solves`` / ``polish_joint_capped`` /
    ``polish_joint_stalled`` (joint solves started / stopped by their cap / stopped on a stall,
    :data:`~optdist.milp.decomposition.repair.JOINT_STALL`; :class:`~optdist.milp.decomposition.repair.JointStats`)
    and ``polish_s`` (empty: no plan). ``start``: a placement of ``forecast`` the exact engine starts from.
    ``plan_until`` / ``until`` (``time.perf_counter()`` values, None: none): the exact engine
    ends by ``plan_until``; the fallback's steps (``time_limit`` s each at most), the shares after
    the plan's time, the floors' exact solves and the polish by ``until``, the run's deadline (a
    step with no time left is skipped; past ``until`` the floor "repairs in turn" is left out)."""
    from optdist.solve import solve

    asg, bound, found_by = None, None, "exact engine"
    if (left := _seconds(time_limit, plan_until)) > 0:
        res = solve(forecast, method="milp", solver=solver, time_limit=left, threads=threads, seed=seed,
                    **({} if start is None else {"warm_start": start}))
        if res.evaluation is not None and res.evaluation.feasible:
            asg, bound = res.assignment, res.bound
    if asg is None and (left := _seconds(time_limit, until)) > 0:
        fallback = _fallback_plan(forecast, time_limit=left, solver=solver, threads=threads, seed=seed)
        if fallback is not None:
            asg, found_by = fallback[1], "shares of the devices, improved"
        if (fallback is None or fallback[0].n_requests < forecast.n_requests) and not forecast.objective.admission:
            admit = forecast.with_spec(objective=forecast.objective.model_copy(update={"admission": True}))
            left = _seconds(time_limit, until)
            res = solve(admit, method="milp", solver=solver, time_limit=left, threads=threads, seed=seed) \
                if left > 0 else None
            ok = (res is not None and res.evaluation is not None and res.evaluation.feasible
                  and res.assignment is not None)
            n_admitted = sum(o is not None for o in res.assignment.owners) if ok else 0
            if ok and n_admitted >= (1 if fallback is None else fallback[0].n_requests):  # 0 admitted: no plan
                asg, found_by = res.assignment, "exact engine, admission control"
            elif fallback is not None:
                found_by += f" ({fallback[0].n_requests} of {forecast.n_requests} forecast)"
    if asg is None and (left := _seconds(per_solve, until)) > 0:
        # nothing in the plan's time: the shares again, for as long as one online repair may take
        asg = placement_by_construction(forecast, deadline=time.perf_counter() + left)
        found_by = "shares of the devices, after the plan's time"
    part, asg = (forecast, None) if asg is None else _placed_part(forecast, asg)
    if asg is None or part.n_requests < forecast.n_requests:  # a short plan: never fewer placed than these
        floors = [("the greedy", solve_greedy(forecast).assignment)]
        if asg is None and _seconds(per_solve, until) > 0:
            # no plan at all: what step 3 would place online, request by request (past the deadline,
            # the greedy's alone on what the others left: what the online phase itself then does)
            floors.append(("repairs in turn", _repairs_in_turn(forecast, solver=solver, time_limit=per_solve,
                                                               threads=threads, seed=seed, until=until)))
        best = None if asg is None else (part.n_requests, -evaluate(part, asg).objective)
        for name, floor in floors:
            n_placed = sum(o is not None for o in floor.owners)
            if not n_placed:
                continue
            fpart, fasg = _placed_part(forecast, floor)
            key = (n_placed, -evaluate(fpart, fasg).objective)  # more placed, then cheaper
            if best is None or key > best:
                part, asg, best = fpart, fasg, key
                found_by = f"{name} ({n_placed} of {forecast.n_requests} forecast)"
    plans: Plans = defaultdict(list)
    if asg is None:
        return plans, None, "none", {}
    ev = evaluate(part, asg)
    t_polish = time.perf_counter()
    proven = found_by == "exact engine" and bound is not None and ev.objective <= bound * (1 + 1e-9)
    owners, joint, moves, stats = asg.owners, 0, 0, JointStats()
    polish_until = t_polish + _seconds(polish_time_limit, until)
    if not proven and (until is None or polish_until > t_polish):  # a proven optimum: nothing to gain
        owners, joint = joint_moves(part, owners, deadline=polish_until, solver=solver, threads=threads,
                                    seed=seed, stats=stats, stall=JOINT_STALL)
        owners, moves = pair_moves(part, owners, deadline=polish_until, solver=solver,
                                   per_solve=per_solve, threads=threads, seed=seed)
        moves += joint
    info = {"plan_engine_objective": float(ev.objective), "polish_moves": moves, "polish_joint_moves": joint,
            "polish_joint_solves": stats.solves, "polish_joint_capped": stats.capped,
            "polish_joint_stalled": stats.stalled, "polish_s": time.perf_counter() - t_polish}
    if moves:
        polished = evaluate(part, Assignment(owners))
        if not polished.feasible:  # each move keeps every capacity: this cannot happen unless one is broken
            raise RuntimeError(f"{forecast.name}: the polished plan breaks {polished.violations[:3]}")
        asg, ev = Assignment(owners), polished
    for q, own in enumerate(asg.owners):  # q: part's request (every one placed)
        cls = part.request_class(q)
        cost, use = alone(inst, next(r for r in range(inst.n_requests) if inst.request_class(r) == cls), own)
        plans[cls].append((cost, own, use))
    for v in plans.values():
        v.sort(key=lambda t: t[0])
    return plans, float(ev.objective), found_by, info


def _exact_alone(inst: Instance, r: int, cap: np.ndarray, *, solver: str, time_limit: float, threads: int | None,
                 seed: int | None) -> list[np.ndarray] | None:
    """Request r at its best alone within the capacities ``cap`` (n_nodes, 3), or None if none found:
    :func:`optdist.milp.decomposition.single.solve_single` (stage bounds, then the tight model, or
    per-map where tight cannot count the network; chains and DAGs, MODEL.md section 9)."""
    return solve_single(inst, r, solver=solver, time_limit=time_limit, threads=threads, seed=seed,
                        capacity=_cap_dict(cap)).owners


def _repair(inst: Instance, r: int, resid: np.ndarray, *, solver: str, time_limit: float | None,
            threads: int | None, seed: int | None) -> tuple[list[np.ndarray] | None, np.ndarray | None]:
    """Step 3 of the module docstring: the cheaper of the greedy's and the exact single-request
    placement of r on the residual capacities ``resid`` (``time_limit`` s at most; None: past the
    run's deadline, the greedy's alone); ``(owners, usage)`` or ``(None, None)``."""
    found = []
    g = greedy_alone(inst, r, _cap_dict(resid))
    if g is not None:
        found.append(g)
    exact = None if time_limit is None else _exact_alone(inst, r, resid, solver=solver, time_limit=time_limit,
                                                          threads=threads, seed=seed)
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


def _repairs_in_turn(forecast: Instance, *, solver: str, time_limit: float, threads: int | None,
                     seed: int | None, until: float | None = None) -> Assignment:
    """Step 3 (:func:`_repair`) for every request of ``forecast`` in turn, each on the capacities
    the ones before it left: the placement the online method makes without a plan (None where a
    request is rejected; ``time_limit``: s per exact solve, at most the time left to ``until``, a
    ``time.perf_counter()`` value, None: no deadline). Past ``until`` the rest are left None (the
    online phase then places them as it would: the greedy's alone; on lenet-250x70-nexus-rpi3 the
    250 repairs ran 1.7 s past a 20-s deadline)."""
    caps = capacity_matrix(forecast)
    used = np.zeros_like(caps)
    owners: list[list[np.ndarray] | None] = [None] * forecast.n_requests
    for q in range(forecast.n_requests):
        left = _seconds(time_limit, until)
        if left <= 0:
            break
        own, use = _repair(forecast, q, np.maximum(caps - used, 0.0), solver=solver, time_limit=left,
                           threads=threads, seed=seed)
        owners[q] = own
        if use is not None:
            used += use
    return Assignment(owners)


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


def seconds_in_range(value: object, *, zero: bool = False) -> bool:
    """Whether ``value`` is seconds the plan methods take for a limit (``time_limit``,
    ``plan_time_limit``, ``repair_time_limit``, ``polish_time_limit``): a finite real number > 0;
    with ``zero`` (``polish_time_limit``: 0 is no polish) >= 0. A bool is no number of seconds.
    The one home of this range: the library's checks (:func:`_check_seconds`, :func:`_prepare`) and
    the CLI's (:func:`optdist.commands.solve._seconds`, as it parses the flags) each name the option their way."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and (value >= 0 if zero else value > 0))


def _check_seconds(method: str, zero: bool = False, **limits: float | None) -> None:
    """Each of ``limits`` (name -> seconds, None: not given) is a finite number > 0 (>= 0 with
    ``zero``: :func:`seconds_in_range`), else ValueError naming the option (the generic check says
    ``time_limit`` for any of them): ``"is not a number"`` for a value of another type (a string,
    a bool), ``"is out of range"`` for a number outside the range."""
    fix = "a finite number of seconds >= 0; 0: no polish" if zero else "a finite number of seconds > 0"
    for name, value in limits.items():
        if value is not None and not seconds_in_range(value, zero=zero):
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            raise ValueError(f"{method}: {name} = {value_text(value)} is {'out of range' if number else 'not a number'} "
                             f"(fix: give {fix})")


def _run_until(method: str, time_limit: float | None) -> float | None:
    """The run's deadline (a ``time.perf_counter()`` value) ``time_limit`` s from now, None without
    one; ValueError as :func:`_check_seconds` for a ``time_limit`` that is not a finite number > 0."""
    _check_seconds(method, time_limit=time_limit)
    return None if time_limit is None else time.perf_counter() + time_limit


@contextmanager
def limits_named(names: Mapping[str, str], typed: Mapping[str, str] | None = None) -> Iterator[None]:
    """Inside the block the plan methods' warning of limits above the time limit
    (``extra['limits_above_time_limit']``) names each limit as ``names`` has it (``time_limit``,
    ``plan_time_limit``, ``polish_time_limit``, ``repair_time_limit`` -> its flag, e.g.
    ``--plan-time-limit``), as the command line the user typed: ``"--plan-time-limit 9 above
    --time-limit 1.5"``; ``typed`` (option -> the value's text as the user wrote it) echoes a
    value so (``--plan-time-limit 1e300``, not ``1e+300``), where that text reads as the value the
    method got. Outside: the Python options, ``"plan_time_limit = 9 s above time_limit = 1.5 s"``."""
    token = _limit_names.set((dict(names), dict(typed or {})))
    try:
        yield
    finally:
        _limit_names.reset(token)


def _as_typed(text: str | None, seconds: float) -> str:
    """``text`` (a limit's value as the user typed it on the command line) where it reads as
    ``seconds``, the value the method got; else ``seconds`` as ``:g`` writes it."""
    with suppress(TypeError, ValueError):
        if text is not None and float(text) == seconds:
            return text
    return f"{seconds:g}"


def _share(name: str, time_limit: float) -> float:
    """The default share of ``time_limit`` (s) for the step limit ``name`` (the repair limit: a polish's share)."""
    return (PLAN_SHARE if name == "plan_time_limit" else POLISH_SHARE) * time_limit


def _limits_warning(method: str, time_limit: float, given: Mapping[str, float]) -> str | None:
    """What is wrong with the step limits ``given`` (name -> s: those the caller chose; a
    ``polish_time_limit`` of 0 is no step) under ``time_limit`` (s), None where nothing is: each
    limit above it (the run's deadline ends that step first), and limits each within it that add
    up to more than it (the plan, the polish and one repair solve cannot each have their limit:
    the deadline cuts the later ones), which ones and their sum. Names as :func:`limits_named` says."""
    flags, typed = _limit_names.get() or (None, {})

    def name(option: str) -> str:
        return flags.get(option, option) if flags else option

    def say(option: str, seconds: float) -> str:
        return f"{name(option)} {_as_typed(typed.get(option), seconds)}" if flags else f"{option} = {seconds:g} s"

    steps = {k: v for k, v in given.items() if v}
    above = {k: v for k, v in steps.items() if v > time_limit}
    within = {k: v for k, v in steps.items() if v <= time_limit}
    total = sum(within.values())
    summed = len(within) > 1 and total > time_limit * (1 + 1e-9)  # 0.1 + 0.2 is not above 0.3
    if not above and not summed:
        return None
    said = []
    if above:
        ends = ("each such solve" if list(above) == ["repair_time_limit"] else
                "that step" if len(above) == 1 else "those steps")
        said.append(f"{', '.join(say(k, v) for k, v in above.items())} above {say('time_limit', time_limit)}: "
                    f"the run's deadline ends {ends} first")
    if summed:
        said.append(f"{' + '.join(say(k, v) for k, v in within.items())} = {total:g}{'' if flags else ' s'} above "
                    f"{say('time_limit', time_limit)}: they cannot each have their limit, the run's deadline cuts "
                    "the later steps")
    named = list(above) + list(within) if summed else list(above)
    if flags:
        example = " ".join(f"{name(k)} {_share(k, time_limit):g}" for k in named)
    else:
        example = ", ".join(f"{k} = {_share(k, time_limit):g}" for k in named)
    fix = (f"give limits that add up to at most {name('time_limit')}" if summed else
           f"give limits below {name('time_limit')}")
    rest = ("or leave it out: each request's solve then gets at most its share of the time left"
            if named == ["repair_time_limit"] else "or leave them out for shares of it")
    return f"{method}: {'; '.join(said)} (fix: {fix}, e.g. {example}, {rest})"


def _prepare(inst: Instance, forecast: Instance | str | Path | None, *, method: str, plan_time_limit: float | None,
             polish_time_limit: float | None, time_limit: float | None, solver: str, threads: int | None,
             seed: int | None, repair_time_limit: float | None, plan_start: Assignment | str | Path | None = None,
             until: float | None = None) -> tuple[Instance, Plans, float | None, str, float, dict]:
    """Check ``inst``, ``forecast``, ``plan_start`` and the limits (``time_limit``: checked by
    :func:`_run_until` already; see :func:`solve_plan_guided` for the errors) and plan:
    ``(forecast, plans, plan objective s or None, what found the plan, plan seconds (the polish
    included), the polish's facts (:func:`_plan`) with ``plan_start`` (the start's file, "given" or
    None), ``polish_time_limit_s`` (the polish's cap in s, the default filled in) and
    ``repair_time_limit_s`` (the default :data:`REPAIR_TIME_LIMIT` filled in where ``repair_time_limit``
    is None: the caller's online phase reads its cap there) added)``."""
    _check_seconds(method, plan_time_limit=plan_time_limit, repair_time_limit=repair_time_limit)
    _check_seconds(method, zero=True, polish_time_limit=polish_time_limit)
    fc = inst if forecast is None else (forecast if isinstance(forecast, Instance) else _load_forecast(forecast, method))
    if fc.n_nodes != inst.n_nodes:
        raise ValueError(f"forecast {fc.name} has {fc.n_nodes} nodes, instance {inst.name} {inst.n_nodes}: "
                         "the forecast must be on the instance's nodes (fix: generate it with the same devices)")
    known = {inst.request_class(r) for r in range(inst.n_requests)}
    extra_cls = sorted({fc.request_class(q) for q in range(fc.n_requests)} - known)
    if extra_cls:
        raise ValueError(f"forecast {fc.name} has request classes (CNN, source) {extra_cls} that instance "
                         f"{inst.name} lacks (fix: forecast only the instance's CNNs and sources)")
    require_parallel_uplink(inst, method)  # the greedy repair's stage times
    if inst.objective.kind != "latency":
        raise ValueError(f"{method} needs objective.kind = \"latency\" (sum over requests); {inst.name} sets "
                         f"{text_of(inst.objective.kind)} (fix: use the milp method (--method milp), or set "
                         "objective.kind to \"latency\")")
    start = _plan_start(fc, plan_start, method)
    asked = {name: v for name, v in (("plan_time_limit", plan_time_limit), ("polish_time_limit", polish_time_limit),
                                     ("repair_time_limit", repair_time_limit))
             if v is not None}  # the limits given, whatever their value; the defaults (None) are not said
    if repair_time_limit is None:
        repair_time_limit = REPAIR_TIME_LIMIT
    said = None if time_limit is None else _limits_warning(method, time_limit, asked)
    if plan_time_limit is None:
        plan_time_limit = 60.0 if time_limit is None else PLAN_SHARE * time_limit
    if polish_time_limit is None:
        polish_time_limit = plan_time_limit if time_limit is None else POLISH_SHARE * time_limit
    t_plan = time.perf_counter()
    plan_until = None if until is None else min(t_plan + plan_time_limit, until)
    plans, plan_obj, found_by, polish = _plan(fc, inst, time_limit=plan_time_limit, polish_time_limit=polish_time_limit,
                                              per_solve=repair_time_limit, solver=solver, threads=threads, seed=seed,
                                              start=start, plan_until=plan_until, until=until)
    polish["plan_start"] = None if plan_start is None else (
        "given" if isinstance(plan_start, Assignment) else str(plan_start))
    if start is not None and (bad := evaluate(fc, start).violations):
        polish["plan_start_infeasible"] = (
            f"{method}: plan_start {polish['plan_start']} breaks {len(bad)} constraint(s) of forecast {fc.name}, e.g. "
            f"[{bad[0].constraint}] {bad[0].message}: the plan is not bounded by it (fix: give a feasible placement "
            "of the forecast, e.g. the --out of `optdist solve` on it)")
        log.warning("%s", polish["plan_start_infeasible"])
    polish["plan_time_limit_s"] = plan_time_limit
    polish["polish_time_limit_s"] = polish_time_limit
    polish["repair_time_limit_s"] = repair_time_limit
    if said:  # the caps stay as given (the record says what was asked); the deadline ends each step first
        polish["limits_above_time_limit"] = said
        log.warning("%s", said)
    return fc, plans, plan_obj, found_by, time.perf_counter() - t_plan, polish


def _load_forecast(path: str | Path, method: str) -> Instance:
    """The forecast's instance file ``path``; a missing one is a FileNotFoundError naming ``method``'s
    forecast and the fix (the bare "PATH: instance file not found" read as the solved instance's).
    Raises :class:`~optdist.instance.InstanceError` for a damaged file (it names the file)."""
    try:
        return load_instance(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {method}'s forecast: instance file not found (fix: give the forecast's "
                                "instance file, or leave the forecast out to plan for the instance itself)") from None


def _plan_start(fc: Instance, plan_start: Assignment | str | Path | None, method: str) -> Assignment | None:
    """``plan_start`` as a placement of the forecast ``fc``: an Assignment as given, or read from
    an ``optdist-assignment/1`` or ``optdist-result/1`` file. Raises ValueError naming the method,
    ``plan_start`` and the fix when it is neither an Assignment nor a path, when the file is
    missing, or when it is not a placement of ``fc``'s requests (the evaluator's check). A file
    made for another instance whose ids match is used, with a warning that it is ``method``'s
    plan_start on ``fc`` (:func:`optdist.commands.core.load_placement`)."""
    if plan_start is None:
        return None
    if not isinstance(plan_start, (Assignment, str, os.PathLike)):
        raise ValueError(f"{method}: plan_start {json_text(plan_start)}: give an Assignment or the path of an "
                         f"optdist-assignment/1 or optdist-result/1 file (fix: e.g. the --out of `optdist solve` on "
                         f"forecast {fc.name})")
    if isinstance(plan_start, Assignment):
        if len(plan_start.owners) != fc.n_requests:
            raise ValueError(f"{method}: plan_start places {len(plan_start.owners)} requests, forecast {fc.name} has "
                             f"{fc.n_requests} (fix: give a placement of the forecast's requests)")
        try:
            evaluate(fc, plan_start)
        except (ValueError, IndexError) as e:
            raise ValueError(f"{method}: plan_start (given): {e} (fix: give a placement of forecast {fc.name})") from None
        return plan_start
    from optdist.commands.core import load_placement

    try:
        return load_placement(fc, Path(plan_start), use=f"used as {method}'s plan_start on forecast {fc.name}")
    except (OSError, ValueError) as e:  # the file named once, one fix (load_placement's where it gives one)
        why = str(e).removeprefix(f"{plan_start}: ")
        fix = "" if "(fix:" in why else (f" (fix: give a placement of forecast {fc.name}, e.g. the --out of "
                                         "`optdist solve` on it)")
        raise ValueError(f"{method}: plan_start {plan_start}: {why}{fix}") from None


def _cap_dict(cap: np.ndarray) -> dict[str, np.ndarray]:
    """(n_nodes, 3) capacities as the ``capacity=`` mapping of the single-request functions."""
    return {k: cap[:, i] for i, k in enumerate(RESOURCES)}


#: the violation both methods make by design (as :data:`optdist.heuristics.greedy.NOT_MODELLED`): a
#: request with no room left is rejected, which breaks the model with admission control off
NOT_MODELLED = {
    "admission": "rejects requests with admission control off: no placement of them fits the capacities the "
    "requests before them left (past --time-limit: none the plan or the greedy found); a larger --time-limit "
    "or the exact engine (--method milp) may place them",
}

#: a decision: request r, the residual capacities (n_nodes, 3) and the seconds its exact solve may
#: take (None: past the run's deadline, no exact solve) -> (owners, usage (n_nodes, 3)), or None to reject r
Decide = Callable[[int, np.ndarray, "float | None"], "tuple[list[np.ndarray], np.ndarray] | None"]


def _place_online(inst: Instance, method: str, plan_s: float, decide: Decide, *, per_solve: float,
                  until: float | None) -> SolveResult:
    """The online loop both methods share: requests in arrival order, each decided (timed) on
    the capacities the accepted ones left, ``R = cap - sum_{placed q} a_q``, then accepted
    (latency and bytes from the evaluator) or rejected. Request r's exact solve may take
    ``per_solve`` s or, before the run's deadline ``until`` (a ``time.perf_counter()`` value;
    None: none), its share of the time left, ``(until - now) / (requests not yet decided)``, where
    less; past ``until`` none (``decide`` gets None). ``extra`` of the result: ``plan_s``,
    ``decision_ms_mean``/``decision_ms_max`` (per request), ``decision_us_per_segment`` and
    ``past_deadline`` (requests decided without an exact solve, the deadline past; 0 without
    one; the caller adds its own); its wall time counts ``plan_s``."""
    caps = capacity_matrix(inst)
    used = np.zeros_like(caps)
    out = OnlineOutcome(inst)
    decision_ms: list[float] = []
    past = 0
    t0 = time.perf_counter()
    for r in range(inst.n_requests):
        td = time.perf_counter()
        left = per_solve if until is None else min(per_solve, (until - td) / (inst.n_requests - r))
        past += left <= 0
        got = decide(r, np.maximum(caps - used, 0.0), left if left > 0 else None)
        if got is None:
            out.reject(r)
        else:
            own, use = got
            used += use
            solo: list = [None] * inst.n_requests
            solo[r] = own
            ev = evaluate(inst, Assignment(solo))
            out.accept(own, float(ev.latency[r]), float(ev.shared_bytes[r]))
        decision_ms.append(1e3 * (time.perf_counter() - td))
    segments = sum(la.segments for r in range(inst.n_requests) for la in inst.profile(r).layers)
    return out.result(method, plan_s + time.perf_counter() - t0,
                      decision_ms_mean=float(np.mean(decision_ms)) if decision_ms else math.nan,
                      decision_ms_max=float(np.max(decision_ms)) if decision_ms else math.nan,
                      decision_us_per_segment=1e3 * float(np.sum(decision_ms)) / max(segments, 1),
                      plan_s=plan_s, past_deadline=past, not_modelled=dict(NOT_MODELLED))


@stoppable
@reports_solver_failures
def solve_plan_guided(
    inst: Instance,
    *,
    forecast: Instance | str | Path | None = None,
    plan_time_limit: float | None = None,
    plan_start: Assignment | str | Path | None = None,
    polish_time_limit: float | None = None,
    repair_time_limit: float | None = None,
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
    advance); ``time_limit``: seconds for the whole run from this call, a deadline (module
    docstring, **Time limit**: the limits below are caps inside it; it may end a little past it;
    None: no deadline, each step has only its own limit); ``plan_time_limit``: seconds for the
    exact engine on the forecast (default 60; with ``time_limit`` T: T / 2, :data:`PLAN_SHARE`, by
    which the engine ends), and for each of the fallback's steps (placement by shares, plan with
    admission control); ``plan_start``: a placement of ``forecast`` (an Assignment, or an
    ``optdist-assignment/1`` / ``optdist-result/1`` file) the engine starts from (step 1);
    ``polish_time_limit``: seconds at most for the joint and pair moves on the plan (step 1b,
    before the first request; default ``plan_time_limit``, with ``time_limit`` T: T / 4,
    :data:`POLISH_SHARE`; 0: none); ``repair_time_limit``:
    seconds at most per request placed by the single-request solve (and per improvement and
    per solve of the pair moves; default :data:`REPAIR_TIME_LIMIT`, None: that default; with
    ``time_limit``, at most the request's share of the time left; a joint solve's cap is
    :data:`~optdist.milp.decomposition.repair.JOINT_PER_SOLVE_S`, and with HiGHS it stops earlier
    on a stall, :data:`~optdist.milp.decomposition.repair.JOINT_STALL`); ``improve``: try a cheaper placement than the planned one in
    the capacity the rest of the plan leaves (step 2); ``solver``/``threads``/``seed``: for all. Raises ``ValueError`` if ``forecast`` has another node count,
    a class that ``inst`` lacks (its placements could not be used), a makespan objective, a
    ``plan_time_limit``, ``repair_time_limit`` or ``time_limit`` that is not a finite number > 0,
    a ``polish_time_limit`` that is neither 0 nor one, or a ``plan_start`` file that is missing or
    not a placement of ``forecast``'s requests; ``FileNotFoundError`` naming the forecast and the fix
    for a ``forecast`` file that is missing. ``extra`` also has ``plan_engine_objective`` (s,
    the plan before the polish), ``polish_moves`` (joint and pair moves), ``polish_joint_moves``,
    ``polish_joint_solves``, ``polish_joint_capped``, ``polish_joint_stalled``, ``polish_s``,
    ``plan_start`` (its file, "given" or None),
    ``plan_start_infeasible`` (only where the evaluator finds ``plan_start`` infeasible on ``forecast``: the
    constraints it breaks, also warned on the ``optdist`` logger; the plan is then not bounded by it),
    ``plan_time_limit_s`` / ``polish_time_limit_s`` / ``repair_time_limit_s`` (the caps used, defaults
    filled in), ``limits_above_time_limit`` (only where ``plan_time_limit``, ``polish_time_limit``
    or ``repair_time_limit`` (given, whatever its value: 5, the default's, too) is given above ``time_limit``: the deadline
    ends that step first; or where those given, each within it, add up to more than it: which and
    the sum; also warned on the ``optdist`` logger; the command line names its flags,
    :func:`limits_named`), ``improve`` (as given),
    ``past_deadline`` (requests decided past ``time_limit``'s deadline, without an exact solve) and,
    where a solver call failed (e.g. a CBC the OOM killer ended; the run goes on without it),
    ``solver_errors`` (:func:`~optdist.solvers.base.reports_solver_failures`).
    """
    until = _run_until("plan-guided", time_limit)
    with run_deadline(until):
        fc, plans, plan_obj, found_by, plan_s, polish = _prepare(
            inst, forecast, method="plan-guided", plan_time_limit=plan_time_limit, polish_time_limit=polish_time_limit,
            time_limit=time_limit, solver=solver, threads=threads, seed=seed, repair_time_limit=repair_time_limit,
            plan_start=plan_start, until=until)
        counts = {"followed": 0, "repaired": 0, "improved": 0}

        def decide(r: int, resid: np.ndarray, per_solve: float | None) -> tuple[list[np.ndarray], np.ndarray] | None:
            queue = plans.get(inst.request_class(r), [])
            pick = next((i for i, (_c, _o, use) in enumerate(queue) if _fits(use, resid)), None)
            if pick is None:
                own, use = _repair(inst, r, resid, solver=solver, time_limit=per_solve, threads=threads, seed=seed)
                counts["repaired"] += own is not None
                return None if own is None else (own, use)
            cost, own, use = queue.pop(pick)
            counts["followed"] += 1
            if improve and per_solve is not None:
                reserved = sum((u for q in plans.values() for _c, _o, u in q), np.zeros_like(resid))
                better = _improve(inst, r, np.maximum(resid - reserved, 0.0), cost, solver=solver,
                                  time_limit=per_solve, threads=threads, seed=seed)
                if better is not None:
                    own, use = better
                    counts["improved"] += 1
            return own, use

        res = _place_online(inst, "plan-guided", plan_s, decide, per_solve=polish["repair_time_limit_s"], until=until)
    res.extra.update(plan_objective=plan_obj, plan_found_by=found_by, **counts, improve=improve, forecast=fc.name,
                     **polish)
    return res


def _base_policy(inst: Instance, fc: Instance, expected: list[int], plans: Plans, resid: np.ndarray,
                 taken: tuple[str, int, int] | None) -> tuple[int, float]:
    """The rollout's base policy (module docstring) over the forecast requests ``expected``
    (indices into ``fc``, in order) on the residual capacities ``resid`` (n_nodes, 3), the
    planned placement ``taken`` (class CNN, source, index in ``plans``) excluded:
    ``(rejections, total cost s)``."""
    resid = resid.copy()
    used = {cls: set() for cls in plans}
    if taken is not None:
        used[taken[:2]].add(taken[2])
    rep = {inst.request_class(r): r for r in reversed(range(inst.n_requests))}  # a request of each class
    rejected, total = 0, 0.0
    for q in expected:
        cls = fc.request_class(q)
        queue = plans.get(cls, [])
        pick = next((i for i, (_c, _o, u) in enumerate(queue) if i not in used[cls] and _fits(u, resid)), None) \
            if queue else None
        if pick is not None:
            used[cls].add(pick)
            cost, use = queue[pick][0], queue[pick][2]
        else:
            own = greedy_alone(inst, rep[cls], _cap_dict(resid))
            if own is None:
                rejected += 1
                continue
            cost, use = alone(inst, rep[cls], own)
        total += cost
        resid = np.maximum(resid - use, 0.0)
    return rejected, total


def _base_decision(inst: Instance, r: int, plans: Plans, resid: np.ndarray,
                   chosen: dict[str, int]) -> tuple[list[np.ndarray], np.ndarray] | None:
    """The base policy's decision for request r on the residual capacities ``resid`` (n_nodes, 3):
    the cheapest unused planned placement of its class that fits (used up; ``chosen["plan"]``
    counts it), else the greedy's placement alone on ``resid`` (``chosen["greedy"]``), else None
    (rejected). Milliseconds: no exact solve."""
    queue = plans.get(inst.request_class(r), [])
    pick = next((i for i, (_c, _o, u) in enumerate(queue) if _fits(u, resid)), None)
    if pick is not None:
        _cost, own, use = queue.pop(pick)
        chosen["plan"] += 1
        return own, use
    own = greedy_alone(inst, r, _cap_dict(resid))
    if own is None:
        return None
    _cost, use = alone(inst, r, own)
    if not _fits(use, resid):  # the greedy keeps the capacity given: this cannot happen unless it is broken
        raise RuntimeError(f"{inst.name}: the greedy placement of request {r} exceeds the capacity left")
    chosen["greedy"] += 1
    return own, use


def _candidates(inst: Instance, r: int, plans: Plans, resid: np.ndarray, n_expected: int, *, solver: str,
                time_limit: float, threads: int | None, seed: int | None,
                ) -> list[tuple[str, int | None, list[np.ndarray], np.ndarray, float]]:
    """The rollout's candidates (a)-(d) for request r (module docstring), each
    ``(kind, index in r's class plan or None, owners, usage (n_nodes, 3), cost alone s)``; every
    one fits ``resid``."""
    queue = plans.get(inst.request_class(r), [])
    fitting = [i for i, (_c, _o, u) in enumerate(queue) if _fits(u, resid)]
    out: list = []
    for i in fitting:  # (a) the cheapest planned placements of distinct usage
        if len(out) == ROLLOUT_PLANNED:
            break
        if not any(np.array_equal(queue[i][2], u) for _k, _i, _o, u, _c in out):
            out.append(("plan", i, queue[i][1], queue[i][2], queue[i][0]))
    found: list[tuple[str, list[np.ndarray] | None]] = []
    if fitting:  # (b) step 2's improvement: at its best alone in what the rest of the plan leaves
        reserved = sum((u for q in plans.values() for _c, _o, u in q), np.zeros_like(resid)) - queue[fitting[0]][2]
        found.append(("improve", _exact_alone(inst, r, np.maximum(resid - reserved, 0.0), solver=solver,
                                              time_limit=time_limit, threads=threads, seed=seed)))
    else:  # (d) step 3's exact repair
        found.append(("exact", _exact_alone(inst, r, resid, solver=solver, time_limit=time_limit, threads=threads,
                                            seed=seed)))
    for share in dict.fromkeys((1, 2, n_expected + 1)):  # (c) the greedy on R and on shares of it
        found.append(("greedy" if share == 1 else f"greedy 1/{share}" if share == 2 else "greedy 1/(rest+1)",
                      greedy_alone(inst, r, _cap_dict(resid / share))))
    for kind, own in found:
        if own is None:
            continue
        cost, use = alone(inst, r, own)
        if not _fits(use, resid):  # every one keeps the capacity given: this cannot happen unless one is broken
            raise RuntimeError(f"{inst.name}: the {kind} placement of request {r} exceeds the capacity left")
        if not any(np.array_equal(use, u) and c == cost for _k, _i, _o, u, c in out):
            out.append((kind, None, own, use, cost))
    return out


@stoppable
@reports_solver_failures
def solve_plan_rollout(
    inst: Instance,
    *,
    forecast: Instance | str | Path | None = None,
    plan_time_limit: float | None = None,
    plan_start: Assignment | str | Path | None = None,
    polish_time_limit: float | None = None,
    repair_time_limit: float | None = None,
    solver: str = "highs",
    seed: int | None = None,
    time_limit: float | None = None,
    threads: int | None = 1,
) -> SolveResult:
    """Place ``inst``'s requests online by a rollout of the plan for ``forecast`` (module
    docstring, **Rollout**): per request, the candidate whose base-policy completion of the
    expected rest has the fewest rejections, then the least total cost.

    Options and errors as :func:`solve_plan_guided` (``repair_time_limit``: seconds at most per
    exact single-request solve, candidates (b) and (d); ``time_limit``: a deadline for the whole
    run, past which a request takes the base policy's decision, the plan's placement else the
    greedy's, without candidates or rollouts). ``extra``: as plan-guided's
    (``rejected``, decision times, ``plan_s``, ``plan_objective``, ``plan_found_by``,
    ``past_deadline``, ``solver_errors``) and ``chosen`` (requests per candidate kind) and
    ``rollouts`` (base-policy runs in all).
    """
    until = _run_until("plan-rollout", time_limit)
    with run_deadline(until):
        fc, plans, plan_obj, found_by, plan_s, polish = _prepare(
            inst, forecast, method="plan-rollout", plan_time_limit=plan_time_limit, polish_time_limit=polish_time_limit,
            time_limit=time_limit, solver=solver, threads=threads, seed=seed, repair_time_limit=repair_time_limit,
            plan_start=plan_start, until=until)
        expected = list(range(fc.n_requests))  # forecast requests not yet matched by an arrival
        chosen: dict[str, int] = defaultdict(int)
        rollouts = 0

        def decide(r: int, resid: np.ndarray, per_solve: float | None) -> tuple[list[np.ndarray], np.ndarray] | None:
            nonlocal rollouts
            cls = inst.request_class(r)
            match = next((j for j, q in enumerate(expected) if fc.request_class(q) == cls), None)
            if match is not None:
                expected.pop(match)
            if per_solve is None:  # past the run's deadline: the base policy's own decision, no solve, no rollout
                return _base_decision(inst, r, plans, resid, chosen)
            best: tuple[tuple[int, float], tuple] | None = None
            for cand in _candidates(inst, r, plans, resid, len(expected), solver=solver, time_limit=per_solve,
                                    threads=threads, seed=seed):
                kind, idx, _own, use, cost = cand
                rej, rest = _base_policy(inst, fc, expected, plans, np.maximum(resid - use, 0.0),
                                         None if idx is None else (*cls, idx))
                rollouts += 1
                score = (rej, cost + rest)
                if best is None or score[0] < best[0][0] or (score[0] == best[0][0]
                                                             and score[1] < best[0][1] * (1 - 1e-9)):
                    best = (score, cand)
            if best is None:
                return None
            kind, idx, own, use, _cost = best[1]
            if idx is not None:
                plans[cls].pop(idx)
            chosen[kind] += 1
            return own, use

        res = _place_online(inst, "plan-rollout", plan_s, decide, per_solve=polish["repair_time_limit_s"], until=until)
    res.extra.update(plan_objective=plan_obj, plan_found_by=found_by, chosen=dict(chosen), rollouts=rollouts,
                     forecast=fc.name, **polish)
    return res
