"""Certified gaps for instances whose requests couple through capacities (benchmarks/scale).

Requests interact only through the shared node capacities (MODEL.md section
6). Dropping the memory and compute sharing and the sources' bandwidth rows, and dualising
every device's bandwidth row ``sent_i <= B_i`` with one multiplier ``lambda >= 0`` (s/byte),
gives for every lambda a valid lower bound

    L(lambda) = sum_r [ min_r (latency_r + lambda * shared_r) - lambda * S_r ] - lambda * sum_{i in D} B_i  <=  OPT,

because the devices send ``sum_r (shared_r - src_r)`` bytes, where ``src_r <= S_r`` is what
request r's own source sends (``S_r``: the output bytes of every layer the source may run
before the last one), and every feasible placement has ``sent_i <= B_i``. Each inner minimum
is bounded below by (i) the request's latency alone, as bounded by the decomposition
(:func:`optdist.milp.decomposition.orchestrate.solve_classes`, valid for every lambda), and (ii)
:func:`pattern_bound`: a shortest path over the numbers of owners of consecutive layers with
lower bounds on each stage time and on the bytes moved into it, valid for every placement with
those owner counts. ``max_lambda L(lambda)`` over a grid is the certified lower bound.

The incumbent comes from :func:`optdist.bench.columns.incumbent`. Result: ``objective`` = that
placement, ``bound`` = ``max L(lambda)`` over a lambda grid;
``gap(objective, bound)`` certifies the distance to the optimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from optdist.bench.columns import incumbent, request_classes
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.result import SolveResult, Termination, gap


def source_bytes_max(inst: Instance, r: int) -> float:
    """``S_r``: the output bytes of every layer before the last that request r's source may run."""
    prof, lim = inst.profile(r), inst.limit(r)
    return float(sum(la.out_bytes for k, la in enumerate(prof.layers[:-1]) if k == 0 or lim.on_source[k]))


def device_capacity(inst: Instance) -> float:
    """``sum_{i in D} B_i``."""
    return float(inst.bandwidth_capacity[: inst.n_devices].sum())


def decomposition_bounds(inst: Instance, *, time_limit: float, mip_gap: float, threads: int | None) -> tuple[dict[int, float], list[dict]]:
    """Per request, the decomposition's bound on its latency alone (``L(0)`` terms), and the log."""
    from optdist.milp.decomposition.orchestrate import solve_classes

    log: list[dict] = []
    out: dict[int, float] = {}
    for reqs, s in solve_classes(inst, time_limit=time_limit, mip_gap=mip_gap, threads=threads, log=log):
        if s.bound is not None:
            out.update({r: float(s.bound) for r in reqs})
    return out, log


def _states(inst: Instance, r: int, k: int) -> np.ndarray:
    """Possible numbers of owners of layer k of request r: 0 = its source, else 1..P devices."""
    la, lim = inst.profile(r).layers[k], inst.limit(r)
    if k == 0 or lim.on_source[k]:
        return np.array([0])
    if la.kind == "fc":
        return np.array([1])
    cap = lim.device_cap[k]
    return np.arange(math.ceil(la.segments / cap) if cap else 1, min(la.segments, inst.n_devices) + 1)


