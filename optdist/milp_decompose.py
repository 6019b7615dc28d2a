"""Decomposition by request: exact LeNet-scale solves in seconds (issue 3, item 7).

Requests interact only through the shared node capacities (memory, compute, bandwidth;
MODEL.md section 6). Dropping the sharing leaves one independent problem per request, so

* the sum over requests of each request's optimum *alone* (full capacities) is a valid
  lower bound on the whole problem (the makespan: their maximum);
* requests with the same CNN, privacy limits and source characteristics have identical
  subproblems up to renaming the source: one solve per **class**;
* if the combined per-request optima, re-scored by the independent evaluator, satisfy the
  shared capacities, the combination is optimal: bound = objective, proven.

Identical devices (equal in every field) are interchangeable, so each request of a class may
use its own permutation of them: the combination spreads the requests over the identical
devices (least-loaded first) before it is checked. When the capacities still bind, the
solver falls back to the coupled model of the requests together (:class:`TightModel` with
all requests), strengthened by the per-request bounds (``latency_r >= LB_r``, valid cuts),
warm-started from a sequential residual-capacity heuristic, and reports the certified bound
``max(coupled model bound, decomposition bound)``.

The subproblem formulation (:class:`TightModel`) is the compact count model of MODEL.md
section 7 written without big-M stage times wherever the product structure allows:

* elementwise -> non-fc: integer flows ``f[i,j]``, ``T >= n[k,j] c/e_j + f[i,j] beta/rho_i``;
* elementwise -> fc: ``T >= tc_fc + (n[k-1,i] - z_i) beta/rho_i``, ``z_i = n[k-1,i] y[k,i]``
  (only ``z <= n``, ``z <= u y`` are needed: the objective pushes z up);
* conv -> *: with one radio rate among the senders, every receiver receives its partial sums
  unless it is the *sole* owner of the conv layer: ``T >= tc_j + (need_j - g_j) beta/rho``,
  ``g_j <= need_j``, ``g_j <= U s_j``, binary ``s_j`` with ``P_{k-1} s_j <= n[k-1,j]`` (the sole
  owner owns every segment; ``s_j`` is dropped where the privacy cap forbids that)
  (several rates: the pairwise big-M form);
* fc -> fc: ``T >= tc + sum_i (y[k-1,i] - x_i) beta/rho_i``, ``x_i <= y[k-1,i], x_i <= y[k,i]``.

Symmetry among identical devices is broken by ordering their loads; capacity rows that no
assignment can violate are left out (they are implied by the variable bounds). Models are
built as arrays and solved by highspy directly (no Pyomo: build time matters here).

Entry point: :func:`solve_decomposed` (``optdist.solve(inst, formulation="decomposed")`` once
the dispatcher routes it here).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.result import SolveResult, Termination, finalize, gap

TIME_UNIT = 1e-6  # model time unit: microseconds (LeNet stages are ~1e-5..1e-3 s)
CAP_FIELDS = ("memory", "compute", "bandwidth")
INF = math.inf


# --------------------------------------------------------------------------------------
# A small array-based MILP builder for highspy
# --------------------------------------------------------------------------------------
class _Lp:
    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.integer: list[bool] = []
        self.r_idx: list[np.ndarray] = []
        self.r_val: list[np.ndarray] = []
        self.r_lo: list[float] = []
        self.r_hi: list[float] = []
        self.offset = 0.0

    @property
    def n_cols(self) -> int:
        return len(self.lb)

    def var(self, lb: float = 0.0, ub: float = INF, integer: bool = False, cost: float = 0.0) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        self.integer.append(integer)
        return len(self.lb) - 1

    def row(self, idx: Sequence[int], val: Sequence[float], lo: float = -INF, hi: float = INF) -> int:
        idx = np.asarray(idx, dtype=np.int64)
        val = np.asarray(val, dtype=float)
        if len(idx):  # merge duplicates
            u, inv = np.unique(idx, return_inverse=True)
            if len(u) != len(idx):
                v = np.zeros(len(u))
                np.add.at(v, inv, val)
                idx, val = u, v
        self.r_idx.append(idx)
        self.r_val.append(val)
        self.r_lo.append(lo)
        self.r_hi.append(hi)
        return len(self.r_lo) - 1

    def to_highs(self, options: dict):
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        for k, v in options.items():
            if v is not None:
                h.setOptionValue(k, v)
        lp = highspy.HighsLp()
        n, m = self.n_cols, len(self.r_lo)
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = np.asarray(self.cost, dtype=float)
        lp.col_lower_ = np.asarray(self.lb, dtype=float)
        lp.col_upper_ = np.array([highspy.kHighsInf if u == INF else u for u in self.ub], dtype=float)
        lp.row_lower_ = np.array([-highspy.kHighsInf if x == -INF else x for x in self.r_lo], dtype=float)
        lp.row_upper_ = np.array([highspy.kHighsInf if x == INF else x for x in self.r_hi], dtype=float)
        lp.offset_ = self.offset
        starts = np.zeros(m + 1, dtype=np.int64)
        if m:
            starts[1:] = np.cumsum([len(i) for i in self.r_idx])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        lp.a_matrix_.start_ = starts.astype(np.int32)
        lp.a_matrix_.index_ = (np.concatenate(self.r_idx) if m else np.zeros(0)).astype(np.int32)
        lp.a_matrix_.value_ = np.concatenate(self.r_val) if m else np.zeros(0)
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in self.integer]
        h.passModel(lp)
        return h


@dataclass
class MilpOutcome:
    """What one highspy solve returned (objective and bound in model units)."""

    status: str  # optimal | time_limit | infeasible | no_solution | other
    objective: float | None
    bound: float | None
    nodes: int
    seconds: float
    values: np.ndarray | None

    @property
    def has_solution(self) -> bool:
        return self.values is not None


def _run(h, start: tuple[np.ndarray, np.ndarray] | None = None) -> MilpOutcome:
    import highspy

    if start is not None:  # a partial MIP start (the integer columns); HiGHS completes the rest
        idx, val = start
        h.setSolution(len(idx), np.asarray(idx, dtype=np.int32), np.asarray(val, dtype=float))
    t0 = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t0
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    vals = np.array(h.getSolution().col_value) if has else None
    obj = float(info.objective_function_value) if has else None
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = None
    if ms == S.kOptimal:
        status = "optimal"
    elif ms == S.kInfeasible:
        status = "infeasible"
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        status = "time_limit" if has else "no_solution"
    else:
        status = "other" if has else "no_solution"
    return MilpOutcome(status, obj, bound, int(info.mip_node_count), secs, vals)


# --------------------------------------------------------------------------------------
# The tight count model for a set of requests
# --------------------------------------------------------------------------------------
@dataclass
class _ReqVars:
    r: int
    src: int
    nodes: list[np.ndarray]  # per layer: candidate owner nodes
    n: list[np.ndarray]  # per layer: column of n[k,i] (aligned with nodes)
    y: list[np.ndarray]
    T: list[int]  # per layer (layer 0: -1, a constant)
    flows: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)  # k -> (send nodes, recv nodes, cols[s, r])
    latency: list[tuple[int, float]] = field(default_factory=list)
    constant: float = 0.0  # layer-0 time (model units)
    stage_lb: list[float] = field(default_factory=list)  # seconds, per layer
    sent: dict[int, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))  # node -> terms (bytes)


def identical_device_groups(inst: Instance, devices: Sequence[int] | None = None,
                            capacity: dict[str, np.ndarray] | None = None) -> list[list[int]]:
    """Groups of devices equal in every field (memory, e, rho and all capacities), in index order."""
    cap = capacity or _capacities(inst)
    devs = range(inst.n_devices) if devices is None else devices
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in devs:
        key = (inst.memory[i], inst.mults_per_s[i], inst.rate[i], cap["memory"][i], cap["compute"][i], cap["bandwidth"][i])
        groups[key].append(int(i))
    return [g for g in groups.values()]


def _capacities(inst: Instance) -> dict[str, np.ndarray]:
    return {
        "memory": np.asarray(inst.memory, dtype=float).copy(),
        "compute": np.asarray(inst.compute_capacity, dtype=float).copy(),
        "bandwidth": np.asarray(inst.bandwidth_capacity, dtype=float).copy(),
    }


def stage_wait_curves(inst: Instance, r: int, k: int, nodes: list[np.ndarray], ub: list[np.ndarray]) -> list[np.ndarray]:
    """``g_j(n)`` (seconds) for each candidate j of layer k and n = 1..u_j: a lower bound on
    the stage time ``T[r,k]`` of any solution in which j owns n segments of layer k.

    ``g_j(n)`` = j's compute ``n c_k / e_j`` plus the least transfer j must wait for (eq. 6)
    given only the candidates and per-node bounds ``ub`` of layer k-1; non-decreasing in n.
    """
    layers = inst.profile(r).layers
    prev, la = layers[k - 1], layers[k]
    S = nodes[k - 1]
    uS = {int(i): int(u) for i, u in zip(S, ub[k - 1]) if u > 0}
    senders = list(uS)
    rho_max = float(inst.rate[senders].max()) if senders else 1.0
    c = float(la.mults_per_segment)
    out = []
    for j, u in zip(nodes[k], ub[k]):
        j, u = int(j), int(u)
        n = np.arange(1, u + 1)
        comp = n * c / inst.mults_per_s[j]
        others = len(senders) - (1 if j in uS else 0)
        if prev.kind == "conv":
            coef = float(prev.beta) * (prev.out_maps if la.kind == "fc" else 1)
            can_be_sole = j in uS and uS[j] >= prev.segments
            wait = np.zeros(u) if (can_be_sole or others == 0) else n * coef / rho_max
        elif prev.kind == "elementwise" and la.kind != "fc":
            rest = n - np.minimum(n, uS.get(j, 0))
            wait = np.where(rest > 0, np.ceil(rest / max(others, 1)) * prev.beta / rho_max, 0.0)
        elif prev.kind == "elementwise":  # -> fc owner j needs every map it does not own
            rest = prev.segments - min(uS.get(j, 0), prev.segments)
            wait = np.full(u, math.ceil(rest / max(others, 1)) * prev.beta / rho_max if rest > 0 else 0.0)
        else:  # fc -> *: the whole vector, unless j owned the fc layer
            wait = np.zeros(u) if j in uS else np.full(u, prev.beta / rho_max)
        out.append(np.maximum.accumulate(comp + wait))
    return out


def makespan_bound(curves: list[np.ndarray], P: int) -> float:
    """``min max_{j: n_j > 0} g_j(n_j)`` over ``sum n_j = P``, ``n_j <= len(g_j)`` (inf if impossible)."""
    if sum(len(g) for g in curves) < P:
        return INF
    if P == 0:
        return 0.0
    times = np.unique(np.concatenate(curves))
    lo, hi = 0, len(times) - 1
    while lo < hi:  # smallest t with sum_j #{n : g_j(n) <= t} >= P
        mid = (lo + hi) // 2
        t = times[mid] * (1 + 1e-12)
        if sum(int(np.searchsorted(g, t, side="right")) for g in curves) >= P:
            hi = mid
        else:
            lo = mid + 1
    return float(times[lo])


def stage_lower_bound(inst: Instance, r: int, k: int, nodes: list[np.ndarray], ub: list[np.ndarray]) -> float:
    """A valid lower bound (seconds) on the stage time ``T[r,k]`` from layers k-1 and k alone.

    The smallest makespan of spreading the ``P_k`` segments over the candidates with the
    curves of :func:`stage_wait_curves`. Exact for a stage fed by one sender (the source's
    first conv); the LP relaxation spreads segments fractionally and misses it.
    """
    return makespan_bound(stage_wait_curves(inst, r, k, nodes, ub), inst.profile(r).layers[k].segments)


def base_bounds(inst: Instance, r: int, devices: Sequence[int] | None = None,
                capacity: dict[str, np.ndarray] | None = None,
                relax: frozenset[str] = frozenset()) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Candidates and per-node upper bounds on ``n[r,k,i]`` from placement, privacy, memory, compute."""
    cap = capacity or _capacities(inst)
    layers, lim = inst.profile(r).layers, inst.limit(r)
    devs = np.arange(inst.n_devices) if devices is None else np.asarray(sorted(devices), dtype=np.int64)
    nodes, ub = [], []
    for k, la in enumerate(layers):
        cand = np.array([int(inst.request_source[r])]) if lim.on_source[k] else devs
        u = np.full(len(cand), la.segments, dtype=np.int64)
        dc = lim.device_cap[k]
        if "privacy" not in relax and dc is not None and not lim.on_source[k]:
            u = np.minimum(u, dc)
        for fam, per in (("memory", la.weight_bytes_per_segment), ("compute", la.mults_per_segment)):
            if fam not in relax and per > 0:
                u = np.minimum(u, np.floor(cap[fam][cand] / per * (1 + 1e-12)).astype(np.int64))
        nodes.append(cand)
        ub.append(np.maximum(u, 0))
    return nodes, ub


