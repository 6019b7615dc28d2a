"""The Dantzig-Wolfe master: how many requests of each class take each column.

Maths (MODEL.md section 6; the extensive formulation of the placement problem by request).
Requests interact only through the node capacities (10b-10d). Let ``C`` be the classes of
identical requests: same CNN and the same source node, or sources equal in every field that
serve one request each (such requests have the same placements up to renaming the source,
the same latency and the same usage of every shared node). For a class c with ``n_c`` requests
and the set ``P_c`` of placements of one of its requests alone (a column ``p``: cost
``c_p = latency_p + lambda shared_p`` and usage ``a_p[i, res]``), the problem is

    min  sum_c sum_{p in P_c} c_p x_p
    s.t. sum_{p in P_c} x_p = n_c                                   (convexity, dual mu_c)
         sum_c sum_p a_p[i, res] x_p <= cap[i, res]   every node i  (capacity, dual <= 0)
         x_p in Z_+

Rows aggregated over identical devices. Devices equal in every field form groups ``G``; the
master keeps one row per group and resource, ``sum_{i in g} a_p[i, res]``, with right-hand
side ``|g| cap[g, res]``. This loses nothing in the LP: every ``P_c`` is closed under
permuting identical devices, so averaging any solution of the aggregated LP over the
permutations of each group gives per-device usage ``total / |g| <= cap`` -- the aggregated LP
and the per-device LP have the same value, and so the same (Lagrangian) bound. Its duals are
equal for the devices of a group, so one pricing problem per class (with its symmetry breaking
among identical devices intact) prices every permutation at once. The integer master works
on the aggregated rows as well; its placements are then spread over the individual devices
(least-loaded first) and re-scored by the evaluator, and where that fails
:func:`integer_on_devices` solves it on per-node rows over relabelled copies of the columns, so
an integer solution that does not fit the devices is never reported (price-and-branch: the incumbent is a
heuristic, the bound is exact). Sources are single nodes (each serves only its own
requests): one row per source and resource where a source serves several requests (one
request's source needs no row: its pricing problem holds it within the capacity).

Admission control (MODEL.md section 8): each class has a *reject* column, cost = the
rejection penalty, no usage. Until the columns can fill every class, each class also has an
*artificial* column (cost ``BIG``, no usage) that keeps the LP feasible; it is never part of
an integer solution and takes no part in the bound (the Lagrangian bound is valid at any
prices). While one is in use (phase 1) the duals price fit, not latency.

Count rows (valid inequalities for bin packing, used by branch-and-price). Give a load ``u``
of a node of capacity ``C`` the weight ``g_k(u) = ceil((k + 1) u / C) - 1``, the number of
multiples of ``C / (k + 1)`` strictly below ``u`` (a dual-feasible function). The loads on one
node weigh at most ``k`` in all: each is above ``g_k(u) C / (k + 1)``, so ``sum g_k C / (k +
1) < sum u <= C``, and the weights are integers. (Loads in ``(C / (k + 1), 2 C / (k + 1)]``
weigh 1: at most ``k`` of them per node.) Summed over the nodes of a capacity row (``m``
identical devices, or one node) and written per column,

    sum_c sum_p n_p(k) x_p <= k m,   n_p(k) = sum_{i in row} g_k(a_p[i, res])

(:class:`CountRow`; dual ``sigma >= 0``, a price per unit of weight). Every integer placement
meets it, so adding it never cuts one; ``n_p`` is the same for every relabelling of
identical devices, so the aggregated rows keep their symmetry. Neither the aggregated nor the
per-device capacity rows see it: on ``lenet-9x5-nexus-rpi3`` the LP master sits at the
per-request optima, whose 9 placements put 4-5 loads of 13.4-14.8 % of a radio each on 5
radios that can take 7 such loads (above 12.5 %) each (36 > 35; ``benchmarks/scale/README.md``).
:func:`separate_counts` finds the rows an LP solution violates.

Packing rows (:class:`PackRow`, the same kind of row with a weight per load size found from
the LP solution). For a row's ``m`` nodes of capacity ``C`` and the LP's loads, ``n_s`` of each
size ``s``, the fractional bin-packing LP (Gilmore-Gomory: ``min sum_P y_P`` over patterns ``P``,
multisets of sizes that fit in ``C``, covering every ``n_s``) needs more than ``m`` nodes exactly
when its dual ``a_s >= 0`` (every pattern weighs at most 1) gives ``sum_s n_s a_s > m``. Weighing
each load by the largest ``a_s`` of the sizes at most it is valid for every load that fits
(loads that fit one node map to sizes that fit it), so ``sum_c sum_p n_p x_p <= m`` holds for
every integer placement (:func:`separate_packing`, with a margin :data:`PACK_MARGIN` on the
sizes and the capacity). Count rows are the case ``a_s`` in ``{0, 1/k}``; packing rows also weigh loads below
``C / 17`` (the count rows' highest level) and mixes of sizes.

Rounding rows (:class:`RoundRow`, Chvatal-Gomory rank-1 rows of one capacity row and the
convexity rows). With ``U_p`` what column p uses of a capacity row (right-hand side ``C``), ``n``
the requests and any ``step > 0``, ``offset``, ``eps`` in ``[0, 1)``, every integer solution
meets ``sum_p ((U_p - offset) / step + eps) x_p <= (C - offset n) / step + eps n`` (the capacity
row over ``step`` plus ``eps - offset / step`` times the convexity rows), and so, the ``x_p``
being integers ``>= 0``,

    sum_c sum_p floor((U_p - offset) / step + eps) x_p <= floor((C - offset n) / step + eps n).

With ``-step < offset <= 0`` every weight is ``>= 0`` and a column that uses nothing of the row
(a reject column) weighs 0. Where the requests' placements trade bytes for latency along the
price of the bytes, the LP master fills the row to the byte by mixing two placements per
request, and branching on one request's bytes finds another such mix in each child
(``lenet-10x10-tight-tau0.6``: 2 requests at 1.08 x 18,000 B + 0.92 x 11,984 B next to 8 at
30,032 B, 270,750 B in all; benchmarks/milp/README.md);
the rounding row of ``step`` 6,016 B, ``offset`` -48 B weighs them 5, 3 and 2 with at most 45
in all and cuts that mix off (45.08). The LP then mixes other placements of that line, which the
rows whose step is a difference of two usages no longer cut (the bound stays at 7.731928 ms);
steps that divide those differences do (752 B = 6,016 / 8 weighs the same three 40, 24 and 16),
and they lift it to the optimum, 7.734563 ms. :func:`separate_rounding` finds both; pricing
prices the weight by one integer
(:meth:`~optdist.milp.decomposition.pricing.PricingModel.set_round_prices`).

Every row is scaled to right-hand side 1 and costs are in units of ``cost_unit`` seconds,
so HiGHS' absolute tolerances act on numbers near 1. The master grows by ``addCol``: it is
built once and never rebuilt; each LP re-solve starts from the previous basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np

from optdist.solvers.highs import fresh_thread_pool, run_stoppable

INF = highspy.kHighsInf
BIG = 1e4  # artificial column cost, in cost units (the real columns cost ~1 each)
#: least violation (share of the right-hand side) of a count row (:class:`CountRow`) or a packing
#: row (:class:`PackRow`) worth adding: the LP solution of ``lenet-9x5-nexus-rpi3``'s root weighs
#: 36.3 on rows of 35 (3.7 %) and its bound rises by 0.5 %; ``lenet-10x10-tight-tau0.6``'s weighs
#: 70.2 on 70 (0.3 %), and pricing its root again at the new prices took 11-30 s under load for no
#: rise of the bound; the packing rows found there are count rows at 0.24-0.25 %
#: (benchmarks/milp/README.md)
MIN_VIOLATION = 0.01
#: least violation (in requests) of a rounding row (:class:`RoundRow`) worth adding
ROUND_MIN_VIOLATION = 1e-3
#: a rounding row's steps are the LP's usages and their differences, and those divided by 2 .. this
#: (:func:`separate_rounding`): at the 7.731928-ms nodes of ``lenet-10x10-tight-tau0.6`` the
#: whole steps give no violated row, divided ones (e.g. 752 B = 6,016 / 8, a load of 704 B plus 48)
#: rows violated by 0.5-0.9 request (benchmarks/milp/README.md, branch tight11h)
ROUND_DIVISORS = 16


@dataclass(frozen=True)
class Row:
    """A capacity row: ``nodes`` (a group of identical devices, or one source) and a resource (0..2)."""

    nodes: tuple[int, ...]
    resource: int
    rhs: float  # sum of the nodes' capacities (real units)


@dataclass(frozen=True)
class CountRow:
    """``sum_p n_p x_p <= rhs`` with ``n_p`` the weight of column p's loads of ``resource`` on
    ``nodes``, ``g(u) = ceil(u / threshold) - 1`` each (module docstring): the nodes of one
    capacity row, each of capacity ``cap``, ``threshold = cap / (level + 1)``, ``rhs = level *
    len(nodes)``."""

    nodes: tuple[int, ...]
    resource: int
    level: int  # k: the loads on a node weigh at most k
    cap: float  # each node's capacity (real units)

    @property
    def threshold(self) -> float:
        return self.cap / (self.level + 1)

    @property
    def rhs(self) -> float:
        return float(self.level * len(self.nodes))

    def count(self, node_use: np.ndarray | None) -> float:
        """``n_p`` of a column whose per-node usage is ``node_use`` ((n_nodes, 3); None: 0)."""
        if node_use is None:
            return 0.0
        return float(weights(node_use[list(self.nodes), self.resource], self.threshold).sum())


def weights(loads: np.ndarray, threshold: float) -> np.ndarray:
    """``g(u) = ceil(u / threshold) - 1`` per load, at least 0 (:class:`CountRow`); a load within
    a relative ``1e-9`` above a multiple of ``threshold`` weighs as that multiple (a smaller
    weight: the row stays valid, and pricing rounds the same way)."""
    return np.maximum(np.ceil(np.asarray(loads, dtype=float) * (1 - 1e-9) / threshold) - 1, 0.0)


@dataclass(frozen=True)
class PackRow:
    """A packing row (module docstring): ``sum_p n_p x_p <= rhs`` with ``n_p`` the weight of column
    p's loads of ``resource`` on ``nodes`` (each of capacity ``cap``), a load ``u`` weighing
    ``sum_j steps[j] [u >= thresholds[j]]`` (ascending thresholds, positive steps); the loads that
    fit on one node weigh at most ``per_node``, ``rhs = per_node * len(nodes)``."""

    nodes: tuple[int, ...]
    resource: int
    cap: float  # each node's capacity (real units)
    thresholds: tuple[float, ...]
    steps: tuple[float, ...]
    per_node: float

    @property
    def rhs(self) -> float:
        return float(self.per_node * len(self.nodes))

    def count(self, node_use: np.ndarray | None) -> float:
        """``n_p`` of a column whose per-node usage is ``node_use`` ((n_nodes, 3); None: 0)."""
        if node_use is None:
            return 0.0
        loads = np.asarray(node_use[list(self.nodes), self.resource], dtype=float)
        return float(sum(s * np.count_nonzero(loads >= t) for t, s in zip(self.thresholds, self.steps)))


#: ``eps`` of a rounding row (:class:`RoundRow`): a weight is ``floor(y + eps)``, which pricing
#: models by one integer ``w >= y + eps - 1``; ``eps`` well above a MIP solver's feasibility
#: tolerance (1e-6), or ``w`` falls one short where ``y`` is an integer (a valid but weak bound)
ROUND_EPS = 1e-3
#: a packing row's thresholds lie this share below the sizes they stand for (:class:`PackRow`):
#: pricing then sees a load at a size above its threshold by far more than its tolerances
PACK_MARGIN = 1e-3


@dataclass(frozen=True)
class RoundRow:
    """A rounding row (module docstring): ``sum_p n_p x_p <= rhs`` with ``n_p = floor((U_p -
    offset) / step + ROUND_EPS)``, ``U_p`` what column p uses of ``resource`` on ``nodes`` (a
    capacity row's), ``-step < offset <= 0``."""

    nodes: tuple[int, ...]
    resource: int
    step: float
    offset: float
    rhs: float

    def count(self, node_use: np.ndarray | None) -> float:
        """``n_p`` of a column whose per-node usage is ``node_use`` ((n_nodes, 3); None: 0)."""
        if node_use is None:
            return 0.0
        u = float(np.asarray(node_use[list(self.nodes), self.resource], dtype=float).sum())
        return float(math.floor((u - self.offset) / self.step + ROUND_EPS))


#: a valid row over per-node loads (count, packing or rounding row): ``count(node_use)`` per column, ``rhs``
CutRow = CountRow | PackRow | RoundRow


@dataclass
class Column:
    """A column of class ``cls``: ``owners`` of one request (on the class's source), or a reject
    or artificial column (``owners`` None)."""

    cls: int
    kind: str  # placement | reject | artificial
    cost: float  # seconds
    usage: np.ndarray  # (n_rows,) real units
    owners: list[np.ndarray] | None = None
    node_use: np.ndarray | None = None  # (n_nodes, 3) per node (placements)


class Master:
    """The LP / integer master over the columns added so far (module docstring).

    ``rows``: the capacity rows; ``sizes``: ``n_c`` per class; ``cost_unit``: seconds per cost
    unit. Columns are added with :meth:`add`; :meth:`solve_lp` returns the LP value and the
    prices, :meth:`solve_integer` the counts of an integer solution.
    """

    def __init__(self, rows: list[Row], sizes: list[int], cost_unit: float, *, threads: int | None = None,
                 seed: int | None = None, count_rows: list[CutRow] | None = None) -> None:
        self.rows = rows
        self.count_rows: list[CutRow] = []
        self.sigma = np.zeros(0)  # prices of the count rows at the last LP (seconds per unit of weight)
        self.sizes = list(sizes)
        self.cost_unit = float(cost_unit)
        self.columns: list[Column] = []
        self.keys: set[tuple] = set()
        self.integer_proven = False  # the last solve_integer proved its solution optimal
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        if threads:
            h.setOptionValue("threads", int(threads))
        if seed is not None:
            h.setOptionValue("random_seed", int(seed))
        n = len(rows)
        if n:
            h.addRows(n, np.full(n, -INF), np.ones(n), 0, np.zeros(1, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
        m = len(sizes)
        sz = np.asarray(sizes, dtype=float)
        h.addRows(m, sz, sz, 0, np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        self.h = h
        self.rhs = np.array([r.rhs for r in rows], dtype=float)
        for c in range(m):
            self.add(Column(c, "artificial", BIG * self.cost_unit, np.zeros(n)))
        for row in count_rows or []:
            self.add_count_row(row)

    def add_count_row(self, row: CutRow) -> None:
        """Append a count or packing row (module docstring) over every column so far, scaled to right-hand side 1."""
        vals = np.array([row.count(c.node_use) if c.kind == "placement" else 0.0 for c in self.columns]) / row.rhs
        nz = np.flatnonzero(vals != 0).astype(np.int32)
        self.h.addRow(-INF, 1.0, len(nz), nz, vals[nz])
        self.count_rows.append(row)

    def counts(self, col: Column) -> np.ndarray:
        """``n_p`` of ``col`` on each count row."""
        if col.kind != "placement":
            return np.zeros(len(self.count_rows))
        return np.array([row.count(col.node_use) for row in self.count_rows])

    def add(self, col: Column, key: tuple | None = None) -> bool:
        """Append ``col`` (skipped, returning False, if ``key`` was added before)."""
        if key is not None:
            if key in self.keys:
                return False
            self.keys.add(key)
        scaled = np.divide(col.usage, self.rhs, out=np.zeros_like(col.usage), where=self.rhs > 0)
        nz = np.flatnonzero(scaled > 0)
        idx = np.concatenate([nz, [len(self.rows) + col.cls]]).astype(np.int32)
        val = np.concatenate([scaled[nz], [1.0]])
        if self.count_rows:
            cnt = self.counts(col) / np.array([row.rhs for row in self.count_rows])
            cz = np.flatnonzero(cnt != 0)
            idx = np.concatenate([idx, len(self.rows) + len(self.sizes) + cz]).astype(np.int32)
            val = np.concatenate([val, cnt[cz]])
        self.h.addCol(col.cost / self.cost_unit, 0.0, INF, len(idx), idx, val)
        self.columns.append(col)
        return True

    def solve_lp(self) -> tuple[float, np.ndarray, np.ndarray]:
        """LP value (seconds), prices ``pi >= 0`` per row (seconds per unit) and ``mu`` per class
        (seconds); the count rows' prices ``sigma >= 0`` (seconds per unit of weight) go to ``self.sigma``.

        ``pi`` is minus the capacity rows' duals, clipped at 0 (any ``pi >= 0`` gives a valid
        Lagrangian bound); raises ``RuntimeError`` if HiGHS does not solve the LP.
        """
        h = self.h
        h.setOptionValue("solver", "simplex")
        fresh_thread_pool()
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"master LP: {h.modelStatusToString(h.getModelStatus())}")
        sol = h.getSolution()
        dual = np.asarray(sol.row_dual, dtype=float)
        n = len(self.rows)
        pi = np.maximum(-dual[:n], 0.0) * self.cost_unit / np.where(self.rhs > 0, self.rhs, 1.0)
        m = len(self.sizes)
        mu = dual[n:n + m] * self.cost_unit
        self.sigma = (np.maximum(-dual[n + m:], 0.0) * self.cost_unit
                      / np.array([row.rhs for row in self.count_rows], dtype=float).reshape(-1))
        value = float(h.getInfo().objective_function_value) * self.cost_unit
        self.lp_values = np.asarray(sol.col_value, dtype=float)
        return value, pi, mu

    def artificial_in_use(self) -> bool:
        """Whether the last LP solution (:meth:`solve_lp`) uses an artificial column (phase 1)."""
        x = self.lp_values
        return any(c.kind == "artificial" and x[q] > 1e-9 for q, c in enumerate(self.columns[:len(x)]))

    def solve_integer(self, *, time_limit: float, mip_gap: float) -> np.ndarray | None:
        """Counts ``x_p`` of an integer solution over the columns (artificial ones fixed to 0),
        or None if none was found within ``time_limit``; ``integer_proven`` says whether HiGHS
        proved it optimal within ``mip_gap``. The LP model is left as it was."""
        lp = self.h.getLp()
        g = highspy.Highs()
        g.setOptionValue("output_flag", False)
        g.passModel(lp)
        ncol = lp.num_col_
        g.changeColsIntegrality(ncol, np.arange(ncol, dtype=np.int32),
                                np.full(ncol, highspy.HighsVarType.kInteger))
        art = [q for q, c in enumerate(self.columns) if c.kind == "artificial"]
        g.changeColsBounds(len(art), np.asarray(art, dtype=np.int32), np.zeros(len(art)), np.zeros(len(art)))
        g.setOptionValue("time_limit", max(float(time_limit), 0.05))
        g.setOptionValue("mip_rel_gap", float(mip_gap))
        run_stoppable(g)
        self.integer_proven = g.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if g.getInfo().primal_solution_status != 2:
            return None
        return np.rint(np.asarray(g.getSolution().col_value, dtype=float)).astype(np.int64)

    def reduced_cost(self, col: Column, pi: np.ndarray, mu: np.ndarray) -> float:
        """``c_p + pi . a_p + sigma . n_p - mu_c`` in seconds (``sigma``: the count rows' prices
        at the last LP, :meth:`solve_lp`)."""
        extra = float(self.sigma @ self.counts(col)) if len(self.sigma) else 0.0
        return col.cost + float(pi @ col.usage) + extra - float(mu[col.cls])

    @property
    def n_placements(self) -> int:
        return sum(1 for c in self.columns if c.kind == "placement")


def integer_on_devices(columns: list[Column], sizes: list[int], caps: np.ndarray, perms: list[list[np.ndarray]], *,
                       time_limit: float, mip_gap: float, threads: int | None = None) -> list[tuple[int, np.ndarray]] | None:
    """Integer master with one row per node and resource (no aggregation), over each placement
    column under the device relabellings ``perms[q]`` (arrays: node -> node) of column q.

    ``caps``: (n_nodes, 3) capacities. Returns ``[(column, relabelling)]`` with multiplicity
    (one entry per request placed), or None if HiGHS finds no solution in ``time_limit``. A
    solution places every request on real devices directly: no spreading step is needed.
    """
    import highspy as hs

    vars_: list[tuple[int, np.ndarray]] = []
    cost, rows_i, cols_i, vals = [], [], [], []
    N = caps.shape[0]
    n_cap_rows = N * 3
    for q, col in enumerate(columns):
        if col.kind == "artificial":
            continue
        for lab in (perms[q] if col.kind == "placement" else [np.arange(N)]):
            v = len(vars_)
            vars_.append((q, lab))
            cost.append(col.cost)
            rows_i.append(n_cap_rows + col.cls)
            cols_i.append(v)
            vals.append(1.0)
            if col.node_use is not None:
                use = np.zeros((N, 3))
                np.add.at(use, lab, col.node_use)  # usage of node i moves to lab[i]
                nz = np.argwhere(use > 0)
                for i, res in nz:
                    rows_i.append(int(i) * 3 + int(res))
                    cols_i.append(v)
                    vals.append(use[i, res] / max(caps[i, res], 1e-300))
    if not vars_:
        return None
    n_rows = n_cap_rows + len(sizes)
    order = np.lexsort((np.asarray(rows_i), np.asarray(cols_i)))
    ci, ri, va = np.asarray(cols_i)[order], np.asarray(rows_i)[order], np.asarray(vals)[order]
    starts = np.searchsorted(ci, np.arange(len(vars_)))
    lp = hs.HighsLp()
    lp.num_col_, lp.num_row_ = len(vars_), n_rows
    scale = max(abs(c) for c in cost) or 1.0
    lp.col_cost_ = np.asarray(cost) / scale
    lp.col_lower_ = np.zeros(len(vars_))
    lp.col_upper_ = np.full(len(vars_), INF)
    sz = np.asarray(sizes, dtype=float)
    lp.row_lower_ = np.concatenate([np.full(n_cap_rows, -INF), sz])
    lp.row_upper_ = np.concatenate([np.ones(n_cap_rows), sz])
    lp.a_matrix_.format_ = hs.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([starts, [len(ci)]]).astype(np.int32)
    lp.a_matrix_.index_ = ri.astype(np.int32)
    lp.a_matrix_.value_ = va
    lp.integrality_ = [hs.HighsVarType.kInteger] * len(vars_)
    h = hs.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 0.05))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if threads:
        h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    run_stoppable(h)
    if h.getInfo().primal_solution_status != 2:
        return None
    x = np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
    return [vars_[v] for v in np.flatnonzero(x > 0) for _ in range(int(x[v]))]


def _placed(columns: list[Column], x: np.ndarray) -> tuple[list[tuple[Column, float]], np.ndarray]:
    """The placement columns in the LP solution ``x`` (value > 1e-9) that carry ``node_use``, as
    ``(column, value)`` pairs, and their values (an array): what the row separators weigh."""
    placed = [(c, float(v)) for c, v in zip(columns, x)
              if v > 1e-9 and c.kind == "placement" and c.node_use is not None]
    return placed, np.array([v for _c, v in placed])


def separate_counts(rows: list[Row], columns: list[Column], x: np.ndarray, known: list[CountRow], *,
                    max_level: int = 16, most: int = 8, min_violation: float = MIN_VIOLATION) -> list[CountRow]:
    """Count rows (module docstring) that the LP solution ``x`` (one value per column) violates
    by more than ``min_violation`` of their right-hand side, the ``most`` most violated first,
    none of ``known``: for every capacity row whose nodes have equal capacities (a group of
    identical devices or one node) and every level ``k`` up to ``max_level``. Columns without
    ``node_use`` count 0."""
    placed, xs = _placed(columns, x)
    if not placed:
        return []
    use = np.array([c.node_use for c, _v in placed])  # (columns, nodes, 3)
    have = set(known)
    found: list[tuple[float, CountRow]] = []
    for row in rows:
        nodes = list(row.nodes)
        cap = row.rhs / len(nodes)
        if cap <= 0:
            continue
        loads = use[:, nodes, row.resource]  # (columns, nodes)
        for k in range(1, max_level + 1):
            cr = CountRow(tuple(row.nodes), row.resource, k, cap)
            lhs = float(xs @ weights(loads, cr.threshold).sum(axis=1))
            if lhs > cr.rhs * (1 + min_violation) + 1e-9 and cr not in have:
                found.append((lhs / cr.rhs, cr))
    found.sort(key=lambda t: -t[0])
    return [cr for _v, cr in found[:most]]


def _knapsack(sizes: np.ndarray, values: np.ndarray, cap: float) -> tuple[float, np.ndarray]:
    """``max values . p`` over integer ``p >= 0`` with ``sizes . p <= cap`` (HiGHS MIP, gap 0):
    (a proven upper bound on the maximum, the best ``p`` found)."""
    k = len(sizes)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.addVars(k, np.zeros(k), np.floor(cap / sizes))
    h.changeColsCost(k, np.arange(k, dtype=np.int32), -np.asarray(values, dtype=float))
    h.changeColsIntegrality(k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger))
    h.addRow(-INF, float(cap), k, np.arange(k, dtype=np.int32), np.asarray(sizes, dtype=float))
    fresh_thread_pool()
    h.run()
    info = h.getInfo()
    p = np.rint(np.asarray(h.getSolution().col_value, dtype=float))
    return max(-float(info.mip_dual_bound), float(values @ p)), p


