"""The ``tight`` formulation: compact counts, stage times without pairwise big-Ms where the
product structure allows (MODEL.md sections 4-7, paper eqs. 5-7).

Same decision variables as *compact* (``n[r,k,i]`` owned segments, ``y[r,k,i]``
participation, integer flows ``f[r,k,i,j]`` across elementwise -> non-fc transitions, ``T[r,k]``
in ``TIME_UNIT`` seconds) and the same families ``one_owner``, ``placement``, ``memory``,
``compute``, ``bandwidth``, ``privacy`` (:mod:`optdist.milp.constraints`). Only ``transfers``
and ``stage_time`` differ: instead of one product ``O[i,j]`` per sender/receiver pair, each
transition kind (eq. 6) is written through what a receiver must wait for and what a sender
ships in total, with auxiliaries ``z``, ``s``, ``g``, ``v``, ``x``, ``wv`` (functions below,
maths in their docstrings). Added on top, valid for every solution:

* stage cuts ``T[r,k] >= LB_k * a_r`` (:func:`stage_cuts`, by
  :func:`optdist.milp.decomposition.bounds.makespan_bound`: the least makespan of spreading
  the layer over its candidates; exact for a stage fed by one sender, where the LP
  relaxation spreads segments fractionally);
* owner-count cuts ``T[r,k] >= alpha a_r - beta sum_j y[r,k,j]`` (:func:`owner_count_cuts`:
  with q owners one of them holds ``ceil(P_k / q)`` segments; the LP relaxation otherwise
  counts few owners for the transfers and many for the stage time);
* speed cuts ``T[r,k] >= alpha a_r - beta sum_j y[r,k,j] / c_j`` (:func:`speed_cuts`: tangents of
  ``T >= P_k / (owners' summed speed)``; each participation weighted by its node's speed, where
  the owner-count cuts count every owner as the fastest);
* (not in the formulation: an option of a built model, used by the column generation's pricing)
  kept-amount cuts ``T[r,s] >= LB_s (a_r - y[r,l,j]) + slope_j p`` (:func:`kept_cuts`,
  :func:`add_kept_cuts`: an amount ``p`` of stage s's segments that node j keeps costs stage
  time even where the LP leaves its participation ``y`` fractional);
* (not in the formulation either: an option of a built model, used by the same pricing)
  group-count cuts ``T[r,k] >= alpha a_r - sum_c beta_c sum_{j in c} y[r,k,j]``
  (:func:`group_count_cuts`, :func:`add_group_count_cuts`: facets of the lower convex hull of the
  stage bound over the number of owners in each class of devices with equal per-owner bounds);
* (an option of a built model too, which the pricing adds on request) class-load cuts
  ``T[r,k] >= alpha a_r - beta_q sum_{j in c} y[r,k,j] - beta_n sum_{j in c} n[r,k,j]``
  (:func:`class_load_cuts`, :func:`add_class_load_cuts`: facets of the lower convex hull of the
  stage bound over a class's owners and the segments it holds, the others' least makespan on
  the rest);
* symmetry: within each group of identical devices (equal in every field), the total number
  of segments held is non-increasing in the device index (a model of one request may order them
  lexicographically by their segments per layer instead: :func:`lexicographic_symmetry`, used
  by the column generation's pricing); within each group of requests that
  differ only by their (identical, unshared) sources, latency is non-decreasing in the request
  index (block ``model.symmetry``; warm starts are permuted to satisfy both, which keeps
  their objective).

With the serial uplink (MODEL.md section 5), the per-sender totals need the pairwise
indicators ``u[i,j]``: the ``transfers`` / ``stage_time`` families are then those of *compact*
(pairwise ``O``), with the stage cuts and symmetry kept.

Pricing API (column generation, :mod:`optdist.milp.decomposition.colgen`), on any formulation::

    b = build(inst, "tight", requests=[r])      # one request, full capacities
    b.latency(r)               # Pyomo expression, TIME_UNIT seconds: sum_k T[r,k]
    b.usage(r, i, "memory")    # bytes of weights node i holds for r          (inst.memory units)
    b.usage(r, i, "compute")   # multiplications per period node i runs for r (inst.compute_capacity)
    b.usage(r, i, "bandwidth") # bytes per period node i sends for r          (inst.bandwidth_capacity)
    b.set_objective(b.latency(r) + sum(dual[i, res] / TIME_UNIT * b.usage(r, i, res) ...))

``usage(..., "bandwidth")`` is a lower-McCormick expression: it is >= the true bytes and equal
to them at every optimum where its price is positive (the only way it appears). Re-solving
with new prices: change the objective and solve again (a persistent solver such as
``pyomo.contrib.solver.solvers.highs.Highs`` updates only the objective).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from optdist.milp import constraints as C
from optdist.milp.data import TIME_UNIT, conv_coef
from optdist.milp.variables import add_map_transfer_variables, add_sent, receiving
from optdist.milp.decomposition.bounds import makespan_bound, stage_wait_curves

if TYPE_CHECKING:
    from optdist.assignment import Assignment
    from optdist.milp.model import BuiltModel


def _block(b: BuiltModel, family: str) -> pyo.Block:
    blk = pyo.Block(concrete=True)
    b.model.add_component(family, blk)
    return blk


def _single_rate(b: BuiltModel, r: int, t: int) -> float | None:
    """The one radio rate among the possible senders of transition t, or None if several."""
    rates = {float(b.inst.rate[i]) for i in b.data.active(r, b.data.src(r, t))}
    return next(iter(rates)) if len(rates) == 1 else None


def _can_be_sole(b: BuiltModel, r: int, t: int, j: int) -> bool:
    """Node j may own every segment of transition t's sender u (then it waits for no partial sums)."""
    d = b.data
    u, k = d.src(r, t), d.dst(r, t)
    return d.nmax[r][u, j] >= d.layers(r)[u].segments and d.nmax[r][k, j] > 0


