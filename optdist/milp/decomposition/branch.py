"""Branch-and-price on the Dantzig-Wolfe master: branching on how many requests of a class use
a capacity row above a threshold (issue 11, item 3).

Maths (notation of :mod:`optdist.milp.decomposition.master`). When the LP master has converged
and its optimum is fractional, its value is the best bound column generation can give; the
rest of the gap is the master's integrality gap. A node of the search tree splits every class
``c`` (``n_c`` identical requests) into *parts* ``(c, n, L)``: ``n`` of the class's requests
take placements that meet the *limits* ``L``, each ``usage_p(row) <= t`` or ``usage_p(row) >=
t`` (``usage_p(row)``: what placement ``p`` uses of a master row, e.g. the bytes sent by a
group of identical devices). The root has one part per class, no limits.

Branching (robust: only the pricing problem's constraints change, never its structure). In
the LP solution, for a part ``(c, n, L)``, a row and a threshold ``t`` strictly between two
usages of the columns it uses, let ``v = sum_{p: usage_p(row) < t} x_p`` (the requests of the
part below ``t``). If ``v`` is fractional with ``k = floor(v)``, every integer solution of the
node lies in one of the children

* A: at most ``k`` of the ``n`` below ``t``: parts ``(c, k, L)`` and ``(c, n - k, L + {>= t})``;
* B: at least ``k + 1`` of them at most ``t``: parts ``(c, k + 1, L + {<= t})`` and
  ``(c, n - k - 1, L)``

(a solution with at most ``k`` requests below ``t`` has at least ``n - k`` at or above it; one
with more than ``k`` below ``t`` has ``k + 1`` at most ``t``), and the LP solution lies in
neither (``v > k`` in A, ``v < k + 1`` in B). A part is priced by its class's pricing problem
with its limits as extra rows (:meth:`optdist.milp.decomposition.pricing.PricingModel.set_limits`),
so each node's Lagrangian bound ``-pi . cap + sum_parts n B_part`` (``B_part``: the pricing
problem's proven bound) is valid for the node at any ``pi >= 0``, also when pricing stops at a
time limit. (Memory and compute are linear in the owner counts; the tight model's bytes sent
are a lower McCormick expression, at least the true bytes, so under a ``>=`` limit on a
bandwidth row the model without the missing halves of its products is a relaxation, priced
first (its bound is valid, and it closes far sooner), and the missing halves come in only where
its placement misses the limit in truth (:func:`optdist.milp.decomposition.colgen._branch_and_price`);
the model's bytes are then the true ones. Under ``<=`` limits only, the halves come in at once:
they change no integer point there but tighten the LP, 4 s against 25 s for the ``<=`` sibling
of ``lenet-10x10-tight-tau0.8``'s first branching. A placement the pricing returns that still
misses a limit in truth is not a column of the part; a node whose LP keeps needing artificial columns stays open as
"phase 1".) Rows with a positive price are branched on first. The bound of the whole is the least bound of the nodes not yet closed (best-first
search), and a node closes when its bound reaches the incumbent within the gap (checked after
every pricing round of its column generation: a node need not converge once its Lagrangian
bound is there), when its LP
solution is integral and the evaluator accepts it spread over the devices (the caller's
``integral``), or when it is
infeasible. A node whose LP solution is fractional with no such threshold, or integral but
not spreadable over the devices (the aggregated rows allow it, the devices do not), stays
open: its bound is kept and the search goes on elsewhere (the certified bound never exceeds
it).

Count rows (``count_cuts``). Where requests pack onto single devices, neither the aggregated
nor the per-device LP sees how many loads a device can take: each node's LP finds another
fractional mix at the same value (``lenet-9x5-nexus-rpi3``: 50 nodes at the root's bound in
60 s). At a node whose column generation has converged, the count rows
(:class:`~optdist.milp.decomposition.master.CountRow`: at most ``k`` loads above ``cap / (k +
1)`` per node, summed over a row's nodes) that its LP solution violates are added to the
node's master and to every later node's (they hold for every integer placement, so they are
valid in the whole tree), and the node goes back into the queue with its bound, solved again
with them (their prices ``sigma`` in pricing) once no open node has a lower bound; its
Lagrangian bound is then ``-pi . cap - sigma . (k m) + sum_parts n B_part``.
On ``lenet-9x5`` they lift the root from 9.98033 to 10.03053 ms (the best placement known:
10.05412 ms; ``benchmarks/scale/README.md``). Where no count row is violated, a priced node's LP is cut by rounding rows
(:class:`~optdist.milp.decomposition.master.RoundRow`: Chvatal-Gomory rows of a capacity row
and the convexity rows), else by packing rows
(:class:`~optdist.milp.decomposition.master.PackRow`: the dual of the fractional bin packing
of the LP's loads, a weight per load size), priced the same way (the unpriced root of a
converged LP master separates count rows only, and otherwise branches at once: a child's
``>=`` limit on bytes is priced first without the exact halves, which is what lets branching at
once beat cutting the root with every kind of row on ``lenet-10x10-tight-tau0.8``;
benchmarks/milp/README.md, branches tight11h and tight11i).

Entry point: :func:`branch_and_price`, called by
:func:`optdist.milp.decomposition.colgen.column_generation` once the LP master has converged.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optdist.milp.decomposition.master import (Column, CutRow, Master, Row, separate_counts, separate_packing,
                                               separate_rounding)
from optdist.solvers.base import stop_requested

TOL = 1e-9  # relative tolerance of a limit and of integrality
#: pricing rounds in a row with a pricing solve whose solver failed (termination ``error``, e.g. its
#: process killed by the OOM killer) after which column generation's rounds
#: (:func:`optdist.milp.decomposition.colgen.column_generation`) and this search end: with every
#: CBC killed as it started, a 30-s run of lenet-8x4-rpi3 went 260 empty rounds of 0.07 s to its
#: time limit (review21), and the search branched on unpriced LPs to its deadline (edges22)
PRICING_FAILURES_MAX = 3


def pricing_stopped(where: str, rounds: int, error: str) -> str:
    """Why the pricing rounds ended early (``extra["pricing_stopped"]`` of column generation):
    ``where`` they stopped (e.g. "column generation stopped after round 3"), after ``rounds``
    rounds in a row with a failed pricing solve, the last one's solver error ``error``."""
    return f"{where}: the pricing solver failed in {rounds} rounds in a row ({error})"


