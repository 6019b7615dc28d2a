"""Constraint families, one function each (MODEL.md sections 4-6; paper eq. numbers).

Each family lives in its own Pyomo Block ``model.<family>``. To leave a family out use
``build(relax=...)``: the variable bounds ``nmax`` and big-Ms derived from a family stay in
the model when only its Block is deactivated. Notation: ``n[r,k,i]`` owned segments, ``y``
participation, ``x = n`` for one-segment (fc) layers, ``O[r,t,i,j]`` bytes of transition t
(edge u -> k, from u on i to k on j, ``i != j``; on a chain ``t = k`` and ``u = k-1``),
``T[r,k]`` stage time, ``a_r = 1 - reject_r`` (1 without admission control). Products of binaries and bounded integers are linearised by their lower
McCormick half only: ``O`` appears solely in rows that it tightens (stage time >=, bandwidth
<=, shared bytes in a minimised objective or an epsilon-constraint), so at every optimum it
equals the product; big-Ms are the data bounds ``nmax`` (never an arbitrary constant).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.environ as pyo

from optdist.milp.data import TIME_UNIT
from optdist.milp.variables import receiving
from optdist.transfers import conv_coef

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


def _block(b: BuiltModel, family: str) -> pyo.Block:
    blk = pyo.Block(concrete=True)
    b.model.add_component(family, blk)
    return blk


def add_one_owner_constraints(b: BuiltModel) -> None:
    """(10e) every segment has exactly one owner, or none if the request is rejected.

    compact: ``sum_i n[r,k,i] = P_k * a_r``; per-map: ``sum_i A[r,k,p,i] = a_r`` for every p
    (rows ``c``; in compact and tight rows ``maps`` for the layers indexed per map).
    """
    m, d = b.model, b.data
    blk = _block(b, "one_owner")

    def per_map(_: pyo.Block, r: int, k: int, p: int) -> pyo.Expression:
        return sum(m.A[r, k, p, i] for i in d.cand[r]) == b.admit(r)

    idx_p = [(r, k, p) for r in d.requests for k, la in enumerate(d.layers(r)) if b.mapwise(r, k)
             for p in range(la.segments)]
    if b.formulation != "per-map":
        idx = [(r, k) for r in d.requests for k in range(len(d.layers(r))) if not b.mapwise(r, k)]
        blk.c = pyo.Constraint(
            idx,
            rule=lambda _, r, k: sum(m.n[r, k, i] for i in d.cand[r]) == d.layers(r)[k].segments * b.admit(r),
        )
        blk.maps = pyo.Constraint(idx_p, rule=per_map)
    else:
        blk.c = pyo.Constraint(idx_p, rule=per_map)


def add_placement_constraints(b: BuiltModel) -> None:
    """(8, 9, 10h) layer 1, layer L and source-only layers on ``s(r)``; the others on devices.

    ``n[r,k,i] = 0`` for every candidate node i that may not own layer k of request r.
    """
    m, d = b.model, b.data
    blk = _block(b, "placement")
    idx = [
        (r, k, i)
        for r in d.requests
        for k in range(len(d.layers(r)))
        for i in d.cand[r]
        if not d.allowed(r, k, i)
    ]
    blk.c = pyo.Constraint(idx, rule=lambda _, r, k, i: m.n[r, k, i] == 0)


def _capacity_constraint(b: BuiltModel, family: str, cap_name: str, attr: str) -> None:
    m, d = b.model, b.data
    blk = _block(b, family)
    cap = d.capacity[cap_name]
    terms: dict[int, list] = {}
    worst: dict[int, float] = {}
    for r in d.requests:
        base = d.nmax_base[r]
        for k, la in enumerate(d.layers(r)):
            coef = float(getattr(la, attr))
            if coef == 0:
                continue
            for i in d.cand[r]:
                terms.setdefault(i, []).append(coef * m.n[r, k, i])
                worst[i] = worst.get(i, 0.0) + coef * base[k, i]
    idx = [i for i in sorted(terms) if worst[i] > cap[i]]  # rows that can bind
    blk.c = pyo.Constraint(idx, rule=lambda _, i: sum(terms[i]) <= float(cap[i]))


def add_memory_constraints(b: BuiltModel) -> None:
    """(10b) ``sum_{r,k} m_k * n[r,k,i] <= memory_i`` for every node (rows that cannot bind are left out)."""
    _capacity_constraint(b, "memory", "memory", "weight_bytes_per_segment")


def add_compute_constraints(b: BuiltModel) -> None:
    """(10c) ``sum_{r,k} c_k * n[r,k,i] <= compute_capacity_i`` (multiplications per period)."""
    _capacity_constraint(b, "compute", "compute_capacity", "mults_per_segment")


def add_bandwidth_constraints(b: BuiltModel) -> None:
    """(10d) ``sum_{r,t,j} O[r,t,i,j] <= bandwidth_capacity_i`` (bytes node i sends per period, every transition)."""
    d = b.data
    blk = _block(b, "bandwidth")
    cap = d.capacity["bandwidth_capacity"]
    terms: dict[int, list] = {}
    worst: dict[int, float] = {}
    for (r, k, i), expr in b.sent.items():
        terms.setdefault(i, []).append(expr)
        worst[i] = worst.get(i, 0.0) + b.sent_max[r, k, i]
    idx = [i for i in sorted(terms) if worst[i] > cap[i]]
    blk.c = pyo.Constraint(idx, rule=lambda _, i: sum(terms[i]) <= float(cap[i]))


def add_privacy_constraints(b: BuiltModel) -> None:
    """(10f) ``n[r,k,i] <= Nf_k(tau)`` (``device_cap[k]``) for devices i and layers k < SP.

    (10g, one owner of an fc layer, holds by construction: it has one segment.)
    """
    m, d = b.model, b.data
    blk = _block(b, "privacy")
    D = b.inst.n_devices
    idx = []
    for r in d.requests:
        caps = b.inst.limit(r).device_cap
        for k, la in enumerate(d.layers(r)):
            if caps[k] is not None and caps[k] < la.segments:
                idx += [(r, k, i) for i in d.cand[r] if i < D]
    blk.c = pyo.Constraint(idx, rule=lambda _, r, k, i: m.n[r, k, i] <= b.inst.limit(r).device_cap[k])


def add_transfer_constraints(b: BuiltModel) -> None:
    """(eq. 6, MODEL.md section 9) data moved along every transition t = u -> k, ``i != j``.

    ``n_t[k,j]`` = the segments of k's slice reading u that j owns (:func:`receiving`: all of k
    unless k is a concat, whose slices are counted by ``ns``: ``sum_t ns[k,t,j] = n[k,j]``,
    ``sum_j ns[k,t,j] = span_t a_r``).

    * participation: ``y[r,k,i] <= n[r,k,i] <= nmax * y[r,k,i]``;
    * elementwise -> non-fc, compact: ``sum_j f[i,j] = n[u,i]``, ``sum_i f[i,j] = n_t[k,j]``,
      ``O[i,j] = beta_u * f[i,j]``; per-map (and compact between layers indexed per map,
      :meth:`~optdist.milp.model.BuiltModel.map_edge`): ``w[p,i,j] >= A[u,p,i] + A[k,off+p,j] - 1``,
      ``O[i,j] = beta_u * sum_p w[p,i,j]``;
    * conv -> any: ``O[i,j] >= coef * (n_t[k,j] - nmax_t[k,j] * (1 - y[u,i]))``,
      ``coef = beta`` (``P^out * beta`` into an fc layer);
    * elementwise -> fc: ``O[i,j] >= beta * (n[u,i] - nmax[u,i] * (1 - x[k,j]))``;
    * fc -> any: ``O[i,j] >= beta * (x[u,i] + y[k,j] - 1)``;
    * grouped conv u (``g`` groups, layers indexed per map): ``gh[g,i] >= A[u,p,i]`` for p in group g,
      ``gw[g,i,j] >= need_g(j) - (P^out/g) (1 - gh[g,i])`` with ``need_g(j)`` = the receiving
      segments of group g j owns (``(P^out/g) x[k,j]`` into an fc), ``O[i,j] >= beta sum_g gw[g,i,j]``.
    """
    m, d = b.model, b.data
    blk = _block(b, "transfers")
    blk.y_le_n = pyo.Constraint(list(m.y), rule=lambda _, r, k, i: m.y[r, k, i] <= m.n[r, k, i])
    blk.n_le_my = pyo.Constraint(
        list(m.y), rule=lambda _, r, k, i: m.n[r, k, i] <= int(d.nmax[r][k, i]) * m.y[r, k, i]
    )
    add_slice_constraints(b, blk)
    add_flow_constraints(b, blk)
    add_map_constraints(b, blk)


def add_flow_constraints(b: BuiltModel, blk: pyo.Block) -> None:
    """Counted flows (compact, tight): ``sum_j f[i,j] = n[u,i]``, ``sum_i f[i,j] = n_t[k,j]`` for
    every elementwise transition that is not a :meth:`~optdist.milp.model.BuiltModel.map_edge`."""
    m, d = b.model, b.data
    if b.formulation == "per-map":
        return
    flow_out, flow_in = [], []
    for r in d.requests:
        for t in d.transitions(r):
            if d.kind(r, t) == "flow" and not b.map_edge(r, t):
                ed = d.edge(r, t)
                flow_out += [(r, t, i) for i in d.active(r, ed.u)]
                flow_in += [(r, t, j) for j in d.active(r, ed.k)]
    blk.flow_out = pyo.Constraint(flow_out, rule=lambda _, r, t, i: pyo.quicksum(
        (m.f[r, t, i, j] for j in d.active(r, d.dst(r, t)) if (r, t, i, j) in m.f)) == m.n[r, d.src(r, t), i])
    blk.flow_in = pyo.Constraint(flow_in, rule=lambda _, r, t, j: pyo.quicksum(
        (m.f[r, t, i, j] for i in d.active(r, d.src(r, t)) if (r, t, i, j) in m.f)) == receiving(b, r, t, j))


def add_map_constraints(b: BuiltModel, blk: pyo.Block) -> None:
    """Rows of the per-map products ``w`` (``w[p,i,j] >= A[u,p,i] + A[k,off+p,j] - 1``), of the
    grouped convolutions (:func:`_add_group_constraints`) and of the products ``O``
    (:func:`product_row`); the variables are :func:`~optdist.milp.variables.add_map_transfer_variables`'."""
    m, d = b.model, b.data
    blk.map_product = pyo.Constraint(
        list(m.w), rule=lambda _, r, t, p, i, j: m.w[r, t, p, i, j]
        >= m.A[r, d.src(r, t), p, i] + m.A[r, d.dst(r, t), d.edge(r, t).offset + p, j] - 1
    )
    _add_group_constraints(b, blk)
    blk.product = pyo.Constraint(list(m.O), rule=lambda _, r, t, i, j: product_row(b, r, t, i, j))


