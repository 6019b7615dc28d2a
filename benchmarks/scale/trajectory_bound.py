"""A pricing lower bound over per-device trajectories with integer multiplicities (issue 14, cifar-20x20).

Probe: is a relaxation of the single-request pricing problem that keeps every device's segment
counts and participations integral *jointly along the layers* stronger than the pricing model's
LP at binding bandwidth prices? ``v(pi)`` is the least priced latency of one request alone
(``optdist.milp.decomposition.pricing``): sum of stage times plus ``pi[i, res]`` times node i's
usage (bytes it sends, weight bytes, multiplications).

Maths (MODEL.md sections 4-6; a chain CNN whose first and last layers run on the source, the
layers between on devices, the one before the last an fc fed by a ``to_fc`` edge: CIFAR).
Devices with equal seconds per segment, rate and prices form a group G (identical devices).
Write ``n_k(j)`` for the segments device j owns of layer k. Every term of the priced latency is
bounded from below by a sum of *per-device* terms of two consecutive layers, plus one max per
stage:

* conv k-1 -> k (partial sums): device i sends ``[n_{k-1}(i) > 0] beta (P_k - n_k(i))`` bytes
  (exact: it sends to every other owner of k the maps that owner holds); receiver j waits
  ``n_k(j) beta / rho`` whenever some other node owns k-1, which holds for every j when
  ``P_{k-1} > cap_{k-1}`` (at least two owners; otherwise only where ``n_{k-1}(j) = 0``);
* elementwise k-1 -> k (a transport of maps): i sends at least ``max(0, n_{k-1}(i) - n_k(i))``
  maps (it keeps at most the smaller count), and receiver j, short of
  ``d = max(0, n_k(j) - n_{k-1}(j))`` maps that come from at most D-1 other devices, waits at
  least ``ceil(d / (D-1)) beta / rho``;
* the source's layer 0 sends every map of layer 1 (``n_1(j) beta / rho_source`` of wait);
* compute and the weight/multiplication prices: ``n_k(j)`` times per-segment values;
* stage k's time is ``T_k = max_j (compute + wait)`` of those per-device terms (``rho``: the
  largest rate of a possible sender, so every wait is a lower bound);
* the layers after the last one with a privacy cap (``pool3`` on CIFAR) up to the fc, and the
  ``to_fc`` edge, are dropped (every dropped term is >= 0); the fc and the source's last layer
  add their least compute + transfer over the groups (a constant).

So ``v(pi) >= min sum_k T_k + sum_j c_j(trajectory_j)`` over integer trajectories
``(n_1(j), ..., n_K(j))`` (within each layer's privacy cap) with ``sum_j n_k(j) = P_k`` and
``T_k >= term_k(j)``. Devices of a group are interchangeable, so this is a MILP over a layered
network per group (node ``(k, n)``: a device owns n segments of layer k; arc ``(k-1, a) ->
(k, b)``: its per-device cost; ``x_arc`` integer = how many devices of G take it; flow |G| per
group; an integer flow decomposes into |G| paths, i.e. one trajectory per device). Each stage
time takes one of the distinct per-device term values ``lambda_0 < lambda_1 < ...``:
``T_k = lambda_0 + sum_l (lambda_l - lambda_{l-1}) w_{k,l}``, ``w_{k,l}`` binary non-increasing
in l (``T_k >= lambda_l``), and an arc whose term is ``>= lambda_l`` carries no flow unless
``w_{k,l} = 1`` (``sum_{arcs: term >= lambda_l} x <= |G| w_{k,l}`` per group). Its integer
optimum equals the relaxation's minimum, and its proven dual bound (any point of the
branch-and-bound) is a valid lower bound on ``v(pi)``. Unlike the pricing model's LP, a device
here cannot be a 92 % owner: participation, counts and the bytes they cause are one integer path.

**Split.** This MILP's LP is weak (a stage's max over devices becomes an average over fractional
levels: 0.0201 on cifar-20x20's solve 0, against the pricing LP's 0.0312), but with every stage
time fixed it is strong (0.032145 at the stage times of the run's column, 1 s). So the placements
are split by stage times (:func:`split_bound`): for each layer k, ``X_k`` is the lowest level at
which the pricing model's own LP with ``T[r,k] >= X_k`` (:class:`FarLP`; valid for every placement
whose stage k lasts at least ``X_k``, and the relaxation's stage term never exceeds the true
stage time) reaches the bound aimed at; the placements with every stage under its ``X_k`` are
bounded by this MILP restricted to those levels. The split bound is the least of the MILP's proven
bound and the LPs' values; every piece is an LP value or a MILP's proven dual bound.

**Columns.** Each integer point maps back to a real placement (:func:`trajectories`: one path per
device; :func:`placement`: maps kept where they are, the rest sent round-robin; the fc on the best
device), priced exactly (:func:`priced_value`, MODEL.md sections 4-5 through
:mod:`optdist.transfers`), so the MILP is also a pricing heuristic.

With one request class, ``L(pi) = -pi . cap + n_requests * bound`` is a certified lower bound on
the instance (``optdist.milp.decomposition.master.lagrangian_bound``), and ``-pi . cap +
n_requests * (a column's priced value)`` the most any bound at those prices can give.

    python benchmarks/scale/trajectory_bound.py benchmarks/scale/pricing_prices/cifar-20x20-nexus-rpi3.json \
        --only 0 --split 0.4440 --time-limit 1500 --log [--column-out FILE]
    python benchmarks/scale/trajectory_bound.py ... --only 0 [--lp]      # the whole relaxation, no split

Results (cifar-20x20, solve 0, 2026-12-05, shared machine): ``benchmarks/scale/trajectory_bound.md``.
A bad prices file ends with a message naming it and the fix, exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from optdist.cli import FlagError, number_flag
from optdist.instance import Instance, load_instance
from optdist.io import OutputPathError, atomic_write_json, check_output_file
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.solvers.base import MIN_SOLVER_S, deadline_left
from optdist.solvers.highs import run_stoppable
from optdist.transfers import RESOURCES, edges


#: seconds: stage terms closer than this are one level
LEVEL_TOL = 1e-12


@dataclass
class TrajectoryModel:
    """The relaxation's MILP (module docstring) in HiGHS's column-wise form."""

    cost: np.ndarray  # objective per column (seconds)
    constant: float  # seconds added to the objective
    a: sp.csc_matrix  # rows x columns
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray  # bool per column
    n_arcs: int  # the first n_arcs columns are arc flows, the rest the level binaries
    arc_k: np.ndarray  # layer each arc enters
    arc_level: np.ndarray  # index of its stage term in its layer's levels
    levels: list[np.ndarray]  # distinct stage terms of layer k = 1..K, ascending
    w_start: list[int]  # column of w_{k,1} for k = 1..K

    floor: list[int]  # per layer k = 1..K: the lowest level its segments fit under (count capacity)

    def below(self, first_out: list[int]) -> TrajectoryModel:
        """The model with stage k's time under ``levels[k-1][first_out[k-1]]`` (arcs and levels from
        that index on removed; an index past the levels removes nothing)."""
        hi = self.col_hi.copy()
        for k, top in enumerate(first_out, start=1):
            hi[: self.n_arcs][(self.arc_k == k) & (self.arc_level >= top)] = 0
            hi[self.w_start[k - 1] + max(0, top - 1): self.w_start[k - 1] + len(self.levels[k - 1]) - 1] = 0
        return dataclasses.replace(self, col_hi=hi)


def _groups(inst: Instance, sec: np.ndarray, prices: dict[str, np.ndarray]) -> list[list[int]]:
    keys: dict = {}
    for j in range(inst.n_devices):
        key = (tuple(np.round(sec[:, j], 15)), float(inst.rate[j]),
               tuple(float(prices[res][j]) for res in RESOURCES))
        keys.setdefault(key, []).append(j)
    return list(keys.values())


def _check(inst: Instance, r: int) -> None:
    prof, lim = inst.profile(r), inst.limit(r)
    L = prof.n_layers
    ok = (inst.objective.kind == "latency" and inst.objective.shared_weight == 0.0
          and inst.objective.uplink == "parallel" and prof.is_chain and lim.on_source[0]
          and lim.on_source[L - 1] and not any(lim.on_source[1:L - 1]) and L >= 5
          and prof.layers[L - 2].kind == "fc" and prof.layers[L - 1].kind == "fc"
          and edges(prof)[L - 2][0].kind == "to_fc" and lim.device_cap[1] is not None)
    if not ok:
        raise ValueError(f"{inst.name}, request {r}: the probe takes a latency objective (no shared-data weight, "
                         "parallel uplink) and a chain CNN whose first and last layers alone run on the source, "
                         "ending in fc <- to_fc (fix: a CIFAR set, e.g. instances/coupled/cifar-6x5-nexus-rpi3.json)")


@dataclass
class Terms:
    """Per-device costs and stage terms of one request's relaxation (module docstring)."""

    inst: Instance
    r: int
    prices: dict[str, np.ndarray]
    groups: list[list[int]]
    K: int  # the network's layers are 1..K
    caps: list[int]  # segments a device may own of layer k (index 0 unused)
    constant: float  # seconds: the source's layers, its bytes into layer 1, the fc at its cheapest group

    @classmethod
    def of(cls, inst: Instance, r: int, prices: dict[str, np.ndarray]) -> Terms:
        """ValueError where the instance is not of the probe's form (module docstring)."""
        _check(inst, r)
        prof, lim = inst.profile(r), inst.limit(r)
        sec = inst.segment_seconds(r)
        lay, ed, L = prof.layers, edges(prof), prof.n_layers
        s = int(inst.request_source[r])
        groups = _groups(inst, sec, prices)
        K = 1
        while K + 1 <= L - 3 and lim.device_cap[K + 1] is not None:
            K += 1
        caps = [0] + [min(lay[k].segments, int(lim.device_cap[k])) for k in range(1, K + 1)]
        self = cls(inst, r, prices, groups, K, caps, 0.0)
        e1, efc = ed[1][0], ed[L - 1][0]
        coef1 = e1.per_receiver_segment if e1.kind == "conv" else e1.beta
        c = lay[0].segments * (sec[0, s] + self.res(0, s)) + lay[L - 1].segments * (sec[L - 1, s] + self.res(L - 1, s))
        c += lay[1].segments * coef1 * prices["bandwidth"][s]
        c += min(sec[L - 2, g[0]] + self.res(L - 2, g[0])
                 + efc.per_pair * (prices["bandwidth"][g[0]] + 1 / inst.rate[g[0]]) for g in groups)
        self.constant = float(c)
        return self

    def res(self, k: int, j: int) -> float:
        """Priced weight bytes and multiplications of one segment of layer k on node j (seconds)."""
        lay = self.inst.profile(self.r).layers[k]
        return float(lay.weight_bytes_per_segment * self.prices["memory"][j]
                     + lay.mults_per_segment * self.prices["compute"][j])

    def arcs(self, k: int, j: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cost, stage-k term) in seconds of device j owning ``a`` segments of layer k-1 (ignored
        for k = 1) and ``b`` of layer k, elementwise over the arrays."""
        inst, prices = self.inst, self.prices
        prof = inst.profile(self.r)
        lay, ed = prof.layers, edges(prof)
        sec = inst.segment_seconds(self.r)
        D = inst.n_devices
        rho = float(np.max(inst.rate[:D]))
        e = ed[k][0]
        comp = b * sec[k, j]
        cost = b * self.res(k, j)
        if k == 1:
            coef = e.per_receiver_segment if e.kind == "conv" else e.beta
            return cost, comp + b * coef / inst.rate[int(inst.request_source[self.r])]
        if e.kind == "conv":
            coef = e.per_receiver_segment
            two_owners = lay[k - 1].segments > self.caps[k - 1]
            return (cost + (a > 0) * coef * (lay[k].segments - b) * prices["bandwidth"][j],
                    comp + b * coef / rho * ((a == 0) | two_owners))
        if e.kind == "flow":
            return (cost + e.beta * np.maximum(0, a - b) * prices["bandwidth"][j],
                    comp + np.ceil(np.maximum(0, b - a) / max(1, D - 1)) * e.beta / rho)
        raise ValueError(f"{inst.name}: edge {lay[k - 1].name} -> {lay[k].name} ({e.kind}) is not in "
                         "the probe (fix: a CIFAR set)")

    def value(self, counts: np.ndarray) -> float:
        """The relaxation's objective at a placement: ``counts[k, j]`` segments of layer k on device j
        (layers 0..K at least). Never above the placement's priced latency (module docstring)."""
        total = self.constant
        for k in range(1, self.K + 1):
            t = 0.0
            for j in range(self.inst.n_devices):
                c, tt = self.arcs(k, j, np.asarray(counts[k - 1, j]), np.asarray(counts[k, j]))
                total += float(c)
                t = max(t, float(tt))
            total += t
        return total