@dataclass
class PricingFailures:
    """Pricing rounds in a row with a failed pricing solve (``rounds``), the last failure's
    solver error (``error``), over the whole search (a node's rounds continue its parent's count)."""

    rounds: int = 0
    error: str | None = None

    def count(self, failed: str | None) -> bool:
        """Count one pricing round, ``failed`` the error of one of its failed solves (None: none
        failed, the count starts again); True once :data:`PRICING_FAILURES_MAX` rounds in a row failed."""
        self.rounds = self.rounds + 1 if failed is not None else 0
        self.error = failed or self.error
        return self.rounds >= PRICING_FAILURES_MAX


@dataclass(frozen=True)
class Limit:
    """``usage(row) <= value`` (``upper``) or ``>= value``, in the row's real units."""

    row: int
    upper: bool
    value: float

    def holds(self, usage: np.ndarray) -> bool:
        u, v = float(usage[self.row]), self.value
        slack = TOL * max(abs(v), 1.0)
        return u <= v + slack if self.upper else u >= v - slack


@dataclass(frozen=True)
class Part:
    """``size`` requests of master class ``cls`` whose placements meet ``limits``."""

    cls: int
    size: int
    limits: tuple[Limit, ...] = ()

    def admits(self, col: Column) -> bool:
        return col.cls == self.cls and col.kind == "placement" and all(lim.holds(col.usage) for lim in self.limits)


