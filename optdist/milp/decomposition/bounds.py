"""Stage lower bounds and their propagation for one request (data only, no solver).

Used by the ``tight`` formulation (stage-time cuts ``T[r,k] >= LB_k``) and by the
single-request solve (rising latency cutoffs shrink the per-node bounds ``u[k][i]`` on
``n[r,k,i]``). Times are in seconds. Source: MODEL.md sections 4-5 (stage time = compute of
the slowest owner plus the longest transfer it waits for), paper eqs. 5-7, and section 9 (on a
DAG the longest over every edge ``u -> k`` into the layer: :func:`optdist.transfers.edges`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optdist.evaluate import capacity_limit
from optdist.instance import Instance
from optdist.transfers import Edge, edges

INF = math.inf


def capacities(inst: Instance) -> dict[str, np.ndarray]:
    """Per-node capacities keyed ``memory`` (bytes), ``compute`` (mults/period), ``bandwidth``
    (bytes/period), each the most a node may use (:func:`optdist.evaluate.capacity_limit`)."""
    return {
        "memory": capacity_limit(np.asarray(inst.memory, dtype=float)),
        "compute": capacity_limit(np.asarray(inst.compute_capacity, dtype=float)),
        "bandwidth": capacity_limit(np.asarray(inst.bandwidth_capacity, dtype=float)),
    }


def capacity_matrix(inst: Instance) -> np.ndarray:
    """(n_nodes, 3) float capacities, columns in :data:`optdist.transfers.RESOURCES` order
    (memory bytes, multiplications per period, bytes sent per period; MODEL.md section 6), each
    the most a node may use (:func:`optdist.evaluate.capacity_limit`)."""
    return capacity_limit(np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1).astype(float))


def stage_wait_curves(inst: Instance, r: int, k: int, nodes: list[np.ndarray], ub: list[np.ndarray]) -> list[np.ndarray]:
    """``g_j(n)`` (seconds) for each candidate j of layer k and n = 1..u_j: a lower bound on
    the stage time ``T[r,k]`` of any solution in which j owns n segments of layer k.

    ``g_j(n)`` = j's compute ``n c_k / e_j`` plus the least transfer j must wait for (eq. 6;
    MODEL.md section 9: the largest over the edges ``u -> k``, :func:`edge_wait`) given only
    the candidates and per-node bounds ``ub`` of the input layers; non-decreasing in n.
    """
    prof = inst.profile(r)
    secs = inst.segment_seconds(r)[k]
    into = edges(prof)[k]
    out = []
    for j, u in zip(nodes[k], ub[k]):
        j, u = int(j), int(u)
        n = np.arange(1, u + 1)
        comp = n * secs[j]
        waits = [edge_wait(inst, ed, j, n, nodes[ed.u], ub[ed.u]) for ed in into]
        wait = waits[0] if len(waits) == 1 else np.maximum.reduce(waits) if waits else np.zeros(u)
        out.append(np.maximum.accumulate(comp + wait))
    return out


def edge_wait(inst: Instance, ed: Edge, j: int, n: np.ndarray, S: np.ndarray, uS_arr: np.ndarray) -> np.ndarray:
    """Least time (seconds) receiver j waits for edge ``ed`` (u -> k) when it owns ``n`` (array)
    segments of k, given u's candidates ``S`` and their bounds ``uS_arr`` (MODEL.md sections 4, 9).

    j owns at least ``n - (P_k - span)`` of the segments that read u (all of them unless k is a
    concat). Per kind (:mod:`optdist.transfers`): conv, unless j may own all of u, some other
    owner sends its partial sums of j's maps; flow, the maps j cannot hold itself arrive from
    the other candidates, the busiest sending at least an equal share; to_fc, likewise every map
    of u; fc, the vector unless j may own u; group (a grouped convolution), the partial sums of
    each map of j whose group's input maps j cannot all own, shared likewise.
    Every sender is taken at the fastest radio among u's candidates.
    """
    uS = {int(i): int(v) for i, v in zip(S, uS_arr) if v > 0}
    senders = list(uS)
    rho_max = float(inst.rate[senders].max()) if senders else 1.0
    others = len(senders) - (1 if j in uS else 0)
    ns = np.maximum(n - (ed.receiver_segments - ed.span), 0) if ed.sliced else n
    own_u = uS.get(j, 0)
    if ed.kind == "conv":
        can_be_sole = own_u >= ed.sender_segments
        if can_be_sole or others == 0:
            return np.zeros(len(n))
        if ed.per_pair:  # one receiving segment (an fc layer): every partial-sum map
            return (ns > 0) * ed.per_pair / rho_max
        return ns * ed.per_receiver_segment / rho_max
    if ed.kind == "flow":
        rest = ns - np.minimum(ns, own_u)
        return np.where(rest > 0, np.ceil(rest / max(others, 1)) * ed.beta / rho_max, 0.0)
    if ed.kind == "to_fc":  # the fc owner j needs every map it does not own
        rest = ed.sender_segments - min(own_u, ed.sender_segments)
        return np.full(len(n), math.ceil(rest / max(others, 1)) * ed.beta / rho_max if rest > 0 else 0.0)
    if ed.kind == "fc":  # the whole vector, unless j owned the fc layer
        if j in uS:
            return np.zeros(len(n))
        return np.where(ns > 0, ed.beta / rho_max, 0.0)
    # group (section 9): a map q of group G(q) reaches j from no other node only if j owns all
    # a = P_u/g input maps of that group, which j can do for at most floor(u_j / a) groups
    whole = own_u // (ed.sender_segments // ed.groups)
    if others == 0:
        return np.zeros(len(n))
    per_group = ed.out_maps // ed.groups
    if ed.span == 1:  # an fc receiver needs every map of every group (per_group maps each)
        rest = max(ed.groups - whole, 0)
        return np.where(ns > 0, math.ceil(rest / others) * per_group * ed.beta / rho_max, 0.0)
    rest = np.maximum(ns - whole * per_group, 0)
    return np.ceil(rest / others) * ed.beta / rho_max


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


def base_bounds(inst: Instance, r: int, devices: Sequence[int] | None = None,
                capacity: dict[str, np.ndarray] | None = None,
                relax: frozenset[str] = frozenset()) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Candidates and per-node upper bounds on ``n[r,k,i]`` from placement, privacy, memory, compute."""
    cap = capacity or capacities(inst)
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
                # in floats first: 1e22 mults / 9 per segment would overflow int64
                u = np.minimum(u, np.floor(cap[fam][cand] / per * (1 + 1e-12))).astype(np.int64)
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
    ``u_j`` drops. Repeated to a fixpoint (smaller bounds on an input layer u of k raise the
    curves of layer k). Valid for the subproblem of request r alone: ``latency_r >= lower_bound``.
    """
    layers = inst.profile(r).layers
    L = len(layers)
    src = int(inst.request_source[r])
    t0 = layers[0].segments * inst.segment_seconds(r)[0, src]
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