def add_tight_transfer_variables(b: BuiltModel) -> None:
    """Auxiliaries per transition kind (only pairs of active nodes exist); fills ``b.sent``.

    * ``flow``: ``f[r,k,i,j]`` integer (``i = j`` included: maps that stay), as *compact*;
    * ``to_fc``: ``z[r,k,i] = n[r,k-1,i] * x[r,k,i]`` (maps i keeps for its own fc layer);
    * ``conv``, one rate: binary ``s[r,k,j]`` (j is the sole owner of layer k-1),
      ``g[r,k,j] = s * need_j``; every kind of conv: ``v[r,k,i] = y[r,k-1,i] * need_i``
      (partial sums i keeps), ``need_j = n[r,k,j]`` (``x[r,k,j]`` into an fc layer);
    * ``fc -> fc``: ``x2[r,k,i] = x[r,k-1,i] * x[r,k,i]``; ``fc -> non-fc``: ``wv[r,k,i,j] = x_i y_j``.

    ``b.sent[r,k,i]`` = bytes node i ships into layer k (eq. 6, summed over receivers).
    Transitions that need map identity (:meth:`BuiltModel.map_edge`: grouped convolutions,
    whole-map edges between layers indexed per map) keep the pairwise ``O`` / ``w`` of
    :func:`optdist.milp.variables.add_map_transfer_variables`.
    """
    m, d = b.model, b.data
    idx = {name: [] for name in ("f", "z", "s", "g", "v", "x2", "wv")}
    idx_o = []
    for r in d.requests:
        for t in d.transitions(r):
            u, k = d.src(r, t), d.dst(r, t)
            src, dst = d.active(r, u), d.active(r, k)
            both = [i for i in src if i in set(dst)]
            kind = d.kind(r, t)
            if b.map_edge(r, t):
                idx_o += [(r, t, i, j) for i in src for j in dst if i != j] if kind == "group" else []
            elif kind == "flow":  # flows that cannot arrive within stage_max are not created
                idx["f"] += [(r, t, i, j) for i in src for j in dst if i == j or d.flow_max(r, t, i, j) > 0]
            elif kind == "to_fc":
                idx["z"] += [(r, t, i) for i in both]
            elif kind == "conv":
                idx["v"] += [(r, t, i) for i in both]
                if _single_rate(b, r, t) is not None:
                    sole = [(r, t, j) for j in both if _can_be_sole(b, r, t, j)]
                    idx["s"] += sole
                    idx["g"] += sole
            elif d.layers(r)[k].kind == "fc":
                idx["x2"] += [(r, t, i) for i in both]
            else:
                idx["wv"] += [(r, t, i, j) for i in src for j in dst if i != j]

    m.f = pyo.Var(idx["f"], domain=pyo.NonNegativeIntegers, bounds=lambda _, r, t, i, j: (0, d.flow_max(r, t, i, j)))
    m.z = pyo.Var(idx["z"], bounds=lambda _, r, t, i: (0, int(d.nmax[r][d.src(r, t), i])))
    m.s = pyo.Var(idx["s"], domain=pyo.Binary)
    m.g = pyo.Var(idx["g"], bounds=lambda _, r, t, j: (0, d.recv_max(r, t, j)))
    m.v = pyo.Var(idx["v"], bounds=lambda _, r, t, i: (0, d.recv_max(r, t, i)))
    m.x2 = pyo.Var(idx["x2"], bounds=(0, 1))
    m.wv = pyo.Var(idx["wv"], bounds=(0, 1))
    add_map_transfer_variables(b, idx_o)
    add_sent(b, sorted(key for key in b.transfer if b.map_edge(key[0], key[1])))
    for r, t, i, j in idx["f"]:
        if i != j:
            b.transfer[r, t, i, j] = d.edge(r, t).beta * m.f[r, t, i, j]
    for r in d.requests:
        layers = d.layers(r)
        for t in d.transitions(r):
            ed = d.edge(r, t)
            if b.map_edge(r, t):
                continue
            u, k = ed.u, ed.k
            prev, la = layers[u], layers[k]
            beta, kind = float(prev.beta), ed.kind
            dst = d.active(r, k)
            for i in d.active(r, u):
                if kind == "flow":
                    expr = beta * (m.n[r, u, i] - (m.f[r, t, i, i] if (r, t, i, i) in m.f else 0))
                elif kind == "to_fc":
                    expr = beta * (m.n[r, u, i] - (m.z[r, t, i] if (r, t, i) in m.z else 0))
                elif kind == "conv":
                    total = 1 if la.kind == "fc" else ed.span
                    keep = m.v[r, t, i] if (r, t, i) in m.v else 0
                    expr = conv_coef(prev, la) * (total * b.y(r, u, i) - keep)
                elif la.kind == "fc":
                    expr = beta * (m.n[r, u, i] - (m.x2[r, t, i] if (r, t, i) in m.x2 else 0))
                else:
                    expr = beta * pyo.quicksum((m.wv[r, t, i, j] for j in dst if j != i))
                b.sent[r, t, i] = expr
                b.sent_max[r, t, i] = sum(d.pair_max_bytes(r, t, i, j) for j in dst if j != i)


def _tc(b: BuiltModel, r: int, k: int, j: int) -> pyo.Expression:
    """Compute time of node j on layer k, ``n[r,k,j] c_k / e_j`` (TIME_UNIT; measured where given, section 9)."""
    c = b.inst.segment_seconds(r)[k, j] / TIME_UNIT
    return c * b.model.n[r, k, j]


def _tc_fc(b: BuiltModel, r: int, k: int) -> pyo.Expression:
    """Compute time of the one owner of fc layer k: ``sum_j x[r,k,j] c_k / e_j``."""
    return pyo.quicksum((_tc(b, r, k, j) for j in b.data.active(r, k)))


def add_tight_transfer_constraints(b: BuiltModel) -> None:
    """(eq. 6) what moves between consecutive layers, aggregated per sender or receiver.

    * participation: ``y[r,k,i] <= n[r,k,i] <= nmax * y[r,k,i]``;
    * ``flow``: ``sum_j f[i,j] = n[k-1,i]``, ``sum_i f[i,j] = n[k,j]``;
    * ``to_fc``: ``z_i <= n[k-1,i]``, ``z_i <= nmax[k-1,i] x[k,i]``;
    * ``conv``: ``v_i <= need_i``, ``v_i <= U_i y[k-1,i]``; one rate: ``P_{k-1} s_j <= n[k-1,j]``,
      ``g_j <= need_j``, ``g_j <= U_j s_j`` (``U_j``: bound on ``need_j``);
    * ``fc -> fc``: ``x2_i <= x[k-1,i]``, ``x2_i <= x[k,i]``; ``fc -> non-fc``: ``wv_ij >= x_i + y_j - 1``.

    Upper halves only where the variable is pushed up (stage time, bytes sent, objective),
    lower half where pushed down: at every optimum each equals its product.
    With the serial uplink: the pairwise rows of *compact* (:func:`constraints.add_transfer_constraints`).
    """
    if b.pairwise:
        C.add_transfer_constraints(b)
        return
    m, d = b.model, b.data
    blk = _block(b, "transfers")
    blk.y_le_n = pyo.Constraint(list(m.y), rule=lambda _, r, k, i: m.y[r, k, i] <= m.n[r, k, i])
    blk.n_le_my = pyo.Constraint(list(m.y), rule=lambda _, r, k, i: m.n[r, k, i] <= int(d.nmax[r][k, i]) * m.y[r, k, i])
    C.add_slice_constraints(b, blk)
    C.add_flow_constraints(b, blk)

    def need(r: int, t: int, j: int) -> pyo.Expression:  # segments of the receiving slice j must be sent (x into fc)
        return receiving(b, r, t, j)

    def src(r: int, t: int) -> int:
        return d.src(r, t)

    blk.z_le_n = pyo.Constraint(list(m.z), rule=lambda _, r, t, i: m.z[r, t, i] <= m.n[r, src(r, t), i])
    blk.z_le_x = pyo.Constraint(list(m.z), rule=lambda _, r, t, i: m.z[r, t, i]
                                <= int(d.nmax[r][src(r, t), i]) * m.n[r, d.dst(r, t), i])
    blk.v_le_need = pyo.Constraint(list(m.v), rule=lambda _, r, t, i: m.v[r, t, i] <= need(r, t, i))
    blk.v_le_y = pyo.Constraint(list(m.v), rule=lambda _, r, t, i: m.v[r, t, i] <= d.recv_max(r, t, i) * b.y(r, src(r, t), i))
    blk.sole = pyo.Constraint(list(m.s), rule=lambda _, r, t, j: d.layers(r)[src(r, t)].segments * m.s[r, t, j]
                              <= m.n[r, src(r, t), j])
    blk.g_le_need = pyo.Constraint(list(m.g), rule=lambda _, r, t, j: m.g[r, t, j] <= need(r, t, j))
    blk.g_le_s = pyo.Constraint(list(m.g), rule=lambda _, r, t, j: m.g[r, t, j] <= d.recv_max(r, t, j) * m.s[r, t, j])
    blk.x2_le_prev = pyo.Constraint(list(m.x2), rule=lambda _, r, t, i: m.x2[r, t, i] <= m.n[r, src(r, t), i])
    blk.x2_le_next = pyo.Constraint(list(m.x2), rule=lambda _, r, t, i: m.x2[r, t, i] <= m.n[r, d.dst(r, t), i])
    blk.wv = pyo.Constraint(list(m.wv), rule=lambda _, r, t, i, j: m.wv[r, t, i, j]
                            >= m.n[r, src(r, t), i] + b.y(r, d.dst(r, t), j) - 1)
    C.add_map_constraints(b, blk)