@dataclass
class Propagation:
    """Outcome of :func:`propagate`: tightened bounds and the stage lower bounds (seconds)."""

    ub: list[np.ndarray]
    stage_lb: list[float]
    lower_bound: float  # sum of stage bounds + layer-0 time: valid for every solution
    pruned: bool  # no solution better than the cutoff exists
    rounds: int


def propagate(inst: Instance, r: int, nodes: list[np.ndarray], ub: list[np.ndarray],
              cutoff: float | None = None, max_rounds: int = 20) -> Propagation:
    """Stage bounds, and (given a cutoff, e.g. an incumbent's latency) domain reduction.

    Any solution of latency below ``cutoff`` has every stage ``T_k < cutoff - sum_{k' != k} LB_k'``;
    a node j whose curve ``g_j(n)`` exceeds that cannot own n segments of layer k in it, so
    ``u_j`` drops. Repeated to a fixpoint (smaller bounds on layer k-1 raise the curves of
    layer k). Valid for the subproblem of request r alone: ``latency_r >= lower_bound``.
    """
    layers = inst.profile(r).layers
    L = len(layers)
    src = int(inst.request_source[r])
    t0 = layers[0].segments * layers[0].mults_per_segment / inst.mults_per_s[src]
    ub = [u.copy() for u in ub]
    rounds = 0
    while True:
        rounds += 1
        curves = [None] + [stage_wait_curves(inst, r, k, nodes, ub) for k in range(1, L)]
        lbs = [0.0] + [makespan_bound(curves[k], layers[k].segments) for k in range(1, L)]
        total = t0 + sum(lbs)
        if not math.isfinite(total):
            return Propagation(ub, lbs, INF, True, rounds)
        if cutoff is None:
            return Propagation(ub, lbs, total, False, rounds)
        slack = cutoff - total
        if slack < -1e-12 * max(cutoff, 1e-30):
            return Propagation(ub, lbs, total, True, rounds)
        changed = False
        for k in range(1, L):
            lim_t = (lbs[k] + slack) * (1 + 1e-9)
            for a, g in enumerate(curves[k]):
                m = int(np.searchsorted(g, lim_t, side="right"))
                if m < ub[k][a]:
                    ub[k][a] = m
                    changed = True
        if not changed or rounds >= max_rounds:
            return Propagation(ub, lbs, total, False, rounds)