def transition_bounds(inst: Instance, r: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer k >= 1, lower bounds on its stage time ``T_k`` and on the bytes moved into it,
    for every (owners of k-1, owners of k) count pair (rows, columns as :func:`_states`).

    With ``m`` device owners, ``P`` segments of ``c`` multiplications: ``T_k >= P c / E_m`` (the
    slowest-finishing owner; ``E_m``: the m largest speeds) and ``T_k >= ceil(P/m) c / e_max``
    (the busiest owner); when every owner must receive (the previous layer on the source, or a
    conv on >= 2 owners) the first gains the least any owner receives / ``rho_max`` (one map, all
    maps before an fc, one vector after an fc) and the second what the busiest one receives. Bytes: a conv on ``s`` senders sends every
    receiver's maps from each sender but itself (``>= (s-1) N beta``, ``N beta`` from the
    source); elementwise flows move every map to or from the source, and at least one map to
    each owner beyond the previous owner count (``(s-1) beta`` into an fc); an fc vector
    reaches every other owner.
    """
    layers, src = inst.profile(r).layers, int(inst.request_source[r])
    dev = np.sort(inst.mults_per_s[: inst.n_devices])[::-1]
    e_top, rho = np.concatenate([[0.0], np.cumsum(dev)]), float(inst.rate.max())
    out = []
    for k in range(1, len(layers)):
        prev, la = layers[k - 1], layers[k]
        a, b = _states(inst, r, k - 1)[:, None].astype(float), _states(inst, r, k)[None, :].astype(float)
        P, c, beta = la.segments, la.mults_per_segment, float(prev.beta)
        n = la.segments if la.kind != "fc" else prev.out_maps  # maps the owners of k need in all
        m = np.maximum(b, 1)
        share = np.ceil(P / m)  # segments of the busiest owner
        must = (b > 0) & ((a == 0) | ((prev.kind == "conv") & (a >= 2)))  # every owner receives
        least = beta if prev.kind == "fc" or la.kind != "fc" else n * beta  # what any receiver needs
        most = beta if prev.kind == "fc" else (share * beta if la.kind != "fc" else n * beta)  # the busiest one
        t_dev = np.maximum(P * c / e_top[m.astype(int)] + np.where(must, least / rho, 0.0),
                           share * c / dev[0] + np.where(must, most / rho, 0.0))
        t = np.where(b == 0, P * c / inst.mults_per_s[src], t_dev)
        if prev.kind == "conv":
            byt = np.where(a == 0, np.where(b == 0, 0.0, n * beta), np.where(b == 0, a * n * beta, (a - 1) * n * beta))
        elif prev.kind == "elementwise":
            moved = np.maximum(a - 1, 0) if la.kind == "fc" else np.maximum(b - a, 0)
            byt = np.where((a == 0) != (b == 0), n * beta, moved * beta)
        else:
            byt = np.where(a == 0, np.where(b == 0, 0.0, b * beta), np.where(b == 0, beta, np.maximum(b - 1, 0) * beta))
        out.append((np.broadcast_to(t, (a.size, b.size)).copy(), np.broadcast_to(byt, (a.size, b.size)).astype(float)))
    return out


def pattern_bound(inst: Instance, r: int, lam: float, bounds: list[tuple[np.ndarray, np.ndarray]] | None = None,
                  time_weight: float = 1.0) -> float:
    """Valid lower bound on ``min (time_weight * latency_r + lam * shared_r)`` over every placement
    of request r: the cheapest owner-count sequence under :func:`transition_bounds` (dynamic
    programming); infinite when a layer's privacy cap needs more devices than there are."""
    layers, src = inst.profile(r).layers, int(inst.request_source[r])
    cost = np.array([time_weight * layers[0].total_mults / inst.mults_per_s[src]])
    for t, byt in bounds or transition_bounds(inst, r):
        if not t.size:
            return math.inf
        cost = (cost[:, None] + time_weight * t + lam * byt).min(axis=0)
    return float(cost.min())


def device_bytes_needed(inst: Instance) -> float:
    """A lower bound on the bytes the devices must send in any placement:
    ``sum_r (min shared_r - S_r)``. Above ``sum_{i in D} B_i`` it proves the instance infeasible
    (then ``L(lambda)`` grows without bound)."""
    return sum(pattern_bound(inst, c[0], 1.0, transition_bounds(inst, c[0]), time_weight=0.0) * len(c)
               - sum(source_bytes_max(inst, r) for r in c) for c in request_classes(inst))