@dataclass(order=True)
class Node:
    bound: float
    order: int
    parts: tuple[Part, ...] = field(compare=False)


#: what ends a search (``Outcome.ended``): no node left to solve (each closed, pruned or stuck),
#: the bound within the gap of the incumbent, the clock, ``max_nodes``, the pricing solver failing,
#: SIGINT/SIGTERM; of these only ``deadline`` says that more time would have searched on
ENDINGS = ("searched", "gap closed", "deadline", "node limit", "pricing failed", "interrupted")


@dataclass
class Outcome:
    """What :func:`branch_and_price` proved: ``bound`` (seconds, valid for the whole problem:
    the least bound of the nodes left open or closed within the gap, and at most the
    incumbent), ``nodes`` solved, ``open`` nodes left whose bound is not within the gap of the incumbent
    (0: the search finished), ``log`` per node (its bound, its column generation's seconds, how
    it closed or where it branched), ``pricing_stopped``: why the search ended early, the pricing
    solver failing :data:`PRICING_FAILURES_MAX` rounds in a row (None: it did not), ``ended``: what
    ended the search, one of :data:`ENDINGS`."""

    bound: float
    nodes: int
    open: int
    log: list[dict]
    pricing_stopped: str | None = None
    ended: str = "searched"


#: ``price(part, pi, counts, time_limit) -> (proven bound on the part's priced value, new
#: columns, why its solver failed or None)``: the priced value of a column is ``c_p + pi . a_p +
#: sum sigma n_p`` over ``counts``, the count and packing rows with a positive price ``sigma``
#: (pairs ``(row, sigma)``); a failed solve (e.g. its solver process killed) still returns the
#: bound it proved (the part's stage bound at least)
Pricer = Callable[[Part, np.ndarray, list[tuple[CutRow, float]], float],
                  tuple[float, list[tuple[Column, tuple]], str | None]]
#: ``integral(parts, counts) -> objective`` of the integer solution ``counts`` (master column
#: index -> how many requests take it, per part) if the evaluator accepts it spread over the
#: devices (it is then a candidate incumbent), else None
Integral = Callable[[list[tuple[Part, list[tuple[Column, int]]]]], float | None]