class TightModel:
    """The compact count model of ``requests`` (see the module docstring), built for highspy.

    ``capacity``: per-node capacities (default: the instance's), e.g. residual ones;
    ``relax``: constraint families left out (``memory``, ``compute``, ``bandwidth``,
    ``privacy``); ``latency_lb``: request -> valid lower bound on its latency (seconds);
    ``symmetry``: order the loads of identical devices; ``extra_cost``: node -> (cost per
    byte of memory, per multiplication, per byte sent) added to the objective (Lagrangian
    prices; seconds per unit).
    """

    def __init__(
        self,
        inst: Instance,
        requests: Sequence[int],
        *,
        capacity: dict[str, np.ndarray] | None = None,
        relax: frozenset[str] = frozenset(),
        latency_lb: dict[int, float] | None = None,
        symmetry: bool = True,
        extra_cost: dict[str, np.ndarray] | None = None,
        devices: Sequence[int] | None = None,
        stage_cuts: bool = True,
        bounds: dict[int, list[np.ndarray]] | None = None,
        stage_max: dict[int, list[float]] | None = None,
        latency_max: dict[int, float] | None = None,
        budget: list[tuple[Sequence[int], int, float]] | None = None,
    ) -> None:
        obj = inst.objective
        self.stage_cuts = stage_cuts
        self.bounds = bounds or {}
        self.stage_max_s = stage_max or {}
        if obj.uplink != "parallel":
            raise NotImplementedError("TightModel supports the parallel uplink only")
        if obj.admission:
            raise NotImplementedError("TightModel has no admission control")
        self.inst = inst
        self.requests = tuple(int(r) for r in requests)
        self.capacity = capacity or _capacities(inst)
        self.relax = frozenset(relax)
        self.devices = np.arange(inst.n_devices) if devices is None else np.array(sorted(set(int(i) for i in devices)), dtype=np.int64)
        self.lp = _Lp()
        self.reqs: dict[int, _ReqVars] = {}
        self.makespan_col: int | None = None
        self.extra_cost = extra_cost
        lam = float(obj.shared_weight) / TIME_UNIT  # model units per byte
        self.shared_weight = lam
        # usage terms per node and resource, for capacity rows
        self.use: dict[str, dict[int, list[tuple[int, float]]]] = {c: defaultdict(list) for c in CAP_FIELDS}
        self.use_max: dict[str, dict[int, float]] = {c: defaultdict(float) for c in CAP_FIELDS}
        for r in self.requests:
            self._build_request(r)
        self._objective(latency_lb or {}, latency_max or {})
        self._capacity_rows()
        for nodes, c, limit in budget or []:  # aggregate usage limits (group of nodes, resource)
            terms = [t for i in nodes for t in self.use[CAP_FIELDS[c]].get(int(i), [])]
            if terms:
                scale = 1.0 / max(limit, 1.0)
                self.lp.row([t for t, _ in terms], [w * scale for _, w in terms], hi=limit * scale)
        if symmetry:
            self._symmetry()

    # ---- per request -------------------------------------------------------------------
    def _stage_max(self, r: int, k: int) -> float:
        """Largest stage time (seconds) a solution of interest may have (inf: unknown)."""
        sm = self.stage_max_s.get(r)
        return INF if sm is None else float(sm[k])

    def _build_request(self, r: int) -> None:
        inst, lp = self.inst, self.lp
        prof = inst.profile(r)
        layers = prof.layers
        L = len(layers)
        src = int(inst.request_source[r])
        e, rho = inst.mults_per_s, inst.rate
        rv = _ReqVars(r, src, [], [], [], [])
        ub: list[np.ndarray] = []
        all_nodes, all_ub = base_bounds(inst, r, self.devices, self.capacity, self.relax)
        if r in self.bounds:  # tightened bounds (aligned with base_bounds' candidates)
            all_ub = [np.minimum(u, v) for u, v in zip(all_ub, self.bounds[r])]
        for k, la in enumerate(layers):
            nodes, u = all_nodes[k], all_ub[k]
            keep = u > 0
            nodes, u = nodes[keep], u[keep]
            P = la.segments
            ncols = np.array([lp.var(0, int(x), True) for x in u], dtype=np.int64)
            if P == 1:
                ycols = ncols
            else:
                ycols = np.array([lp.var(0, 1, True) for _ in u], dtype=np.int64)
                for a in range(len(u)):
                    lp.row([ncols[a], ycols[a]], [1.0, -1.0], lo=0.0)  # n >= y
                    lp.row([ncols[a], ycols[a]], [1.0, -float(u[a])], hi=0.0)  # n <= u y
            lp.row(ncols, np.ones(len(ncols)), lo=P, hi=P)  # one owner per segment
            rv.nodes.append(nodes)
            rv.n.append(ncols)
            rv.y.append(ycols)
            ub.append(u)
            for a, i in enumerate(nodes):
                i = int(i)
                if la.weight_bytes_per_segment:
                    self.use["memory"][i].append((ncols[a], float(la.weight_bytes_per_segment)))
                    self.use_max["memory"][i] += u[a] * la.weight_bytes_per_segment
                if la.mults_per_segment:
                    self.use["compute"][i].append((ncols[a], float(la.mults_per_segment)))
                    self.use_max["compute"][i] += u[a] * la.mults_per_segment
        # layer 0 time: a constant (its owners are fixed to the source)
        la0 = layers[0]
        rv.constant = la0.segments * la0.mults_per_segment / e[src] / TIME_UNIT
        rv.T.append(-1)
        for k in range(1, L):
            tmax = self._stage_max(r, k)
            T = lp.var(0.0, tmax / TIME_UNIT * (1 + 1e-9) if tmax < INF else INF)
            rv.T.append(T)
            self._transition(rv, k, ub)
        rv.latency = [(t, 1.0) for t in rv.T if t >= 0]
        if self.stage_cuts:
            rv.stage_lb = [0.0] + [stage_lower_bound(inst, r, k, rv.nodes, ub) for k in range(1, L)]
            for k in range(1, L):
                if not math.isfinite(rv.stage_lb[k]):
                    continue  # no way to place the layer: the model is infeasible anyway
                lp.lb[rv.T[k]] = rv.stage_lb[k] / TIME_UNIT * (1 - 1e-9)
        self.reqs[r] = rv

    def _transition(self, rv: _ReqVars, k: int, ub: list[np.ndarray]) -> None:
        """Stage-time rows of layer k (transfers from k-1) and bytes sent by the k-1 owners."""
        inst, lp = self.inst, self.lp
        layers = inst.profile(rv.r).layers
        prev, la = layers[k - 1], layers[k]
        e, rho = inst.mults_per_s, inst.rate
        T = rv.T[k]
        S, Rn = rv.nodes[k - 1], rv.nodes[k]
        nS, yS, uS = rv.n[k - 1], rv.y[k - 1], ub[k - 1]
        nR, yR, uR = rv.n[k], rv.y[k], ub[k]
        beta = float(prev.beta)
        c = float(la.mults_per_segment)
        posR = {int(j): b for b, j in enumerate(Rn)}
        posS = {int(i): a for a, i in enumerate(S)}
        tu = 1.0 / TIME_UNIT
        tc = [c / e[int(j)] * tu for j in Rn]  # per owned segment, model units
        sent: dict[int, list[tuple[int, float]]] = defaultdict(list)
        sent_max: dict[int, float] = defaultdict(float)

        if la.kind == "fc":
            tc_fc_idx = list(yR)
            tc_fc_val = list(tc)
        if prev.kind == "elementwise" and la.kind != "fc":
            if prev.segments != la.segments:
                raise ValueError(f"{prev.name} -> {la.name}: {prev.segments} maps feed {la.segments} segments")
            F = np.full((len(S), len(Rn)), -1, dtype=np.int64)
            tmax = self._stage_max(rv.r, k)
            for a, i in enumerate(S):
                for b, j in enumerate(Rn):
                    fu = int(min(uS[a], uR[b]))
                    if int(i) != int(j) and tmax < INF:
                        # T >= n_j c/e_j + f beta/rho_i >= f (c/e_j + beta/rho_i), and T <= tmax
                        per = (tc[b] + beta / rho[int(i)] * tu) * TIME_UNIT
                        fu = min(fu, int(math.floor(tmax / per * (1 + 1e-9)))) if per > 0 else fu
                    if fu > 0:
                        F[a, b] = lp.var(0, fu, True)
            for a in range(len(S)):
                cols = [c for c in F[a] if c >= 0]
                lp.row(cols + [nS[a]], [1.0] * len(cols) + [-1.0], lo=0.0, hi=0.0)
            for b in range(len(Rn)):
                cols = [c for c in F[:, b] if c >= 0]
                lp.row(cols + [nR[b]], [1.0] * len(cols) + [-1.0], lo=0.0, hi=0.0)
            for b, j in enumerate(Rn):
                lp.row([T, nR[b]], [1.0, -tc[b]], lo=0.0)
                for a, i in enumerate(S):
                    if int(i) != int(j) and F[a, b] >= 0:
                        lp.row([T, nR[b], F[a, b]], [1.0, -tc[b], -beta / rho[int(i)] * tu], lo=0.0)
            rv.flows[k] = (S, Rn, F)
            for a, i in enumerate(S):
                i = int(i)
                sent[i].append((nS[a], beta))
                sent_max[i] += beta * uS[a]
                if i in posR and F[a, posR[i]] >= 0:
                    sent[i].append((F[a, posR[i]], -beta))
        elif prev.kind == "elementwise":  # -> fc: the fc owner needs every map
            lp.row([T] + tc_fc_idx, [1.0] + [-x for x in tc_fc_val], lo=0.0)
            for a, i in enumerate(S):
                i = int(i)
                w = beta / rho[i] * tu
                if i in posR:
                    z = lp.var(0, int(uS[a]))
                    lp.row([z, nS[a]], [1.0, -1.0], hi=0.0)
                    lp.row([z, yR[posR[i]]], [1.0, -float(uS[a])], hi=0.0)
                    lp.row([T] + tc_fc_idx + [nS[a], z], [1.0] + [-x for x in tc_fc_val] + [-w, w], lo=0.0)
                    sent[i] += [(nS[a], beta), (z, -beta)]
                else:
                    lp.row([T] + tc_fc_idx + [nS[a]], [1.0] + [-x for x in tc_fc_val] + [-w], lo=0.0)
                    sent[i].append((nS[a], beta))
                sent_max[i] += beta * uS[a]
        elif prev.kind == "conv":
            coef = beta * (prev.out_maps if la.kind == "fc" else 1)  # bytes per owned segment of k
            # need_j (in segments of k): n[k,j]; for fc: y[k,j]
            need = list(yR) if la.kind == "fc" else list(nR)
            U = [1 if la.kind == "fc" else int(x) for x in uR]
            total_need = 1 if la.kind == "fc" else la.segments
            rates = {float(rho[int(i)]) for i in S}
            for b, j in enumerate(Rn):
                j = int(j)
                lp.row([T, nR[b]], [1.0, -tc[b]], lo=0.0)
            if len(rates) == 1:
                w = coef / next(iter(rates)) * tu
                for b, j in enumerate(Rn):
                    j = int(j)
                    base_i = [T, nR[b]]
                    base_v = [1.0, -tc[b]]
                    if la.kind == "fc":
                        base_i, base_v = [T] + tc_fc_idx, [1.0] + [-x for x in tc_fc_val]
                    if j in posS and uS[posS[j]] >= prev.segments:
                        # j may be the sole owner of layer k-1 (it then owns all P segments)
                        a = posS[j]
                        s = lp.var(0, 1, integer=prev.segments > 1)
                        g = lp.var(0, U[b])
                        lp.row([s, nS[a]], [float(prev.segments), -1.0], hi=0.0)  # P s <= n
                        lp.row([g, need[b]], [1.0, -1.0], hi=0.0)
                        lp.row([g, s], [1.0, -float(U[b])], hi=0.0)
                        lp.row(base_i + [need[b], g], base_v + [-w, w], lo=0.0)
                    else:
                        lp.row(base_i + [need[b]], base_v + [-w], lo=0.0)
            else:  # pairwise big-M (several radio rates among the senders)
                for b, j in enumerate(Rn):
                    j = int(j)
                    for a, i in enumerate(S):
                        if int(i) == j:
                            continue
                        w = coef / rho[int(i)] * tu
                        # T >= tc_j + w (need_j - U (1 - y_i))
                        lp.row([T, nR[b], need[b], yS[a]], [1.0, -tc[b], -w, -w * U[b]], lo=-w * U[b])
            # bytes sent: coef * (total_need * y_i - y_i need_i)
            for a, i in enumerate(S):
                i = int(i)
                sent[i].append((yS[a], coef * total_need))
                sent_max[i] += coef * total_need
                if i in posR:
                    b = posR[i]
                    v = lp.var(0, U[b])
                    lp.row([v, need[b]], [1.0, -1.0], hi=0.0)
                    lp.row([v, yS[a]], [1.0, -float(U[b])], hi=0.0)
                    sent[i].append((v, -coef))
        else:  # prev fc: the whole vector to every other owner of k
            if la.kind == "fc":
                xs_i, xs_v = [], []
                for a, i in enumerate(S):
                    i = int(i)
                    w = beta / rho[i] * tu
                    xs_i.append(yS[a])
                    xs_v.append(-w)
                    sent[i].append((yS[a], beta))
                    sent_max[i] += beta
                    if i in posR:
                        x = lp.var(0, 1)
                        lp.row([x, yS[a]], [1.0, -1.0], hi=0.0)
                        lp.row([x, yR[posR[i]]], [1.0, -1.0], hi=0.0)
                        xs_i.append(x)
                        xs_v.append(w)
                        sent[i].append((x, -beta))
                lp.row([T] + tc_fc_idx + xs_i, [1.0] + [-x for x in tc_fc_val] + xs_v, lo=0.0)
            else:
                for b, j in enumerate(Rn):
                    j = int(j)
                    idx, val = [T, nR[b]], [1.0, -tc[b]]
                    for a, i in enumerate(S):
                        i = int(i)
                        if i == j:
                            continue
                        wv = lp.var(0, 1)
                        lp.row([wv, yS[a], yR[b]], [1.0, -1.0, -1.0], lo=-1.0)
                        idx.append(wv)
                        val.append(-beta / rho[i] * tu)
                        sent[i].append((wv, beta))
                        sent_max[i] += beta
                    lp.row(idx, val, lo=0.0)
        for i, terms in sent.items():
            rv.sent[i] += terms
            self.use["bandwidth"][i] += terms
            self.use_max["bandwidth"][i] += sent_max[i]

    # ---- objective, capacities, symmetry -------------------------------------------------
    def _objective(self, latency_lb: dict[int, float], latency_max: dict[int, float]) -> None:
        lp, inst = self.lp, self.inst
        makespan = inst.objective.kind == "makespan"
        if makespan:
            self.makespan_col = lp.var(0.0, INF, cost=1.0)
        for r, rv in self.reqs.items():
            if makespan:
                lp.row([self.makespan_col] + [t for t, _ in rv.latency], [1.0] + [-1.0] * len(rv.latency), lo=rv.constant)
            else:
                for t, w in rv.latency:
                    lp.cost[t] += w
                lp.offset += rv.constant
            if latency_max.get(r) is not None:
                lp.row([t for t, _ in rv.latency], [1.0] * len(rv.latency),
                       hi=latency_max[r] / TIME_UNIT * (1 + 1e-9) - rv.constant)
            if r in latency_lb and latency_lb[r] is not None:
                lp.row([t for t, _ in rv.latency], [1.0] * len(rv.latency), lo=latency_lb[r] / TIME_UNIT - rv.constant)
        if self.shared_weight:
            for rv in self.reqs.values():
                for _i, terms in rv.sent.items():
                    for col, w in terms:
                        lp.cost[col] += self.shared_weight * w
        if self.extra_cost:
            for res, price in self.extra_cost.items():
                for i, terms in self.use[res].items():
                    p = float(price[i]) / TIME_UNIT
                    if p:
                        for col, w in terms:
                            lp.cost[col] += p * w

    def _capacity_rows(self) -> None:
        self.cap_rows: dict[tuple[str, int], int] = {}
        for res in CAP_FIELDS:
            if res in self.relax:
                continue
            for i, terms in self.use[res].items():
                capv = float(self.capacity[res][i])
                if self.use_max[res][i] <= capv * (1 + 1e-9):
                    continue  # implied by the variable bounds
                scale = 1.0 / max(capv, 1.0)
                self.cap_rows[(res, i)] = self.lp.row([c for c, _ in terms], [w * scale for _, w in terms], hi=capv * scale)

    def _symmetry(self) -> None:
        """Identical devices: load (segments held, all requests) non-increasing in index."""
        col_of: dict[int, list[int]] = defaultdict(list)
        for rv in self.reqs.values():
            for k in range(len(rv.nodes)):
                for a, i in enumerate(rv.nodes[k]):
                    if int(i) < self.inst.n_devices:
                        col_of[int(i)].append(rv.n[k][a])
        for g in identical_device_groups(self.inst, self.devices, self.capacity):
            g = [i for i in g if col_of.get(i)]
            for i, j in zip(g, g[1:]):
                self.lp.row(col_of[i] + col_of[j], [1.0] * len(col_of[i]) + [-1.0] * len(col_of[j]), lo=0.0)

    # ---- solving and reading back ------------------------------------------------------
    def solve(self, *, time_limit: float | None = None, mip_gap: float = 1e-6, threads: int | None = None,
              start: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0, options: dict | None = None) -> MilpOutcome:
        opts = {"mip_rel_gap": mip_gap, "random_seed": seed, "mip_abs_gap": 1e-9}
        if time_limit is not None:
            opts["time_limit"] = max(float(time_limit), 0.01)
        if threads is not None:
            opts["threads"] = int(threads)
        opts.update(options or {})
        h = self.lp.to_highs(opts)
        out = _run(h, start)
        if out.objective is not None:
            out.objective *= TIME_UNIT
        if out.bound is not None:
            out.bound *= TIME_UNIT
        return out

    def owners(self, values: np.ndarray, r: int, src_map: dict[int, int] | None = None,
               dev_map: dict[int, int] | None = None) -> list[np.ndarray]:
        """Per-map owners of request r from a solution (labelled along the flows).

        ``src_map``/``dev_map`` rename nodes (the representative's source -> another source,
        identical devices permuted) for a request of the same class.
        """
        rv = self.reqs[r]
        layers = self.inst.profile(r).layers
        ren = lambda i: (src_map or {}).get(i, (dev_map or {}).get(i, i))  # noqa: E731
        out: list[np.ndarray] = []
        for k, la in enumerate(layers):
            cnt = np.rint(values[rv.n[k]]).astype(np.int64)
            nodes = rv.nodes[k]
            if k in rv.flows:
                S, Rn, F = rv.flows[k]
                prev = out[k - 1]
                fl = np.where(F >= 0, np.rint(values[np.maximum(F, 0)]), 0).astype(np.int64)
                own = np.full(la.segments, -1, dtype=np.int64)
                inv = {ren(int(i)): a for a, i in enumerate(S)}
                maps_of: dict[int, list[int]] = defaultdict(list)
                for p, i in enumerate(prev):
                    maps_of[inv[int(i)]].append(p)
                for a in range(len(S)):
                    ps = maps_of[a]
                    pos = 0
                    for b in range(len(Rn)):
                        q = int(fl[a, b])
                        for p in ps[pos:pos + q]:
                            own[p] = ren(int(Rn[b]))
                        pos += q
                if (own < 0).any() or np.bincount(own[own >= 0], minlength=1).sum() != la.segments:
                    raise RuntimeError(f"request {r} layer {la.name}: flows do not cover every map")
                out.append(own)
            else:
                out.append(np.array([ren(int(i)) for i in np.repeat(nodes, cnt)], dtype=np.int64))
            if len(out[-1]) != la.segments:
                raise RuntimeError(f"request {r} layer {la.name}: counts sum to {len(out[-1])}, not {la.segments}")
        return out

    def start_from_values(self, other: TightModel, values: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray] | None:
        """A MIP start from another model's solution of request r (None if it does not fit)."""
        own = other.owners(values, r)
        owners: list = [None] * self.inst.n_requests
        owners[r] = own
        for k, a in enumerate(own):  # every owner must be a candidate here
            if not np.isin(a, self.reqs[r].nodes[k]).all():
                return None
        return self.start_from(Assignment(owners), only=[r])

    def start_from(self, asg: Assignment, only: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A MIP start reproducing ``asg``: values of the integer columns (n, y, flows)."""
        x = np.zeros(self.lp.n_cols)
        inst = self.inst
        cols: list[np.ndarray] = []
        for r, rv in self.reqs.items():
            if only is not None and r not in only:
                continue
            cols += list(rv.n) + list(rv.y) + [F[F >= 0] for _S, _R, F in rv.flows.values()]
            own = asg.owners[r]
            layers = inst.profile(r).layers
            for k in range(len(layers)):
                cnt = np.bincount(own[k], minlength=inst.n_nodes)
                x[rv.n[k]] = cnt[rv.nodes[k]]
                x[rv.y[k]] = (cnt[rv.nodes[k]] > 0).astype(float)
                if k in rv.flows:
                    S, Rn, F = rv.flows[k]
                    pair = np.zeros((inst.n_nodes, inst.n_nodes))
                    np.add.at(pair, (own[k - 1], own[k]), 1)
                    x[F[F >= 0]] = pair[np.ix_(S, Rn)][F >= 0]
        idx = np.unique(np.concatenate(cols)) if cols else np.zeros(0, dtype=np.int64)
        return idx, x[idx]


# --------------------------------------------------------------------------------------
# Decomposition
# --------------------------------------------------------------------------------------
def request_classes(inst: Instance) -> list[list[int]]:
    """Requests whose subproblems are identical up to renaming the source.

    Same CNN (so the same profile and privacy limits) and a source equal in every field.
    The devices are shared by all requests, so they never distinguish two requests.
    """
    cap = _capacities(inst)
    classes: dict[tuple, list[int]] = defaultdict(list)
    for r in range(inst.n_requests):
        s = int(inst.request_source[r])
        key = (inst.request_cnn[r], inst.memory[s], inst.mults_per_s[s], inst.rate[s],
               cap["memory"][s], cap["compute"][s], cap["bandwidth"][s])
        classes[key].append(r)
    return list(classes.values())


@dataclass
class ClassSolve:
    """One class's representative solve."""

    requests: list[int]
    model: TightModel
    outcome: MilpOutcome


def _usage_of(inst: Instance, r: int, own: list[np.ndarray]) -> np.ndarray:
    """(N, 3) memory, compute, bandwidth used by request r alone."""
    from optdist.evaluate import transfers

    N = inst.n_nodes
    use = np.zeros((N, 3))
    layers = inst.profile(r).layers
    for k, la in enumerate(layers):
        cnt = np.bincount(own[k], minlength=N)
        use[:, 0] += cnt * la.weight_bytes_per_segment
        use[:, 1] += cnt * la.mults_per_segment
        if k:
            i, _j, byt = transfers(layers[k - 1], la, own[k - 1], own[k], N)
            np.add.at(use[:, 2], i, byt)
    return use


def combine(inst: Instance, solves: list[ClassSolve], spread: bool = True) -> Assignment:
    """Every request gets its class representative's optimum (source renamed).

    With ``spread``, each request's devices are permuted within each group of identical
    devices so that the most-used roles go to the least-loaded devices (every permutation
    keeps the request optimal; it only changes how the requests share capacity).
    """
    N = inst.n_nodes
    cap = np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1)
    load = np.zeros((N, 3))
    owners: list[list[np.ndarray] | None] = [None] * inst.n_requests
    groups = identical_device_groups(inst)
    for cs in solves:
        rep = cs.requests[0]
        base = cs.model.owners(cs.outcome.values, rep)
        base_use = _usage_of(inst, rep, base)
        rep_src = int(inst.request_source[rep])
        for r in cs.requests:
            src = int(inst.request_source[r])
            src_map = {rep_src: src} if src != rep_src else {}
            dev_map: dict[int, int] = {}
            if spread:
                for g in groups:
                    if len(g) < 2:
                        continue
                    # roles: the group's devices in the representative solution, busiest first
                    frac = base_use[g] / np.maximum(cap[g], 1e-300)
                    roles = sorted(g, key=lambda i: -frac[g.index(i)].max())
                    targets = sorted(g, key=lambda i: (load[i] / np.maximum(cap[i], 1e-300)).max())
                    dev_map.update(dict(zip(roles, targets)))
            own = [np.array([src_map.get(int(i), dev_map.get(int(i), int(i))) for i in a], dtype=np.int64) for a in base]
            owners[r] = own
            load += _usage_of(inst, r, own)
    return Assignment(owners, {"method": "decomposed"})