def _stage_rows(b: BuiltModel, r: int, t: int) -> list[pyo.Expression]:
    """Right-hand sides ``rhs`` of the rows ``T[r,k] >= rhs`` of transition t = u -> k (parallel uplink;
    ``need_j`` = the segments of t's receiving slice j owns).

    ``w = coef / rho`` (TIME_UNIT per byte-unit), ``tc_j = n[k,j] c_k / e_j``, ``tc_fc = sum_j tc_j``:

    * ``flow``: ``tc_j + beta f[i,j] / rho_i`` (i != j);
    * ``to_fc``: ``tc_fc + beta (n[k-1,i] - z_i) / rho_i`` for every possible sender i;
    * ``conv``, one rate among the senders: every receiver j waits for its partial sums unless
      it is the sole owner of layer k-1: ``base_j + w (need_j - g_j)`` (``base_j = tc_j``, or
      ``tc_fc`` into an fc layer; ``g`` absent where j cannot be the sole owner);
      several rates: ``tc_j + w_i (need_j - U_j (1 - y[k-1,i]))`` per pair i != j;
    * ``fc -> fc``: ``tc_fc + sum_i beta (x[k-1,i] - x2_i) / rho_i``;
    * ``fc -> non-fc``: ``tc_j + sum_{i != j} beta wv[i,j] / rho_i``;
    * a :meth:`~optdist.milp.model.BuiltModel.map_edge` (grouped convolution, whole maps between
      layers indexed per map): ``tc_j + O[i,j] / rho_i`` per pair i != j, as *compact*.
    """
    m, d, rho = b.model, b.data, b.inst.rate
    ed = d.edge(r, t)
    u, k = ed.u, ed.k
    prev, la = d.layers(r)[u], d.layers(r)[k]
    beta, kind = float(prev.beta), ed.kind
    src, dst = d.active(r, u), d.active(r, k)
    rows: list[pyo.Expression] = []
    if b.map_edge(r, t):
        rows += [_tc(b, r, k, j) + b.transfer[r, t, i, j] / (rho[i] * TIME_UNIT) for j in dst for i in src
                 if (r, t, i, j) in b.transfer]
    elif kind == "flow":
        for j in dst:
            rows += [_tc(b, r, k, j) + beta / (rho[i] * TIME_UNIT) * m.f[r, t, i, j] for i in src
                     if i != j and (r, t, i, j) in m.f]
    elif kind == "to_fc":
        tcf = _tc_fc(b, r, k)
        for i in src:
            keep = m.z[r, t, i] if (r, t, i) in m.z else 0
            rows.append(tcf + beta / (rho[i] * TIME_UNIT) * (m.n[r, u, i] - keep))
    elif kind == "conv":
        coef = conv_coef(prev, la)
        rate = _single_rate(b, r, t)
        tcf = _tc_fc(b, r, k) if la.kind == "fc" else None
        for j in dst:
            base = tcf if tcf is not None else _tc(b, r, k, j)
            if rate is not None:
                keep = m.g[r, t, j] if (r, t, j) in m.g else 0
                rows.append(base + coef / (rate * TIME_UNIT) * (receiving(b, r, t, j) - keep))
            else:
                U = d.recv_max(r, t, j)
                rows += [_tc(b, r, k, j) + coef / (rho[i] * TIME_UNIT) * (receiving(b, r, t, j) - U * (1 - b.y(r, u, i)))
                         for i in src if i != j]
    elif la.kind == "fc":
        wait = pyo.quicksum((beta / (rho[i] * TIME_UNIT) * (m.n[r, u, i] - (m.x2[r, t, i] if (r, t, i) in m.x2 else 0))
                             for i in src))
        rows.append(_tc_fc(b, r, k) + wait)
    else:
        for j in dst:
            rows.append(_tc(b, r, k, j) + pyo.quicksum(
                (beta / (rho[i] * TIME_UNIT) * m.wv[r, t, i, j] for i in src if i != j)))
    return rows


def stage_curves(b: BuiltModel) -> dict[tuple[int, int], tuple[np.ndarray, list[np.ndarray]]]:
    """Per request and layer ``(r, k)``: the candidates of layer k and their per-owner stage-time bounds
    ``g_j(n)`` (seconds, :func:`optdist.milp.decomposition.bounds.stage_wait_curves`, over every
    edge into k) under the model's ``nmax``; empty if ``transfers`` is relaxed (the bounds assume it)."""
    d = b.data
    if "transfers" in d.relax:
        return {}
    out = {}
    for r in d.requests:
        L = len(d.layers(r))
        nodes = [np.array(d.active(r, k), dtype=np.int64) for k in range(L)]
        ub = [d.nmax[r][k, nodes[k]] for k in range(L)]
        for k in range(1, L):
            out[r, k] = (nodes[k], stage_wait_curves(b.inst, r, k, nodes, ub))
    return out


def stage_cuts(b: BuiltModel, curves: dict | None = None) -> dict[tuple[int, int], float]:
    """``LB[r,k]`` (TIME_UNIT) for ``T[r,k] >= LB a_r`` (``curves``: :func:`stage_curves`, computed if None)."""
    curves = stage_curves(b) if curves is None else curves
    out: dict[tuple[int, int], float] = {}
    for (r, k), (_nodes, g) in curves.items():
        lb = makespan_bound(g, b.data.layers(r)[k].segments)
        if np.isfinite(lb) and lb > 0:
            out[r, k] = lb / TIME_UNIT * (1 - 1e-9)
    return out