def branch_and_price(rows: list[Row], pool: list[Column], keys: set[tuple], sizes: list[int], cost_unit: float, *,
                     price: Pricer, integral: Integral, incumbent: Callable[[], float], root_bound: float,
                     deadline: float, mip_gap: float, max_nodes: int = 10_000,
                     threads: int | None = None, seed: int | None = None, root_converged: bool = False,
                     count_cuts: bool = False) -> Outcome:
    """Best-first branch-and-price (module docstring) from the root bound ``root_bound``.

    ``rows``: the master's capacity rows; ``pool``: every known column (placements of each
    master class, on its source; new priced columns are appended, their keys added to
    ``keys``); ``sizes``: ``n_c`` per class; ``cost_unit``: the master's cost scale (seconds).
    ``price``, ``integral``, ``incumbent`` (the incumbent's objective, ``inf`` if none): see
    :data:`Pricer`, :data:`Integral`. Stops at ``deadline`` (``time.perf_counter`` seconds), on
    SIGINT/SIGTERM (:func:`~optdist.solvers.base.stop_requested`), after ``max_nodes`` nodes,
    when the bound is within ``mip_gap`` of the incumbent, or after :data:`PRICING_FAILURES_MAX`
    pricing rounds in a row (over nodes) with a failed pricing solve (the node goes back open
    with its bound so far; ``Outcome.pricing_stopped`` says why).
    ``root_converged``: column generation over ``rows`` has converged already (``root_bound``
    is its Dantzig-Wolfe bound), so the root is branched on the LP over ``pool`` without
    pricing it again (a split of any LP solution keeps every integer solution in one child);
    if that LP needs its artificial columns or gives no split, the root is priced as any node.
    ``count_cuts``: separate count rows (:class:`~optdist.milp.decomposition.master.CountRow`),
    and where none is violated packing rows (:class:`~optdist.milp.decomposition.master.PackRow`;
    both valid for every integer placement) at each node's converged LP and add them to every later
    node's master (the columns need ``node_use``; ``price`` gets their prices). Returns an
    :class:`Outcome`; its bound is at least ``root_bound``.
    """
    rhs = np.array([r.rhs for r in rows], dtype=float)
    root = Node(root_bound, 0, tuple(Part(c, n) for c, n in enumerate(sizes) if n > 0))
    heap: list[Node] = [root]
    stuck: list[float] = []  # bounds of nodes that stay open without children
    pruned = [math.inf]  # least bound of a node closed within the gap (or integral above its bound)
    log: list[dict] = []
    cuts: list[CutRow] = []  # count rows found so far (valid everywhere: every node's master has them)
    solved = 0
    counter = 1
    failures = PricingFailures()
    stopped: str | None = None

    def bound_now() -> float:
        b = min([n.bound for n in heap] + stuck + pruned)
        return max(root_bound, min(b, incumbent()))

    def closes(b: float) -> bool:
        inc = incumbent()
        return math.isfinite(inc) and b >= inc - mip_gap * abs(inc)

    while heap and solved < max_nodes and time.perf_counter() < deadline and not stop_requested():
        if closes(bound_now()):
            ended = "gap closed"
            break
        node = heapq.heappop(heap)
        if closes(node.bound):
            pruned[0] = min(pruned[0], node.bound)
            continue
        solved += 1
        started = time.perf_counter()
        split = None
        if root_converged and node is root:  # the LP over the pool, unpriced: branch if it splits
            _lb, x_cols, prices, how = _solve_node(node, rows, rhs, pool, keys, cost_unit, None, deadline, threads, seed,
                                                   cuts=cuts if count_cuts else None)
            split = None if how != "lp" else _choose(node.parts, x_cols, rows, prices)
        if split is None:
            lb, x_cols, prices, how = _solve_node(node, rows, rhs, pool, keys, cost_unit, price, deadline, threads, seed,
                                                  closes, cuts=cuts if count_cuts else None, failures=failures)
        lb = max(lb, node.bound) if split is None else node.bound
        entry = {"node": solved, "parts": len(node.parts), "bound": lb, "seconds": time.perf_counter() - started,
                 "count_rows": len(cuts)}
        log.append(entry)
        if math.isinf(lb) or closes(lb):
            entry["closed"] = "infeasible" if math.isinf(lb) else "bound, early" if how == "closed" else "bound"
            pruned[0] = min(pruned[0], lb)
            continue
        if how == "cuts":  # back into the queue with its bound (nodes below it go first)
            entry["cuts"] = "requeued"
            heapq.heappush(heap, Node(lb, counter, node.parts))
            counter += 1
            continue
        if how == "deadline":  # its bound so far; the search ends
            heapq.heappush(heap, Node(lb, counter, node.parts))
            counter += 1
            ended = "deadline"
            break
        if how == "pricing failed":  # its bound so far; the search ends (more rounds would fail too)
            entry["closed"] = "open (pricing failed)"
            heapq.heappush(heap, Node(lb, counter, node.parts))
            counter += 1
            stopped = pricing_stopped(f"branch-and-price stopped at node {solved}", failures.rounds, failures.error)
            ended = "pricing failed"
            break
        if how == "phase 1":  # no LP solution without artificial columns, yet no proof of none
            entry["closed"] = "stuck (phase 1)"
            stuck.append(lb)
            continue
        split = split or _choose(node.parts, x_cols, rows, prices)
        if split is None:
            per_part = [(part, [(col, int(round(x))) for col, x in x_cols[j] if round(x) > 0])
                        for j, part in enumerate(node.parts)]
            integer = all(abs(x - round(x)) <= 1e-6 for cols in x_cols for _c, x in cols)
            obj = integral(per_part) if integer else None
            if obj is not None:  # the node's best is its LP value, at least lb (pricing tolerance)
                entry["closed"] = "integral"
                if obj > lb * (1 + 1e-9):
                    pruned[0] = min(pruned[0], lb)
                continue
            entry["closed"] = "stuck (integral, not spreadable)" if integer else "stuck (no threshold)"
            stuck.append(lb)
            continue
        j, row, t, k = split
        part = node.parts[j]
        rest = node.parts[:j] + node.parts[j + 1:]
        below_at_most_k = (Part(part.cls, k, part.limits),
                           Part(part.cls, part.size - k, part.limits + (Limit(row, False, t),)))
        below_at_least = (Part(part.cls, k + 1, part.limits + (Limit(row, True, t),)),
                          Part(part.cls, part.size - k - 1, part.limits))
        for child in (below_at_most_k, below_at_least):
            parts = rest + tuple(p for p in child if p.size > 0)
            heapq.heappush(heap, Node(lb, counter, parts))
            counter += 1
        entry["branch"] = {"part": j, "row": row, "threshold": t, "k": k}
    else:
        ended = ("searched" if not heap else "node limit" if solved >= max_nodes
                 else "interrupted" if stop_requested() else "deadline")
    left_open = sum(1 for b in [n.bound for n in heap] + stuck if not closes(b))
    return Outcome(bound_now(), solved, left_open, log, stopped, ended)