def separate_packing(rows: list[Row], columns: list[Column], x: np.ndarray, known: list, *, most: int = 4,
                     min_violation: float = MIN_VIOLATION, max_patterns: int = 200) -> list[PackRow]:
    """Packing rows (module docstring) that the LP solution ``x`` violates by more than
    ``min_violation`` of their right-hand side, the ``most`` most violated first, none of ``known``.

    Per capacity row whose nodes have equal capacities ``C`` (``m`` nodes), with ``n_s`` the LP's
    number of loads of each size ``s`` on them: the fractional bin-packing LP ``min sum_P y_P``,
    ``sum_P P_s y_P >= n_s`` over the patterns ``P`` of sizes that fit in ``C`` (Gilmore-Gomory;
    patterns by an integer knapsack), whose dual ``a_s >= 0`` (every pattern weighs at most 1)
    is cut off when ``sum_s n_s a_s > m``. The row weighs a load ``u`` by the largest ``a_s`` over
    the sizes ``s <= u / (1 - 1e-3)`` (a step function of ``u``, 0 below the least size): the
    sizes so matched to the loads of one node fit in ``C / (1 - 1e-3)``, so those loads weigh at
    most ``per_node``, the knapsack's proven maximum of ``a`` at that capacity (``1e-3``:
    :data:`PACK_MARGIN`). Every integer
    placement therefore meets the row. Columns without ``node_use`` count 0."""
    placed, xs = _placed(columns, x)
    if not placed:
        return []
    use = np.array([c.node_use for c, _v in placed])  # (columns, nodes, 3)
    have = set(known)
    found: list[tuple[float, PackRow]] = []
    for row in rows:
        nodes = list(row.nodes)
        m = len(nodes)
        cap = row.rhs / m
        if cap <= 0:
            continue
        loads = use[:, nodes, row.resource]  # (columns, nodes)
        mult = np.repeat(xs, m)
        flat = loads.reshape(-1)
        keep = flat > 1e-9 * cap
        if not keep.any():
            continue
        sizes, inv = np.unique(flat[keep], return_inverse=True)
        demand = np.bincount(inv, weights=mult[keep])
        if sizes[-1] > cap * (1 + 1e-9) or float(demand @ sizes) < 0.5 * m * cap:
            continue  # a load above the capacity (not a placement), or the nodes half empty
        a = _pattern_duals(sizes, demand, cap, m * (1 + min_violation), max_patterns)
        if a is None:
            continue
        env = np.maximum.accumulate(a)  # a load weighs the most of the sizes at most it
        rise = np.flatnonzero(np.diff(np.concatenate([[0.0], env])) > 1e-9)
        if not len(rise):
            continue
        per_node, _p = _knapsack(sizes, a, cap / (1 - PACK_MARGIN) * (1 + 1e-9))
        pr = PackRow(tuple(row.nodes), row.resource, float(cap),
                     tuple(float(sizes[j] * (1 - PACK_MARGIN)) for j in rise),
                     tuple(float(v) for v in np.diff(np.concatenate([[0.0], env[rise]]))), float(per_node))
        lhs = float(xs @ np.array([pr.count(c.node_use) for c, _v in placed]))
        if lhs > pr.rhs * (1 + min_violation) + 1e-9 and pr not in have:
            found.append((lhs / pr.rhs, pr))
    found.sort(key=lambda t: -t[0])
    return [pr for _v, pr in found[:most]]