def lower_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Lines ``(alpha, beta)``, one per edge of the lower convex hull of ``points`` ``(q, G)``,
    such that ``alpha - beta q <= G`` at every point (empty for fewer than two distinct q)."""
    hull: list[tuple[float, float]] = []
    for p in sorted(set(points)):
        if hull and hull[-1][0] == p[0]:
            continue  # same q: the smaller G (sorted first) is the binding one
        while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                                  - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])) <= 0:
            hull.pop()
        hull.append(p)
    lines = []
    for (q0, g0), (q1, g1) in zip(hull, hull[1:]):
        beta = (g0 - g1) / (q1 - q0)
        lines.append((g0 + beta * q0, beta))
    return lines


def owner_count_cuts(b: BuiltModel, curves: dict | None = None) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """``(alpha, beta)`` (TIME_UNIT) per multi-segment layer for ``T[r,k] >= alpha a_r - beta sum_j y[r,k,j]``.

    With q owners, one of them owns at least ``ceil(P_k / q)`` segments, so
    ``T[r,k] >= G(q) = min_j g_j(ceil(P_k / q))`` with the non-decreasing per-owner bounds
    ``g_j`` of :func:`optdist.milp.decomposition.bounds.stage_wait_curves` (compute plus the
    least wait; ``curves``: :func:`stage_curves`, computed if None). The rows are the edges of
    the lower convex hull of ``G`` over the possible q, so every solution satisfies them (a
    rejected request has q = 0 and ``a_r = 0``). The LP relaxation misses this: it spreads
    participation ``y`` fractionally, which makes transfers look cheap (few owners) and
    stages fast (many owners) at once.
    """
    curves = stage_curves(b) if curves is None else curves
    out: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for (r, k), (nodes, g) in curves.items():
        P = b.data.layers(r)[k].segments
        if P < 2 or len(nodes) < 2:
            continue
        pts = []
        for q in range(1, len(nodes) + 1):
            m = -(-P // q)
            vals = [float(c[m - 1]) for c in g if len(c) >= m]
            if vals:
                pts.append((float(q), min(vals) / TIME_UNIT * (1 - 1e-9)))
        lines = [(a, be) for a, be in lower_hull(pts) if be > 0 and a > 0]
        if lines:
            out[r, k] = lines
    return out


#: the largest coefficient (TIME_UNIT) of a speed tangent (:func:`speed_cuts`): at a small owner
#: speed next to a node ~1e12 times faster (both in the schema's range) a tangent weighs that node
#: by 1e16, which HiGHS refuses (|a| > 1e15: it drops every row of the model); left out instead
CUT_COEF_MAX = 1e9


def speed_cuts(b: BuiltModel, max_points: int = 16) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """``(alpha, beta)`` (TIME_UNIT) per multi-segment layer for
    ``T[r,k] >= alpha a_r - beta sum_j y[r,k,j] / c_j`` (``c_j``: TIME_UNIT per segment of layer k
    on node j, :meth:`optdist.instance.Instance.segment_seconds`).

    Every owner j computes its ``n_j`` segments within the stage (``T >= c_j n_j``, eq. 5), so a
    placed request's ``P_k = sum_j n_j <= T R(y)`` with the owners' speed ``R(y) = sum_j y_j / c_j``
    (segments per TIME_UNIT): ``T >= P_k / R(y)``, convex in ``R``. Its tangents at ``R_0`` are the
    rows, ``alpha = 2 P_k / R_0``, ``beta = P_k / R_0^2``, valid at every solution (a rejected
    request: ``y = 0``, ``a_r = 0``). ``R_0`` runs over the speeds of owner sets (every count per
    group of equal speeds; the fastest and the slowest q nodes where those are too many), at most
    ``max_points`` of them. The owner-count cuts (:func:`owner_count_cuts`) price every owner at the
    fastest node's speed; these weigh each participation by its node's speed, so that a
    fractional ``y`` (few owners for the bytes, eq. 6) no longer buys a fast stage (MODEL.md
    sections 5-7). Empty for layers with a zero-time segment somewhere (no finite bound); a
    tangent with a coefficient above :data:`CUT_COEF_MAX` is left out.
    """
    d = b.data
    out: dict[tuple[int, int], list[tuple[float, float]]] = {}
    if "transfers" in d.relax:
        return out
    for r in d.requests:
        sec = b.inst.segment_seconds(r)
        for k, la in enumerate(d.layers(r)):
            nodes = d.active(r, k)
            P = la.segments
            if P < 2 or len(nodes) < 2:
                continue
            c = np.array([sec[k, j] / TIME_UNIT for j in nodes], dtype=float)
            if (c <= 0).any() or not np.isfinite(c).all():
                continue
            speeds, counts = np.unique(np.round(1.0 / c, 12), return_counts=True)
            if math.prod(int(n) + 1 for n in counts) <= 4 * max_points:
                pts = {float(np.dot(speeds, q)) for q in itertools.product(*(range(n + 1) for n in counts))}
            else:
                srt = np.sort(1.0 / c)
                pts = {float(x) for x in np.concatenate([np.cumsum(srt), np.cumsum(srt[::-1])])}
            pts = sorted(x for x in pts if x > 0)
            if len(pts) > max_points:
                pts = [pts[i] for i in np.linspace(0, len(pts) - 1, max_points).round().astype(int)]
            # the fastest node's weight beta / c_min, as alpha, at most CUT_COEF_MAX (a cut is optional)
            lines = [(2 * P / R0 * (1 - 1e-9), P / R0 ** 2 * (1 - 1e-9)) for R0 in dict.fromkeys(pts)]
            lines = [(a, beta) for a, beta in lines if max(a, beta / c.min()) <= CUT_COEF_MAX]
            if lines:
                out[r, k] = lines
    return out


def kept_cuts(b: BuiltModel, curves: dict | None = None) -> list[tuple[int, int, str, tuple, int, float, float]]:
    """Rows ``T[r,s] >= LB_s (a_r - y[r,l,j]) + slope_j p`` for the products ``p`` of a
    participation ``y[r,l,j]`` and an amount of stage s's segments that node j keeps (parallel
    uplink; empty with the pairwise rows or relaxed transfers). Each is ``(r, s, var, index, l,
    LB_s, slope_j)`` (``var``: ``f``, ``z`` or ``v`` of :func:`add_tight_transfer_variables`;
    TIME_UNIT, TIME_UNIT per segment), per transition t = u -> k (MODEL.md sections 4-5, 9):

    * ``flow``: ``p = f[r,t,j,j]`` (maps of u that j keeps for k), ``<= n[r,u,j]`` and ``0`` unless
      j owns part of k: rows for ``s = u``, ``l = k`` and for ``s = k``, ``l = u``;
    * ``to_fc``: ``p = z[r,t,j] <= n[r,u,j]``, ``0`` unless j owns the fc layer: ``s = u``, ``l = k``;
    * ``conv``: ``p = v[r,t,j]`` (partial sums j keeps) ``<= need_j <= n[r,k,j]``, ``0`` unless j
      owns part of u: ``s = k``, ``l = u``.

    Valid at every solution: with ``y[r,l,j] = 0`` the product is 0 and ``T[r,s] >= LB_s a_r``
    (the stage cut, :func:`stage_cuts`); with ``y[r,l,j] = 1``, j owns ``q >= p`` segments of s
    and ``T[r,s] >= g_j(q) >= slope_j q`` with ``g_j`` the per-owner stage bound
    (:func:`stage_curves`) and ``slope_j = min_q g_j(q) / q``. The LP relaxation otherwise lets
    ``y`` stay at ``n / nmax`` for the bytes (few participants: cheap transfers) while every node
    keeps its own segments (no transfer, no wait): with fractional ``y`` these rows make the
    kept amount cost stage time ``slope_j p`` above the share ``LB_s y``.
    """
    d = b.data
    if b.pairwise or "transfers" in d.relax:
        return []
    curves = stage_curves(b) if curves is None else curves
    lbs = stage_cuts(b, curves)
    slope: dict[tuple[int, int, int], float] = {}
    for (r, k), (nodes, g) in curves.items():
        for j, c in zip(nodes, g):
            if len(c):
                q = np.arange(1, len(c) + 1)
                slope[r, k, int(j)] = float(np.min(np.asarray(c, dtype=float) / q)) / TIME_UNIT * (1 - 1e-9)
    m = b.model
    out = []

    def row(r: int, s: int, var: str, idx: tuple, l: int, j: int) -> None:
        a = slope.get((r, s, j), 0.0)
        if idx in m.component(var) and a > 0 and (r, s) in m.T:
            out.append((r, s, var, idx, l, lbs.get((r, s), 0.0), a))

    for r in d.requests:
        for t in d.transitions(r):
            u, k, kind = d.src(r, t), d.dst(r, t), d.kind(r, t)
            for j in d.active(r, u):
                if kind == "flow":
                    row(r, u, "f", (r, t, j, j), k, j)
                    row(r, k, "f", (r, t, j, j), u, j)
                elif kind == "to_fc":
                    row(r, u, "z", (r, t, j), k, j)
                elif kind == "conv":
                    row(r, k, "v", (r, t, j), u, j)
    return out


def add_kept_cuts(b: BuiltModel) -> None:
    """Add the rows of :func:`kept_cuts` to ``b`` (block ``kept_cuts``, rows ``row``); a model
    option (the column generation's pricing models switch it on at non-zero prices), not part of
    the ``tight`` family."""
    rows = kept_cuts(b)
    m = b.model
    blk = pyo.Block(concrete=True)
    m.add_component("kept_cuts", blk)
    blk.row = pyo.Constraint(range(len(rows)), rule=lambda _, q: m.T[rows[q][0], rows[q][1]]
                             >= rows[q][5] * (b.admit(rows[q][0]) - b.y(rows[q][0], rows[q][4], rows[q][3][-1]))
                             + rows[q][6] * m.component(rows[q][2])[rows[q][3]])


#: most owner-count states per layer (product over the curve classes of their sizes + 1), most
#: classes, and most candidate planes (sets of classes + 1 states) for which
#: :func:`group_count_cuts` computes the hull (a layer past one of them gets no rows)
GROUP_STATES_MAX, GROUP_CLASSES_MAX, GROUP_PLANES_MAX = 128, 3, 250_000


def group_count_cuts(b: BuiltModel, curves: dict | None = None
                     ) -> dict[tuple[int, int], tuple[list[list[int]], list[tuple[float, np.ndarray]]]]:
    """Per multi-segment layer ``(r, k)`` with two classes or more: the classes of its candidates
    (nodes with equal per-owner stage bounds ``g_j``, :func:`stage_curves`; identical devices fall
    in one) and lines
    ``(alpha, beta)`` (TIME_UNIT; ``beta`` one entry per class) for the rows
    ``T[r,k] >= alpha a_r - sum_c beta_c sum_{j in class c} y[r,k,j]``.

    With ``q_c`` owners in class c (``q = (q_c)``, at least one owner, at most ``P_k``), every owner
    holds ``n_j >= 1`` segments and ``T[r,k] >= g_j(n_j)``, so ``T[r,k] >= G(q) = max(M(q),
    max_{c: q_c > 0} g_c(1))`` with ``M(q)`` the least makespan over ``q_c`` copies of each class's
    curve (:func:`optdist.milp.decomposition.bounds.makespan_bound`; exact for these bounds: any
    ``t >= max g_j(1)`` that fits ``P_k`` segments in total fits them with one or more each). The
    rows are the facets of the lower convex hull of the points ``(q, G(q))`` (planes through
    ``len(q) + 1`` of them, each ``alpha`` then lowered to ``min_q G(q) + beta . q``, so that every
    point, hence every solution, satisfies it; a rejected request: ``y = 0``, ``a_r = 0``).

    Stronger than :func:`owner_count_cuts` (the hull over the total count, every owner the
    fastest) and :func:`speed_cuts` (tangents of the convex ``P_k / R``, below its chords between
    owner sets): at a fractional ``y`` on slow nodes (a few segments each, a share of the bytes,
    eq. 6) the LP no longer gets the stage time of a fractional owner. None for a layer with one
    class (where the rows are about the owner-count cuts: no gain measured, and a 15-s pricing
    solve of ``lenet-10x10-tight-tau0.8`` ended at a lower bound with them) or past
    :data:`GROUP_CLASSES_MAX` classes, :data:`GROUP_STATES_MAX` states or :data:`GROUP_PLANES_MAX`
    candidate planes.
    """
    d = b.data
    curves = stage_curves(b) if curves is None else curves
    out: dict = {}
    for (r, k), (nodes, g) in curves.items():
        P = d.layers(r)[k].segments
        if P < 2 or len(nodes) < 2:
            continue
        classes = _curve_classes(nodes, g)
        sizes = [len(mb) for _c, mb in classes]
        if not 2 <= len(classes) <= GROUP_CLASSES_MAX or int(np.prod([s + 1 for s in sizes])) > GROUP_STATES_MAX:
            continue  # one class: about the owner-count cuts
        pts, vals = [], []
        for q in itertools.product(*(range(s + 1) for s in sizes)):
            if not 1 <= sum(q) <= P:
                continue
            cs = [c for (c, _mb), qc in zip(classes, q) for _ in range(qc) if len(c)]
            if len(cs) < sum(q):
                continue  # a class with no segment allowed cannot own
            G = max(makespan_bound(cs, P), max(float(c[0]) for c in cs))
            if np.isfinite(G):
                pts.append(q)
                vals.append(G / TIME_UNIT * (1 - 1e-9))
        if len(pts) < 2:
            continue
        Q, V = np.asarray(pts, dtype=float), np.asarray(vals)
        on = _slice_vertices(Q, V)
        Q, V = Q[on], V[on]
        if len(V) < 2 or math.comb(len(V), len(classes) + 1) > GROUP_PLANES_MAX:
            continue
        keep = _lower_hull_planes(Q, V)
        if keep:
            out[r, k] = ([mb for _c, mb in classes], keep)
    return out


def _curve_classes(nodes: np.ndarray, g: list[np.ndarray]) -> list[tuple[np.ndarray, list[int]]]:
    """The candidates ``nodes`` of a layer grouped by equal per-owner stage bounds ``g`` (one curve
    per node, :func:`stage_curves`): ``(curve, members)`` per class, in order of first appearance."""
    classes: list[tuple[np.ndarray, list[int]]] = []
    for j, c in zip(nodes, g):
        c = np.asarray(c, dtype=float)
        for cc, members in classes:
            if len(cc) == len(c) and np.array_equal(cc, c):
                members.append(int(j))
                break
        else:
            classes.append((c, [int(j)]))
    return classes


def class_load_cuts(b: BuiltModel, curves: dict | None = None
                    ) -> list[tuple[int, int, list[int], float, float, float]]:
    """Rows ``T[r,k] >= alpha a_r - beta_q sum_{j in c} y[r,k,j] - beta_n sum_{j in c} n[r,k,j]``
    per multi-segment layer ``(r, k)`` with two classes of candidates or more (nodes with equal
    per-owner stage bounds ``g_j``, :func:`stage_curves`; identical devices fall in one) and per
    class c: ``(r, k, members of c, alpha, beta_q, beta_n)`` (TIME_UNIT, TIME_UNIT per owner, per
    segment).

    With ``q`` owners of class c holding ``N`` of the layer's ``P_k`` segments, one of them holds
    at least ``ceil(N / q)`` and ``T[r,k] >= g_c(ceil(N / q))`` (``g_c`` non-decreasing, eq. 5);
    the other candidates hold the other ``P_k - N``, so ``T[r,k] >= M(P_k - N)``, their least
    makespan (:func:`optdist.milp.decomposition.bounds.makespan_bound`, 0 for none). So every
    placed request satisfies ``T[r,k] >= H(q, N) = max(g_c(ceil(N / q)), M(P_k - N))`` (``g_c``'s
    term 0 at ``q = 0``) at its integer point ``(q, N)``, ``q <= N <= q u_c`` (``u_c``: the most
    segments a member may own, the length of ``g_c``), ``q`` up to the class size; a point whose
    ``P_k - N`` the others cannot hold is no placement and left out. The rows are the facets of
    the lower convex hull of the points ``(q, N, H(q, N))`` (:func:`_lower_hull_planes`), each
    ``alpha`` lowered so that every point satisfies it, hence every placement (a rejected request:
    ``y = n = 0``, ``a_r = 0``).

    The group-count cuts (:func:`group_count_cuts`) bound the stage by the owner counts alone:
    at binding bandwidth prices the LP relaxation then keeps a conv layer's participations ``y =
    n / nmax`` on the slower class (a fraction of the partial sums paid, MODEL.md section 4) and
    gets the stage time of a fractional owner while the faster class holds only part of the
    rest; here the segments the class holds per owner and those left to the others price it
    (``cifar-6x5-nexus-rpi3`` at saved solve 2's prices: LP 0.129714 -> 0.131431 s,
    ``benchmarks/scale/README.md``). Without the others' term the hull is about that of the
    owner counts (the LP barely moves). None for a layer with one class (its ``N = P_k``: the
    owner-count cuts) or whose class has more than :data:`GROUP_PLANES_MAX` candidate planes.
    """
    d = b.data
    curves = stage_curves(b) if curves is None else curves
    out: list[tuple[int, int, list[int], float, float, float]] = []
    for (r, k), (nodes, g) in curves.items():
        P = d.layers(r)[k].segments
        classes = _curve_classes(nodes, g)
        if P < 2 or len(classes) < 2:
            continue
        for c, members in classes:
            others = [cc for cc, mb in classes if mb is not members for _ in mb if len(cc)]
            pts, vals = [], []
            for q in range(len(members) + 1 if len(c) else 1):
                for N in range(q, min(q * len(c), P) + 1):
                    rest = makespan_bound(others, P - N) if others else (0.0 if N == P else math.inf)
                    if np.isfinite(rest):
                        pts.append((q, N))
                        vals.append(max(float(c[-(-N // q) - 1]) if q else 0.0, rest) / TIME_UNIT * (1 - 1e-9))
            if len(pts) < 3:
                continue
            Q, V = np.asarray(pts, dtype=float), np.asarray(vals)
            on = _slice_vertices(Q, V)
            if math.comb(int(on.sum()), 3) > GROUP_PLANES_MAX:
                continue
            out += [(r, k, members, a, float(be[0]), float(be[1])) for a, be in _lower_hull_planes(Q[on], V[on])]
    return out


def add_class_load_cuts(b: BuiltModel) -> None:
    """Add the rows of :func:`class_load_cuts` to ``b`` (block ``load_cuts``, rows ``row``); a
    model option (:class:`optdist.milp.decomposition.pricing.PricingModel`'s ``load_cuts``), not
    part of the ``tight`` family."""
    m = b.model
    rows = class_load_cuts(b)
    blk = pyo.Block(concrete=True)
    m.add_component("load_cuts", blk)
    blk.row = pyo.Constraint(range(len(rows)), rule=lambda _, q: m.T[rows[q][0], rows[q][1]]
                             >= rows[q][3] * b.admit(rows[q][0]) - pyo.quicksum(
                                 (rows[q][4] * b.y(rows[q][0], rows[q][1], j) + rows[q][5] * m.n[rows[q][0], rows[q][1], j]
                                  for j in rows[q][2])))


def _slice_vertices(Q: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Mask of the points ``(Q[p], V[p])`` that are vertices of the lower convex hull of every line
    of points through them along a coordinate axis (the others fixed). Every vertex of the lower
    hull of all points is one (a vertex of a set is a vertex of each subset holding it), and the
    facets are spanned by vertices: :func:`_lower_hull_planes` needs no other point."""
    keep = np.ones(len(V), dtype=bool)
    for c in range(Q.shape[1]):
        rest = np.delete(Q, c, axis=1)
        for key in {tuple(x) for x in rest}:
            idx = np.flatnonzero((rest == np.asarray(key)).all(axis=1))
            idx = idx[np.argsort(Q[idx, c])]
            hull: list[int] = []
            for p in idx:
                while len(hull) >= 2:
                    p0, p1 = hull[-2:]
                    cross = (Q[p1, c] - Q[p0, c]) * (V[p] - V[p0]) - (V[p1] - V[p0]) * (Q[p, c] - Q[p0, c])
                    if cross > 0:  # a left turn: p1 stays a vertex
                        break
                    hull.pop()
                hull.append(int(p))
            keep[np.setdiff1d(idx, hull)] = False
    return keep


def _lower_hull_planes(Q: np.ndarray, V: np.ndarray, chunk: int = 4096) -> list[tuple[float, np.ndarray]]:
    """Facets ``(alpha, beta)`` of the lower convex hull of the points ``(Q[p], V[p])`` (``Q``:
    (n, D) counts, ``V``: (n,) values): planes ``alpha - beta . q`` through ``D + 1`` affinely
    independent points that no point lies below (``alpha`` then set to ``min_p V[p] + beta . Q[p]``,
    so that every point satisfies ``alpha - beta . Q[p] <= V[p]`` exactly in floating point)."""
    n, D = Q.shape
    combos = np.array(list(itertools.combinations(range(n), D + 1)), dtype=np.int64).reshape(-1, D + 1)
    out: dict[tuple, tuple[float, np.ndarray]] = {}
    scale = max(float(np.max(np.abs(V))), 1e-300)
    for s0 in range(0, len(combos), chunk):
        c = combos[s0:s0 + chunk]
        A = np.concatenate([np.ones((len(c), D + 1, 1)), -Q[c]], axis=2)  # alpha - beta . q = V
        ok = np.abs(np.linalg.det(A)) > 1e-9
        if not ok.any():
            continue
        sol = np.linalg.solve(A[ok], V[c[ok]][..., None])[..., 0]
        alpha0, beta = sol[:, 0], sol[:, 1:]
        alpha = np.min(V[None, :] + beta @ Q.T, axis=1)
        support = (alpha >= alpha0 - 1e-9 * scale) & (alpha > 0)
        for a, be in zip(alpha[support], beta[support]):
            out.setdefault(tuple(np.round(np.append(be, a) / scale, 9)), (float(a), be.copy()))
    return list(out.values())


def add_group_count_cuts(b: BuiltModel) -> None:
    """Add the rows of :func:`group_count_cuts` to ``b`` (block ``group_cuts``, rows ``row``); a
    model option like :func:`add_kept_cuts` (the column generation's pricing models), not part of
    the ``tight`` family."""
    m = b.model
    rows = [(r, k, mb, a, be) for (r, k), (members, lines) in sorted(group_count_cuts(b).items())
            if (r, k) in m.T for a, be in lines for mb in [members]]
    blk = pyo.Block(concrete=True)
    m.add_component("group_cuts", blk)
    blk.row = pyo.Constraint(range(len(rows)), rule=lambda _, q: m.T[rows[q][0], rows[q][1]]
                             >= rows[q][3] * b.admit(rows[q][0]) - pyo.quicksum(
                                 (float(bc) * b.y(rows[q][0], rows[q][1], j)
                                  for bc, cl in zip(rows[q][4], rows[q][2]) for j in cl)))


def add_tight_stage_time_constraints(b: BuiltModel) -> None:
    """(eqs. 5, 7) ``T[r,k] >= tc[r,k,j]`` for every owner j, the rows of :func:`_stage_rows`,
    the stage cuts ``T[r,k] >= LB_k a_r`` (:func:`stage_cuts`), the owner-count cuts
    (:func:`owner_count_cuts`, rows ``owners``) and the speed cuts (:func:`speed_cuts`, rows ``speed``).

    With the serial uplink the pairwise rows of :func:`constraints.add_stage_time_constraints`.
    """
    m, d = b.model, b.data
    if b.pairwise:
        C.add_stage_time_constraints(b)
        blk = b.model.stage_time
    else:
        blk = _block(b, "stage_time")
        idx_c = [(r, k, j) for r in d.requests for k in range(len(d.layers(r))) for j in d.active(r, k)]
        blk.compute = pyo.Constraint(idx_c, rule=lambda _, r, k, j: m.T[r, k] >= _tc(b, r, k, j))
        rows = {(r, t): _stage_rows(b, r, t) for r in d.requests for t in d.transitions(r)}
        idx = [(r, t, q) for (r, t), rs in rows.items() for q in range(len(rs))]
        blk.transfer = pyo.Constraint(idx, rule=lambda _, r, t, q: m.T[r, d.dst(r, t)] >= rows[r, t][q])
    curves = stage_curves(b)
    cuts = stage_cuts(b, curves)
    blk.cut = pyo.Constraint(sorted(cuts), rule=lambda _, r, k: m.T[r, k] >= cuts[r, k] * b.admit(r))
    owners = owner_count_cuts(b, curves)
    idx_o = [(r, k, q) for (r, k), lines in sorted(owners.items()) for q in range(len(lines))]
    blk.owners = pyo.Constraint(idx_o, rule=lambda _, r, k, q: m.T[r, k] >= owners[r, k][q][0] * b.admit(r)
                                - owners[r, k][q][1] * pyo.quicksum((b.y(r, k, j) for j in d.active(r, k))))
    speed = speed_cuts(b)
    sec = {r: b.inst.segment_seconds(r) for r in d.requests}
    idx_s = [(r, k, q) for (r, k), lines in sorted(speed.items()) for q in range(len(lines))]
    blk.speed = pyo.Constraint(idx_s, rule=lambda _, r, k, q: m.T[r, k] >= speed[r, k][q][0] * b.admit(r)
                               - speed[r, k][q][1] * pyo.quicksum((TIME_UNIT / sec[r][k, j] * b.y(r, k, j)
                                                                   for j in d.active(r, k))))


def device_groups(b: BuiltModel) -> list[list[int]]:
    """Groups (>= 2) of devices equal in every field the model reads: e, rho, capacities, measured times."""
    inst, cap = b.inst, b.data.capacity
    groups: dict[tuple, list[int]] = {}
    for i in range(inst.n_devices):
        key = (float(inst.mults_per_s[i]), float(inst.rate[i]), *(float(cap[c][i]) for c in sorted(cap)), inst.timing_class(i))
        groups.setdefault(key, []).append(i)
    return [g for g in groups.values() if len(g) > 1]


#: the largest weight in the lexicographic device key of a one-request model (:func:`key_weights`)
LEX_WEIGHT_MAX = 1e4


def key_weights(b: BuiltModel, lexicographic: bool = False) -> dict[tuple[int, int], int]:
    """Weights ``W[r,k]`` of the key ``key_i = sum_{r,k} W[r,k] n[r,k,i]`` that orders identical
    devices (:func:`add_symmetry`, :func:`lexicographic_symmetry`, :func:`canonical`).

    Default: 1 each (the key is the device's load, segments held). ``lexicographic`` (a model of
    one request): over its multi-segment layers in order, ``W_k = prod_{k' > k in the key}
    (U_k' + 1)`` with ``U_k`` the most segments of layer k a device of a group may own
    (``nmax``), so that the key orders devices by their segments of the first such layer, then
    the next, ...; the last layers are left out of the key where the first weight would exceed
    :data:`LEX_WEIGHT_MAX` (coefficients stay small). Any weights give valid rows: relabelling
    identical devices so that their keys do not increase maps every solution to one of the same
    objective and feasibility.
    """
    d = b.data
    if not lexicographic:
        return {(r, k): 1 for r in d.requests for k in range(len(d.layers(r)))}
    if len(d.requests) != 1:
        raise ValueError("a lexicographic device key is for a model of one request")
    r = d.requests[0]
    devices = [i for g in device_groups(b) for i in g]
    multi = [k for k, la in enumerate(d.layers(r)) if la.segments > 1]
    base = {k: int(max((d.nmax[r][k, i] for i in devices), default=0)) + 1 for k in multi}
    key, top = multi[:1], 1  # the longest prefix whose first weight stays <= LEX_WEIGHT_MAX
    for k in multi[1:]:
        if top * base[k] > LEX_WEIGHT_MAX:
            break
        key.append(k)
        top *= base[k]
    out: dict[tuple[int, int], int] = {}
    w = 1
    for k in reversed(key):  # the last layer of the key weighs least
        out[r, k] = w
        w *= base[k]
    return out


def _load(b: BuiltModel, i: int, weights: dict[tuple[int, int], int]) -> pyo.Expression:
    """``key_i = sum W[r,k] n[r,k,i]`` (:func:`key_weights`)."""
    return pyo.quicksum((w * b.model.n[r, k, i] for (r, k), w in weights.items() if (r, k, i) in b.model.n))


def _keyed(b: BuiltModel, i: int, weights: dict[tuple[int, int], int]) -> bool:
    """Whether ``key_i`` (:func:`_load`) holds a variable with a non-zero weight."""
    return any(w != 0 and (r, k, i) in b.model.n for (r, k), w in weights.items())


def request_groups(b: BuiltModel) -> list[list[int]]:
    """Groups (>= 2) of modelled requests that differ only by their source: same CNN, sources
    equal in every field the model reads (e, rho, capacities), each source the source of no
    other modelled request. Swapping two of them together with their sources maps every
    solution to one of the same objective and feasibility."""
    inst, cap, reqs = b.inst, b.data.capacity, b.data.requests
    per_source: dict[int, int] = {}
    for r in reqs:
        s = int(inst.request_source[r])
        per_source[s] = per_source.get(s, 0) + 1
    groups: dict[tuple, list[int]] = {}
    for r in reqs:
        s = int(inst.request_source[r])
        if per_source[s] == 1:
            key = (inst.request_cnn[r], float(inst.mults_per_s[s]), float(inst.rate[s]), inst.timing_class(s),
                   *(float(cap[c][s]) for c in sorted(cap)))
            groups.setdefault(key, []).append(r)
    return [g for g in groups.values() if len(g) > 1]


def add_symmetry(b: BuiltModel) -> None:
    """Identical devices: ``key_i >= key_i'`` for consecutive i < i' of a group (rows ``c``;
    ``key_i = sum_{r,k} n[r,k,i]``, the segments held; :func:`lexicographic_symmetry` replaces
    them by a lexicographic key in a model of one request); identical requests
    (:func:`request_groups`): ``latency_r <= latency_r'`` for consecutive r < r' of a group
    (rows ``requests``).

    Any solution maps to one satisfying both by first permuting the requests of each group with
    their sources (latencies sorted; device keys unchanged), then relabelling identical devices
    (keys sorted; latencies unchanged): same objective, same feasibility, so the optimum is
    unchanged (:func:`canonical` does this to warm starts).
    """
    blk = pyo.Block(concrete=True)
    b.model.add_component("symmetry", blk)
    _device_rows(b, key_weights(b))
    rpairs = [(g[q], g[q + 1]) for g in request_groups(b) for q in range(len(g) - 1)]
    blk.requests = pyo.Constraint(range(len(rpairs)),
                                  rule=lambda _, q: b.latency(rpairs[q][0]) <= b.latency(rpairs[q][1]))


def _device_rows(b: BuiltModel, weights: dict[tuple[int, int], int]) -> None:
    """Rows ``symmetry.c``: ``key_i >= key_i'`` for consecutive identical devices i < i'
    (``key``: :func:`key_weights`, kept as ``symmetry.key_weights`` for :func:`canonical`)."""
    blk = b.model.symmetry
    if blk.component("c") is not None:
        blk.del_component("c")
    # a pair whose keys hold no variable (empty key: no multi-segment layer in a lexicographic
    # key, or no candidate segment) would be the trivial row 0 >= 0, which Pyomo refuses: skipped
    pairs = [(g[q], g[q + 1]) for g in device_groups(b) for q in range(len(g) - 1)
             if _keyed(b, g[q], weights) or _keyed(b, g[q + 1], weights)]
    blk.c = pyo.Constraint(range(len(pairs)), rule=lambda _, q: _load(b, pairs[q][0], weights)
                           >= _load(b, pairs[q][1], weights))
    blk.key_weights = weights


def lexicographic_symmetry(b: BuiltModel) -> None:
    """Replace the device rows of :func:`add_symmetry` in a model of one request by the
    lexicographic key (:func:`key_weights`): identical devices ordered by their segments of the
    request's first multi-segment layer, then the next, ... Valid for the same reason (a
    relabelling of identical devices) and far stronger where a group of identical devices makes
    branch-and-bound stall: one request on 10 identical RPi3 priced at a binding bandwidth price
    closes in 3.9 s instead of staying at bound 0.951920 against 1.015743 ms after 30 s
    (``benchmarks/milp/price_probe.py``; ``benchmarks/milp/README.md``).
    Used by the column generation's pricing models. Raises ValueError for several requests;
    does nothing for a model without symmetry rows."""
    if b.model.component("symmetry") is None:
        return
    _device_rows(b, key_weights(b, lexicographic=True))


def _sort_requests(b: BuiltModel, owners: list) -> list:
    """``owners`` with the requests of each :func:`request_groups` group permuted (sources
    renamed) so that their latencies (evaluator; a rejected request counts 0) do not decrease."""
    from optdist.assignment import Assignment
    from optdist.evaluate import evaluate

    groups = request_groups(b)
    if not groups:
        return owners
    lat = np.nan_to_num(evaluate(b.inst, Assignment(owners)).latency, nan=0.0)
    out = list(owners)
    for g in groups:
        ranked = sorted(g, key=lambda r: (lat[r], r))
        for r_new, r_old in zip(g, ranked):
            own = owners[r_old]
            if own is not None and r_new != r_old:
                s_old, s_new = int(b.inst.request_source[r_old]), int(b.inst.request_source[r_new])
                own = [np.where(a == s_old, s_new, a) for a in own]
            out[r_new] = own
    return out


def canonical(b: BuiltModel, asg: Assignment) -> Assignment:
    """``asg`` with identical requests permuted and identical devices relabelled so that
    :func:`add_symmetry` holds (same objective)."""
    from optdist.assignment import Assignment

    d = b.data
    owners = _sort_requests(b, list(asg.owners))
    blk = b.model.component("symmetry")
    weights = key_weights(b) if blk is None else blk.key_weights
    load = np.zeros(b.inst.n_nodes, dtype=np.int64)  # key_i of the symmetry rows
    for r in d.requests:
        if owners[r] is not None:
            for k, a in enumerate(owners[r]):
                load += weights.get((r, k), 0) * np.bincount(a, minlength=b.inst.n_nodes)
    lut = np.arange(b.inst.n_nodes)
    for g in device_groups(b):
        ranked = sorted(g, key=lambda i: (-load[i], i))
        lut[ranked] = g
    owners = [None if own is None else [lut[a] for a in own] for own in owners]
    return Assignment(owners, dict(asg.meta))


def set_tight_values(b: BuiltModel, r: int, t: int, a_prev: np.ndarray, a_recv: np.ndarray) -> None:
    """Warm-start values of the auxiliaries of transition t (products of the counts); ``a_recv``:
    owners of its receiving slice."""
    m, d, N = b.model, b.data, b.inst.n_nodes
    cp, cn = np.bincount(a_prev, minlength=N), np.bincount(a_recv, minlength=N)
    P_prev = d.layers(r)[d.src(r, t)].segments
    values: dict[str, Callable[[int], float]] = {
        "z": lambda i: cp[i] * (cn[i] > 0),
        "v": lambda i: (cp[i] > 0) * cn[i],
        "s": lambda i: float(cp[i] == P_prev),
        "g": lambda i: (cp[i] == P_prev) * cn[i],
        "x2": lambda i: float(cp[i] > 0 and cn[i] > 0),
    }
    for name, val in values.items():
        var = m.component(name)
        for i in d.cand[r]:
            if (r, t, i) in var:
                var[r, t, i].set_value(float(val(i)), skip_validation=True)
    for i in d.active(r, d.src(r, t)):
        for j in d.active(r, d.dst(r, t)):
            if (r, t, i, j) in m.wv:
                m.wv[r, t, i, j].set_value(float(cp[i] > 0 and cn[j] > 0), skip_validation=True)