def _rename(own: list[np.ndarray], mapping: dict[int, int]) -> list[np.ndarray]:
    if not mapping:
        return [a.copy() for a in own]
    lut = np.arange(max(max(mapping) + 1, max(int(a.max()) for a in own) + 1))
    for i, j in mapping.items():
        lut[i] = j
    return [lut[a] for a in own]


def balance(inst: Instance, plan: list[tuple[int, list[np.ndarray]]], *, time_limit: float = 10.0,
            threads: int | None = None) -> Assignment | None:
    """Place per-request solutions on the devices so that the shared capacities hold.

    ``plan``: (request, owners) with owners already on the request's own source. Within each
    group of identical devices, a request's solution may use any injective relabelling of its
    devices (its latency does not change). First the greedy least-loaded relabelling; if the
    evaluator finds a capacity exceeded, a small assignment MILP (role -> device, one device
    per role and request, per-device capacity rows) looks for relabellings that fit.
    """
    N, R = inst.n_nodes, inst.n_requests
    cap = np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1)
    groups = [g for g in identical_device_groups(inst) if len(g) > 1]
    uses = {r: _usage_of(inst, r, own) for r, own in plan}
    # 1. greedy: busiest roles to the least-loaded devices
    load = np.zeros((N, 3))
    owners: list[list[np.ndarray] | None] = [None] * R
    order = sorted(plan, key=lambda t: -float((uses[t[0]] / np.maximum(cap, 1e-300)).max()))
    for r, own in order:
        dev_map: dict[int, int] = {}
        u = uses[r]
        for g in groups:
            frac = u[g] / np.maximum(cap[g], 1e-300)
            roles = sorted(g, key=lambda i: -frac[g.index(i)].max())
            targets = sorted(g, key=lambda i: ((load[i] + 0) / np.maximum(cap[i], 1e-300)).max())
            dev_map.update(dict(zip(roles, targets)))
        owners[r] = _rename(own, dev_map)
        load += _usage_of(inst, r, owners[r])
    asg = Assignment(owners, {"method": "decomposed"})
    if evaluate(inst, asg).feasible or not groups:
        return asg if evaluate(inst, asg).feasible else None
    # 2. assignment MILP over the roles of every request in every group
    lp = _Lp()
    fixed = np.zeros((N, 3))
    in_group = np.zeros(N, dtype=bool)
    for g in groups:
        in_group[g] = True
    x: dict[tuple[int, int, int], int] = {}
    roles_of: dict[tuple[int, int], list[int]] = {}
    for r, own in plan:
        u = uses[r]
        fixed[~in_group] += u[~in_group]
        used = set(int(i) for a in own for i in np.unique(a))
        for q, g in enumerate(groups):
            roles = [i for i in g if i in used]
            roles_of[(r, q)] = roles
            for role in roles:
                for d in g:
                    x[(r, role, d)] = lp.var(0, 1, True)
                lp.row([x[(r, role, d)] for d in g], [1.0] * len(g), lo=1.0, hi=1.0)
            for d in g:
                if roles:
                    lp.row([x[(r, role, d)] for role in roles], [1.0] * len(roles), hi=1.0)
    for q, g in enumerate(groups):
        for d in g:
            for res in range(3):
                idx, val = [], []
                for r, _own in plan:
                    for role in roles_of[(r, q)]:
                        w = uses[r][role, res]
                        if w > 0:
                            idx.append(x[(r, role, d)])
                            val.append(w / max(cap[d, res], 1.0))
                if idx:
                    lp.row(idx, val, hi=(cap[d, res] * (1 - 1e-9) - fixed[d, res]) / max(cap[d, res], 1.0))
    h = lp.to_highs({"time_limit": max(time_limit, 0.1), **({"threads": threads} if threads else {})})
    out = _run(h)
    if not out.has_solution:
        return None
    v = out.values
    owners = [None] * R
    for r, own in plan:
        dev_map = {}
        for q, g in enumerate(groups):
            for role in roles_of[(r, q)]:
                d = next(d for d in g if v[x[(r, role, d)]] > 0.5)
                dev_map[role] = d
        owners[r] = _rename(own, dev_map)
    asg = Assignment(owners, {"method": "decomposed-balanced"})
    return asg if evaluate(inst, asg).feasible else None