def _solve_node(node: Node, rows: list[Row], rhs: np.ndarray, pool: list[Column], keys: set[tuple], cost_unit: float,
                price: Pricer | None, deadline: float, threads: int | None, seed: int | None,
                closes: Callable[[float], bool] | None = None, cuts: list[CutRow] | None = None,
                failures: PricingFailures | None = None):
    """Column generation at a node (every part priced in every round, the parts with limits
    first): (its best Lagrangian bound, per part the last LP's
    (column, x) with x > 0, the last LP's prices per row, how it ended: ``lp`` (converged), ``phase 1`` (converged with
    artificial columns in use), ``deadline``, ``closed`` (``closes(bound)`` held: the node's
    Lagrangian bound reached the incumbent within the gap, so its LP need not converge) or
    ``pricing failed`` (below)).
    ``price`` None: the LP over the pool only (bound ``-inf``; ``lp`` or ``phase 1`` says
    whether it needs artificial columns, ``cuts`` that it violated a count row, now in ``cuts``).
    ``cuts`` (None: none): the count rows so far, each in the node's master; a converged LP that
    violates more appends them there and the column generation goes on (with ``price`` None,
    count rows only; priced, rounding and packing rows where no count row is violated).
    ``failures``: the search's count of pricing rounds in a row with a failed solve; each round
    counts there, and once it reaches :data:`PRICING_FAILURES_MAX` the node ends ``pricing failed``
    (its best bound so far)."""
    parts = node.parts
    master = Master(rows, [p.size for p in parts], cost_unit, threads=threads, seed=seed, count_rows=cuts)

    def separate(phase1: bool) -> bool:
        """Add the count rows the last LP violates, or if none the packing rows (to ``cuts`` and
        the master); True if any."""
        if cuts is None or phase1:
            return False
        new = separate_counts(rows, master.columns, master.lp_values, cuts)
        if not new and price is not None:  # the unpriced root branches as before them
            new = (separate_rounding(rows, master.columns, master.lp_values, sum(p.size for p in parts), cuts)
                   or separate_packing(rows, master.columns, master.lp_values, cuts))
        for row in new:
            cuts.append(row)
            master.add_count_row(row)
        return bool(new)


    def offer(col: Column) -> None:
        for j, part in enumerate(parts):
            if part.admits(col):
                master.add(Column(j, col.kind, col.cost, col.usage, col.owners, col.node_use))

    for col in pool:
        offer(col)
    best = -math.inf
    x_cols, pi = None, np.zeros(len(rows))
    while time.perf_counter() < deadline and not stop_requested():  # SIGINT/SIGTERM: as at the deadline
        n_before = len(master.columns)
        z, pi, mu = master.solve_lp()
        x = master.lp_values
        x_cols = [[] for _ in parts]
        for q, col in enumerate(master.columns):
            if x[q] > 1e-9 and col.kind == "placement":
                x_cols[col.cls].append((col, float(x[q])))
        phase1 = master.artificial_in_use()
        if price is None:
            return best, x_cols, pi, "phase 1" if phase1 else "cuts" if separate(phase1) else "lp"
        sigma = master.sigma
        counts = [(row, float(sg)) for row, sg in zip(master.count_rows, sigma) if sg > 0]
        def prices_out() -> bool:
            return any(master.reduced_cost(c, pi, mu) < -1e-9 * cost_unit for c in master.columns[n_before:])

        # every part priced at the same prices (a bound needs them all), the parts with limits
        # (new at this node) first; not partial pricing (the LP solved again as soon as a limited
        # part's column prices out): on lenet-10x10-tight-tau0.8's first child the next limited
        # solve at such an LP's prices ran 22 s without closing, at the prices after every part's
        # columns 1-2 s (benchmarks/milp/README.md, branch tight11i)
        order = [j for j, p in enumerate(parts) if p.limits] + [j for j, p in enumerate(parts) if not p.limits]
        bounds: dict[int, float] = {}
        failed: str | None = None  # the error of a failed pricing solve of this round
        for j in order:
            left = deadline - time.perf_counter()
            if left <= 0:
                return best, x_cols, pi, "deadline"
            b, cols, why = price(parts[j], pi, counts, left)
            bounds[j] = b
            failed = why or failed
            for col, key in cols:
                if key not in keys:
                    keys.add(key)
                    pool.append(col)
                    offer(col)
        if all(math.isfinite(b) or b > 0 for b in bounds.values()):
            value = float(-float(pi @ rhs) - sum(sg * row.rhs for row, sg in counts)
                          + sum(p.size * bounds[j] for j, p in enumerate(parts)))
            best = max(best, value)
        if failures is not None and failures.count(failed):
            return best, x_cols, pi, "pricing failed"
        if math.isinf(best):
            return best, x_cols, pi, "lp"
        if closes is not None and closes(best):
            return best, x_cols, pi, "closed"
        if not prices_out():  # converged (or pricing found nothing new)
            if separate(phase1):
                return best, x_cols, pi, "cuts"  # a row cuts the LP solution off: the node goes back
            return best, x_cols, pi, "phase 1" if phase1 else "lp"
    return best, x_cols, pi, "deadline"