def build(inst: Instance, r: int, prices: dict[str, np.ndarray], cumulative: bool = True) -> TrajectoryModel:
    """The relaxation of request ``r``'s pricing problem at ``prices`` (per resource, per node,
    seconds per unit; module docstring). ``cumulative``: each level row holds every arc at or above
    its level (a tighter LP) rather than the arcs at that level alone. ValueError where the
    instance is not of the probe's form."""
    tm = Terms.of(inst, r, prices)
    groups, K, caps = tm.groups, tm.K, tm.caps
    lay = inst.profile(r).layers
    constant = tm.constant
    rows_g, rows_k, rows_a, rows_b, cost, term = [], [], [], [], [], []
    for gi, g in enumerate(groups):
        for k in range(1, K + 1):
            b = np.arange(caps[k] + 1)
            a = np.full_like(b, -1)
            if k > 1:
                a, b = (m.ravel() for m in np.meshgrid(np.arange(caps[k - 1] + 1), b, indexing="ij"))
            c, t = tm.arcs(k, g[0], a, b)
            rows_g.append(np.full(len(b), gi))
            rows_k.append(np.full(len(b), k))
            rows_a.append(a)
            rows_b.append(b)
            cost.append(np.asarray(c, dtype=float))
            term.append(np.asarray(t, dtype=float))
    ag, ak, aa, ab = (np.concatenate(x) for x in (rows_g, rows_k, rows_a, rows_b))
    acost, aterm = np.concatenate(cost), np.concatenate(term)
    n_arcs = len(ag)
    # levels per stage
    levels = []
    lev_of = np.zeros(n_arcs, dtype=int)
    for k in range(1, K + 1):
        sel = ak == k
        t = np.sort(aterm[sel])
        vals = t[np.r_[True, np.diff(t) > LEVEL_TOL]]
        levels.append(vals)
        lev_of[sel] = np.searchsorted(vals, aterm[sel], side="right") - 1  # the largest level <= the term
    w_start = [n_arcs]
    for vals in levels:
        w_start.append(w_start[-1] + len(vals) - 1)
    n_cols = w_start[-1]
    col_cost = np.concatenate([acost] + [np.diff(v) for v in levels])
    constant += float(sum(v[0] for v in levels))
    ri, ci, vv, lo, hi = [], [], [], [], []

    def row(cols: np.ndarray, vals: np.ndarray, rlo: float, rhi: float) -> None:
        ri.append(np.full(len(cols), len(lo)))
        ci.append(np.asarray(cols))
        vv.append(np.asarray(vals, dtype=float))
        lo.append(rlo)
        hi.append(rhi)

    idx = np.arange(n_arcs)
    floor: list[int] = []
    for gi, g in enumerate(groups):
        start = idx[(ag == gi) & (ak == 1)]
        row(start, np.ones(len(start)), len(g), len(g))
        for k in range(1, K):
            for n in range(caps[k] + 1):
                into = idx[(ag == gi) & (ak == k) & (ab == n)]
                out = idx[(ag == gi) & (ak == k + 1) & (aa == n)]
                row(np.concatenate([into, out]), np.concatenate([np.ones(len(into)), -np.ones(len(out))]), 0, 0)
    for k in range(1, K + 1):
        into = idx[ak == k]
        row(into, ab[into], lay[k].segments, lay[k].segments)
        base = w_start[k - 1]
        # count capacity: below level l every device of G owns at most most[G, l] segments of k
        most = np.array([[ab[(ag == gi) & (ak == k) & (lev_of <= lv)].max(initial=0) for lv in range(len(levels[k - 1]))]
                         for gi in range(len(groups))])
        cap_l = np.array([len(g) for g in groups]) @ most
        if len(cap_l) > 1:
            row(base + np.arange(len(cap_l) - 1), np.diff(cap_l), lay[k].segments - cap_l[0], math.inf)
        floor.append(int(np.argmax(cap_l >= lay[k].segments)))
        for lv in range(1, len(levels[k - 1])):
            if lv >= 2:
                row(np.array([base + lv - 1, base + lv - 2]), np.array([1.0, -1.0]), -math.inf, 0)
            for gi, g in enumerate(groups):
                sel = (ag == gi) & (ak == k) & ((lev_of >= lv) if cumulative else (lev_of == lv))
                cols = idx[sel]
                if len(cols):
                    row(np.append(cols, base + lv - 1), np.append(np.ones(len(cols)), -len(g)), -math.inf, 0)
    a = sp.csc_matrix((np.concatenate(vv), (np.concatenate(ri), np.concatenate(ci))), shape=(len(lo), n_cols))
    col_hi = np.concatenate([np.array([len(groups[gi]) for gi in ag], dtype=float), np.ones(n_cols - n_arcs)])
    return TrajectoryModel(col_cost, constant, a, np.array(lo, dtype=float), np.array(hi, dtype=float), col_hi,
                           np.ones(n_cols, dtype=bool), n_arcs, ak, lev_of, levels, w_start[:-1], floor)