CUTOFF_STEPS = (0.005, 0.02, 0.08, 0.32, INF)  # relative cutoffs above the stage bound


@dataclass
class SingleSolve:
    """A request solved alone: the model that holds the best solution, and the outcome.

    ``outcome.bound`` is a valid lower bound on the request's objective alone (full or given
    capacities); ``steps`` logs the cutoff rounds.
    """

    model: TightModel | None
    outcome: MilpOutcome
    steps: list[dict]


def solve_single(inst: Instance, r: int, *, time_limit: float = 60.0, mip_gap: float = 1e-6,
                 threads: int | None = None, capacity: dict[str, np.ndarray] | None = None,
                 symmetry: bool = True, steps: Sequence[float] = CUTOFF_STEPS,
                 devices: Sequence[int] | None = None,
                 extra_cost: dict[str, np.ndarray] | None = None,
                 budget: list[tuple[Sequence[int], int, float]] | None = None) -> SingleSolve:
    """Request r alone, by stage bounds and rising latency cutoffs (exact).

    1. Stage bounds (:func:`propagate` without a cutoff) give ``LB0 <= latency``.
    2. For cutoffs ``c = min(LB0 (1 + delta), best objective so far)``, delta in ``steps``
       (the last: none): every solution with latency at most c lies in the domain that
       :func:`propagate` leaves (tightened ``u``; stage times at most ``LB_k + slack``;
       elementwise flows that could not arrive in time removed), so the small model
       restricted to it, plus ``latency <= c``, either has no solution (then every solution
       has latency, hence objective, above c: the bound rises to c) or its optimum v, if
       ``v <= c``, is the request's optimum (solutions outside have objective >= latency > c).
       With prices or a shared-data weight, ``v > c`` can happen: the bound becomes
       ``min(v, c)`` and the next round cuts off at v.
    """
    t0 = time.perf_counter()
    log: list[dict] = []
    nodes, ub = base_bounds(inst, r, devices, capacity)
    p0 = propagate(inst, r, nodes, ub)
    lb = p0.lower_bound  # bound on the objective (latency + prices / shared data)
    lat_lb = p0.lower_bound  # bound on the latency alone
    nodes_total = 0
    best: tuple[TightModel, MilpOutcome] | None = None
    if not math.isfinite(lb):
        log.append({"step": "stage bounds", "result": "a layer cannot be placed"})
        return SingleSolve(None, MilpOutcome("infeasible", None, None, 0, time.perf_counter() - t0, None), log)

    def done(status: str | None = None) -> SingleSolve:
        secs = time.perf_counter() - t0
        if best is None:
            return SingleSolve(None, MilpOutcome(status or "no_solution", None, lb, nodes_total, secs, None), log)
        m, out = best
        bound = min(lb, out.objective)
        g = gap(out.objective, bound)
        st = "optimal" if g is not None and g <= max(mip_gap, 1e-9) else "time_limit"
        return SingleSolve(m, MilpOutcome(st, out.objective, bound, nodes_total, secs, out.values), log)

    for d in steps:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.01:
            break
        cutoff = INF if d == INF else p0.lower_bound * (1 + d)
        if best is not None:
            cutoff = min(cutoff, best[1].objective)
        cutoff = None if cutoff == INF else cutoff
        p = propagate(inst, r, nodes, ub, cutoff=cutoff)
        entry: dict = {"cutoff": cutoff, "stage_bound": p.lower_bound}
        log.append(entry)
        if cutoff is not None and p.pruned:
            lb = max(lb, cutoff)
            lat_lb = max(lat_lb, cutoff)
            entry["result"] = "pruned by stage bounds"
            if best is not None and cutoff >= best[1].objective:
                return done()
            continue
        stage_max = None
        if cutoff is not None:
            slack = cutoff - p.lower_bound
            stage_max = {r: [x + slack for x in p.stage_lb]}
        m = TightModel(inst, [r], capacity=capacity, devices=devices, symmetry=symmetry, bounds={r: p.ub},
                       stage_max=stage_max, latency_max=None if cutoff is None else {r: cutoff},
                       latency_lb={r: lat_lb}, extra_cost=extra_cost, budget=budget)
        start = m.start_from_values(best[0], best[1].values, r) if best is not None else None
        out = m.solve(time_limit=max(left, 0.05), mip_gap=mip_gap, threads=threads, start=start)
        nodes_total += out.nodes
        entry.update(status=out.status, objective=out.objective, bound=out.bound, nodes=out.nodes,
                     seconds=round(out.seconds, 3), cols=m.lp.n_cols, rows=len(m.lp.r_lo))
        if out.status == "infeasible":
            if cutoff is None:
                return done("infeasible")
            lb = max(lb, cutoff)
            lat_lb = max(lat_lb, cutoff)
            if best is not None and cutoff >= best[1].objective:
                return done()
            continue
        if out.has_solution and (best is None or out.objective < best[1].objective):
            best = (m, out)
        # every solution of latency <= cutoff lies in this model: min(its bound, cutoff) bounds all
        bound = out.bound if out.bound is not None else lb
        lb = max(lb, min(bound, INF if cutoff is None else cutoff))
        if out.status == "optimal" and cutoff is not None and best is not None and best[1].objective > cutoff:
            continue  # prices / shared data: the objective exceeds the latency cutoff; look further
        break
    return done()


