"""Column generation with certified bounds for requests that compete for capacity (issue 11, item 3).

Maths (master: :mod:`optdist.milp.decomposition.master`; pricing:
:mod:`optdist.milp.decomposition.pricing`). Each round

1. solves the LP master over the columns so far: value ``z``, capacity prices ``pi_LP >= 0``
   (minus the capacity rows' duals), class duals ``mu_c``;
2. chooses the prices ``pi = alpha pi_0 + (1 - alpha) pi_LP`` (Wentges smoothing): ``pi_0``,
   the *centre*, holds the prices of the best Lagrangian bound so far (at first 0). Prices
   near the centre keep the duals from oscillating and the pricing problems near those that
   closed before. ``alpha`` starts at ``smoothing``; it is 0 while the LP uses an artificial
   column (phase 1), moves half-way to 1 when a pricing solve stops at its time limit (prices
   nearer the centre price nearer the latency alone, which closes faster), and is halved on a
   *mis-pricing* (every pricing solve closed, no column prices out at ``pi_LP``), down to 0
   below 0.1. On a mis-pricing, closed or not, the round prices again at ``pi_LP`` itself
   (:data:`LP_PRICING_SHARE` of the time cap): its columns move the LP, which at the smoothed
   point alone can stall for many rounds where pricing is cut short (CIFAR sets:
   ``benchmarks/scale/README.md``), and its bound is one more Lagrangian bound. Pricing that
   closes at ``pi_LP`` with no column of negative reduced cost proves the LP master optimal;
3. prices every class: ``v_c(pi) = min_p c_p + pi . a_p`` over the placements of one request
   of the class alone, by the tight single-request model on the user's pricing solver
   (``pricing_solver``, ``optdist solve --pricing-solver``; default the run's own, where that is
   HiGHS with SCIP for a class once a HiGHS pricing solve of it stalls at the full cap:
   :data:`STALL_PRICING_SOLVER`, each solve's ``solver`` in its round's log). Classes of
   one CNN whose sources have identical fields and prices are priced once (the column is
   renamed to each source). Each pricing solve returns its best placement and a *proven*
   lower bound ``B_c <= v_c(pi)`` (its dual bound, valid at a time limit too), within
   ``pricing_gap`` (default ``mip_gap / 10``) and, outside phase 1, a time cap (default a
   tenth of ``time_limit``, doubled when even prices next to the centre do not close, and
   at prices where a pass was cut short before -- the LP did not move -- twice that pass's
   budget: the same solve again would prove nothing more; such a round prices at the LP duals
   only, no smoothed pass: the smoothed point cannot move an LP that has stopped moving);
   (Round 0 prices at ``pi = 0``: each class's own optimum, the decomposition bound
   ``L(0) = sum_c n_c v_c(0)``, and the first columns.)
4. the Lagrangian bound ``L(pi) = -pi . cap + sum_c n_c min(B_c, penalty_c)`` (``penalty_c``
   only with admission control) is a lower bound on the optimum for every ``pi >= 0``
   (weak duality; it equals ``z + sum_c n_c min(0, B_c - mu_c)`` at optimal LP duals). The
   certified bound is the best ``L`` over the rounds, and at least ``lower_bound``; a bound
   above the centre's value makes ``pi`` the new centre;
5. adds every priced column (those with reduced cost ``c_p + pi_LP . a_p - mu_c < 0`` count
   as progress; the others can serve the integer master);
6. price-and-branch, when columns were added: the integer master over the columns so far
   gives counts per column; they are spread over the identical devices least-loaded first
   (:func:`optdist.milp.decomposition.classes.combine`); if that exceeds a capacity, by a
   small assignment MIP of each request's devices to the group's devices
   (:func:`optdist.milp.decomposition.classes.spread_exact`: the least-loaded rule misses
   tight packings such as 7 A + 3 B of ``lenet-10x10-tight-tau0.6``), and the integer master
   is also solved again on per-node rows over relabelled copies of the columns
   (:func:`optdist.milp.decomposition.master.integer_on_devices`; it may pick other columns),
   the better of the two kept. The placement is re-scored
   by the independent evaluator; a feasible one that beats the incumbent replaces it and is
   improved request by request (:func:`optdist.milp.decomposition.repair.fill_and_improve`:
   each request at its best in the capacity the others leave, for 5 % of the time left,
   skipping requests already at their round-0 bound alone; every placement it finds is a
   column too);
7. LP-mean columns (``mean_heuristic``, :mod:`optdist.milp.decomposition.mean`; outside phase 1,
   :data:`MEAN_SHARE` of the time left): each class whose LP mixes columns is solved alone at
   its cheapest within the mix's mean usage of every priced row, and the per-device integer
   master over every column spreads the copies of that column (a primal heuristic: where pricing
   is cut short, the LP mixes cheap heavy columns with dear light ones, and the column that packs
   lies between them).

A bound above ``sum_r`` (largest latency request r can have), plus, with a weight on shared data,
that weight times every node's bandwidth capacity, proves that no placement exists (no admission
control): the run ends ``infeasible``, its bound +inf (as every proof of infeasibility's). It stops
when the gap ``(incumbent - bound) / incumbent`` is at most ``mip_gap`` (optimal), when the
LP master is optimal (the bound is then the Dantzig-Wolfe bound; the rest of the gap is the
integer master's: the per-device integer master over every column gets a quarter of the time
left (:data:`HANDOVER_SHARE` of it when branch-and-price follows), unless the aggregated integer
master's proven optimum over the same columns fits the devices already or is no better than the
incumbent; then, without branch-and-price, the improvement of the incumbent the rest, else
branch-and-price the rest but a reserve for the per-device integer master over the columns it
priced; what that reserve leaves -- all of it where the search added no column --
goes to :func:`~optdist.milp.decomposition.repair.polish` on the incumbent: request by
request, then pair moves, then joint moves (requests solved together on the room the rest
leaves them), every placement a column; where it stops at a local optimum with
time left and added columns, the per-device integer master over every column gets the rest),
or at the time limit. No round starts with less than :data:`ROUND_MIN_S` left before solves
stop starting (:func:`_solves_end`: the run's deadline less the solver's stop lag), where every
pricing solve would be refused. Seed columns: ``start`` and the greedy heuristic's placements
(each placed request's placement is a column of its class; greedy's rejected requests are
placed by :func:`~optdist.milp.decomposition.repair.fill_and_improve` where they fit), and
where neither is feasible a placement by shares of the devices
(:func:`~optdist.milp.decomposition.construct.placement_by_construction`, :data:`SEED_SHARE` of
the time left): a complete placement whose columns fill every class, so the LP master leaves
phase 1 at once.
Round 0 takes at most :data:`ROUND0_SHARE` of the time left (a class it does not close keeps
its proven bound).

Branch-and-price (:mod:`optdist.milp.decomposition.branch`, ``branching=True``, latency
objective without admission control): once the LP master has converged, a best-first search
that splits a class by how many of its requests use a capacity row above a threshold raises
the bound beyond the Dantzig-Wolfe bound and proves optimality when it finishes (its root is
branched at once on the LP over the columns so far: column generation has just converged
there, so it is not priced again). Where the
LP master converged with every price 0 (the aggregated rows are slack: what is left is how
the requests split over identical devices, which those rows cannot see), the search runs on
one row per device, over every column under its relabellings, with the pricing problems'
device symmetry rows lifted for it. The search adds count rows (at most ``k`` loads above a
device's ``cap / (k + 1)``, :class:`~optdist.milp.decomposition.master.CountRow`), rounding
rows (:class:`~optdist.milp.decomposition.master.RoundRow`) and packing rows
(:class:`~optdist.milp.decomposition.master.PackRow`) where a node's LP violates them; pricing
prices them (:meth:`PricingModel.set_count_prices`, ``set_round_prices``, ``set_pack_prices``);
the converged root is branched at once (a child's pricing with a ``>=`` limit on bytes solves
the model without the exact halves of its bytes first, which closes far sooner than the
root's pricing with rows: ``lenet-10x10-tight-tau0.8`` 7.194028 ms in 120 s, against 7.149753
with the root priced with rows; benchmarks/milp/README.md, branch tight11i). An
integral node whose solution does not fit on the devices starts the per-device integer master
over every column so far (an incumbent found early closes nodes early).

Master classes: the requests of one request class (same CNN, sources equal in every field)
whose sources each serve only that request form one class, with no source rows: a source
that serves one request carries only that request's usage, which its pricing problem already
holds within the source's capacity. Requests that share a source form one class per source,
with the source's rows.

Not re-scored at the end: the caller (:func:`optdist.solve.solve`, ``optdist bench``) finalizes
once. Entry point: :func:`column_generation`. Per round, ``extra["rounds"]`` records
``round, elapsed_s, incumbent, bound, gap, columns`` (and the LP value, its solve's seconds
``lp_s``, the pricing time, whether every pricing solve closed, the smoothing ``alpha`` used, the round's best
Lagrangian bound ``lagrangian``, and under ``pricing`` one entry per pricing solve: class,
seconds, closed, value, proven bound, the value of its start column, and its solver); ``extra["incumbents"]``
when each incumbent was found and by what, ``extra["improvements"]`` each improvement request by
request (``at``: the placement it started from, ``elapsed_s``, ``seconds``, ``found``: whether it
found a better incumbent), ``extra["seconds"]`` where the run's seconds went, each
second in one step only, so that they sum to the run's ``wall_time`` (``pricing models``: the
classes, rows, pricing models and floors; ``seed placements``; ``pricing``: every pricing solve of
round 0 and the rounds; ``floor ascent``; ``LP master``; ``integer master``; ``spreading``;
``integer master on devices``; ``improvement``; ``LP-mean columns``: their solves and the
per-device integer master after them; ``branch-and-price``, its pricing included; ``polish``;
``other``: the evaluator, the columns' arithmetic, the rest) and ``extra["handover_s"]`` when the
rounds handed over to the integer master.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.jsonfile import json_text
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.branch import PRICING_FAILURES_MAX, PricingFailures, pricing_stopped
from optdist.milp.decomposition.construct import placement_by_construction
from optdist.milp.decomposition.floor import class_bound, class_floors, dual_ascent
from optdist.milp.decomposition.guard import cap_bound
from optdist.milp.decomposition.master import Column, CountRow, Master, PackRow, RoundRow, Row, lagrangian_bound
from optdist.milp.decomposition.mean import mean_usage, within
from optdist.milp.decomposition.pricing import PricingModel
from optdist.milp.decomposition.repair import alone, fill_and_improve, polish as polish_placement
from optdist.milp.decomposition.single import CUTOFF_STEPS
from optdist.milp.run import Clock, adapter_for, offer
from optdist.result import SolveResult, Termination, gap
from optdist.solvers.base import MIN_SOLVER_S, deadline_left, stop_requested, stoppable
from optdist.transfers import RESOURCES, all_edges

_log = logging.getLogger("optdist")  # ``log`` names each round's pricing entries below

#: pricing uses rising latency cutoffs when the best known column's priced usage is at most
#: this share of its cost (:meth:`PricingModel.solve`)
CUTOFF_PRICE_SHARE = 0.1
#: share of the time left that the placement by shares (a seed where greedy rejects requests) may take
SEED_SHARE = 0.15
#: share of the time left that round 0 (each request class alone, prices 0) may take, split over the
#: classes: a class that does not close keeps its proven bound, and the rounds get the rest (a
#: CIFAR request on 20 devices otherwise takes the whole run, leaving no round and no incumbent)
ROUND0_SHARE = 0.5
#: share of the time left (at most :data:`FLOOR_MAX_S` seconds) that the dual steps on the pricing
#: floors get after round 0 (:func:`optdist.milp.decomposition.floor.dual_ascent`)
FLOOR_SHARE = 0.05
FLOOR_MAX_S = 30.0
#: share of the pricing cap a pass at the LP duals gets after a mis-pricing (its columns move the LP;
#: the bound comes mostly from the smoothed point)
LP_PRICING_SHARE = 0.5
RC_TOL = 1e-9  # relative: a column enters if its reduced cost is below -RC_TOL * cost_unit
#: share of the time left that the per-device integer master gets at the hand-over when
#: branch-and-price follows (a quarter without it): in 12 runs of the tight and coupled LeNet sets
#: it found no incumbent there while taking 14-16 s of 60 on tau0.6 and 20x10, time the search
#: needs to prove tau0.6 (benchmarks/milp/README.md, branch tight11h)
HANDOVER_SHARE = 0.1
#: a round starts only with at least this many seconds left in which a solve can still start
#: (:func:`_solves_end`); with less, every pricing solve is refused or cut at once (the last
#: half-second of a 60-s run of cifar-6x5 held 20 such rounds): the rounds end there
ROUND_MIN_S = 1.0
#: seconds at most per single-request solve of the pair moves in the polish at the end
POLISH_PER_SOLVE_S = 5.0
#: share of the time left that each round's LP-mean columns take (``mean_heuristic``)
MEAN_SHARE = 0.15
#: the solver a request class's pricing moves to after a HiGHS pricing solve of it stopped at the
#: full pricing cap more than :data:`STALL_GAP` short of proving its column (only where the user
#: chose no pricing solver, the run's solver is HiGHS, and this one is installed): at the binding
#: bandwidth prices of the CIFAR classes HiGHS's branch-and-bound
#: finds no column better than its MIP start in 3-6 s (cifar-6x5-nexus-rpi3, mixed-8x6-nexus-rpi3 at
#: their 60-s runs' last LP duals, where the best known placements' columns price 1.4-2.7 % below the
#: convexity duals), SCIP finds 0.6-2.2 % below them in 5 s, and its LP-mean column on cifar-6x5
#: costs 0.0719 s against HiGHS's 0.0804 (benchmarks/scale/README.md, branch engine28). A class
#: whose HiGHS pricing closes (the LeNet sets) keeps HiGHS, which closes them faster than SCIP; so
#: does one cut short at a share of the cap (the pass at the LP duals, :data:`LP_PRICING_SHARE`):
#: lenet-10x10-tight-tau0.8's is, and HiGHS closes it with twice that budget in 4 s where SCIP
#: needed 16 s (under load that second pass may stop at the full cap too and move the class: its
#: LP then converges at 38-43 s instead of 13 s, its 60-s result the same, 0.98 %)
STALL_PRICING_SOLVER = "scip"
#: relative gap (value - proven bound) / value above which a HiGHS pricing solve stopped at the full
#: cap has stalled (:data:`STALL_PRICING_SOLVER`): cifar-6x5's and mixed-8x6's first ones stop
#: 1.5-1.9 % short; cifar-12x10's stop 0.7-0.8 % short and HiGHS's next ones raise its bound more
#: than SCIP's (+0.0026-0.0029 s over rounds 2-3 against +0.0015-0.0018 s; branch engine28)
STALL_GAP = 0.01


class MasterProblem:
    """Classes, rows and column arithmetic of one instance: the Dantzig-Wolfe master that
    :func:`column_generation` prices (public for the scripts that bound it outside a run,
    ``benchmarks/scale/floor_bound.py``, ``floor_compare.py``).

    ``kinds``/``members``/``sizes``/``source``: per master class, its request class, requests,
    count and source node; ``rows``/``rhs``: the capacity rows (per group of identical devices
    and resource, and per shared source) and their capacities; :meth:`node_prices` turns row
    prices into per-node prices, :meth:`usage` a column's per-node usage into row usage.
    """

    def __init__(self, inst: Instance, per_device: bool = False) -> None:
        """``per_device``: one capacity row per device and resource (no aggregation over
        identical devices; :func:`_branch_and_price` uses it where the aggregated rows are slack)."""
        from optdist.milp.decomposition.classes import identical_device_groups, request_classes

        self.inst = inst
        N = inst.n_nodes
        # master classes: requests of one request class (CNN + source fields) on one source node
        self.kinds: list[int] = []  # request class of each master class
        self.members: list[list[int]] = []
        served = np.bincount(np.asarray(inst.request_source, dtype=np.int64), minlength=N)
        for q, reqs in enumerate(request_classes(inst)):
            # a source that serves one request only carries that request's usage (other sources
            # never serve it): its capacity is the pricing problem's own row, so requests of one
            # class on such sources are interchangeable in the master (one class, no source row)
            by_src: dict[int, list[int]] = defaultdict(list)
            for r in reqs:
                s = int(inst.request_source[r])
                by_src[-1 if served[s] == 1 else s].append(r)
            for _s, rs in sorted(by_src.items()):
                self.kinds.append(q)
                self.members.append(rs)
        self.source = [int(inst.request_source[m[0]]) for m in self.members]
        self.sizes = [len(m) for m in self.members]
        caps = capacity_matrix(inst)
        self.rows: list[Row] = []
        self.row_of = np.full((N, 3), -1, dtype=np.int64)  # node, resource -> row
        self.device_groups = [list(g) for g in identical_device_groups(inst)]
        shared = sorted(s for s in set(int(x) for x in inst.request_source) if served[s] > 1)
        groups = [(i,) for g in self.device_groups for i in g] if per_device else [tuple(g) for g in self.device_groups]
        groups += [(s,) for s in shared]
        for g in groups:
            for res in range(3):
                rhs = float(caps[list(g), res].sum())
                self.row_of[list(g), res] = len(self.rows)
                self.rows.append(Row(g, res, rhs))
        self.rhs = np.array([r.rhs for r in self.rows])

    def usage(self, node_use: np.ndarray) -> np.ndarray:
        """Row usage of a request whose per-node usage is ``node_use`` (n_nodes, 3)."""
        out = np.zeros(len(self.rows))
        mask = self.row_of >= 0
        np.add.at(out, self.row_of[mask], node_use[mask])
        return out

    def column(self, c: int, owners: list[np.ndarray]) -> tuple[Column, tuple]:
        """Column of master class c for ``owners`` (on c's source), costed by the evaluator."""
        cost, node_use = alone(self.inst, self.members[c][0], owners)
        key = (c, tuple(a.tobytes() for a in owners))
        return Column(c, "placement", cost, self.usage(node_use), [a.copy() for a in owners], node_use), key

    def relabellings(self, col: Column, rng: np.random.Generator, limit: int = 48) -> list[np.ndarray]:
        """Relabellings (node -> node arrays) of the devices ``col`` uses within their groups of
        identical devices: every injective map for a small group, cyclic shifts for a large one,
        at most ``limit`` combinations (identity first, the rest sampled with ``rng``)."""
        import itertools

        N = self.inst.n_nodes
        per_group = []
        for g in self.device_groups:
            used = [i for i in g if col.node_use[i].any()]
            if not used or len(g) == 1:
                continue
            if math.perm(len(g), len(used)) <= limit:
                maps = [list(t) for t in itertools.permutations(g, len(used))]
            else:
                maps = [[g[(g.index(i) + s) % len(g)] for i in used] for s in range(len(g))]
            per_group.append((used, maps))
        total = math.prod(len(m) for _u, m in per_group) if per_group else 1
        if total <= limit:
            combos = list(itertools.product(*[range(len(m)) for _u, m in per_group]))
        else:
            combos = {tuple(int(rng.integers(len(m))) for _u, m in per_group) for _ in range(limit)}
            combos = sorted(combos)
        out = []
        for combo in combos:
            lab = np.arange(N)
            for (used, maps), j in zip(per_group, combo):
                lab[used] = maps[j]
            out.append(lab)
        ident = np.arange(N)
        if not any((lab == ident).all() for lab in out):
            out[0] = ident
        return out

    def node_prices(self, pi: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for res, name in enumerate(RESOURCES):
            p = np.zeros(self.inst.n_nodes)
            mask = self.row_of[:, res] >= 0
            p[mask] = pi[self.row_of[mask, res]]
            out[name] = p
        return out


def _rename(owners: list[np.ndarray], src: int, dst: int) -> list[np.ndarray]:
    return [np.where(a == src, dst, a) for a in owners] if src != dst else [a.copy() for a in owners]


def _seed_assignments(inst: Instance, start: Assignment | None, deadline: float) -> list[Assignment]:
    """``start`` and the greedy heuristic's placement; where neither is feasible (greedy rejects
    requests where they compete), also a placement by shares of the devices
    (:func:`~optdist.milp.decomposition.construct.placement_by_construction`, feasible by construction)
    found by ``deadline`` (a ``time.perf_counter()`` value): its columns fit together, so the LP
    master leaves phase 1 at once and the integer master has an incumbent to start from."""
    out = [] if start is None else [start]
    try:
        from optdist.solve import solve as solve_any

        g = solve_any(inst, method="greedy")
        if g.assignment is not None:
            out.append(g.assignment)
    except Exception:  # noqa: BLE001 - a heuristic seed is optional; its failure costs only columns
        pass
    if not any(evaluate(inst, a).feasible for a in out):
        w = placement_by_construction(inst, deadline=deadline)
        if w is not None:
            out.append(w)
    return out


@stoppable
def column_generation(
    inst: Instance,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float = 1e-4,
    threads: int | None = None,
    seed: int | None = None,
    tee: bool = False,
    solver_options: dict | None = None,
    pricing_solver: str | None = None,
    pricing_solver_options: dict | None = None,
    start: Assignment | None = None,
    lower_bound: float = -math.inf,
    max_rounds: int = 1000,
    pricing_gap: float | None = None,
    pricing_time_limit: float | None = None,
    smoothing: float = 0.8,
    repair_heuristic: bool = True,
    mean_heuristic: bool = True,
    branching: bool = True,
    alone: dict[int, tuple[float, list[np.ndarray] | None]] | None = None,
    progress_origin: float | None = None,
    bound_log: list[dict] | None = None,
) -> SolveResult:
    """Dantzig-Wolfe column generation (module docstring): incumbent, certified bound, rounds.

    ``inst``: objective the sum of latencies (``kind = 'latency'``; shared-data weight and
    admission control allowed). ``solver``, ``solver_options``: adapter or profile (and its raw
    options) for the run's own MILPs (the improvement and polish steps); ``pricing_solver``,
    ``pricing_solver_options``: those of the pricing problems (branch-and-price's and the LP-mean
    columns' included; None: ``solver`` with ``solver_options``, a class moving to
    :data:`STALL_PRICING_SOLVER` where that is HiGHS and its pricing of the class stalls at the
    full cap (:data:`STALL_GAP`); a name given prices with its
    profile and ``pricing_solver_options`` only, as raw options are one solver's own). The
    master LPs and integer masters are HiGHS's either way. ``time_limit``: seconds for the
    whole run (None: until converged); ``mip_gap``: stop when the certified gap is at most
    this; ``start``: a placement whose requests seed the
    columns (it is also a candidate incumbent); ``lower_bound``: a valid bound known to the
    caller (seconds); ``max_rounds``, ``pricing_gap`` (relative gap of each pricing solve,
    default ``mip_gap / 10`` within [1e-6, 1e-3]), ``pricing_time_limit`` (seconds per pricing
    solve outside phase 1, default a tenth of ``time_limit``), ``smoothing`` (the first
    ``alpha``, 0: none), ``repair_heuristic`` (improve incumbents request by request) and
    ``branching`` (branch-and-price once the LP master has converged,
    :mod:`optdist.milp.decomposition.branch`; its search is in ``extra["branching"]``) tune
    the rounds. ``alone``: request index -> (a proven lower bound on its objective alone on the
    full capacities, seconds; its placement there or None), e.g. the decomposition's
    per-class solves: round 0 takes them instead of solving those classes again.
    ``progress_origin``: the ``time.perf_counter()`` value the progress lines on stderr count
    from (the caller's start; default this call's). ``bound_log``: the list the bounds capped at
    a feasible point are recorded in (:func:`optdist.milp.decomposition.guard.cap_bound`; the
    caller's, so that a run warns once; default this call's own), also ``extra["bound_capped"]``.
    Returns a :class:`SolveResult` (method ``milp``, formulation ``dantzig-wolfe``) whose
    ``bound`` is a proven lower bound, never above its incumbent, and whose placement the
    evaluator has re-scored; ``extra["rounds"]`` lists each round. A pricing solver that fails
    (termination ``error``) in :data:`PRICING_FAILURES_MAX` rounds in a row ends the rounds
    (``feasible`` / ``no_solution``, the incumbent and bound so far; ``extra["pricing_stopped"]``
    says why), or in as many pricing rounds in a row of branch-and-price its search (its open
    nodes keep their bounds; the same record; the polish after it does not run where its solver,
    ``solver``, is that pricing solver: ``extra["polish_skipped"]`` says so). Raises
    ``ValueError`` for a makespan objective or a NaN ``time_limit``.

    ``time_limit`` is kept by each step's own clock, with no stop from outside this process: the
    HiGHS solves (the integer masters through :func:`optdist.solvers.highs.run_stoppable`, whose
    sub-MIPs run without presolve; the pricing and polish solves through the adapter) are
    cancelled a little past their own limits and at a :func:`optdist.solvers.base.run_deadline`
    the caller sets, but HiGHS 1.16 hears no cancellation in a sub-MIP nor in presolve (a MIP's
    own, and its sub-MIPs' in the adapter's solves), so a call can run past ``time_limit`` for as
    long as one of those does (a per-device integer master in a sub-MIP's presolve: 7.7 min once,
    ``benchmarks/scale/README.md`` "hang44"). For a hard wall limit run ``optdist solve FILE
    --time-limit T --out result.json`` in a subprocess: at its deadline it writes the best
    placement and bound found so far and exits.

    SIGINT/SIGTERM stop the whole call (:func:`~optdist.solvers.base.stoppable`), also when it is
    called directly rather than through :func:`optdist.solve`: the solve running stops, none starts
    after it, and the incumbent and bound so far come back ``interrupted`` (``extra["interrupted"]``
    names the signal; a second signal aborts). Before, only the solve running stopped and the call
    went on to its time limit (a SIGTERM 10 s into a 120-s call: 110.8 s more).
    """
    t0 = time.perf_counter()
    if inst.objective.kind != "latency":
        raise ValueError(f"{inst.name}: column generation needs objective.kind = 'latency', not {json_text(inst.objective.kind)}")
    if time_limit is not None and math.isnan(time_limit):  # no deadline test would hold: it ran without a limit
        raise ValueError(f"{inst.name}: column generation's time_limit is NaN (fix: seconds, e.g. time_limit=60, or None "
                         "for no limit)")
    deadline = math.inf if time_limit is None else t0 + float(time_limit)
    if pricing_gap is None:  # each class's bound is within this of v_c(pi): a small share of the gap
        pricing_gap = min(max(mip_gap / 10, 1e-6), 1e-3)
    P = MasterProblem(inst)
    sizes = [len(m) for m in P.members]
    admission = inst.objective.admission
    penalty = inst.rejection_penalty() if admission else math.inf
    stall_solver = _stall_solver(solver, solver_options) if pricing_solver is None else None
    pricing_moved: list[dict] = []  # the classes whose pricing moved to stall_solver (extra["pricing_moved"])
    stays_noted: list[str] = []  # once: a class would have moved but that solver is not installed
    if pricing_solver is None:
        pricing_solver, pricing_solver_options = solver, solver_options
    models: dict[int, PricingModel] = {}  # request class -> its pricing model (built once)
    # bounds capped at a feasible point (guard.cap_bound): extra["bound_capped"]
    capped: list[dict] = [] if bound_log is None else bound_log
    for c, q in enumerate(P.kinds):
        if q not in models:
            models[q] = PricingModel(inst, P.members[c][0], solver=pricing_solver,
                                     solver_options=pricing_solver_options,
                                     deadline=None if time_limit is None else deadline, bound_log=capped)
    floors = class_floors(inst, [m[0] for m in P.members])  # None for a class whose network is a DAG
    built_s = time.perf_counter() - t0  # the master's classes and rows, the pricing models and floors
    finite = [m.stage_bound for m in models.values() if math.isfinite(m.stage_bound)]
    cost_unit = max(finite) if finite else 1.0
    master = Master(P.rows, sizes, cost_unit, threads=threads, seed=seed)
    if admission:
        for c in range(len(sizes)):
            master.add(Column(c, "reject", penalty, np.zeros(len(P.rows))))
    incumbent: Assignment | None = None
    inc_obj = math.inf

    def certified(*bounds: float) -> float:
        """The largest of ``bounds`` (seconds), never above the incumbent: a bound above a feasible
        objective is a solver's (or the caller's) false claim (:func:`guard.cap_bound`)."""
        return cap_bound(max(bounds), [inc_obj], solver=solver, what="column generation's bound", record=capped)

    best_lb = certified(float(lower_bound))
    cls_of = {r: c for c, m in enumerate(P.members) for r in m}
    latency_cap = sum(_latency_cap(inst, r) for r in range(inst.n_requests))
    # what any placement can cost: every request at its latency cap, and with a weight on shared
    # data at most every node's bandwidth capacity sent (MODEL.md section 8; (10d) holds)
    cost_cap = latency_cap + inst.objective.shared_weight * float(np.sum(capacity_matrix(inst)[:, 2]))

    def above_every_placement() -> bool:
        """True if the certified bound exceeds what any placement can cost (``cost_cap``, no
        rejection): then none exists."""
        return not admission and best_lb > cost_cap * (1 + 1e-9)

    found: list[dict] = []  # each new incumbent: when, its objective, what found it
    # seconds per step, each second in one step only (extra["seconds"]; "other" at the end: the rest)
    spent: dict[str, float] = defaultdict(float, {"pricing models": built_s})

    def consider(asg: Assignment | None, how: str) -> bool:
        """Keep ``asg`` if the evaluator finds it feasible and better; True if it was kept."""
        nonlocal incumbent, inc_obj
        if asg is None:
            return False
        ev = evaluate(inst, asg)
        if ev.feasible and ev.objective < inc_obj * (1 - 1e-12):
            incumbent, inc_obj = Assignment(asg.owners, {"method": "dantzig-wolfe", "found_by": how}), float(ev.objective)
            found.append({"elapsed_s": time.perf_counter() - t0, "objective": inc_obj, "found_by": how})
            offer(incumbent, inc_obj)  # for a caller stopping the run at its deadline
            return True
        return False

    def add_column(r: int, owners: list[np.ndarray]) -> None:
        c = cls_of[r]
        master.add(*P.column(c, _rename(owners, int(inst.request_source[r]), P.source[c])))

    rng = np.random.default_rng(seed or 0)

    def known(r: int) -> list[tuple[float, list[np.ndarray], np.ndarray]]:
        """r's class's columns under relabellings of identical devices: (cost, owners, usage)."""
        out = []
        for col in master.columns:
            if col.cls == cls_of[r] and col.kind == "placement":
                src, dst = P.source[col.cls], int(inst.request_source[r])
                for lab in P.relabellings(col, rng, limit=8):
                    lab = lab.copy()
                    lab[src] = dst  # the class's source is r's own (equal fields, one request each)
                    use = np.zeros_like(col.node_use)
                    np.add.at(use, lab, col.node_use)
                    out.append((col.cost, [lab[a] for a in col.owners], use))
        return out

    least = [-math.inf] * inst.n_requests  # proven bound per request alone: after round 0

    improvements: list[dict] = []  # each improvement: when, what it started from, seconds, found (extra["improvements"])

    def repair(owners: list, how: str, share: float) -> None:
        """:func:`repair.fill_and_improve` from ``owners`` for ``share`` of the time left; each one
        is in ``improvements`` (what it started from, when, seconds, whether it found a better one)."""
        if not repair_heuristic or admission:
            return
        left = deadline - time.perf_counter()
        budget = share * left if math.isfinite(left) else 60.0
        started = time.perf_counter()
        found_one = consider(fill_and_improve(inst, owners, deadline=time.perf_counter() + budget, solver=solver,
                                              threads=threads, seed=seed, solver_options=solver_options,
                                              per_solve=max(budget / 4, 0.5), on_column=add_column, candidates=known,
                                              least=least, least_tol=pricing_gap), how)
        secs = time.perf_counter() - started
        spent["improvement"] += secs
        improvements.append({"at": how, "elapsed_s": round(started - t0, 3), "seconds": secs, "found": found_one})

    # when solves stop starting (_solves_end): the larger stop lag of the run's and the pricing solvers
    lagging = [adapter_for(solver, solver_options)]

    def lag() -> float:
        """Seconds the slowest of the run's solvers takes to stop (read anew: HiGHS learns its own, and
        a class's pricing may move to :data:`STALL_PRICING_SOLVER`)."""
        return max(a.stop_lag for a in [*lagging, *(pm.adapter for pm in models.values())])

    polish_skipped: str | None = None  # why the polish did not run (extra["polish_skipped"])

    def polish(how: str) -> None:
        """The time left until no solve can start (:func:`_solves_end`) on the incumbent
        (:func:`repair.polish`: each request at its best in the capacity the others leave, then
        pairs of requests re-placed exactly, one after the other, then solved jointly); every
        placement found is a column, the result
        re-scored by the evaluator (``consider``). Only seconds that nothing else uses come
        here (the reserve branch-and-price leaves when it adds no column, or what the
        per-device integer master leaves of it). Not after a pricing stop (``stopped``) where the
        run's solver is the pricing solver that kept failing: every solve of the polish would
        fail too (``polish_skipped`` says so; with every CBC killed, lenet-8x4-rpi3's polish took
        23 s of a 41.8-s run in 210 killed solves, tidy22)."""
        nonlocal polish_skipped
        if incumbent is None or not repair_heuristic or admission or stop_requested():
            return
        own = lagging[0].name  # the solver of the polish's solves
        if stopped is not None and any(pm.adapter.name == own for pm in models.values()):
            polish_skipped = (f"{how}: the polish did not run: its solver {own} is the pricing solver that "
                              f"failed in {PRICING_FAILURES_MAX} pricing rounds in a row (see pricing_stopped)")
            return
        end = _solves_end(deadline, lag())
        if not math.isfinite(end) or end - time.perf_counter() < ROUND_MIN_S:
            return  # no limit: the rounds and the search end by themselves; too little left: nothing to gain
        started = time.perf_counter()
        consider(polish_placement(inst, incumbent, deadline=end, solver=solver, threads=threads, seed=seed,
                                  solver_options=solver_options, per_solve=POLISH_PER_SOLVE_S, on_column=add_column,
                                  candidates=known, least=least, least_tol=pricing_gap), f"{how}, polished")
        spent["polish"] += time.perf_counter() - started

    mean_log: list[dict] = []

    def mean_columns(how: str, pi_lp: np.ndarray, closed: set[int]) -> None:
        """LP-mean columns (:mod:`optdist.milp.decomposition.mean`) for :data:`MEAN_SHARE` of the
        time left before solves stop starting, shared by the classes whose LP mixes columns
        (largest first) and whose request class had no pricing solve close in any round so far
        (its kind is not in ``closed``: where pricing closes, the LP's columns are exact ones and
        the integer master and the search do the primal work; on ``lenet-10x10-tight-tau0.8`` the
        step took 14 s of 60 and found nothing, benchmarks/milp/README.md, branch tight11j);
        where a column was added, the per-device integer master over every column, its
        placement re-scored (``consider``) and improved (``repair``)."""
        if not mean_heuristic or admission or stop_requested():
            return
        end = _solves_end(deadline, lag())
        left = end - time.perf_counter()
        priced = np.flatnonzero(pi_lp > 0)
        if left < ROUND_MIN_S or not len(priced):
            return
        started, improving = time.perf_counter(), spent["improvement"]
        until = started + (MEAN_SHARE * left if math.isfinite(left) else 60.0)
        x = master.lp_values
        n_cols = len(master.columns)
        entry: dict = {"at": how, "elapsed_s": round(started - t0, 3), "solves": []}
        targets = []  # (class, its LP mix's mean usage per row)
        for c in sorted(range(len(sizes)), key=lambda c: -sizes[c]):
            mix = [(float(x[q]), col) for q, col in enumerate(master.columns[:len(x)])
                   if col.cls == c and col.kind == "placement" and x[q] > 1e-9]
            if mix and max(v for v, _ in mix) < sizes[c] - 1e-6 and P.kinds[c] not in closed:  # a mix to average
                targets.append((c, mean_usage(mix)))
        for i, (c, mean) in enumerate(targets):
            budget = (until - time.perf_counter()) / (len(targets) - i)
            if budget < MIN_SOLVER_S:
                break
            pm = models[P.kinds[c]]
            rep_src, src = int(inst.request_source[pm.r]), P.source[c]
            fits = [col for col in master.columns if col.cls == c and col.kind == "placement"
                    and (col.usage[priced] <= mean[priced] * (1 + 1e-9)).all()]
            warm = min(fits, key=lambda col: col.cost) if fits else None
            pr = within(pm, [([rep_src if j == src else j for j in P.rows[k].nodes], P.rows[k].resource, mean[k])
                             for k in priced], time_limit=budget, mip_gap=pricing_gap, threads=threads, seed=seed,
                        tee=tee, start=None if warm is None else _rename(warm.owners, src, rep_src),
                        start_value=None if warm is None else warm.cost)
            entry["solves"].append({"class": c, "seconds": round(pr.seconds, 3), "value": pr.value,
                                    "start_value": None if warm is None else warm.cost})
            if pr.owners is not None:
                master.add(*P.column(c, _rename(pr.owners, rep_src, src)))
        if len(master.columns) > n_cols:
            left = _solves_end(deadline, lag()) - time.perf_counter()
            if left >= ROUND_MIN_S:
                entry["found"] = consider(_on_devices(inst, P, master, min(max(left * 0.1, 0.5), 30.0, left),
                                                      max(mip_gap / 10, 1e-6), threads, seed),
                                          f"integer master on devices, LP-mean columns ({how})")
                if entry["found"]:
                    repair(incumbent.owners, f"LP-mean columns ({how}), improved", 0.05)
        mean_log.append(entry)
        spent["LP-mean columns"] += time.perf_counter() - started - (spent["improvement"] - improving)

    left = deadline - time.perf_counter()
    started = time.perf_counter()
    seed_deadline = started + (SEED_SHARE * left if math.isfinite(left) else 60.0)
    seeds = _seed_assignments(inst, start, seed_deadline)
    spent["seed placements"] += time.perf_counter() - started
    for asg in seeds:
        for r, own in enumerate(asg.owners):
            if own is not None:
                c = cls_of[r]
                col, key = P.column(c, _rename(own, int(inst.request_source[r]), P.source[c]))
                master.add(col, key)
        how = "start" if asg is start else str((asg.meta or {}).get("found_by", "greedy"))
        consider(asg, how)
        repair(asg.owners, f"{how}, improved", 0.05)

    rounds: list[dict] = []
    branch_log: dict | None = None
    handover: float | None = None  # seconds from the start to the hand-over to the integer master
    realised = -1  # master columns when the aggregated integer master's optimum was last spread over the devices
    termination = Termination.TIME_LIMIT
    infeasible = False
    pricing_failed: str | None = None  # why a pricing solve of this round failed (its solver's error)
    failures = PricingFailures()  # rounds in a row with a pricing solve that failed
    stopped: str | None = None  # why the rounds ended early (the pricing solver failing)
    # round 0: prices 0, each request class alone (its per-request optimum): L(0), first columns
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    best0: list[float | None] = [None] * len(sizes)
    alone = alone or {}

    def offer_round0() -> None:
        """Round 0's bound so far to the run's progress, as soon as it is known: ``L(0)`` with the
        classes not priced yet at their stage bounds (a lower bound on ``v_c(0)``: prices 0)."""
        nonlocal best_lb
        parts = [b if b is not None else min(models[P.kinds[c]].stage_bound, penalty) for c, b in enumerate(best0)]
        if all(math.isfinite(b) for b in parts):
            best_lb = certified(best_lb, lagrangian_bound(np.zeros(len(P.rows)), P.rhs, sizes, parts))
            offer(bound=best_lb)

    offer_round0()  # the stage bounds (and the caller's lower_bound) before any pricing solve
    for q, pm in models.items():
        left = deadline - time.perf_counter()
        cs = [c for c in range(len(sizes)) if P.kinds[c] == q]
        if left <= 0 or stop_requested():
            break
        given = next(((r, *alone[r]) for c in cs for r in P.members[c] if r in alone), None)
        if given is not None:  # the caller solved this class alone already: its bound, its column
            r0, b0, own0 = given
            for c in cs:
                best0[c] = min(b0, penalty)
                if own0 is not None:
                    master.add(*P.column(c, _rename(own0, int(inst.request_source[r0]), P.source[c])))
            offer_round0()
            continue
        budget = ROUND0_SHARE * left / max(len(models), 1) if math.isfinite(left) else 3600.0
        if pricing_time_limit is not None:
            budget = min(budget, float(pricing_time_limit))
        warm = _best_column(master, cs[0], np.zeros(len(P.rows)), np.zeros(len(sizes)))
        rep_src = int(inst.request_source[pm.r])
        pr = pm.solve(zero, time_limit=budget, mip_gap=pricing_gap, threads=threads, seed=seed, tee=tee,
                      start=None if warm is None else _rename(warm.owners, P.source[cs[0]], rep_src),
                      start_value=None if warm is None else warm.cost)
        spent["pricing"] += pr.seconds
        for c in cs:
            best0[c] = min(pr.bound, penalty)
            if pr.owners is not None:
                master.add(*P.column(c, _rename(pr.owners, rep_src, P.source[c])))
        offer_round0()
    # each request's proven bound alone (round 0): the improvement skips requests already there
    least = [-math.inf if best0[cls_of[r]] is None else best0[cls_of[r]] for r in range(inst.n_requests)]
    center_value = -math.inf
    if all(b is not None for b in best0):
        infeasible = any(b == math.inf for b in best0)
        if not infeasible:
            center_value = lagrangian_bound(np.zeros(len(P.rows)), P.rhs, sizes, best0)
            best_lb = certified(best_lb, center_value)
            offer(bound=best_lb)
    rounds.append({"round": 0, "elapsed_s": time.perf_counter() - t0,
                   "incumbent": inc_obj if math.isfinite(inc_obj) else None,
                   "bound": best_lb if math.isfinite(best_lb) else None,
                   "gap": gap(inc_obj if math.isfinite(inc_obj) else None, best_lb if math.isfinite(best_lb) else None),
                   "columns": master.n_placements, "lp": None, "added": master.n_placements, "pricing_s": None,
                   "pricing_closed": None})
    center = np.zeros(len(P.rows))  # stability centre: the prices of the best Lagrangian bound so far
    floor_log: list[dict] = []
    if not infeasible and all(f is not None for f in floors):  # cheap dual steps on the pricing floors
        left, started = deadline - time.perf_counter(), time.perf_counter()
        val, pi_f, floor_log = dual_ascent(
            floors, sizes, P.rhs, P.node_prices, P.usage,
            deadline=time.perf_counter() + (min(FLOOR_SHARE * left, FLOOR_MAX_S) if math.isfinite(left) else FLOOR_MAX_S),
            target=inc_obj if math.isfinite(inc_obj) else latency_cap, alone=best0, penalty=penalty,
            device_rows=[(row.resource, row.nodes[0] < inst.n_devices) for row in P.rows],
            coarse=class_floors(inst, [m[0] for m in P.members], typed=False))  # the search on the faster floors
        spent["floor ascent"] += time.perf_counter() - started
        best_lb = certified(best_lb, val)
        offer(bound=best_lb)
        if val > center_value:
            center, center_value = pi_f, val
        # round 0 keeps L(0) as its bound; the floors' best L is its "floor" (round 1 carries it on)
        rounds[-1].update(floor=val if math.isfinite(val) else None, floor_end_s=time.perf_counter() - t0)
    alpha = smoothing  # raised towards 1 while pricing at the smoothed prices does not close
    cap = pricing_time_limit
    if cap is None and time_limit is not None:  # no pricing solve takes the whole run
        cap = max(float(time_limit) / 10, 1.0)
    clock = Clock(time_limit, t0, progress_origin)
    cut_short: dict[bytes, float] = {}  # prices a pricing pass stopped short at -> its longest budget

    def price_at(pi: np.ndarray, pi_lp: np.ndarray, mu: np.ndarray, phase1: bool, share: float = 1.0):
        """Price every class at ``pi`` (step 3 of the module docstring); add the columns (step 5).

        Returns ``(best, added, proven, seconds, log)``: per master class a proven bound on
        ``v_c(pi)`` (None: not priced, time out), the number of new columns with negative
        reduced cost at the LP duals ``pi_lp``, ``mu``, whether every solve closed, the pricing
        seconds, and one entry per solve (``class``, ``seconds``, ``closed``, ``value``,
        ``bound``, ``start_value``). At prices where a pass stopped short before (the LP did not
        move), each solve gets twice that pass's budget: the same solve again would prove no more.
        """
        nonlocal pricing_failed
        prices = P.node_prices(pi)
        # pricing groups: master classes of one request class whose sources carry equal prices
        groups: dict[tuple, list[int]] = defaultdict(list)
        for c in range(len(sizes)):
            s = P.source[c]
            groups[(P.kinds[c], tuple(np.where(P.row_of[s] >= 0, pi[P.row_of[s]], 0.0)))].append(c)
        best: list[float | None] = [None] * len(sizes)
        added, proven, secs, log = 0, True, 0.0, []
        key = np.round(pi, 12).tobytes()
        glist = list(groups.values())
        longest = 0.0
        for gi, cs in enumerate(glist):
            left = deadline - time.perf_counter()
            if left <= 0 or stop_requested():  # the time limit holds in round 1 too
                proven = False
                break
            budget = max(left / (len(glist) - gi), min(0.5, left)) if math.isfinite(left) else 3600.0
            if cap is not None and (not phase1 or pricing_time_limit is not None):  # phase 1: no default cap
                budget = min(budget, max(share * float(cap), 2 * cut_short.get(key, 0.0)))
            pm = models[P.kinds[cs[0]]]
            rep_src, src = int(inst.request_source[pm.r]), P.source[cs[0]]
            pr_nodes = {k: v.copy() for k, v in prices.items()}
            for k in pr_nodes:  # the group's source prices on the model's own source (equal fields)
                pr_nodes[k][rep_src] = prices[k][src]
            warm = _best_column(master, cs[0], pi, mu)
            priced_use = 0.0 if warm is None else float(pi @ warm.usage)
            # latency cutoffs pay where the prices add little to the latency (the optimum's latency
            # is then near its stage bound); at high prices they only delay the whole model
            pr = pm.solve(pr_nodes, time_limit=budget, mip_gap=pricing_gap, threads=threads, seed=seed, tee=tee,
                          start=None if warm is None else _rename(warm.owners, src, rep_src),
                          start_value=None if warm is None else warm.cost + priced_use,
                          steps=CUTOFF_STEPS if warm is None or priced_use <= CUTOFF_PRICE_SHARE * warm.cost
                          else (math.inf,))
            secs += pr.seconds
            proven &= pr.proven
            if pr.failed is not None:
                pricing_failed = pr.failed
            if not pr.proven:
                longest = max(longest, budget)
            log.append({"class": cs[0], "seconds": round(pr.seconds, 3), "closed": pr.proven, "value": pr.value,
                        "bound": pr.bound if math.isfinite(pr.bound) else None,  # JSON: none proven / no placement
                        "start_value": None if warm is None else warm.cost + priced_use, "solver": pm.solver})
            if (stall_solver is not None and pm.highs and not pr.proven and pr.failed is None
                    and (cap is None or budget >= float(cap))
                    and (pr.value is None or pr.value - pr.bound > STALL_GAP * abs(pr.value))):
                why = _stall_words(budget, pr.value, pr.bound)
                if _installed(stall_solver):
                    pm.use_solver(stall_solver)  # HiGHS stalled at the full cap: this class prices with SCIP on
                    pricing_moved.append({"class": cs[0], "request": inst.request_ids[pm.r], "to": stall_solver,
                                          "round": len(rounds), "why": why})  # rounds[0] is round 0
                    _log.info("class %s's pricing moves to %s: %s", inst.request_ids[pm.r], stall_solver, why)
                elif not stays_noted:
                    stays_noted.append(
                        f"class {inst.request_ids[pm.r]}'s pricing stays on HiGHS: {why}; {stall_solver.upper()}, which prices "
                        f"such classes better, is not installed (fix: `pip install pyscipopt` would move it)")
                    _log.info("%s", stays_noted[0])
            for c in cs:  # the pricing floor under the solve's proven bound (max of two bounds), capped
                # at the priced values of the columns known (the warm column, the solve's own)
                best[c] = min(cap_bound(max(pr.bound, class_bound(floors[c], prices, best0[c])[0]),
                                        [pr.value, None if warm is None else warm.cost + priced_use],
                                        solver=pricing_solver, what=f"pricing of class {c}", record=capped), penalty)
                if pr.owners is None:
                    continue
                col, ckey = P.column(c, _rename(pr.owners, rep_src, P.source[c]))
                # it counts when it prices out at the LP duals (not only at the smoothed point); the
                # others are kept too: the integer master may use them
                if master.add(col, ckey) and master.reduced_cost(col, pi_lp, mu) < -RC_TOL * cost_unit:
                    added += 1
        if longest > 0:
            cut_short[key] = max(cut_short.get(key, 0.0), longest)
        return best, added, proven, secs, log

    def bound_at(pi: np.ndarray, best: list[float | None]) -> float | None:
        """The Lagrangian bound at ``pi`` from the proven pricing bounds ``best`` (step 4; None
        when a class was not priced); it raises the certified bound and may become the centre.
        A class with no placement even alone (and no rejection) proves that none exists."""
        nonlocal infeasible, best_lb, center, center_value
        infeasible = infeasible or any(b is not None and b == math.inf for b in best)
        if infeasible or not all(b is not None for b in best):
            return None
        lval = lagrangian_bound(pi, P.rhs, sizes, best)  # valid at any pi >= 0, smoothed or not
        best_lb = certified(best_lb, lval)
        offer(bound=best_lb)
        if lval > center_value:
            center, center_value = pi.copy(), lval
        return lval

    pricing_closed: set[int] = set()  # request classes with a pricing solve closed in a round (no LP-mean columns)
    for rnd in range(1, max_rounds + 1):
        if infeasible or time.perf_counter() >= deadline:
            termination = Termination.INFEASIBLE if infeasible else Termination.TIME_LIMIT
            break
        if stop_requested():  # SIGINT/SIGTERM: the incumbent and the bound so far
            termination = Termination.INTERRUPTED
            break
        if _solves_end(deadline, lag()) - time.perf_counter() < ROUND_MIN_S:
            termination = Termination.TIME_LIMIT  # no round could price anything now: no empty rounds
            break
        started = time.perf_counter()
        z, pi_lp, mu = master.solve_lp()
        lp_s = time.perf_counter() - started
        spent["LP master"] += lp_s
        # Wentges smoothing: price at a point between the centre and the LP duals; while the LP
        # still needs its artificial columns (phase 1) the duals price only fit, not the optimum
        phase1 = master.artificial_in_use()
        # the LP did not move since a pass at its own duals was cut short: those duals again, at
        # once and with twice that budget (tau0.8: the LP optimal from round 1, the smoothed passes
        # of rounds 2-3 cut short with no column, 11 of its 32 s; benchmarks/milp/README.md, tight11k)
        again = not phase1 and np.round(pi_lp, 12).tobytes() in cut_short
        a = 0.0 if phase1 or again else alpha
        pi = a * center + (1 - a) * pi_lp
        n_before = len(master.columns)
        pricing_failed = None
        best, added, all_proven, pricing_s, pricing_log = price_at(pi, pi_lp, mu, phase1)
        lval = bound_at(pi, best)
        mispriced = not added and a > 0  # nothing for the LP at the smoothed point
        closed_at_lp = all_proven and a == 0  # pricing closed at the LP duals themselves
        smoothed_closed = all_proven
        if mispriced and not infeasible and time.perf_counter() < deadline:
            # closed or not, price at the LP duals as well: the columns that move the LP (the
            # smoothed point may have none for many rounds while its pricing is cut short) and
            # one more valid bound
            best_lp, added, closed_at_lp, secs, log_lp = price_at(pi_lp, pi_lp, mu, phase1, LP_PRICING_SHARE)
            lval_lp = bound_at(pi_lp, best_lp)
            lval = lval_lp if lval is None else max(lval, lval_lp if lval_lp is not None else -math.inf)
            pricing_s += secs
            pricing_log += log_lp
            all_proven = all_proven and closed_at_lp
        spent["pricing"] += pricing_s
        if again:
            pass  # no smoothed pass this round: alpha and the cap stay
        elif not smoothed_closed and smoothing > 0:  # pricing stopped short: price nearer the centre (easier)
            alpha = 1 - (1 - max(a, alpha)) / 2
            if alpha > 0.99 and cap is not None:  # already next to the centre: give pricing longer
                cap = 2 * cap
        elif mispriced:
            alpha = alpha / 2 if alpha > 0.1 else 0.0  # step towards the LP duals (finitely many times)
        pricing_closed |= {P.kinds[e["class"]] for e in pricing_log if e["closed"]}
        # price-and-branch: the integer master over the columns so far
        left = deadline - time.perf_counter()
        if not infeasible and (len(master.columns) > n_before or rnd == 1):
            started = time.perf_counter()
            x = master.solve_integer(time_limit=min(max(left * 0.1, 0.5), 30.0, max(left, 0.05))
                                     if math.isfinite(left) else 30.0,
                                     mip_gap=max(mip_gap / 10, 1e-6))
            spent["integer master"] += time.perf_counter() - started
            # the aggregated rows relax the per-device ones: a solution no better than the
            # incumbent is not spread, and a proven optimum no better leaves the per-device
            # integer master nothing to find over these columns
            worse = x is not None and sum(int(n) * c.cost for n, c in zip(x, master.columns) if n > 0) >= inc_obj
            started = time.perf_counter()
            spread = None if x is None or worse else _spread(inst, P, master, x, deadline, threads)
            spent["spreading"] += time.perf_counter() - started
            if (spread is not None or worse) and master.integer_proven:  # the per-device master can do no better
                realised = len(master.columns)
            better = consider(spread, "integer master")
            # the per-device integer master is built in Python before its solve starts: not in the
            # last ROUND_MIN_S before solves stop starting (it ran 60-s runs past their deadline)
            left = _solves_end(deadline, lag()) - time.perf_counter()
            if ((spread is None or spread.meta.get("spread") == "exact") and x is not None and not worse
                    and left >= ROUND_MIN_S):
                # the least-loaded rule does not split it over the devices: the per-device integer
                # master too (it may pick other columns), the better of the two is kept
                started = time.perf_counter()
                better |= consider(_on_devices(inst, P, master, min(max(left * 0.1, 0.5), 30.0, left)
                                               if math.isfinite(left) else 30.0, max(mip_gap / 10, 1e-6), threads,
                                               seed), "integer master")
                spent["integer master on devices"] += time.perf_counter() - started
            if better:
                repair(incumbent.owners, "integer master, improved", 0.05)
            if not phase1:
                mean_columns(f"round {rnd}", pi_lp, pricing_closed)
        rounds.append({"round": rnd, "elapsed_s": time.perf_counter() - t0,
                       "incumbent": inc_obj if math.isfinite(inc_obj) else None,
                       "bound": best_lb if math.isfinite(best_lb) else None,
                       "gap": gap(inc_obj if math.isfinite(inc_obj) else None, best_lb if math.isfinite(best_lb) else None),
                       "columns": master.n_placements, "lp": z, "lp_s": lp_s, "added": added,
                       "pricing_s": pricing_s, "pricing_closed": all_proven, "smoothing": a,
                       "lagrangian": lval, "pricing": pricing_log})
        g = rounds[-1]["gap"]
        clock.report(f"column generation round {rnd}", rounds[-1]["incumbent"], rounds[-1]["bound"])
        if above_every_placement():
            infeasible = True  # every placement would cost more than any placement can: none exists
        if infeasible:
            termination = Termination.INFEASIBLE
            break
        if g is not None and g <= mip_gap:
            termination = Termination.OPTIMAL
            break
        if stop_requested():  # SIGINT/SIGTERM during the round: no integer phase, the incumbent and bound so far
            termination = Termination.INTERRUPTED
            break
        if failures.count(pricing_failed):  # the pricing solver fails round after round: no more rounds
            stopped = pricing_stopped(f"column generation stopped after round {rnd}", failures.rounds, failures.error)
            termination = Termination.FEASIBLE if incumbent is not None else Termination.NO_SOLUTION
            break
        if not added and closed_at_lp:
            # the LP master is optimal: what is left of the gap is the integer master's; give the
            # per-device integer master over every column a quarter of the time left (HANDOVER_SHARE
            # where branch-and-price follows), unless the
            # aggregated integer master's proven optimum over these columns fits the devices
            # already (the aggregated rows relax the per-device ones: it can do no better)
            left = deadline - time.perf_counter()
            search_end = deadline  # when the time, not the search, ends the integer phase
            if incumbent is None or (g is not None and g > mip_gap):
                handover = time.perf_counter() - t0
                started = time.perf_counter()
                if realised != len(master.columns):
                    share = HANDOVER_SHARE if branching and not admission else 0.25
                    consider(_on_devices(inst, P, master, min(left * share, 120.0) if math.isfinite(left) else 120.0,
                                         max(mip_gap / 10, 1e-6), threads, seed), "integer master on devices")
                spent["integer master on devices"] += time.perf_counter() - started
                # the improvement only where no search follows: before one (a tenth of the time
                # left, tight11) it found no incumbent in any run of the tight and coupled LeNet
                # sets, and took 2-3 s of the search's on tau0.8 (benchmarks/milp/README.md,
                # branch tight11j); the polish after the search improves the incumbent
                if incumbent is not None and not (branching and not admission):
                    repair(incumbent.owners, "improved", 1.0)
                g = gap(inc_obj if math.isfinite(inc_obj) else None, best_lb)
                left = deadline - time.perf_counter()
                if branching and not admission and (g is None or g > mip_gap) and left > 0 and not stop_requested():
                    # the search keeps a share of the time for the integer master over its columns
                    reserve = min(0.15 * left, 10.0) if math.isfinite(left) else 10.0
                    search_end = deadline - reserve
                    n_cols = len(master.columns)
                    started = time.perf_counter()
                    # aggregated rows all slack (no price): the gap is how requests split over identical devices
                    out = _branch_and_price(inst, P, models, master, consider, lambda: inc_obj,
                                            best_lb, deadline - reserve, mip_gap, pricing_gap, threads, seed, tee,
                                            per_device=not np.any(pi_lp > 0))
                    best_lb = certified(best_lb, out.bound)
                    offer(bound=best_lb)
                    branch_log = {"nodes": out.nodes, "open": out.open, "bound": out.bound, "ended": out.ended,
                                  "log": out.log}
                    stopped = out.pricing_stopped
                    spent["branch-and-price"] += time.perf_counter() - started
                    # not once the gap is within mip_gap (tau0.6: proven at ~40 s, then 16 s of it
                    # with a gap of 1.7e-7; benchmarks/milp/README.md, branch tight11j)
                    if len(master.columns) > n_cols and (gap(inc_obj if math.isfinite(inc_obj) else None,
                                                             best_lb) or 0.0) > mip_gap:
                        # to the run's end, no floor: a 0.5-s floor ran 0.3 s past --time-limit 8 on
                        # lenet-8x4-rpi3 in 6 of 6 runs (review22c)
                        left = _solves_end(deadline, lag()) - time.perf_counter()
                        if left > 0:
                            consider(_on_devices(inst, P, master, left if math.isfinite(left) else 60.0,
                                                 max(mip_gap / 10, 1e-6), threads, seed),
                                     "integer master on devices, after branching")
                    if (gap(inc_obj if math.isfinite(inc_obj) else None, best_lb) or 0.0) > mip_gap:
                        n_cols = len(master.columns)
                        polish("after branching")  # the reserve the search left and nothing used
                        left = _solves_end(deadline, lag()) - time.perf_counter()
                        if len(master.columns) > n_cols and left >= ROUND_MIN_S and (
                                gap(inc_obj if math.isfinite(inc_obj) else None, best_lb) or 0.0) > mip_gap:
                            # the polish ended at a local optimum with time left: its columns may
                            # combine with the others
                            consider(_on_devices(inst, P, master, left, max(mip_gap / 10, 1e-6), threads, seed),
                                     "integer master on devices, after the polish")
                rounds[-1].update(incumbent=inc_obj if math.isfinite(inc_obj) else None, bound=best_lb,
                                  gap=gap(inc_obj if math.isfinite(inc_obj) else None, best_lb),
                                  elapsed_s=time.perf_counter() - t0)
                if rounds[-1]["gap"] is not None and rounds[-1]["gap"] <= mip_gap:
                    termination = Termination.OPTIMAL
                    break
            termination = Termination.FEASIBLE if incumbent is not None else Termination.NO_SOLUTION
            if incumbent is not None and (time.perf_counter() >= search_end
                                          or (branch_log or {}).get("ended") == "deadline"):
                termination = Termination.TIME_LIMIT  # the clock, not the search, left the gap open
            break
        if time.perf_counter() >= deadline:
            termination = Termination.TIME_LIMIT
            break
    else:
        termination = Termination.ITERATION_LIMIT
    if incumbent is None and not infeasible and above_every_placement():  # branch-and-price's bound
        infeasible, termination = True, Termination.INFEASIBLE  # (a node stuck in phase 1) proves none
    if not infeasible:  # never a bound above the incumbent (one found after the bound was raised)
        best_lb = certified(best_lb)
    wall = time.perf_counter() - t0
    spent["other"] = max(wall - sum(spent.values()), 0.0)  # the evaluator, columns, bookkeeping
    res = SolveResult(
        instance=inst.name, method="milp", termination=termination,
        objective=inc_obj if incumbent is not None else None,
        bound=math.inf if infeasible else None if not math.isfinite(best_lb) else best_lb,  # a proof: +inf
        wall_time=wall, solver=solver, formulation="dantzig-wolfe",
        assignment=incumbent, nodes=branch_log["nodes"] if branch_log else None,  # branch-and-price's nodes
        options={"time_limit": time_limit, "mip_gap": mip_gap, "threads": threads, "seed": seed,
                 "pricing_solver": pricing_solver},
        extra={"rounds": rounds, "classes": len(sizes), "pricing_groups_max": len(set(P.kinds)),
               "rows": len(P.rows), "columns": master.n_placements, "branching": branch_log,
               "incumbents": found, "improvements": improvements, "seconds": dict(spent), "handover_s": handover,
               "floor_ascent": floor_log, "mean_columns": mean_log, **({"bound_capped": capped} if capped else {}),
               **({"pricing_stopped": stopped} if stopped else {}),
               **({"polish_skipped": polish_skipped} if polish_skipped else {}),
               **({"pricing_moved": pricing_moved} if pricing_moved else {}),
               **({"pricing_stays": stays_noted[0]} if stays_noted else {})},
    )
    return res


def _branch_and_price(inst: Instance, P: MasterProblem, models: dict, master: Master, consider, inc_value,
                      bound: float, deadline: float, mip_gap: float, pricing_gap: float,
                      threads: int | None, seed: int | None, tee: bool, per_device: bool = False):
    """:func:`optdist.milp.decomposition.branch.branch_and_price` over ``master``'s columns: each
    part priced by its class's pricing model with the part's limits, each integral node's
    solution spread over the devices and offered to ``consider``. New columns join ``master``
    (for the integer master afterwards). Returns the search's :class:`~branch.Outcome`.

    ``per_device``: the search's master has one row per device (``MasterProblem(per_device=True)``)
    and every column under its relabellings within groups of identical devices, so branching
    can tell identical devices apart (where the aggregated rows are slack, the gap is how the
    requests split over the devices); its pricing problems then drop their symmetry rows among
    identical devices (the prices may differ between them) for the search.
    """
    from optdist.milp.decomposition.branch import Part, branch_and_price
    from optdist.milp.decomposition.classes import combine

    V = MasterProblem(inst, per_device=True) if per_device else P
    pool = [c for c in master.columns if c.kind == "placement"]
    keys = set(master.keys)
    if per_device:
        rng = np.random.default_rng(seed or 0)
        pool, keys = [], set()
        for col in master.columns:
            if col.kind != "placement":
                continue
            for lab in P.relabellings(col, rng):
                use = np.zeros_like(col.node_use)
                np.add.at(use, lab, col.node_use)
                own = [lab[a] for a in col.owners]
                key = (col.cls, tuple(a.tobytes() for a in own))
                if key not in keys:
                    keys.add(key)
                    pool.append(Column(col.cls, "placement", col.cost, V.usage(use), own, use))
        for pm in models.values():
            if pm.b.model.component("symmetry") is not None:
                pm.b.model.symmetry.c.deactivate()
    synced = [len(pool)]  # the pool's columns from here on are the search's: master gets them (sync)

    def sync() -> None:
        for col in pool[synced[0]:]:
            master.add(Column(col.cls, "placement", col.cost, P.usage(col.node_use), col.owners, col.node_use))
        synced[0] = len(pool)

    def price(part: Part, pi: np.ndarray, counts: list, left: float) -> tuple[float, list, str | None]:
        c = part.cls
        pm = models[P.kinds[c]]
        rep_src, src = int(inst.request_source[pm.r]), P.source[c]
        prices = V.node_prices(pi)
        for k in prices:  # the part's source prices on the model's own source (equal fields)
            prices[k][rep_src] = V.node_prices(pi)[k][src]
        limits = [(tuple(rep_src if i == src else i for i in V.rows[lim.row].nodes), RESOURCES[V.rows[lim.row].resource],
                   lim.upper, lim.value) for lim in part.limits]
        # a >= limit on bandwidth: first without the exact halves of the bytes (a relaxation, far
        # easier: tau0.8's first child closes in 8-12 s, not 29 s 0.8 % short), with them only
        # where its placement misses the limit in truth; under <= limits only, with them at once
        # (exact, a tighter LP: its sibling 4 s, not 25 s; PricingModel.set_limits)
        lower_bytes = any(res == "bandwidth" and not upper for _n, res, upper, _v in limits)
        if not pm.set_limits(limits, exact_bytes=not lower_bytes):
            pm.set_limits([])
            return math.inf, [], None
        pm.set_count_prices([(tuple(rep_src if i == src else i for i in row.nodes), RESOURCES[row.resource],
                              row.threshold, sg) for row, sg in counts if isinstance(row, CountRow)])
        pm.set_pack_prices([(tuple(rep_src if i == src else i for i in row.nodes), RESOURCES[row.resource],
                             row.cap, row.thresholds, row.steps, sg) for row, sg in counts if isinstance(row, PackRow)])
        pm.set_round_prices([(tuple(rep_src if i == src else i for i in row.nodes), RESOURCES[row.resource],
                              row.step, row.offset, sg) for row, sg in counts if isinstance(row, RoundRow)])

        def priced(col: Column) -> float:  # its usage and the weights of its loads on the count rows
            return float(pi @ col.usage) + sum(sg * row.count(col.node_use) for row, sg in counts)

        admitted = [col for col in pool if part.admits(col)]
        warm = min(admitted, key=lambda col: col.cost + priced(col)) if admitted else None
        priced_use = 0.0 if warm is None else priced(warm)
        end = time.perf_counter() + left
        until = end  # the solve's end: for the re-solve with the exact halves, sooner (below)
        bound, found, failed = -math.inf, [], None
        try:
            while True:
                # latency cutoffs where the prices add little (as in the rounds)
                pr = pm.solve(prices, time_limit=until - time.perf_counter(), mip_gap=pricing_gap, threads=threads,
                              seed=seed, tee=tee, start=None if warm is None else _rename(warm.owners, src, rep_src),
                              start_value=None if warm is None else warm.cost + priced_use,
                              steps=CUTOFF_STEPS if warm is None or priced_use <= CUTOFF_PRICE_SHARE * warm.cost
                              else (math.inf,))
                bound = max(bound, pr.bound)  # each model's bound is valid for the part's placements
                failed = pr.failed or failed
                if pr.owners is None:
                    break
                col, key = P.column(c, _rename(pr.owners, rep_src, src))
                col = Column(c, "placement", col.cost, V.usage(col.node_use), col.owners, col.node_use)
                found.append((col, key))
                if not lower_bytes or part.admits(col) or time.perf_counter() >= end:
                    break
                lower_bytes = False  # its bytes met the limit in the model only: again with the exact halves
                # for as long as the relaxation took where the part has a column already (none:
                # to the end, else a node could stay in phase 1): the part's bound stays the
                # relaxation's proven one (the larger of the two), the re-solve is for a column
                # that meets the limit in truth (tau0.8's first child: 5.7 s relaxed, then 20 s to
                # the search's end 1.6e-5 short; benchmarks/milp/README.md, branch tight11k)
                if warm is not None:
                    until = min(end, time.perf_counter() + max(pr.seconds, 2.0))
                pm.set_limits(limits, exact_bytes=True)
        finally:
            pm.set_limits([])
            pm.set_count_prices([])
            pm.set_pack_prices([])
            pm.set_round_prices([])
        return bound, found, failed

    def integral(per_part: list) -> float | None:
        todo = {c: list(m) for c, m in enumerate(P.members)}
        plan = []
        for part, cols in per_part:
            for col, n in cols:
                if len(todo[part.cls]) < n:
                    return None
                reqs = [todo[part.cls].pop() for _ in range(n)]
                plan.append((reqs, _rename(col.owners, P.source[part.cls], int(inst.request_source[reqs[0]]))))
        if any(todo.values()):
            return None
        asg = _fit(inst, combine(inst, plan, spread=not per_device), deadline, threads)
        if asg is None:  # the aggregated rows allow it, the devices do not: the integer master on
            # per-node rows over every column so far, the search's too, may place near it (an
            # incumbent known early closes nodes early; at the end it came at 48 s on lenet-9x5)
            sync()
            left = _solves_end(deadline, 0.0) - time.perf_counter()
            if left > 0:  # never past the run's end (a 0.5-s floor was, review22c)
                consider(_on_devices(inst, P, master, min(max(left / 10, 0.5), 5.0, left), max(mip_gap / 10, 1e-6),
                                     threads, seed), "integer master on devices, in the search")
            return None
        consider(asg, "branch-and-price")
        return float(evaluate(inst, asg).objective)

    try:
        out = branch_and_price(V.rows, pool, keys, P.sizes, master.cost_unit, price=price, integral=integral,
                               incumbent=inc_value, root_bound=bound, deadline=deadline, mip_gap=mip_gap,
                               threads=threads, seed=seed, root_converged=not per_device, count_cuts=True)
    finally:
        if per_device:
            for pm in models.values():
                if pm.b.model.component("symmetry") is not None:
                    pm.b.model.symmetry.c.activate()
    sync()
    return out


def _stall_solver(solver: str, solver_options: dict | None) -> str | None:
    """:data:`STALL_PRICING_SOLVER` where the run's ``solver`` (with ``solver_options``) is HiGHS, else
    None (the pricing stays with the run's solver). Whether it is installed is asked only when a
    class would move (:func:`_installed`): the check imports it, which a run that never moves a
    class should not pay for."""
    from optdist.solvers.highs import Highs

    return STALL_PRICING_SOLVER if isinstance(adapter_for(solver, solver_options), Highs) else None


def _stall_words(cap: float, value: float | None, bound: float) -> str:
    """Why a class's HiGHS pricing stalled, for the log and ``extra["pricing_moved"]``: "its HiGHS
    solve stopped at the 5.5-s cap 2.0 % short" (of proving its column; "with no column" where it found none)."""
    short = "with no column" if value is None else \
        f"{100 * (value - bound) / abs(value):.1f} % short" if value and math.isfinite(bound) else "with no bound"
    return f"its HiGHS solve stopped at the {cap:.3g}-s cap {short}"


def _installed(solver: str) -> bool:
    """Whether the adapter ``solver`` can run here (:meth:`optdist.solvers.base.Solver.is_available`)."""
    from optdist.solvers import get_solver

    return get_solver(solver).is_available()


def _solves_end(deadline: float, stop_lag: float) -> float:
    """The ``time.perf_counter()`` value after which no solve of this run starts: ``deadline``,
    or earlier the run's own deadline (:func:`optdist.solvers.base.run_deadline`, e.g. the CLI's
    ``--time-limit``) less the solver's ``stop_lag`` (seconds) and the shortest solve it starts
    (:meth:`optdist.solvers.base.Solver.solve` refuses a solve inside that window)."""
    left = deadline_left()
    if left is None:
        return deadline
    return min(deadline, time.perf_counter() + left - stop_lag - MIN_SOLVER_S)


def _latency_cap(inst: Instance, r: int) -> float:
    """An upper bound (seconds) on request r's latency in any placement: every stage is at most
    its layer's multiplications on the slowest device plus an input layer's whole output over the
    slowest radio (MODEL.md section 5: a receiver gets at most one output's worth from each
    sender, in parallel; section 9: the longest of its input edges), as in
    :meth:`Instance.rejection_penalty`. A layer feeding several layers is counted once per edge
    (at least once: a chain counts every layer once)."""
    rho = float(inst.rate.min())
    prof = inst.profile(r)
    fan_out = np.bincount([ed.u for ed in all_edges(prof)], minlength=prof.n_layers)
    slowest = inst.segment_seconds(r).max(axis=1)  # c_k / min e, or a slower measured time (section 9)
    return (sum(la.segments * s for la, s in zip(prof.layers, slowest))
            + sum(max(int(f), 1) * la.out_bytes / rho for la, f in zip(prof.layers, fan_out)))


def _best_column(master: Master, c: int, pi: np.ndarray, mu: np.ndarray) -> Column | None:
    """Class c's column of least reduced cost at the current prices (the pricing's MIP start)."""
    cols = [col for col in master.columns if col.cls == c and col.kind == "placement"]
    if not cols:
        return None
    return min(cols, key=lambda col: master.reduced_cost(col, pi, mu))


def _on_devices(inst: Instance, P: MasterProblem, master: Master, time_limit: float, mip_gap: float,
               threads: int | None, seed: int | None) -> Assignment | None:
    """The integer master on per-node rows over relabelled copies of the columns
    (:func:`optdist.milp.decomposition.master.integer_on_devices`), as a placement."""
    from optdist.milp.decomposition.master import integer_on_devices

    rng = np.random.default_rng(seed or 0)
    perms = [P.relabellings(c, rng) if c.kind == "placement" else [] for c in master.columns]
    if sum(len(p) for p in perms) > 50_000:
        return None
    caps = capacity_matrix(inst)
    own_row = [s for s in range(inst.n_nodes) if s >= inst.n_devices and (P.row_of[s] < 0).all()]
    caps[own_row] = np.inf  # a source without rows serves one request: its pricing problem's own capacity
    sol = integer_on_devices(master.columns, P.sizes, caps, perms, time_limit=time_limit, mip_gap=mip_gap,
                             threads=threads)
    if sol is None:
        return None
    owners: list = [None] * inst.n_requests
    todo = {c: list(m) for c, m in enumerate(P.members)}
    for q, lab in sol:
        col = master.columns[q]
        r = todo[col.cls].pop()
        if col.kind == "placement":
            owners[r] = _rename([lab[a] for a in col.owners], P.source[col.cls], int(inst.request_source[r]))
    return Assignment(owners)


def _spread(inst: Instance, P: MasterProblem, master: Master, x: np.ndarray, deadline: float,
            threads: int | None) -> Assignment | None:
    """The aggregated integer master's counts as a placement: each request of a class takes one
    of its class's chosen columns (or is rejected), and each request's devices are permuted
    within their identical groups least-loaded first (:func:`classes.combine`), or where that
    exceeds a capacity, by :func:`classes.spread_exact` (:func:`_fit`). None if neither fits
    (the caller also tries :func:`_on_devices` where the least-loaded rule fails: it may choose
    other columns)."""
    from optdist.milp.decomposition.classes import combine

    todo = {c: list(m) for c, m in enumerate(P.members)}
    plan: list[tuple[list[int], list[np.ndarray]]] = []
    for q, col in enumerate(master.columns):
        n = int(x[q])
        if n <= 0:
            continue
        if col.kind == "artificial" or len(todo[col.cls]) < n:
            return None
        reqs = [todo[col.cls].pop() for _ in range(n)]
        if col.kind == "placement":  # combine renames reqs[0]'s source to each request's own
            plan.append((reqs, _rename(col.owners, P.source[col.cls], int(inst.request_source[reqs[0]]))))
    if any(todo.values()):
        return None
    return _fit(inst, combine(inst, plan, spread=True), deadline, threads)


def _fit(inst: Instance, asg: Assignment, deadline: float, threads: int | None) -> Assignment | None:
    """``asg`` if the evaluator finds it feasible, else its requests relabelled within the
    groups of identical devices by :func:`classes.spread_exact` (a twentieth of the time left to
    ``deadline``, 0.5-3 s but never past it; none once it has passed) if that fits, else None."""
    from optdist.milp.decomposition.classes import spread_exact

    if evaluate(inst, asg).feasible:
        return asg
    left = deadline - time.perf_counter()
    if left <= 0.05:  # out of time: no relabelling MIP
        return None
    fit = spread_exact(inst, asg.owners, time_limit=min(max(left / 20, 0.5), 3.0, left) if math.isfinite(left) else 3.0,
                       threads=threads)
    return fit if fit is not None and evaluate(inst, fit).feasible else None