def solve(m: TrajectoryModel, *, time_limit: float, lp: bool = False, cutoff: float | None = None,
          log: bool = False) -> dict:
    """Solve the relaxation with HiGHS (threads 1): ``{"bound", "value", "status", "seconds", "nodes"}``
    (seconds; ``bound`` is the proven lower bound on ``v(pi)``, the LP value where ``lp``). Inside
    :func:`optdist.solvers.base.run_deadline` (``from_scratch.py``'s ``--column-time-limit``) the
    time limit is at most the time left to its deadline, and no solve starts once it has passed
    (status "not started: ...", bound ``-inf``, no point)."""
    if _passed():
        return _not_started()
    h = highspy.Highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("threads", 1)
    left = deadline_left()
    h.setOptionValue("time_limit", float(time_limit if left is None else min(time_limit, left)))
    h.setOptionValue("mip_rel_gap", 1e-6)
    if cutoff is not None:
        h.setOptionValue("objective_bound", float(cutoff - m.constant))
    lpm = highspy.HighsLp()
    lpm.num_col_, lpm.num_row_ = m.a.shape[1], m.a.shape[0]
    lpm.col_cost_ = m.cost
    lpm.col_lower_ = np.zeros(m.a.shape[1])
    lpm.col_upper_ = m.col_hi
    lpm.row_lower_, lpm.row_upper_ = m.row_lo, m.row_hi
    lpm.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lpm.a_matrix_.start_ = m.a.indptr
    lpm.a_matrix_.index_ = m.a.indices
    lpm.a_matrix_.value_ = m.a.data
    if not lp:
        lpm.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                            for i in m.integer]
    h.passModel(lpm)
    t0 = time.perf_counter()
    run_stoppable(h)  # Ctrl-C (from_scratch.py) cancels it
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if lp:
        val = info.objective_function_value + m.constant
        return {"bound": val, "value": val, "status": status, "seconds": time.perf_counter() - t0, "nodes": 0}
    found = info.primal_solution_status == 2
    value = info.objective_function_value + m.constant if found else math.inf
    return {"bound": info.mip_dual_bound + m.constant, "value": value, "status": status,
            "seconds": time.perf_counter() - t0, "nodes": int(info.mip_node_count),
            "x": np.array(h.getSolution().col_value) if found else None}