def solve_classes(inst: Instance, *, time_limit: float, mip_gap: float, threads: int | None,
                  symmetry: bool = True, capacity: dict[str, np.ndarray] | None = None,
                  log: list | None = None) -> list[ClassSolve]:
    """Solve one representative per request class, with full (or given) capacities."""
    t0 = time.perf_counter()
    out = []
    classes = request_classes(inst)
    for q, reqs in enumerate(classes):
        left = time_limit - (time.perf_counter() - t0)
        # share the remaining time over the remaining classes
        ss = solve_single(inst, reqs[0], time_limit=max(left / (len(classes) - q), 0.05), mip_gap=mip_gap,
                          threads=threads, capacity=capacity, symmetry=symmetry)
        res = ss.outcome
        if log is not None:
            log.append({"class": q, "requests": len(reqs), "representative": inst.request_ids[reqs[0]],
                        "status": res.status, "objective": res.objective, "bound": res.bound,
                        "nodes": res.nodes, "seconds": round(res.seconds, 3), "steps": ss.steps})
        out.append(ClassSolve(reqs, ss.model, res))
    return out


@dataclass
class Pattern:
    """One request's solution (owners on its class representative's source) and what it costs."""

    owners: list[np.ndarray]
    value: float  # objective contribution: latency (+ shared-data weight x bytes)
    usage: np.ndarray  # (N, 3) memory, compute, bandwidth


def _pattern(inst: Instance, r: int, own: list[np.ndarray]) -> Pattern:
    owners: list = [None] * inst.n_requests
    owners[r] = own
    ev = evaluate(inst, Assignment(owners))
    value = float(ev.latency[r]) + inst.objective.shared_weight * float(ev.shared_bytes[r])
    return Pattern(own, value, _usage_of(inst, r, own))