def map_upper_rows(b: BuiltModel) -> list[pyo.Expression]:
    """The upper McCormick halves of the per-map products, which the model leaves out (they only
    matter where bytes are pushed up, e.g. a ``>=`` limit on the bytes sent): ``w[p,i,j] <= A[u,p,i]``,
    ``w <= A[k,off+p,j]``; ``gh[g,i] <= sum_{p in g} A[u,p,i]``; ``gw[g,i,j] <= need_g(j)``,
    ``gw <= (P^out/g) gh[g,i]``; a grouped conv's ``O[i,j] <= beta sum_g gw[g,i,j]``. With them every
    integer point's bytes are the true bytes (MODEL.md section 9)."""
    m, d = b.model, b.data
    out = []
    for (r, t, p, i, j), w in m.w.items():
        ed = d.edge(r, t)
        out += [w <= m.A[r, ed.u, p, i], w <= m.A[r, ed.k, ed.offset + p, j]]
    for (r, t, g, i), gh in m.gh.items():
        per_in = d.edge(r, t).sender_segments // d.edge(r, t).groups
        out.append(gh <= sum(m.A[r, d.src(r, t), p, i] for p in range(g * per_in, (g + 1) * per_in)))
    for (r, t, g, i, j), gw in m.gw.items():
        out += [gw <= group_need(b, r, t, g, j), gw <= d.edge(r, t).out_maps // d.edge(r, t).groups * m.gh[r, t, g, i]]
    for (r, t, i, j), o in m.O.items():
        ed = d.edge(r, t)
        if ed.kind == "group":
            out.append(o <= ed.beta * sum(m.gw[r, t, g, i, j] for g in range(ed.groups)))
    return out


def product_row(b: BuiltModel, r: int, t: int, i: int, j: int) -> pyo.Expression:
    """The lower McCormick row of ``O[r,t,i,j]`` by the kind of transition t (:func:`add_transfer_constraints`)."""
    m, d = b.model, b.data
    ed = d.edge(r, t)
    la = d.layers(r)
    prev, nxt = la[ed.u], la[ed.k]
    if ed.kind == "group":
        return m.O[r, t, i, j] >= ed.beta * sum(m.gw[r, t, g, i, j] for g in range(ed.groups))
    if ed.kind == "conv":
        return m.O[r, t, i, j] >= conv_coef(prev, nxt) * (
            receiving(b, r, t, j) - d.recv_max(r, t, j) * (1 - b.y(r, ed.u, i))
        )
    if ed.kind == "to_fc":
        return m.O[r, t, i, j] >= prev.beta * (m.n[r, ed.u, i] - int(d.nmax[r][ed.u, i]) * (1 - m.n[r, ed.k, j]))
    return m.O[r, t, i, j] >= prev.beta * (m.n[r, ed.u, i] + b.y(r, ed.k, j) - 1)


def group_need(b: BuiltModel, r: int, t: int, g: int, j: int) -> pyo.Expression:
    """Maps of group g of a grouped-conv transition t that receiver j needs (layers indexed per map, MODEL.md section 9)."""
    m, d = b.model, b.data
    ed = d.edge(r, t)
    per = ed.out_maps // ed.groups
    if d.layers(r)[ed.k].kind == "fc":
        return per * m.A[r, ed.k, 0, j]
    return sum(m.A[r, ed.k, ed.offset + q, j] for q in range(g * per, (g + 1) * per))


def _add_group_constraints(b: BuiltModel, blk: pyo.Block) -> None:
    """Rows of the grouped-conv transitions (layers indexed per map; see :func:`add_transfer_constraints`)."""
    m, d = b.model, b.data
    idx_h = []
    for r, t, g, i in m.gh:
        ed = d.edge(r, t)
        per_in = ed.sender_segments // ed.groups
        idx_h += [(r, t, g, i, p) for p in range(g * per_in, (g + 1) * per_in)]
    blk.group_holds = pyo.Constraint(idx_h, rule=lambda _, r, t, g, i, p: m.gh[r, t, g, i] >= m.A[r, d.src(r, t), p, i])
    blk.group_sends = pyo.Constraint(list(m.gw), rule=lambda _, r, t, g, i, j: m.gw[r, t, g, i, j]
                                     >= group_need(b, r, t, g, j)
                                     - (d.edge(r, t).out_maps // d.edge(r, t).groups) * (1 - m.gh[r, t, g, i]))


def add_slice_constraints(b: BuiltModel, blk: pyo.Block) -> None:
    """A counted concat layer's slice counts (compact): ``sum_t ns[r,k,t,i] = n[r,k,i]``, ``sum_i ns[r,k,t,i] = span_t a_r``."""
    m, d = b.model, b.data
    if b.formulation == "per-map" or not len(m.ns):
        return
    per_node: dict[tuple[int, int, int], list[int]] = {}
    per_slice: dict[tuple[int, int, int], list[int]] = {}
    for r, k, t, i in m.ns:
        per_node.setdefault((r, k, i), []).append(t)
        per_slice.setdefault((r, k, t), []).append(i)
    blk.slices = pyo.Constraint(sorted(per_node), rule=lambda _, r, k, i: sum(
        m.ns[r, k, t, i] for t in per_node[r, k, i]) == m.n[r, k, i])
    blk.slice_total = pyo.Constraint(sorted(per_slice), rule=lambda _, r, k, t: sum(
        m.ns[r, k, t, i] for i in per_slice[r, k, t]) == d.edge(r, t).span * b.admit(r))


def add_stage_time_constraints(b: BuiltModel) -> None:
    """(eqs. 5, 7) ``T[r,k] >= tc[r,k,j] + wait[r,k,j]`` for every owner j, in ``TIME_UNIT``.

    ``tc[r,k,j] = n[r,k,j] * c_k / e_j``. Parallel uplink (paper):
    ``T[r,k] >= tc[r,k,j] + O[i,j] / rho_i`` for every sender ``i != j`` of every transition into k.
    Serial uplink: ``u[i,j] >= O[i,j] / Omax[i,j]`` (i sends to j) and
    ``T[r,k] >= tc[r,k,j] + S_i / rho_i - (Smax_i / rho_i) * (1 - u[i,j])``, ``S_i = sum_j' O[i,j']``
    per transition.
    """
    m, d, inst = b.model, b.data, b.inst
    blk = _block(b, "stage_time")
    rho = inst.rate

    def tc(r: int, k: int, j: int) -> pyo.Expression:
        return (inst.segment_seconds(r)[k, j] / TIME_UNIT) * m.n[r, k, j]

    idx_c = [(r, k, j) for r in d.requests for k in range(len(d.layers(r))) for j in d.active(r, k)]
    blk.compute = pyo.Constraint(idx_c, rule=lambda _, r, k, j: m.T[r, k] >= tc(r, k, j))
    pairs = sorted(b.transfer)
    if inst.objective.uplink == "parallel":
        blk.transfer = pyo.Constraint(
            pairs,
            rule=lambda _, r, t, i, j: m.T[r, d.dst(r, t)] >= tc(r, d.dst(r, t), j)
            + b.transfer[r, t, i, j] / (rho[i] * TIME_UNIT),
        )
        return
    sent: dict[tuple[int, int, int], list] = {}
    for r, t, i, j in pairs:
        sent.setdefault((r, t, i), []).append(b.transfer[r, t, i, j])
    blk.sends = pyo.Constraint(
        pairs,
        rule=lambda _, r, t, i, j: d.pair_max_bytes(r, t, i, j) * m.u[r, t, i, j] >= b.transfer[r, t, i, j],
    )

    def serial(_: pyo.Block, r: int, t: int, i: int, j: int) -> pyo.Expression:
        big = d.sender_max_bytes(r, t, i) / (rho[i] * TIME_UNIT)
        wait = sum(sent[r, t, i]) / (rho[i] * TIME_UNIT)
        k = d.dst(r, t)
        return m.T[r, k] >= tc(r, k, j) + wait - big * (1 - m.u[r, t, i, j])

    blk.transfer = pyo.Constraint(pairs, rule=serial)