def _choose(parts: tuple[Part, ...], x_cols: list[list[tuple[Column, float]]], rows: list[Row], prices: np.ndarray):
    """The branching (part, row, threshold, k) whose count ``v`` below the threshold is the most
    fractional, on the rows with a positive price first (those that bind), or None if every
    such count is integral."""
    priced = [q for q in range(len(rows)) if prices[q] > 0]
    for candidates in (priced, [q for q in range(len(rows)) if prices[q] <= 0]):
        found = _most_fractional(x_cols, candidates)
        if found is not None:
            return found
    return None


def _most_fractional(x_cols: list[list[tuple[Column, float]]], candidates: list[int]):
    best, best_frac = None, 1e-6
    for j, cols in enumerate(x_cols):
        if len(cols) < 2:
            continue
        use = np.array([c.usage for c, _x in cols])
        xs = np.array([x for _c, x in cols])
        for row in candidates:
            vals = np.unique(use[:, row])
            if len(vals) < 2:
                continue
            for lo, hi in zip(vals[:-1], vals[1:]):
                if hi - lo <= TOL * max(abs(hi), 1.0):
                    continue
                t = (lo + hi) / 2
                v = float(xs[use[:, row] < t].sum())
                frac = min(v - math.floor(v), math.ceil(v) - v)
                if frac > best_frac:
                    best, best_frac = (j, row, float(t), int(math.floor(v))), frac
    return best