def lagrangian_bound(inst: Instance, lambdas: Sequence[float], alone: dict[int, float]) -> tuple[float, float, list[dict]]:
    """``max L(lambda)`` with per-request terms ``max(alone_r + lambda * bytes_r, pattern_bound_r(lambda))``.

    ``alone_r`` bounds request r's latency alone and ``bytes_r`` its shared data (both over
    every placement), so ``min (latency + lambda * shared) >= alone_r + lambda * bytes_r``.
    Returns (bound, its lambda, the curve).
    """
    classes = request_classes(inst)
    tb = [transition_bounds(inst, c[0]) for c in classes]
    least = [pattern_bound(inst, c[0], 1.0, b, time_weight=0.0) for c, b in zip(classes, tb)]
    offset = sum(source_bytes_max(inst, r) for r in range(inst.n_requests)) + device_capacity(inst)
    curve = []
    for lam in lambdas:
        total = 0.0
        for c, b, by in zip(classes, tb, least):
            pb = pattern_bound(inst, c[0], lam, b)
            total += sum(max(alone.get(r, -math.inf) + lam * by, pb) for r in c)
        curve.append({"lambda_s_per_byte": lam, "lower_bound": total - lam * offset})
    best = max(curve, key=lambda e: e["lower_bound"])
    return best["lower_bound"], best["lambda_s_per_byte"], curve


LAMBDAS = (0.0, *(10.0 ** (e / 8) for e in range(-96, -47)))  # 0 and 1e-12 .. 1e-6 s/byte, 8 per decade


def solve_lagrangian(
    inst: Instance,
    *,
    rounds: int = 12,
    lambdas: Sequence[float] = LAMBDAS,
    decomposition_s: float = 120.0,
    threads: int | None = 1,
    mip_gap: float = 1e-6,
) -> SolveResult:
    """Incumbent by :func:`incumbent`; bound by :func:`lagrangian_bound` over ``lambdas``.

    Terminates ``infeasible`` at once when :func:`device_bytes_needed` exceeds the devices'
    total bandwidth. ``decomposition_s`` (0: skip) is the time given to the decomposition's
    per-request bounds (:func:`decomposition_bounds`), which strengthen the small-lambda end.
    """
    obj = inst.objective
    if obj.kind != "latency" or obj.shared_weight or obj.admission or obj.uplink != "parallel":
        raise ValueError("solve_lagrangian needs the plain latency objective (no shared weight or admission, parallel uplink)")
    t0 = time.perf_counter()
    res = SolveResult(inst.name, "lagrangian", Termination.NO_SOLUTION, solver="highs", formulation="decomposed",
                      options={"rounds": rounds, "decomposition_s": decomposition_s, "mip_gap": mip_gap,
                               "lambdas": [min(lambdas), max(lambdas), len(lambdas)]})
    needed, capacity = device_bytes_needed(inst), device_capacity(inst)
    res.extra.update(device_bytes_needed=needed, device_bandwidth_total=capacity)
    if needed > capacity * (1 + 1e-9):  # the devices' radios cannot carry any placement
        res.termination = Termination.INFEASIBLE
        res.wall_time = time.perf_counter() - t0
        return res
    res.assignment, primal = incumbent(inst, rounds=rounds)
    if res.assignment is not None:
        res.objective = evaluate(inst, res.assignment).objective
    primal_s = time.perf_counter() - t0
    alone, dec_log = ({}, []) if decomposition_s <= 0 else decomposition_bounds(
        inst, time_limit=decomposition_s, mip_gap=mip_gap, threads=threads)
    res.bound, lam, curve = lagrangian_bound(inst, lambdas, alone)
    res.extra.update(primal=primal, primal_s=primal_s, bound_lambda=lam, dual_curve=curve, decomposition=dec_log)
    g = gap(res.objective, res.bound)
    if res.objective is not None:
        res.termination = Termination.OPTIMAL if g is not None and g <= mip_gap else Termination.TIME_LIMIT
    res.wall_time = time.perf_counter() - t0
    return res
