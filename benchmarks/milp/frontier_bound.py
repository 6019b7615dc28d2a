"""The exact bound of identical requests that compete for one capacity row, by the row's frontier
(issue 11, branch tau44).

    .venv/bin/python benchmarks/milp/frontier_bound.py instances/paper/lenet-10x10-tight-tau0.8.json \
        --incumbent 0.00720270874555 --time-limit 30

For an instance whose requests form one master class (:class:`optdist.milp.decomposition.colgen.MasterProblem`:
``n`` identical requests) and one capacity row of its master (``--row``; default: the bandwidth row of
the first group of identical devices, right-hand side ``C``), every placement ``p`` of one request has a
latency ``l_p`` and a usage ``u_p`` of that row. Dropping every other row of the master and aggregating
the devices of the group (both relaxations: MODEL.md section 6, the master's module docstring), the
optimum is at least

    D = min  sum_{r=1..n} l_{p_r}   s.t.  sum_r u_{p_r} <= C.

**Frontier.** Queries ``q_0 = inf > q_1 > q_2 > ...``: query ``j`` solves the pricing model of one request
at prices 0 (:class:`optdist.milp.decomposition.pricing.PricingModel`, the tight model of MODEL.md
section 7) with the limit ``u <= q_j`` (``set_limits``, exact bytes: under a ``<=`` limit every placement
meeting it in truth is a point of the model at its true latency) and proves ``beta_j``, a lower bound on
the latency of every placement with ``u_p <= q_j`` (its proven bound, valid also when the solve stops at
its time limit); its placement uses ``b_j <= q_j``, and ``q_{j+1} = b_j - delta``. Every placement with
``u_p`` in ``(q_{j+1}, q_j]`` therefore has latency at least ``B_j = max_{i <= j} beta_i`` and usage above
``q_{j+1}``; after the last query ``m`` every placement with ``u_p <= q_{m+1}`` has latency at least
``B_m`` and usage at least 0. The enumeration stops once ``B_m`` plus ``n - 1`` times the least latency
``beta_0`` reaches ``--incumbent`` (no placement below ``q_{m+1}`` can be part of a better solution), or
after ``--max-queries``.

**Bound.** With one item per interval (usage ``floor(q_{j+1})``, latency ``B_j``) and the tail item (0,
``B_m``), every placement dominates an item (its usage at least the item's, its latency too), so ``D``
is at least the least sum of ``n`` items (with repetition) whose usages sum to at most ``C``: a dynamic
programme over integer usage ``0 .. floor(C)`` (:func:`dp_bound`, exact; an item's usage at least 0:
a placement that leaves the row unused, e.g. a row of a device group it need not use, ends the queries
with the limit ``-delta``). Valid for every stop and every time limit; the proof of an incumbent is
``dp_bound >= incumbent (1 - gap)``. Every request is placed: an instance with admission control (a
rejection costs its penalty and no usage) or a makespan objective is refused, as is a row whose
capacity exceeds :data:`MAX_WIDTH` units (the programme's arrays; a memory row in bytes).

Prints each query (seconds, its bound, the placement's usage and latency) and the bound after it;
writes nothing (``--out FILE``: the queries and the bound as JSON).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from optdist.instance import Instance, load_instance
from optdist.io import atomic_write_json, check_output_file
from optdist.milp.decomposition.colgen import MasterProblem
from optdist.milp.decomposition.pricing import PricingModel
from optdist.transfers import RESOURCES

MAX_WIDTH = 10_000_000  # the programme's integer usages 0 .. floor(C): arrays of 80 MB


@dataclass
class Query:
    """One query: ``limit`` (the row's usage at most it; ``inf``: none), ``bound`` (s, proven for every
    placement within the limit), ``usage`` and ``latency`` (s) of the placement found (None: none),
    ``proven`` (the solve closed), ``seconds``."""

    limit: float
    bound: float
    usage: float | None
    latency: float | None
    proven: bool
    seconds: float


def frontier(inst: Instance, row: int, *, incumbent: float, time_limit: float, max_queries: int = 100,
             delta: float = 0.5, mip_gap: float = 1e-6, log: Callable[[str], None] = print) -> list[Query]:
    """The queries of the module docstring on master row ``row`` (index into ``MasterProblem(inst).rows``),
    each solve at most ``time_limit`` s (HiGHS, 1 thread), ``delta``: how far below the last placement's
    usage the next limit lies (the row's usages are multiples of 16 B on LeNet; any ``delta > 0`` is
    valid). Raises ValueError unless the requests form one master class and are all placed (no
    admission control), ``row`` is a row of the master whose capacity is at most :data:`MAX_WIDTH` and
    ``max_queries >= 1`` (none: no bound; before, :func:`dp_bound` of no query was ``inf``)."""
    P = MasterProblem(inst)
    if len(P.sizes) != 1:
        raise ValueError(f"{inst.name}: the frontier bound needs one master class of identical requests, "
                         f"not {len(P.sizes)} (fix: an instance whose requests share CNN and source fields)")
    if inst.objective.admission:  # rejecting costs the penalty and no usage: no item of the programme
        raise ValueError(f"{inst.name}: objective.admission is true: the frontier bound places every request (fix: an "
                         "instance with \"admission\": false)")
    if not 0 <= row < len(P.rows):
        raise ValueError(f"--row {row}: {inst.name}'s master has rows 0 to {len(P.rows) - 1} (fix: one of them, or leave "
                         "--row out for the bandwidth row of the first device group)")
    if P.rhs[row] > MAX_WIDTH:
        raise ValueError(f"--row {row}: its capacity {P.rhs[row]:,.0f} ({RESOURCES[P.rows[row].resource]}) is more than "
                         f"{MAX_WIDTH:,} units, too wide for the dynamic programme over integer usage (fix: a row of "
                         "less capacity, e.g. leave --row out for the bandwidth row of the first device group)")
    if max_queries < 1:
        raise ValueError(f"--max-queries {max_queries}: give a whole number >= 1 (fix: e.g. --max-queries 100)")
    pm = PricingModel(inst, P.members[0][0], solver="highs")
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    nodes, resource = P.rows[row].nodes, RESOURCES[P.rows[row].resource]
    n = P.sizes[0]
    out: list[Query] = []
    limit = math.inf
    while len(out) < max_queries:
        pm.set_limits([] if math.isinf(limit) else [(nodes, resource, True, limit)], exact_bytes=True)
        t0 = time.perf_counter()
        pr = pm.solve(zero, time_limit=time_limit, mip_gap=mip_gap, threads=1, seed=0)
        pm.set_limits([])
        usage = latency = None
        if pr.owners is not None:
            col, _key = P.column(0, pr.owners)
            usage, latency = float(col.usage[row]), float(col.cost)
        out.append(Query(limit, float(pr.bound), usage, latency, bool(pr.proven), time.perf_counter() - t0))
        q = out[-1]
        log(f"query {len(out):3d}: usage <= {q.limit:12.1f}  bound {q.bound * 1e3:.6f} ms  placement "
            + ("none" if usage is None else f"{usage:10.1f} / {latency * 1e3:.6f} ms")
            + f"  {'closed' if q.proven else 'cut'} in {q.seconds:.2f} s  D >= {dp_bound(out, n, P.rhs[row]) * 1e3:.6f} ms")
        stepped = max(x.bound for x in out)
        if usage is None or stepped + (n - 1) * out[0].bound >= incumbent:
            break
        limit = usage - delta
    return out


def dp_bound(queries: list[Query], n: int, cap: float) -> float:
    """``D``'s lower bound of the module docstring (seconds) from ``queries`` (in the order of
    :func:`frontier`: falling limits, the first without one), ``n`` requests, the row's right-hand side
    ``cap``: the least latency of ``n`` items whose integer usages sum to at most ``floor(cap)``."""
    items, stepped = [], -math.inf
    for j, q in enumerate(queries):
        stepped = max(stepped, q.bound)
        below = queries[j + 1].limit if j + 1 < len(queries) else 0.0  # the tail: usage at least 0
        items.append((max(0, math.floor(below)), stepped))
    W = int(math.floor(cap))
    best = np.full(W + 1, math.inf)  # best[w]: least latency of the items so far using exactly w
    best[0] = 0.0
    for _ in range(n):
        nxt = np.full(W + 1, math.inf)
        for w, lat in items:
            if w <= W:
                np.minimum(nxt[w:], best[:W + 1 - w] + lat, out=nxt[w:])
        best = nxt
    return float(best.min())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--incumbent", type=float, required=True, help="objective of a feasible placement (s): the stop rule")
    ap.add_argument("--row", type=int, default=None, help="master row (default: bandwidth of the first device group)")
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per query")
    ap.add_argument("--max-queries", type=int, default=100)
    ap.add_argument("--out", default=None, help="write the queries and the bound here (JSON)")
    args = ap.parse_args(argv)
    for flag, value in (("--incumbent", args.incumbent), ("--time-limit", args.time_limit)):
        if not (math.isfinite(value) and value > 0):
            ap.error(f"{flag} {value:g}: give a finite number of seconds > 0 (e.g. {flag} "
                     f"{'0.00773456470123' if flag == '--incumbent' else '30'})")
    try:
        if args.out:
            check_output_file(args.out, example="frontier.json")  # before the queries, not after them
        inst = load_instance(args.instance)
        P = MasterProblem(inst)
        row = args.row if args.row is not None else next(q for q, r in enumerate(P.rows) if RESOURCES[r.resource] == "bandwidth")
        t0 = time.perf_counter()
        qs = frontier(inst, row, incumbent=args.incumbent, time_limit=args.time_limit, max_queries=args.max_queries)
    except (OSError, ValueError) as e:  # a missing or bad file (DocumentError is a ValueError) or flag: the message, no traceback
        print(f"frontier_bound.py: error: {e}", file=sys.stderr)
        return 2
    bound = dp_bound(qs, P.sizes[0], P.rhs[row])
    gap = (args.incumbent - bound) / args.incumbent
    print(f"{inst.name}: row {row} ({RESOURCES[P.rows[row].resource]}, capacity {P.rhs[row]:.2f}), {len(qs)} queries "
          f"(solves {sum(q.seconds for q in qs):.1f} s, all {time.perf_counter() - t0:.1f} s): bound {bound:.12g} s, incumbent {args.incumbent:.12g} s, gap {gap:.3g}")
    if args.out:  # the first query's limit is inf: null and a "non_finite" field (strict JSON)
        atomic_write_json(args.out, {"instance": inst.name, "row": row, "bound": bound, "incumbent": args.incumbent,
                                     "gap": gap, "queries": [asdict(q) for q in qs]}, non_finite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
