"""Primal heuristic for requests that compete: each request re-solved alone in what the others leave.

Requests interact only through the node capacities (MODEL.md section 6, rows 10b-10d), and a
request's usage of a node (weights, multiplications, bytes sent) does not depend on the other
requests. So, with every request but r fixed, the best placement of r is request r alone on
the *residual* capacities ``cap - sum_{q != r} use_q`` (the exact single-request solve
:func:`optdist.milp.decomposition.single.solve_single` with ``capacity=``). This gives

* **repair** (:func:`fill_and_improve`): requests without a placement (a greedy placement
  that rejected them, or none at all) are placed one by one, each at its best in the
  capacity left (a known placement that fits, the cheapest first, before any solve);
* **improvement**: each placed request in turn is replaced by its best placement in the
  capacity the others leave (it never gets worse: its own placement fits there), until a
  pass changes nothing or the time is up. A request whose cost is already within
  ``least_tol`` of a proven lower bound on its cost alone on the full capacities (``least``,
  e.g. column generation's round 0) is not solved again: no residual capacity can give it
  more than that share;
* **pair moves** (:func:`pair_moves`): two placed requests re-placed exactly, one after the
  other, in the room the rest leaves them. Re-placing one request at a time stops where a
  cheaper placement of one needs room that only the other's moving frees (binding bandwidth);
  a pair move reaches it (a 2-exchange local search);
* **joint moves** (:func:`joint_moves`): k requests (k = 2, then 3) freed together and solved
  *jointly* and exactly on the room the rest leaves them (the ``tight`` model of the k requests
  on the residual capacities, warm-started with their current placement, a time cap per
  solve): a large-neighbourhood search. A pair move places one request before the other and
  tries two fixed splits of the room; the joint solve chooses the split itself (on
  ``mixed-8x6-nexus-rpi3``, where four CIFAR requests share the devices' bandwidth, it finds
  what the pair moves do not: ``benchmarks/online/README.md``);
* **polish** (:func:`polish`): the improvement, then pair moves, then joint moves, until a
  deadline (the seconds at the end of a run that nothing else can use).

A heuristic: it gives incumbents (re-scored by the independent evaluator), never bounds.
Every placement it finds for a request alone is also a column of the Dantzig-Wolfe master
(``on_column``).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, combinations, islice

import numpy as np
import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.milp.data import TIME_UNIT
from optdist.milp.decomposition.bounds import base_bounds, capacity_matrix, propagate
from optdist.milp.decomposition.single import alone, bounds_matrix, solve_single
from optdist.milp.model import BuildInterrupted, BuildTimeout, build
from optdist.milp.run import adapter_for, solve_built
from optdist.result import Termination
from optdist.solvers.base import stop_requested
from optdist.solvers.highs import Highs, StallStop
from optdist.transfers import RESOURCES

PAIR_SHARES = (1.0, 0.5)  # pair moves: shares of the pair's room the first request of a move may take
PAIR_GAIN = 1e-6  # pair moves: a move must cut the pair's cost by more than this share
FIT_RTOL = 1e-9  # a usage fits a capacity within this relative (and absolute) tolerance
JOINT_SIZES = (2, 3)  # joint moves: how many requests are freed together, in turn
JOINT_FULL = 0.95  # joint moves: a capacity used to this share is contested (sets are ranked by their use of those)
JOINT_RANK_BATCH = 1024  # joint moves: sets in ranked_sets' first batch, each next twice the last (memory O(this) while the first are tried)
JOINT_RANK_BYTES = 8 * 2**20  # joint moves: bytes at most of the shares ranked_sets holds for a chunk of sets
#: joint moves: seconds at most per joint solve (HiGHS's first better placement of two CIFAR requests
#: of mixed-8x6-nexus-rpi3 came after 19-28 s, its root cuts alone took 6-7 s: benchmarks/online/README.md)
JOINT_PER_SOLVE_S = 30.0
#: joint moves in a plan's polish (:func:`optdist.heuristics.plan_guided._plan`): each joint solve
#: (HiGHS) also stops 5 s after its last improving solution, 15 s after its start at the earliest
#: (their first placement better than the start came 6-13 s in), so a stalled solve hands the rest
#: of its 30 s to the next set: mixed-8x6-nexus-rpi3 272.36 ms in 3 of 3 polishes of 60 s against
#: 278.21 with the fixed cap, cifar-6x5 and cifar-12x10 the same (benchmarks/online/README.md,
#: "Joint solves that stop on their own progress")
JOINT_STALL = StallStop(stall_s=5.0, floor_s=15.0)


def fill_and_improve(
    inst: Instance,
    owners: list[list[np.ndarray] | None],
    *,
    deadline: float,
    solver: str = "highs",
    threads: int | None = None,
    seed: int | None = None,
    solver_options: dict | None = None,
    per_solve: float = 10.0,
    passes: int = 3,
    on_column: Callable[[int, list[np.ndarray]], None] | None = None,
    candidates: Callable[[int], list[tuple[float, list[np.ndarray], np.ndarray]]] | None = None,
    least: Sequence[float] | None = None,
    least_tol: float = 0.0,
) -> Assignment | None:
    """Place the requests ``owners`` leaves unplaced (None), then improve request by request
    (module docstring). ``owners``: per request, its owner arrays or None; the placed ones must
    fit the capacities together. ``deadline``: ``time.perf_counter()`` value to stop at;
    ``per_solve``: seconds at most per single-request solve; ``on_column(r, owners_r)`` is
    called for every placement found; ``candidates(r)`` lists known placements of r alone as
    ``(cost, owners, usage)``: the cheapest that fits the capacity left and beats r's current
    cost is taken without a solve. ``least[r]``: a proven lower bound (seconds) on r's cost
    alone on the full capacities; r is not improved once ``least[r] >= cost_r (1 - least_tol)``
    (it can gain at most the share ``least_tol``). Returns the placement if every request is placed and the
    evaluator finds it feasible, else None."""
    caps = capacity_matrix(inst)
    own = [None if o is None else [a.copy() for a in o] for o in owners]
    cost = np.full(inst.n_requests, math.inf)
    use = np.zeros((inst.n_requests, inst.n_nodes, 3))
    for r, o in enumerate(own):
        if o is not None:
            cost[r], use[r] = alone(inst, r, o)

    def best_alone(r: int, share: int = 1) -> tuple[float, list[np.ndarray]] | None:
        """r at its best in the capacity the others leave, in ``1 / share`` of the time left."""
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None
        resid = np.maximum(caps - (use.sum(axis=0) - use[r]), 0.0)
        if candidates is not None:  # known placements first: the cheapest that fits, if cheaper
            for c, o, u in sorted(candidates(r), key=lambda t: t[0]):
                if c >= cost[r] * (1 - 1e-9):
                    break
                if (u <= resid * (1 + 1e-9) + 1e-9).all():
                    return c, o
        ss = solve_single(inst, r, solver=solver, time_limit=min(left / share, per_solve), mip_gap=1e-6, threads=threads,
                          seed=seed, solver_options=solver_options,
                          capacity={k: resid[:, i] for i, k in enumerate(RESOURCES)})
        if not ss.has_solution:
            return None
        if on_column is not None:
            on_column(r, ss.owners)
        return ss.objective, ss.owners

    todo = [r for r in range(inst.n_requests) if own[r] is None]
    for q, r in enumerate(todo):  # repair: place the rest in turn (the time shared among them)
        found = best_alone(r, len(todo) - q)
        if found is None:
            return None
        own[r] = found[1]
        cost[r], use[r] = alone(inst, r, own[r])
    for _ in range(passes):  # improvement: each request at its best in what the others leave
        changed = False
        for r in np.argsort(-cost):
            if time.perf_counter() >= deadline:
                break
            if least is not None and least[r] >= cost[r] * (1 - least_tol):
                continue  # at its optimum alone (within least_tol): nothing left to gain
            found = best_alone(int(r))
            if found is not None and found[0] < cost[r] * (1 - 1e-9):
                c, u = alone(inst, int(r), found[1])
                if c < cost[r] * (1 - 1e-9):
                    own[r], cost[r], use[r] = found[1], c, u
                    changed = True
        if not changed:
            break
    asg = Assignment(own)
    return asg if evaluate(inst, asg).feasible else None


def _placement(inst: Instance, owners: list[list[np.ndarray] | None]) -> tuple[
        np.ndarray, list[list[np.ndarray] | None], list[int], np.ndarray, np.ndarray]:
    """The start of :func:`pair_moves` and :func:`joint_moves`: ``(caps, own, placed, cost, use)``:
    the capacities (n_nodes, 3: :func:`capacity_matrix`), a copy of ``owners`` (the input arrays
    stay untouched), the indices of the placed requests, and per request its cost alone (seconds,
    0 where unplaced; :func:`alone`) and usage (n_requests, n_nodes, 3; zeros where unplaced)."""
    caps = capacity_matrix(inst)
    own = [None if o is None else [x.copy() for x in o] for o in owners]
    placed = [r for r, o in enumerate(own) if o is not None]
    cost = np.zeros(inst.n_requests)
    use = np.zeros((inst.n_requests, inst.n_nodes, 3))
    for r in placed:
        cost[r], use[r] = alone(inst, r, own[r])
    return caps, own, placed, cost, use


def pair_moves(
    inst: Instance,
    owners: list[list[np.ndarray] | None],
    *,
    deadline: float,
    solver: str = "highs",
    per_solve: float = 10.0,
    threads: int | None = None,
    seed: int | None = None,
    solver_options: dict | None = None,
    on_column: Callable[[int, list[np.ndarray]], None] | None = None,
    least: Sequence[float] | None = None,
) -> tuple[list[list[np.ndarray] | None], int]:
    """Pair moves on the placement ``owners`` (per request of ``inst``, its owner arrays or None:
    not placed, left so; the placed ones must fit the capacities together) until a whole sweep
    over the pairs gains nothing or ``deadline`` (``time.perf_counter()`` value); returns
    ``(owners, moves made)``, the input arrays untouched.

    Maths (MODEL.md section 6, rows 10b-10d: requests meet only in the node capacities; a
    request's usage ``a_r`` (n_nodes, 3: memory, compute, bytes sent) and cost alone
    ``c_r = latency_r + lambda shared_r`` (:func:`alone`) do not depend on the others). For a
    pair (q, s) of placed requests (the dearest pairs first) the room is what the others leave,
    ``R = cap - sum_{p != q, s} a_p`` (:func:`capacity_matrix`): q and s fit there together.
    For each order (a, b) of the pair (one order where they are of the same CNN and source, so
    interchangeable): a at its best alone in ``f R``, then b at its best alone in ``R - a_a``
    (exact single-request solves, :func:`solve_single` with ``capacity=``, ``per_solve`` s at
    most each); the first with ``c_a + c_b < (c_q + c_s)(1 - PAIR_GAIN)`` replaces the pair.
    Sweeps over all pairs with the first share ``f`` of :data:`PAIR_SHARES` (all the room) until
    one gains nothing, then with the next (the first request held to half the room, leaving the
    second more), back to the first after a gain. A pair with ``least[q] + least[s] >= c_q + c_s``
    (``least[r]``: a proven lower bound on r's cost alone on the full capacities) is skipped: it
    cannot gain. Every move keeps every capacity (``a_a + a_b <= R``, checked) and the total cost
    only falls. ``on_column(r, owners_r)`` is called for every placement a solve finds. Stops
    once SIGINT/SIGTERM arrived (:func:`optdist.solvers.base.stop_requested`).
    A heuristic: incumbents, never bounds."""
    caps, own, placed, cost, use = _placement(inst, owners)

    def best_in(r: int, room: np.ndarray) -> tuple[list[np.ndarray], float, np.ndarray] | None:
        """r at its best alone within ``room`` (n_nodes, 3): (owners, cost, usage), or None."""
        left = deadline - time.perf_counter()
        if left <= 0.05 or stop_requested():
            return None
        ss = solve_single(inst, r, solver=solver, time_limit=min(per_solve, left), mip_gap=1e-6, threads=threads,
                          seed=seed, solver_options=solver_options,
                          capacity={k: room[:, i] for i, k in enumerate(RESOURCES)})
        if not ss.has_solution or ss.owners is None:
            return None
        if on_column is not None:
            on_column(r, ss.owners)
        c, u = alone(inst, r, ss.owners)
        return ss.owners, c, u

    moves, sweep = 0, 0  # sweep: index of the share in PAIR_SHARES
    while sweep < len(PAIR_SHARES):
        share, gained = PAIR_SHARES[sweep], False
        for q, s in sorted(combinations(placed, 2), key=lambda p: -(cost[p[0]] + cost[p[1]])):
            if time.perf_counter() >= deadline - 0.05 or stop_requested():  # SIGINT/SIGTERM: no more moves
                return own, moves
            pair = cost[q] + cost[s]
            if least is not None and least[q] + least[s] >= pair * (1 - PAIR_GAIN):
                continue  # both at their optimum alone: nothing to gain
            room = np.maximum(caps - (use.sum(axis=0) - use[q] - use[s]), 0.0)
            for a, b in ((q, s),) if inst.request_class(q) == inst.request_class(s) else ((q, s), (s, q)):
                got_a = best_in(a, room * share)
                if got_a is None or got_a[1] >= pair:
                    continue
                got_b = best_in(b, np.maximum(room - got_a[2], 0.0))
                if got_b is None:
                    continue
                u = got_a[2] + got_b[2]
                if (got_a[1] + got_b[1] < pair * (1 - PAIR_GAIN)
                        and (u <= room * (1 + FIT_RTOL) + FIT_RTOL).all()):
                    for r, (o, c, ur) in ((a, got_a), (b, got_b)):
                        own[r], cost[r], use[r] = o, c, ur
                    moves += 1
                    gained = True
                    break
        sweep = 0 if gained else sweep + 1
    return own, moves


@dataclass
class JointStats:
    """What :func:`joint_moves` spent: ``solves`` joint solves started (a model built, or its build
    stopped at the time left or by SIGINT/SIGTERM), ``capped`` of them stopped by their time cap
    (``per_solve`` or the deadline: the build, or the solver at its ``time_limit``) rather than
    closed (optimal or infeasible under the cutoff), ``stalled`` of them stopped by the ``stall``
    rule (:class:`~optdist.solvers.highs.StallStop`; not counted in ``capped``), and ``solve_s``
    the seconds of each solver call (the build not included), in order."""

    solves: int = 0
    capped: int = 0
    stalled: int = 0
    solve_s: list[float] = field(default_factory=list)


def ranked_sets(
    k: int,
    placed: Sequence[int],
    use: np.ndarray,
    caps: np.ndarray,
    cost: np.ndarray,
    tie: np.ndarray,
    *,
    least: Sequence[float] | None = None,
    deadline: float = math.inf,
    batch: int = JOINT_RANK_BATCH,
) -> Iterator[tuple[int, ...]]:
    """The sets of ``k`` requests of ``placed`` (ascending tuples of request indices), those that
    compete most first: the order of :func:`joint_moves` (its docstring), on the placement as it
    is at the call. ``use``: per request its usage (n_requests, n_nodes, 3), ``caps`` the
    capacities (n_nodes, 3), ``cost`` per request its cost alone (seconds), ``tie`` a permutation
    of the requests. A set with ``sum least >= sum cost (1 - PAIR_GAIN)`` is left out.

    The key of a set S is ``(-overlap * spread, -overlap, (tie[r] for r in S))``, smallest first;
    no two sets share their ``tie`` part, so the order is total. The sets come in batches, the
    first of ``batch`` sets, each next one twice the last: each the smallest keys above the last
    one given, from a fresh pass through ``combinations(placed, k)`` (keys computed with numpy for up
    to 4096 sets at a time, within :data:`JOINT_RANK_BYTES`), so memory is O(batch) while the first
    sets are tried, not O(C(len(placed), k)), a whole sweep takes about log2(C / batch) + 1 passes
    (with batches of one size: C / batch, e.g. 650 passes of 2.6 s for the 669,920 sets of three of
    160 requests), and the order is the full sort's (benchmarks/online/README.md, "joint moves", the
    ranking paragraph). The generator
    stops once ``deadline`` (``time.perf_counter()`` value) is within 0.05 s or SIGINT/SIGTERM
    arrived, checked before every 4096 sets of a pass."""
    full = use[list(placed)].sum(axis=0) >= caps * JOINT_FULL  # (n_nodes, 3): capacities nearly used up
    share = np.where(full, use / np.where(caps > 0, caps, 1.0), 0.0)  # (n_requests, n_nodes, 3)
    cost = cost.copy()  # the order of the placement at the call, whatever moves follow
    low = None if least is None else np.asarray(least, dtype=float)
    chunk = int(max(1, min(4096, JOINT_RANK_BYTES // (k * share[0].nbytes or 1))))

    def above(a: np.ndarray, b: np.ndarray, t: np.ndarray, key: tuple) -> np.ndarray:
        """Which keys ``(a[i], b[i], t[i])`` (m sets; t: (m, k)) sort after ``key``: (m,) booleans."""
        later, same = np.zeros(len(a), dtype=bool), np.ones(len(a), dtype=bool)
        for col, val in zip((a, b, *t.T), (key[0], key[1], *key[2])):
            later |= same & (col > val)
            same &= col == val
        return later

    def next_batch(last: tuple | None, batch: int) -> list[tuple[tuple, tuple[int, ...]]] | None:
        """The ``batch`` smallest (key, set) above ``last``, in order; None once the deadline came."""
        best: list[tuple[tuple, tuple[int, ...]]] = []
        sets = combinations(placed, k)
        while True:
            if time.perf_counter() >= deadline - 0.05 or stop_requested():
                return None
            S = np.fromiter(chain.from_iterable(islice(sets, chunk)), dtype=np.intp).reshape(-1, k)
            if not len(S):
                return best
            if low is not None:
                S = S[low[S].sum(axis=1) < cost[S].sum(axis=1) * (1 - PAIR_GAIN)]
                if not len(S):
                    continue
            x = share[S]  # (m, k, n_nodes, 3)
            overlap = (x.sum(axis=1) - x.max(axis=1)).reshape(len(S), -1).sum(axis=1)
            c = cost[S]
            a, b, t = -overlap * (c.max(axis=1) - c.min(axis=1)), -overlap, tie[S]
            keep = np.ones(len(S), dtype=bool)
            if last is not None:
                keep &= above(a, b, t, last)
            if len(best) == batch:  # only those below the batch's worst so far
                keep &= ~above(a, b, t, best[-1][0])
            S, a, b, t = S[keep], a[keep], b[keep], t[keep]
            order = np.lexsort((*t.T[::-1], b, a))[:batch]
            best = heapq.nsmallest(batch, best + [((float(a[i]), float(b[i]), tuple(int(v) for v in t[i])),
                                                   tuple(int(r) for r in S[i])) for i in order])

    last = None
    while True:
        got = next_batch(last, batch)
        if got is None:
            return
        for _key, S in got:
            yield S
        if len(got) < batch:
            return
        last, batch = got[-1][0], 2 * batch


def joint_moves(
    inst: Instance,
    owners: list[list[np.ndarray] | None],
    *,
    deadline: float,
    solver: str = "highs",
    per_solve: float = JOINT_PER_SOLVE_S,
    threads: int | None = None,
    seed: int | None = None,
    solver_options: dict | None = None,
    on_column: Callable[[int, list[np.ndarray]], None] | None = None,
    least: Sequence[float] | None = None,
    sizes: Sequence[int] = JOINT_SIZES,
    stats: JointStats | None = None,
    stall: StallStop | None = None,
) -> tuple[list[list[np.ndarray] | None], int]:
    """Joint moves on the placement ``owners`` (per request of ``inst``, its owner arrays or None:
    not placed, left so; the placed ones must fit the capacities together) until ``deadline``
    (``time.perf_counter()`` value) or until a whole sweep over the sets of every size in
    ``sizes`` gains nothing; returns ``(owners, moves made)``, the input arrays untouched.

    Maths (as :func:`pair_moves`: requests meet only in the node capacities, a request's usage
    ``a_r`` (n_nodes, 3) and cost alone ``c_r`` (:func:`alone`) do not depend on the others). For
    a set S of k placed requests, the room ``R = cap - sum_{p not in S} a_p`` holds S's current
    placement. The ``tight`` model of S's requests alone (``build(requests=S)``) with the
    capacities ``R`` is solved by ``solver`` for ``per_solve`` s at most, warm-started with S's
    current placement, under ``sum_{r in S} latency_r <= sum_{r in S} c_r`` (latency <= cost)
    and each request's domain cut by stage bounds below its share of that cutoff
    (:func:`bounds.propagate`, as :func:`solve_single` does for one request: every solution
    within the cutoff lies in the domain left). Its best placement replaces S's if the
    evaluator's ``sum_{r in S} c_r`` falls by more than :data:`PAIR_GAIN` and
    ``sum_{r in S} a_r <= R`` (checked). Sets are tried in the order of how much they compete
    for the contested capacities (those the placement uses to :data:`JOINT_FULL` or more): their
    *overlap* ``sum_{contested (i, res)} (sum_{r in S} s_r - max_{r in S} s_r)`` (``s_r`` r's
    share of that capacity; for a pair the smaller share), times the spread of their costs
    ``max c_r - min c_r`` (the dearest request of the set gains most from room the cheapest
    gives up: on mixed-8x6 the first move came from its cheapest and a dearest CIFAR request,
    54.7 and 69.2 ms, while a LeNet request there uses 0.2 % of each device's bandwidth and so
    overlaps little with any), then by overlap alone, ties in the order of a generator seeded with
    ``seed`` (None: 0; deterministic where every solve closes within its cap). A set whose
    ``least`` (proven bounds per request alone on the full capacities) already sums to its cost
    is skipped. The sets of a sweep are ranked on the placement at its start, in batches
    (:func:`ranked_sets`: memory for a batch, not for every set). A sweep tries every set of size
    ``sizes[0]``; a gain starts the sweep over at that size, none moves to the next size.
    ``on_column(r, owners_r)`` is called for every request of an accepted move. ``stats``, if
    given, counts the joint solves and those stopped by their cap (:class:`JointStats`). ``stall``
    (HiGHS only): each joint solve also stops once its search stalls, ``stall.stall_s`` s after its
    last improving solution and ``stall.floor_s`` s after its start at the earliest
    (:class:`~optdist.solvers.highs.StallStop`, its rule), ``per_solve`` staying the ceiling, so a
    solve that keeps improving runs on and a stalled one hands its time to the next set; the
    other solvers ignore it and keep the fixed cap. Stops once SIGINT/SIGTERM arrived. A
    heuristic: incumbents, never bounds."""
    caps, own, placed, cost, use = _placement(inst, owners)
    adapter = adapter_for(solver, solver_options)
    if stall is not None and isinstance(adapter, Highs):
        adapter.stall = stall
    tie = np.random.default_rng(0 if seed is None else seed).permutation(inst.n_requests)  # no seed: seed 0's
    count = JointStats() if stats is None else stats

    def solve_set(S: tuple[int, ...]) -> tuple[list[list[np.ndarray]], float, np.ndarray] | None:
        """S's requests jointly at their best within the room the rest leaves, if cheaper:
        (owners per request of S, their summed cost, their summed usage), else None."""
        room = np.maximum(caps - use.sum(axis=0) + use[list(S)].sum(axis=0), 0.0)
        capacity = {k: room[:, i] for i, k in enumerate(RESOURCES)}
        now = float(cost[list(S)].sum())
        domains = {r: base_bounds(inst, r, None, capacity) for r in S}
        floor = {r: propagate(inst, r, *domains[r]).lower_bound for r in S}
        bounds, stage_max = {}, {}
        for r in S:
            cutoff = now - sum(floor[q] for q in S if q != r)  # r's latency in any cheaper placement of S
            p = propagate(inst, r, *domains[r], cutoff=cutoff)
            if p.pruned:
                return None  # no placement of S beats its current one
            bounds[r] = bounds_matrix(inst, domains[r][0], p.ub)
            stage_max[r] = [x + cutoff - p.lower_bound for x in p.stage_lb]
        left = min(per_solve, deadline - time.perf_counter())
        count.solves += 1
        try:
            b = build(inst, "tight", requests=list(S), capacity_override=capacity, bounds=bounds,
                      stage_max=stage_max, deadline=time.perf_counter() + left, interruptible=True)
        except BuildInterrupted:  # SIGINT/SIGTERM, not a cap: the sweep stops at its next check
            return None
        except BuildTimeout:
            count.capped += 1
            return None
        b.model.joint_cutoff = pyo.Constraint(  # latency <= cost: a cheaper placement of S keeps it
            expr=pyo.quicksum(b.latency(r) for r in S) <= now / TIME_UNIT * (1 + 1e-9))
        start: list = [None] * inst.n_requests
        for r in S:
            start[r] = own[r]
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None
        t = time.perf_counter()
        out, asg, _ = solve_built(b, adapter, time_limit=min(per_solve, left), mip_gap=1e-6, threads=threads,
                                  seed=seed, tee=False, start=Assignment(start))
        count.solve_s.append(round(time.perf_counter() - t, 2))
        stalled = "stalled" in out.extra
        count.stalled += int(stalled)
        count.capped += int(out.termination == Termination.TIME_LIMIT and not stalled)
        if asg is None or any(asg.owners[r] is None for r in S):
            return None
        got = [alone(inst, r, asg.owners[r]) for r in S]
        total, u = sum(c for c, _ in got), sum(x for _, x in got)
        if total < now * (1 - PAIR_GAIN) and (u <= room * (1 + FIT_RTOL) + FIT_RTOL).all():
            return [asg.owners[r] for r in S], total, u
        return None

    moves, at = 0, 0  # at: index of the size in sizes
    while at < len(sizes):
        gained = False
        for S in ranked_sets(sizes[at], placed, use, caps, cost, tie, least=least, deadline=deadline):
            if time.perf_counter() >= deadline - 0.05 or stop_requested():
                return own, moves
            found = solve_set(S)
            if found is None:
                continue
            for r, o in zip(S, found[0]):
                own[r] = o
                cost[r], use[r] = alone(inst, r, o)
                if on_column is not None:
                    on_column(r, o)
            moves += 1
            gained = True
        at = 0 if gained else at + 1
    return own, moves


def polish(
    inst: Instance,
    start: Assignment,
    *,
    deadline: float,
    solver: str = "highs",
    threads: int | None = None,
    seed: int | None = None,
    solver_options: dict | None = None,
    per_solve: float = 5.0,
    on_column: Callable[[int, list[np.ndarray]], None] | None = None,
    candidates: Callable[[int], list[tuple[float, list[np.ndarray], np.ndarray]]] | None = None,
    least: Sequence[float] | None = None,
    least_tol: float = 0.0,
) -> Assignment:
    """``start`` (every request placed, feasible) improved until ``deadline`` (a
    ``time.perf_counter()`` value): request by request (:func:`fill_and_improve`, each solve at
    most a quarter of the time left), then pair by pair (:func:`pair_moves`, ``per_solve`` s at
    most per solve) from the better of the two, then by joint moves (:func:`joint_moves`) from
    the best so far. Every candidate is re-scored by the evaluator;
    the best feasible one is returned, ``start`` itself where nothing beats it, so the result is
    never worse than ``start``. ``on_column``, ``candidates``, ``least``, ``least_tol``: as
    :func:`fill_and_improve` (``least`` also for :func:`pair_moves`). Stops early once
    SIGINT/SIGTERM arrived. Raises ``ValueError`` if ``start`` is not feasible or leaves a
    request unplaced. A heuristic: incumbents, never bounds."""
    ev = evaluate(inst, start)
    if not ev.feasible or any(o is None for o in start.owners):
        raise ValueError(f"{inst.name}: polish needs a feasible placement of every request to start from")
    best, best_obj = start, float(ev.objective)

    def keep(owners: list) -> None:
        nonlocal best, best_obj
        asg = Assignment(owners, {**(start.meta or {})})
        e = evaluate(inst, asg)
        if e.feasible and e.objective < best_obj:
            best, best_obj = asg, float(e.objective)

    left = deadline - time.perf_counter()
    if left > 0.05 and not stop_requested():
        found = fill_and_improve(inst, start.owners, deadline=deadline, solver=solver, threads=threads, seed=seed,
                                 solver_options=solver_options, per_solve=max(left / 4, 0.5), on_column=on_column,
                                 candidates=candidates, least=least, least_tol=least_tol)
        if found is not None:
            keep(found.owners)
    for moves_of in (pair_moves, joint_moves):
        if deadline - time.perf_counter() <= 0.05 or stop_requested():
            break
        owners, moves = moves_of(inst, best.owners, deadline=deadline, solver=solver, threads=threads, seed=seed,
                                 solver_options=solver_options, on_column=on_column, least=least,
                                 **({"per_solve": per_solve} if moves_of is pair_moves else {}))
        if moves:
            keep(owners)
    return best