def priced_value(inst: Instance, r: int, own: list[np.ndarray], prices: dict[str, np.ndarray]) -> float:
    """The pricing objective of a placement of request r alone (seconds): its latency (MODEL.md
    section 5, parallel uplink) plus its usage priced at ``prices``; ``own[k]`` the node of each
    segment of layer k."""
    from optdist.milp.decomposition.classes import usage_of
    from optdist.transfers import incoming_wait, transfer_matrix

    prof, N = inst.profile(r), inst.n_nodes
    sec = inst.segment_seconds(r)
    total = 0.0
    for k in range(prof.n_layers):
        n = np.bincount(own[k], minlength=N)
        wait = np.zeros(N)
        for e in edges(prof)[k]:
            wait = np.maximum(wait, incoming_wait(transfer_matrix(e, own[e.u], own[k], N), inst.rate))
        total += float(np.max(np.where(n > 0, n * sec[k] + wait, 0.0)))
    use = usage_of(inst, r, own)
    return total + float(sum(np.asarray(prices[res]) @ use[:, q] for q, res in enumerate(RESOURCES)))


def trajectories(m: TrajectoryModel, tm: Terms, x: np.ndarray) -> np.ndarray:
    """``(K+1, D)`` segments per layer (row 0 unused) and device of an integer point of the model:
    each group's flow split into one path per device."""
    D = tm.inst.n_devices
    out = np.zeros((tm.K + 1, D), dtype=int)
    off = 0
    flows = []
    for g in tm.groups:
        per_k = []
        for k in range(1, tm.K + 1):
            nb, na = tm.caps[k] + 1, (1 if k == 1 else tm.caps[k - 1] + 1)
            per_k.append(np.rint(x[off:off + na * nb]).astype(int).reshape(na, nb))
            off += na * nb
        flows.append(per_k)
    for g, per_k in zip(tm.groups, flows):
        for j in g:
            a = 0
            for k in range(1, tm.K + 1):
                X = per_k[k - 1]
                b = int(np.flatnonzero(X[a] > 0)[0])
                X[a, b] -= 1
                out[k, j] = b
                a = b
    return out