@dataclass
class Lagrangian:
    """Lagrangian relaxation of the shared capacities of groups of identical devices.

    ``L(lam) = sum_r min_x (obj_r(x) + sum_{g,c} lam_{g,c} use_{r,g,c}(x)) - sum lam_{g,c} cap_{g,c}``
    is a lower bound for every ``lam >= 0`` (each device row of group g and resource c priced
    at ``lam_{g,c}``; symmetric prices lose nothing on symmetric instances). Requests of a
    class share their subproblem, so one (exact) single-request solve per class and step.
    """

    bound: float
    lam: np.ndarray
    dims: list[tuple[list[int], int]]
    patterns: dict[int, list[Pattern]]
    history: list[dict]


def lagrangian(inst: Instance, classes: list[list[int]], dims: list[tuple[list[int], int]], *,
               time_limit: float, iterations: int = 30, mip_gap: float = 1e-6, threads: int | None = None,
               start_bound: float = -INF, patterns: dict[int, list[Pattern]] | None = None,
               usage0: np.ndarray | None = None) -> Lagrangian:
    """Maximise ``L(lam)`` approximately: bisection on the sign of the subgradient for one
    priced dimension, projected subgradient (Polyak steps to 2 % above the best bound) for
    several. Every evaluated ``L`` uses the subproblems' proven bounds, so each is valid even
    when a subproblem stops at its time limit; the subproblems' solutions are kept as patterns.
    """
    t0 = time.perf_counter()
    capv = np.array([float(sum(_capacities(inst)[CAP_FIELDS[c]][g])) for g, c in dims])
    best, best_lam = start_bound, np.zeros(len(dims))
    pats: dict[int, list[Pattern]] = {q: list(v) for q, v in (patterns or {}).items()}
    hist: list[dict] = []
    # first step from lam = 0 (whose bound is the decomposition bound): price the excess so that
    # the latency gained back is ~2 % of the bound
    sub0 = (usage0 - capv) if usage0 is not None else None
    if sub0 is None or not np.isfinite(best) or (sub0 <= 0).all():
        return Lagrangian(best, best_lam, dims, pats, hist)
    lam = np.maximum(0.0, 0.02 * best * sub0 / float(sub0 @ sub0))
    lo, hi = 0.0, None  # bisection bracket (one dimension)
    theta, stall = 1.0, 0
    for it in range(iterations):
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.5:
            break
        price = {c: np.zeros(inst.n_nodes) for c in CAP_FIELDS}
        for (g, c), v in zip(dims, lam):
            price[CAP_FIELDS[c]][g] = v
        value = -float(lam @ capv)
        sub = np.zeros(len(dims))
        ok = True
        for q, reqs in enumerate(classes):
            rep = reqs[0]
            per = min(left / (len(classes) - q), max(5.0, 0.2 * time_limit))
            ss = solve_single(inst, rep, time_limit=max(per, 0.1), mip_gap=mip_gap, threads=threads, extra_cost=price)
            if ss.outcome.bound is None or not ss.outcome.has_solution:
                ok = False
                break
            value += len(reqs) * ss.outcome.bound
            own = ss.model.owners(ss.outcome.values, rep)
            pat = _pattern(inst, rep, own)
            if not any(all(np.array_equal(x, y) for x, y in zip(own, p.owners)) for p in pats.setdefault(q, [])):
                pats[q].append(pat)
            for d, (g, c) in enumerate(dims):
                sub[d] += len(reqs) * pat.usage[g, c].sum()
            left = time_limit - (time.perf_counter() - t0)
        if not ok:
            break
        sub -= capv
        hist.append({"iter": it, "bound": value, "lam": lam.tolist(), "subgradient": sub.tolist(),
                     "seconds": round(time.perf_counter() - t0, 3)})
        if value > best:
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
        if (sub <= 0).all() and np.allclose(lam * sub, 0, atol=1e-15):
            break  # complementary slackness: this lam is optimal
        if len(dims) == 1:
            if sub[0] > 0:
                lo = float(lam[0])
            else:
                hi = float(lam[0])
            lam = np.array([lam[0] * 3 if hi is None else (0.5 * (lo + hi))])
            if hi is not None and hi - lo <= 1e-3 * hi:
                break
        else:
            if stall >= 2:
                theta, stall = theta / 2, 0
            norm = float(sub @ sub)
            if norm == 0:
                break
            lam = np.maximum(0.0, lam + theta * (0.02 * abs(best)) / norm * sub)
    return Lagrangian(best, best_lam, dims, pats, hist)


def select_patterns(inst: Instance, classes: list[list[int]], pats: dict[int, list[Pattern]], *,
                    shrink: float = 1.0, time_limit: float = 10.0,
                    threads: int | None = None) -> list[tuple[int, list[np.ndarray]]] | None:
    """How many requests of each class use each pattern: least total objective such that every
    group of identical devices (and every other node) has the aggregate capacity for it."""
    cap = np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1)
    groups = identical_device_groups(inst)
    lp = _Lp()
    m: dict[tuple[int, int], int] = {}
    for q, reqs in enumerate(classes):
        for p, pat in enumerate(pats.get(q, [])):
            m[(q, p)] = lp.var(0, len(reqs), True, cost=pat.value / TIME_UNIT)
        cols = [m[(q, p)] for p in range(len(pats.get(q, [])))]
        if not cols:
            return None
        lp.row(cols, [1.0] * len(cols), lo=len(reqs), hi=len(reqs))
    for g in groups:
        for c in range(3):
            idx, val = [], []
            for (q, p), col in m.items():
                w = float(pats[q][p].usage[g, c].sum())
                if w > 0:
                    idx.append(col)
                    val.append(w)
            total = float(cap[g, c].sum())
            if idx:
                lp.row(idx, [v / max(total, 1.0) for v in val], hi=total * shrink / max(total, 1.0))
    h = lp.to_highs({"time_limit": max(time_limit, 0.1), "mip_rel_gap": 1e-9, **({"threads": threads} if threads else {})})
    out = _run(h)
    if not out.has_solution:
        return None
    plan = []
    for q, reqs in enumerate(classes):
        rep_src = int(inst.request_source[reqs[0]])
        counts = [int(round(out.values[m[(q, p)]])) for p in range(len(pats[q]))]
        seq = [p for p, n in enumerate(counts) for _ in range(n)]
        for r, p in zip(reqs, seq):
            src = int(inst.request_source[r])
            plan.append((r, _rename(pats[q][p].owners, {rep_src: src} if src != rep_src else {})))
    return plan