def separate_rounding(rows: list[Row], columns: list[Column], x: np.ndarray, n: int, known: list, *,
                      most: int = 2, min_violation: float = ROUND_MIN_VIOLATION,
                      max_values: int = 30, tight: float = 0.99,
                      divisors: int = ROUND_DIVISORS) -> list[RoundRow]:
    """Rounding rows (module docstring) that the LP solution ``x`` (``n`` requests in all) violates
    by more than ``min_violation`` (in requests), the ``most`` most violated first, none of
    ``known``: per capacity row, the most violated row whose ``step`` is a usage of a column in the
    LP solution or a difference of two (*whole* steps), and the most violated whose step is such
    a value divided by ``2 .. divisors`` (:data:`ROUND_DIVISORS`) where it is violated more than
    the whole ones, each with every ``offset`` such a usage modulo ``step`` (in ``(-step, 0]``, a
    zero usage weighing 0), over the ``max_values`` least usages, on the rows the LP fills to at
    least ``tight`` of their right-hand side. Columns without ``node_use`` count 0.

    (The whole rows first: on a one-row knapsack a whole step closes the root, where the most
    violated divided step alone takes 5 solves; at ``lenet-10x10-tight-tau0.6``'s 7.731928-ms
    nodes no whole step is violated. ``tests/test_branch.py``.)"""
    placed, xs = _placed(columns, x)
    if not placed or n <= 0:
        return []
    have = set(known)
    found: list[tuple[float, RoundRow]] = []
    for row in rows:
        if row.rhs <= 0:
            continue
        u = np.array([float(c.node_use[list(row.nodes), row.resource].sum()) for c, _v in placed])
        if float(xs @ u) < tight * row.rhs:
            continue  # a row with room left: its rounding rows are hardly violated
        vals = np.unique(u)[:max_values]
        diffs = np.unique(np.concatenate([np.abs(vals[:, None] - vals[None, :]).reshape(-1), vals]))
        diffs = diffs[diffs > 1e-6 * max(float(row.rhs), 1.0)]
        divided = np.unique((diffs[:, None] / np.arange(2, max(int(divisors), 1) + 1)[None, :]).reshape(-1))
        divided = divided[divided > 1e-6 * max(float(row.rhs), 1.0)]
        whole = _most_violated_rounding(row, u, xs, vals, diffs, n, min_violation)
        part = _most_violated_rounding(row, u, xs, vals, divided, n, min_violation)
        picks = [b for b in (whole, part) if b is not None]
        if whole is not None and part is not None and part[0] <= whole[0]:
            picks = [whole]  # a divided step only where it cuts deeper than the whole ones
        found += [b for b in picks if b[1] not in have]
    found.sort(key=lambda t: -t[0])
    return [rr for _v, rr in found[:most]]