def point(m: TrajectoryModel, tm: Terms, counts: np.ndarray) -> np.ndarray:
    """The model's point (columns) of a placement given by its counts (``counts[k, j]``, k = 0..K):
    one unit of flow per device along its path, each stage's levels up to its largest term."""
    x = np.zeros(m.a.shape[1])
    off = 0
    for g in tm.groups:
        for k in range(1, tm.K + 1):
            nb, na = tm.caps[k] + 1, (1 if k == 1 else tm.caps[k - 1] + 1)
            for j in g:
                x[off + (0 if k == 1 else counts[k - 1, j]) * nb + counts[k, j]] += 1
            off += na * nb
    for k in range(1, tm.K + 1):
        used = (m.arc_k == k) & (x[: m.n_arcs] > 0)
        x[m.w_start[k - 1]: m.w_start[k - 1] + int(m.arc_level[used].max())] = 1
    return x


def placement(tm: Terms, counts: np.ndarray, fc_owner: int) -> list[np.ndarray]:
    """Owners per segment (``own[k]``) with ``counts[k, j]`` segments of layer k on device j for
    k = 1..K: maps kept where they are across elementwise edges, the rest sent round-robin over the
    senders; the layers after K copy layer K's owners, the fc goes to ``fc_owner``, the source's
    layers to the source."""
    inst, r = tm.inst, tm.r
    prof = inst.profile(r)
    lay, L, s = prof.layers, prof.n_layers, int(inst.request_source[r])
    own: list[np.ndarray] = [np.full(lay[0].segments, s)]
    for k in range(1, L):
        P = lay[k].segments
        if k > tm.K:
            own.append(own[tm.K].copy() if lay[k].kind != "fc" else np.full(P, fc_owner if k < L - 1 else s))
            continue
        want = counts[k, : inst.n_devices]
        prev = own[k - 1]
        a = np.full(P, -1)
        if k > 1 and edges(prof)[k][0].kind == "flow":
            have = {j: list(np.flatnonzero(prev == j)) for j in range(inst.n_devices)}
            spare = []
            for j in range(inst.n_devices):
                keep = have[j][: want[j]]
                a[keep] = j
                spare.append(have[j][want[j]:])
            pool = [p for q in itertools.zip_longest(*spare) for p in q if p is not None]  # round-robin over senders
            it = iter(pool)
            for j in range(inst.n_devices):
                for _ in range(want[j] - int(np.sum(a == j))):
                    a[next(it)] = j
        else:
            a = np.repeat(np.arange(inst.n_devices), want)
        own.append(a.astype(int))
    return own