def solve_decomposed(
    inst: Instance,
    *,
    time_limit: float | None = 600.0,
    mip_gap: float | None = 1e-4,
    threads: int | None = None,
    symmetry: bool = True,
    spread: bool = True,
    coupled: bool = True,
    solver: str | None = "highs",
    formulation: str = "decomposed",
    warm_start: Assignment | str | None = None,
    seed: int | None = None,
    tee: bool = False,
) -> SolveResult:
    """Decomposition by request, falling back to the coupled model when capacities bind.

    Options as :func:`optdist.milp.solve.solve_milp` (``solver`` must be HiGHS: the models go to
    highspy directly). Returns a :class:`SolveResult` re-scored by the evaluator; ``bound`` is
    always a valid lower bound (sum of the per-class bounds, the Lagrangian bound or the
    coupled model's, whichever is largest); ``termination`` is ``optimal`` only when the
    evaluator's objective is within ``mip_gap`` of it. Objectives the decomposition does not
    cover (serial uplink, admission control) are passed to the compact formulation.
    """
    t0 = time.perf_counter()
    time_limit = 600.0 if time_limit is None else float(time_limit)
    mip_gap = 1e-4 if mip_gap is None else float(mip_gap)
    if solver not in (None, "highs"):
        raise ValueError(f"formulation 'decomposed' solves with HiGHS (highspy) only, not {solver!r}")
    obj = inst.objective
    if obj.uplink != "parallel" or obj.admission:
        from optdist.milp.solve import solve_milp

        res = solve_milp(inst, formulation="compact", time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                         seed=seed, warm_start=warm_start, tee=tee)
        res.extra["decomposed"] = "not applicable (serial uplink or admission control): solved with 'compact'"
        return finalize(inst, res)
    log: list[dict] = []
    res = SolveResult(inst.name, "milp", Termination.NO_SOLUTION, solver="highs", formulation="decomposed",
                      options={"time_limit": time_limit, "mip_gap": mip_gap, "threads": threads,
                               "symmetry": symmetry, "spread": spread, "coupled": coupled})
    separable = not (obj.kind == "makespan" and obj.shared_weight)
    if isinstance(warm_start, str):
        from optdist.milp.solve import warm_start_assignment

        warm_start, info = warm_start_assignment(inst, warm_start)
        res.extra.update(info)
    sub_gap = min(mip_gap, 1e-6)
    solves = solve_classes(inst, time_limit=time_limit, mip_gap=sub_gap, threads=threads, symmetry=symmetry, log=log)
    res.extra["classes"] = log
    res.nodes = sum(s.outcome.nodes for s in solves)
    if any(s.outcome.status == "infeasible" for s in solves):
        # a request alone (full capacities) is infeasible: so is the whole (a relaxation)
        res.termination = Termination.INFEASIBLE
        res.extra["infeasible_requests"] = [inst.request_ids[r] for s in solves if s.outcome.status == "infeasible"
                                            for r in s.requests]
        res.bound = None
        res.wall_time = time.perf_counter() - t0
        return res
    # valid lower bound: per class bound (a request alone, full capacities)
    lb_of: dict[int, float] = {}
    for s in solves:
        for r in s.requests:
            lb_of[r] = s.outcome.bound
    bounds_known = all(v is not None for v in lb_of.values())
    if bounds_known and separable:
        vals = list(lb_of.values())
        res.bound = max(vals) if obj.kind == "makespan" else float(sum(vals))
    if separable and all(s.outcome.has_solution for s in solves):
        asg = combine(inst, solves, spread=spread)
        ev = evaluate(inst, asg)
        res.extra["combination_feasible"] = ev.feasible
        if ev.feasible:
            res.assignment = asg
            res.objective = ev.objective
        else:
            res.extra["combination_violations"] = [v.message for v in ev.violations[:10]]
    left = time_limit - (time.perf_counter() - t0)
    g = gap(res.objective, res.bound)
    if coupled and left > 0.5 and (res.assignment is None or g is None or g > mip_gap):
        _coupled(inst, res, solves, lb_of if (bounds_known and separable) else {}, time_limit=left,
                 mip_gap=mip_gap, threads=threads, symmetry=symmetry, warm_start=warm_start)
    if res.assignment is None and isinstance(warm_start, Assignment):
        ev = evaluate(inst, warm_start)
        if ev.feasible:  # nothing better found in time: the start is the incumbent
            res.assignment, res.objective = warm_start, ev.objective
            res.extra["incumbent"] = "warm start"
    # termination
    g = gap(res.objective, res.bound)
    if res.assignment is None:
        if res.termination != Termination.INFEASIBLE:
            res.termination = Termination.NO_SOLUTION
        else:
            res.bound = None
    elif g is not None and g <= mip_gap + 1e-12:
        res.termination = Termination.OPTIMAL
    else:
        res.termination = Termination.TIME_LIMIT
    res.wall_time = time.perf_counter() - t0
    return finalize(inst, res)


def _coupled(inst: Instance, res: SolveResult, solves: list[ClassSolve], lb_of: dict[int, float], *,
             time_limit: float, mip_gap: float, threads: int | None, symmetry: bool, warm_start) -> None:
    """Capacities bind: Lagrangian bound + pattern selection and balancing, then the coupled MILP.

    1. (latency objective) :func:`lagrangian` prices the groups of identical devices whose
       aggregate capacity the per-request optima overuse or nearly use; its bound is valid.
    2. :func:`select_patterns` picks a per-request solution among those the Lagrangian steps
       produced so that aggregate capacities hold; :func:`balance` relabels identical devices so
       that every device's capacity holds (checked by the evaluator).
    3. The coupled model of all requests (:class:`TightModel`), warm-started from the best
       assignment and cut by the per-request bounds, for the time left.
    """
    t0 = time.perf_counter()
    res.extra["coupled"] = True
    obj = inst.objective
    classes = [s.requests for s in solves]
    if isinstance(warm_start, Assignment) and evaluate(inst, warm_start).feasible:
        res.assignment, res.objective = warm_start, evaluate(inst, warm_start).objective
    if obj.kind == "latency" and all(s.outcome.has_solution for s in solves):
        pats = {q: [_pattern(inst, s.requests[0], s.model.owners(s.outcome.values, s.requests[0]))]
                for q, s in enumerate(solves)}
        cap = _capacities(inst)
        dims = []
        for g in identical_device_groups(inst):
            for c, name in enumerate(CAP_FIELDS):
                used = sum(len(classes[q]) * p[0].usage[g, c].sum() for q, p in pats.items())
                if used >= 0.5 * cap[name][g].sum():
                    dims.append((g, c))
        res.extra["lagrangian_dims"] = [(inst.node_ids[g[0]] + (f"..(+{len(g) - 1})" if len(g) > 1 else ""),
                                         CAP_FIELDS[c]) for g, c in dims]
        if dims:
            usage0 = np.array([sum(len(classes[q]) * p[0].usage[g, c].sum() for q, p in pats.items()) for g, c in dims])
            lag = lagrangian(inst, classes, dims, time_limit=0.6 * time_limit, mip_gap=1e-6, threads=threads,
                             start_bound=res.bound if res.bound is not None else -INF, patterns=pats, usage0=usage0)
            res.extra["lagrangian"] = {"bound": lag.bound, "iterations": len(lag.history),
                                       "patterns": sum(len(v) for v in lag.patterns.values()),
                                       "history": lag.history}
            if res.bound is None or lag.bound > res.bound:
                res.bound = lag.bound
            # fair-share patterns: each class gets its share of every priced group's capacity
            # (requests of a class identical: n_c such patterns fit the aggregate exactly)
            total_use = {(tuple(g), c): sum(len(classes[q]) * p[0].usage[g, c].sum() for q, p in pats.items())
                         for g, c in dims}
            for q, reqs in enumerate(classes):
                left = time_limit - (time.perf_counter() - t0)
                if left <= 1.0:
                    break
                budget = []
                for g, c in dims:
                    mine = len(reqs) * lag.patterns[q][0].usage[g, c].sum()
                    share = mine / max(total_use[(tuple(g), c)], 1e-300)
                    budget.append((g, c, float(cap[CAP_FIELDS[c]][g].sum()) * share / len(reqs)))
                ss = solve_single(inst, reqs[0], time_limit=min(left / 3, max(10.0, 0.1 * time_limit)),
                                  mip_gap=1e-4, threads=threads, budget=budget)
                if ss.outcome.has_solution:
                    own = ss.model.owners(ss.outcome.values, reqs[0])
                    if not any(all(np.array_equal(x, y) for x, y in zip(own, p.owners)) for p in lag.patterns[q]):
                        lag.patterns[q].append(_pattern(inst, reqs[0], own))
            for shrink in (1.0, 0.98, 0.95, 0.9, 0.8):
                left = time_limit - (time.perf_counter() - t0)
                if left <= 0.5:
                    break
                plan = select_patterns(inst, classes, lag.patterns, shrink=shrink, time_limit=min(10.0, left / 4),
                                       threads=threads)
                if plan is None:
                    continue
                asg = balance(inst, plan, time_limit=min(20.0, left / 3), threads=threads)
                if asg is not None:
                    ev = evaluate(inst, asg)
                    if res.objective is None or ev.objective < res.objective:
                        res.assignment, res.objective = asg, ev.objective
                        res.extra["pattern_objective"] = ev.objective
                        res.extra["pattern_shrink"] = shrink
                    break
    g = gap(res.objective, res.bound)
    left = time_limit - (time.perf_counter() - t0)
    if (g is not None and g <= mip_gap) or left <= 0.5:
        return
    # per-request bounds bound the latency only when the objective is the latency alone
    lat_lb = lb_of if not obj.shared_weight else {}
    m = TightModel(inst, range(inst.n_requests), latency_lb=lat_lb, symmetry=symmetry)
    start = m.start_from(res.assignment) if res.assignment is not None else None
    out = m.solve(time_limit=left, mip_gap=mip_gap, threads=threads, start=start)
    res.nodes = (res.nodes or 0) + out.nodes
    res.extra["coupled_solve"] = {"status": out.status, "objective": out.objective, "bound": out.bound,
                                  "nodes": out.nodes, "seconds": round(out.seconds, 3),
                                  "cols": m.lp.n_cols, "rows": len(m.lp.r_lo)}
    if out.status == "infeasible":
        res.termination = Termination.INFEASIBLE
        return
    if out.bound is not None:
        res.bound = max(res.bound if res.bound is not None else -INF, out.bound)
    if out.has_solution:
        asg = Assignment([m.owners(out.values, r) for r in range(inst.n_requests)], {"method": "decomposed-coupled"})
        ev = evaluate(inst, asg)
        if ev.feasible and (res.objective is None or ev.objective < res.objective):
            res.assignment, res.objective = asg, ev.objective