def _most_violated_rounding(row: Row, u: np.ndarray, xs: np.ndarray, vals: np.ndarray, steps: np.ndarray, n: int,
                            min_violation: float) -> tuple[float, RoundRow] | None:
    """The rounding row over capacity row ``row`` most violated by the LP values ``xs`` of
    columns using ``u`` of it, over ``steps`` and the offsets of ``vals`` modulo each step (in
    ``(-step, 0]``, a zero usage weighing 0): ``(violation in requests, row)``, or None if none
    is violated by more than ``min_violation`` (:func:`separate_rounding`)."""
    best: tuple[float, RoundRow] | None = None
    for d in steps:
        offs = np.unique(-np.mod(-vals, d))  # in (-d, 0]
        offs = offs[-offs / d <= 1 - 2 * ROUND_EPS]  # a zero usage weighs 0
        if not len(offs):
            continue
        lhs = xs @ np.floor((u[:, None] - offs[None, :]) / d + ROUND_EPS)  # one per offset
        rhs = np.floor((row.rhs - offs * n) / d + ROUND_EPS * n)
        viol = np.where(rhs >= 1, lhs - rhs, -np.inf)
        q = int(np.argmax(viol))
        if viol[q] > min_violation and (best is None or viol[q] > best[0]):
            best = (float(viol[q]), RoundRow(tuple(row.nodes), row.resource, float(d), float(offs[q]), float(rhs[q])))
    return best