def column(inst: Instance, r: int, prices: dict[str, np.ndarray], x: np.ndarray,
           m: TrajectoryModel | None = None) -> tuple[float, list[np.ndarray]]:
    """The real placement of request ``r`` made from the MILP's point ``x`` (of ``m``, default the
    whole relaxation's model, whose columns :meth:`TrajectoryModel.below` keeps): the fc on the
    device that prices it least. Returns (its priced value in seconds, its owners per layer)."""
    tm = Terms.of(inst, r, prices)
    counts = trajectories(m if m is not None else build(inst, r, prices), tm, x)
    value, f = min((priced_value(inst, r, placement(tm, counts, f), prices), f) for f in range(inst.n_devices))
    return value, placement(tm, counts, f)


class FarLP:
    """The pricing model's LP relaxation (:meth:`optdist.milp.decomposition.pricing.PricingModel.lp_value`)
    with one stage time held from below: a valid lower bound on ``v(pi)`` over the placements whose
    stage k lasts at least that long (module docstring, "split")."""

    def __init__(self, inst: Instance, r: int, prices: dict[str, np.ndarray]) -> None:
        import pyomo.environ as pyo

        from optdist.milp.decomposition.pricing import PricingModel
        from optdist.milp.run import adapter_for

        pm = PricingModel(inst, r, solver="highs")
        pm.set_prices(prices)
        self.m = pm.b.model.clone()
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(self.m)
        self.tu, self.r = pm.b.time_unit, r
        self.adapter = adapter_for("highs")
        self.calls = 0

    def value(self, k: int, at_least: float | None = None) -> float:
        """The LP's value (seconds) with stage k's time ``>= at_least`` seconds (None: no such row):
        ``inf`` where the LP has no point (no placement has such a stage), ``-inf`` where the solver
        did not prove its optimum (a value it did not prove bounds nothing)."""
        from optdist.result import Termination

        T = self.m.T[self.r, k]
        old = T.lb
        if at_least is not None:
            T.setlb(max(old or 0.0, at_least / self.tu))
        try:
            self.calls += 1
            out = self.adapter.solve(self.m, threads=1)
        finally:
            T.setlb(old)
        if out.termination is Termination.INFEASIBLE:
            return math.inf
        if out.termination is not Termination.OPTIMAL or out.incumbent is None:
            return -math.inf
        return float(out.incumbent) * self.tu


def _passed() -> bool:
    """True once the deadline of the enclosing :func:`optdist.solvers.base.run_deadline` has passed."""
    left = deadline_left()
    return left is not None and left <= MIN_SOLVER_S


def _not_started() -> dict:
    """:func:`solve`'s answer where the deadline had passed: no bound, no point."""
    return {"bound": -math.inf, "value": math.inf, "status": "not started: the deadline has passed",
            "seconds": 0.0, "nodes": 0, "x": None}


def split_bound(inst: Instance, r: int, prices: dict[str, np.ndarray], target: float, *, time_limit: float,
                log: bool = False) -> dict:
    """A lower bound on ``v(pi)`` split by stage times (module docstring, "split"): for each layer k the
    lowest level ``X_k`` of the relaxation's stage time at which :class:`FarLP` reaches ``target``;
    the placements with some stage at or above its ``X_k`` are bounded by those LPs, the others by
    the relaxation's MILP with every stage under its ``X_k``. Returns ``{"bound", "near", "far",
    "first_out", "seconds"}`` (seconds; ``far``: per layer the LP value at ``X_k``, None where
    every level stays in the MILP). Inside :func:`optdist.solvers.base.run_deadline`, no LP or MILP
    starts once its deadline has passed (each gets the time left): the layers not searched by then
    keep every level in the MILP, which is then not started (``near["status"]`` says so; the bound
    ``-inf``); the split stays valid."""
    t0 = time.perf_counter()
    m = build(inst, r, prices)
    far_lp = None if _passed() else FarLP(inst, r, prices)
    first_out, far = [], []
    for k in range(1, len(m.levels) + 1):
        vals = m.levels[k - 1]
        lo, hi = m.floor[k - 1] + 1, len(vals)  # X_k's index in [lo, hi]; hi: none
        best = None
        while lo < hi and far_lp is not None and not _passed():
            mid = (lo + hi) // 2
            v = far_lp.value(k, float(vals[mid]))
            if v >= target:
                hi, best = mid, v
            else:
                lo = mid + 1
        if best is None and hi < len(vals):
            best = far_lp.value(k, float(vals[hi]))
        first_out.append(hi)
        far.append(best)
        if log:
            print(f"  layer {k}: near levels {m.floor[k - 1]}..{hi - 1} of {len(vals)} "
                  f"({vals[m.floor[k - 1]] * 1e3:.4f}..{vals[hi - 1] * 1e3:.4f} ms), far LP "
                  f"{'-' if best is None else format(best, '.6f')}", flush=True)
    near = _not_started() if _passed() else solve(m.below(first_out), time_limit=time_limit, log=log)
    bound = min([near["bound"]] + [f for f in far if f is not None])
    return {"bound": bound, "near": near, "far": far, "first_out": first_out, "lp_calls": far_lp.calls if far_lp else 0,
            "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="trajectory_bound.py", description=__doc__.splitlines()[0])
    p.add_argument("file", help="saved pricing prices (benchmarks/scale/pricing_prices/*.json)")
    p.add_argument("--only", type=int, nargs="*")
    p.add_argument("--time-limit", default=60.0, help="seconds of the MILP (HiGHS, 1 thread)",
                   action=number_flag("a finite number of seconds > 0", "60", within=lambda v: v > 0))
    p.add_argument("--lp", action="store_true", help="the whole relaxation's LP only")
    p.add_argument("--split", metavar="AIM", action=number_flag("a finite number, the aim for L(pi)", "0.4440"),
                   help="split by stage times (split_bound) aiming at L(pi) >= AIM (one request class)")
    p.add_argument("--column-out", help="write the real placement made from the MILP's best point here (JSON)")
    p.add_argument("--log", action="store_true")
    try:  # before any work (a nan limit ran without one, until stopped: 577 s on cifar-6x5 --only 0)
        args = p.parse_args(argv)
        if args.column_out:
            check_output_file(args.column_out, "--column-out")
    except (FlagError, OutputPathError) as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        return _run(args)
    except (OSError, ValueError, KeyError, TypeError) as e:  # DocumentError is a ValueError
        what = f"field {e}" if isinstance(e, KeyError) else str(e)
        print(f"{p.prog}: error: {args.file}: {what} (fix: give a prices file written by "
              "benchmarks/scale/pricing_probe.py capture, run from the repository root)", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    with open(args.file) as f:
        data = json.load(f)
    inst = load_instance(data["instance"])
    n = len(data["solves"])
    bad = [q for q in args.only or [] if not 0 <= q < n]
    if bad:  # before: nothing run, exit 0, not a word
        print(f"trajectory_bound.py: error: --only {' '.join(map(str, bad))}: {args.file} holds {n} saved solves "
              f"(fix: give indices 0..{n - 1})", file=sys.stderr)
        return 2
    caps = np.nan_to_num(capacity_matrix(inst), posinf=0.0)
    for q, sv in enumerate(data["solves"]):
        if args.only is not None and q not in args.only:
            continue
        prices = {k: np.asarray(v, dtype=float) for k, v in sv["prices"].items()}
        part = -float(sum(np.asarray(prices[res]) @ caps[:, k] for k, res in enumerate(RESOURCES)))
        if args.split is not None:
            target = (args.split - part) / inst.n_requests
            out = split_bound(inst, sv["r"], prices, target, time_limit=args.time_limit, log=args.log)
            res = out["near"]
            print(f"solve {q}: pricing bound needed {target:.6f}; far LPs (per layer, at X_k) "
                  + " ".join("-" if f is None else f"{f:.6f}" for f in out["far"])
                  + f"; near MILP bound {res['bound']:.6f} (best point {res['value']:.6f}, {res['status']}, "
                  f"{res['seconds']:.0f} s, {res['nodes']} nodes); split bound {out['bound']:.6f} "
                  f"({out['seconds']:.0f} s in all)", flush=True)
            m = None
        else:
            m = build(inst, sv["r"], prices)
            res = solve(m, time_limit=args.time_limit, lp=args.lp, log=args.log)
            out = {"bound": res["bound"]}
            print(f"solve {q}: {'LP' if args.lp else 'bound'} {res['bound']:.6f}  best point {res['value']:.6f}  "
                  f"{res['status']}  {res['seconds']:.1f} s, {res['nodes']} nodes", flush=True)
        print(f"  run: column {sv['value']:.6f}, bound {sv['bound']:.6f}; L(pi) = {part:.6f} + {inst.n_requests} x "
              f"{out['bound']:.6f} = {part + inst.n_requests * out['bound']:.6f}", flush=True)
        if res.get("x") is not None:
            value, own = column(inst, sv["r"], prices, res["x"], m)
            print(f"  a real placement from its best point: priced value {value:.6f}; "
                  f"L(pi) can be at most {part + inst.n_requests * value:.6f} at these prices", flush=True)
            if args.column_out:
                atomic_write_json(args.column_out, {"prices": args.file, "solve": q, "r": sv["r"],
                                                    "priced_value": value, "owners": [a.tolist() for a in own]},
                                  indent=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