def _pattern_duals(sizes: np.ndarray, demand: np.ndarray, cap: float, target: float,
                   max_patterns: int) -> np.ndarray | None:
    """The duals ``a_s`` of the fractional bin-packing LP of ``demand`` loads of each size on bins
    of ``cap`` (:func:`separate_packing`), or None when its value is at most ``target`` (no row
    to cut) or it did not converge within ``max_patterns`` patterns."""
    k = len(sizes)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.addRows(k, np.asarray(demand, dtype=float), np.full(k, INF), 0, np.zeros(1, dtype=np.int32),
              np.zeros(0, dtype=np.int32), np.zeros(0))
    for j in range(k):  # one size alone, as many as fit
        h.addCol(1.0, 0.0, INF, 1, np.array([j], dtype=np.int32), np.array([math.floor(cap / sizes[j])], dtype=float))
    for _ in range(max_patterns):
        fresh_thread_pool()
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        value = float(h.getInfo().objective_function_value)
        if value <= target:
            return None  # the LP value only falls as patterns enter
        a = np.maximum(np.asarray(h.getSolution().row_dual, dtype=float), 0.0)
        best, p = _knapsack(sizes, a, cap)
        if float(a @ p) <= 1 + 1e-9:
            return a if best <= 1 + 1e-6 else None
        nz = np.flatnonzero(p > 0).astype(np.int32)
        h.addCol(1.0, 0.0, INF, len(nz), nz, p[nz])
    return None


def lagrangian_bound(pi: np.ndarray, rhs: np.ndarray, sizes: list[int], best: list[float]) -> float:
    """``L(pi) = -pi . rhs + sum_c n_c best_c`` (seconds): a lower bound on every solution of the
    problem for any ``pi >= 0``, where ``best_c`` is a proven lower bound on the cheapest real
    option of class c (pricing bound, or the reject column) at prices ``pi``. Equals the master
    LP value plus ``sum_c n_c min(0, reduced cost bound)`` when the LP duals are optimal."""
    if any(not math.isfinite(b) and b < 0 for b in best):
        return -math.inf
    return float(-pi @ rhs + sum(n * b for n, b in zip(sizes, best)))
