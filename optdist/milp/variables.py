"""Decision and auxiliary variables of both formulations (MODEL.md sections 3 and 7).

Common to both: ``n[r,k,i]`` segments of layer k of request r owned by node i (a Var in
*compact*, the expression ``sum_p A[r,k,p,i]`` in *per-map*), participation ``y[r,k,i]``
(binary, only for layers with ``P_k > 1``; for one-segment layers ``y = n``), product
transfers ``O[r,t,i,j]`` (bytes of transition t, from its layer u on i to its layer k on j,
conv / to_fc / fc kinds; ``t = k``, ``u = k-1`` on a chain, :mod:`optdist.milp.data`), stage
times ``T[r,k]``, ``reject[r]`` (admission), ``u[r,t,i,j]`` (serial uplink: i sends to j) and
``makespan``. Elementwise flows are ``f[r,t,i,j]`` (compact, integer) or the map products
``w[r,t,p,i,j]`` (per-map). A concat layer's segments that read input q are counted by
``ns[r,k,q,i]`` (compact; per-map sums ``A`` over the slice). Times are in ``TIME_UNIT`` seconds.

DAGs (MODEL.md section 9): compact and tight index per map (``A``, ``w``, as per-map) the
layers where map identity matters (:func:`optdist.milp.data.map_identity_layers`; none on a
chain) and count the rest, ``n = sum_p A`` on those layers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyomo.environ as pyo

from optdist.milp.data import TIME_UNIT

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


def add_assignment_variables(b: BuiltModel) -> None:
    """``n`` (and ``A`` for the layers indexed per map) with bounds ``0 <= n[r,k,i] <= nmax[r,k,i]``; ``y`` binaries.

    per-map: ``A`` on every layer, ``n = sum_p A`` an expression. compact and tight: ``n`` a Var;
    ``A`` on the layers of :meth:`~optdist.milp.data.ModelData.map_layers` (none on a chain), tied
    to the counts by the rows ``map_count``: ``n[r,k,i] = sum_p A[r,k,p,i]``.
    """
    m, d = b.model, b.data
    idx_n = [(r, k, i) for r in d.requests for k in range(len(d.layers(r))) for i in d.cand[r]]
    idx_a = [(r, k, p, i) for (r, k, i) in idx_n if b.mapwise(r, k) for p in range(d.layers(r)[k].segments)]
    m.A = pyo.Var(idx_a, domain=pyo.Binary, bounds=lambda m, r, k, p, i: (0, min(1, int(d.nmax[r][k, i]))))
    if b.formulation != "per-map":

        def n_domain(m: pyo.ConcreteModel, r: int, k: int, i: int) -> pyo.Set:
            return pyo.Binary if d.layers(r)[k].segments == 1 else pyo.NonNegativeIntegers

        m.n = pyo.Var(idx_n, domain=n_domain, bounds=lambda m, r, k, i: (0, int(d.nmax[r][k, i])))
        m.map_count = pyo.Constraint([key for key in idx_n if b.mapwise(key[0], key[1])], rule=lambda m, r, k, i:
                                     m.n[r, k, i] == sum(m.A[r, k, p, i] for p in range(d.layers(r)[k].segments)))
    else:
        m.n = pyo.Expression(
            idx_n, rule=lambda m, r, k, i: sum(m.A[r, k, p, i] for p in range(d.layers(r)[k].segments))
        )
    idx_y = [
        (r, k, i)
        for r in d.requests
        for k, la in enumerate(d.layers(r))
        if la.segments > 1
        for i in d.active(r, k)
    ]
    m.y = pyo.Var(idx_y, domain=pyo.Binary)
    if b.formulation != "per-map":
        idx_s = [(r, ed.k, t, i) for r in d.requests for t in d.transitions(r)
                 if (ed := d.edge(r, t)).sliced and not b.mapwise(r, ed.k) for i in d.cand[r]]
        m.ns = pyo.Var(idx_s, domain=pyo.NonNegativeIntegers, bounds=lambda _, r, k, t, i: (0, d.recv_max(r, t, i)))


def receiving(b: BuiltModel, r: int, t: int, j: int) -> pyo.Expression:
    """Segments of transition t's receiving slice that node j owns: ``n[r,k,j]`` (all of k), the
    slice count ``ns`` (a counted concat k) or the sum of ``A`` over the slice (k indexed per map)."""
    m, ed = b.model, b.data.edge(r, t)
    if not ed.sliced:
        return m.n[r, ed.k, j]
    if b.mapwise(r, ed.k):
        return sum(m.A[r, ed.k, p, j] for p in range(ed.offset, ed.offset + ed.span))
    return m.ns[r, ed.k, t, j]


def add_transfer_variables(b: BuiltModel) -> None:
    """Flows ``f`` for counted elementwise transitions, ``O`` for the products; fills ``b.transfer``.

    Only pairs of active nodes exist (``nmax > 0`` on both sides); ``i != j`` for data.
    Transitions that need map identity (:meth:`BuiltModel.map_edge`): :func:`add_map_transfer_variables`.
    tight (parallel uplink): :func:`optdist.milp.tight.add_tight_transfer_variables`.
    Fills ``b.sent`` / ``b.sent_max`` (bytes each sender ships into each layer).
    """
    if not b.pairwise:
        from optdist.milp.tight import add_tight_transfer_variables

        add_tight_transfer_variables(b)
        return
    m, d = b.model, b.data
    idx_f, idx_o = [], []
    for r in d.requests:
        for t in d.transitions(r):
            ed = d.edge(r, t)
            src, dst = d.active(r, ed.u), d.active(r, ed.k)
            if ed.kind != "flow":
                idx_o += [(r, t, i, j) for i in src for j in dst if i != j]
            elif not b.map_edge(r, t):
                idx_f += [(r, t, i, j) for i in src for j in dst]
    m.f = pyo.Var(idx_f, domain=pyo.NonNegativeIntegers, bounds=lambda m, r, k, i, j: (0, d.flow_max(r, k, i, j)))
    add_map_transfer_variables(b, idx_o)
    for r, t, i, j in idx_f:
        if i != j:
            b.transfer[r, t, i, j] = d.edge(r, t).beta * m.f[r, t, i, j]
    add_sent(b, sorted(b.transfer))


def add_map_transfer_variables(b: BuiltModel, idx_o: list[tuple[int, int, int, int]]) -> None:
    """Products ``O[r,t,i,j]`` (keys ``idx_o``) and the per-map variables of the transitions that
    need map identity (:meth:`BuiltModel.map_edge`, MODEL.md section 9); fills ``b.transfer`` for both.

    * whole-map edge between per-map layers: ``w[r,t,p,i,j]`` (map p of the slice moves from i
      to j), ``O[i,j] = beta_u sum_p w``;
    * grouped convolution: ``gh[r,t,g,i]`` (i holds an input map of group g) and
      ``gw[r,t,g,i,j]`` (the maps of group g that j needs from i).
    """
    m, d = b.model, b.data
    idx_w, idx_gh, idx_gw, flows = [], [], [], []
    for r in d.requests:
        for t in d.transitions(r):
            ed = d.edge(r, t)
            if not b.map_edge(r, t):
                continue
            src, dst = d.active(r, ed.u), d.active(r, ed.k)
            if ed.kind == "group":
                idx_gh += [(r, t, g, i) for g in range(ed.groups) for i in src]
                idx_gw += [(r, t, g, i, j) for g in range(ed.groups) for i in src for j in dst if i != j]
            else:
                flows += [(r, t, i, j) for i in src for j in dst if i != j]
                idx_w += [(r, t, p, i, j) for i in src for j in dst if i != j for p in range(ed.span)]
    m.w = pyo.Var(idx_w, bounds=(0, 1))
    m.gh = pyo.Var(idx_gh, bounds=(0, 1))
    m.gw = pyo.Var(idx_gw, bounds=lambda _, r, t, g, i, j: (0, d.edge(r, t).out_maps // d.edge(r, t).groups))
    m.O = pyo.Var(idx_o, bounds=lambda m, r, k, i, j: (0, d.pair_max_bytes(r, k, i, j)))
    for key in idx_o:
        b.transfer[key] = m.O[key]
    for r, t, i, j in flows:
        ed = d.edge(r, t)
        b.transfer[r, t, i, j] = ed.beta * sum(m.w[r, t, p, i, j] for p in range(ed.span))


def add_sent(b: BuiltModel, keys: list[tuple[int, int, int, int]]) -> None:
    """``b.sent[r,t,i] = sum_j b.transfer[r,t,i,j]`` over ``keys`` (sorted), ``b.sent_max`` its bound."""
    d = b.data
    per_sender: dict[tuple[int, int, int], list] = {}
    for r, t, i, j in keys:
        per_sender.setdefault((r, t, i), []).append(b.transfer[r, t, i, j])
        b.sent_max[r, t, i] = b.sent_max.get((r, t, i), 0.0) + d.pair_max_bytes(r, t, i, j)
    b.sent.update({key: pyo.quicksum(terms) for key, terms in per_sender.items()})


def add_stage_variables(b: BuiltModel) -> None:
    """``T[r,k] >= 0``; ``reject[r]`` if admission; ``u`` if serial uplink; ``makespan`` if asked."""
    m, d, obj = b.model, b.data, b.inst.objective
    def t_bounds(_: pyo.ConcreteModel, r: int, k: int) -> tuple[float, float | None]:
        tmax = d.stage_max[r][k] if r in d.stage_max else math.inf
        return (0, tmax / TIME_UNIT * (1 + 1e-9) if k and math.isfinite(tmax) else None)

    m.T = pyo.Var([(r, k) for r in d.requests for k in range(len(d.layers(r)))], bounds=t_bounds)
    if obj.admission:
        m.reject = pyo.Var(list(d.requests), domain=pyo.Binary)
    if obj.uplink == "serial":
        m.u = pyo.Var(sorted(b.transfer), domain=pyo.Binary)
    if obj.kind == "makespan":
        m.makespan = pyo.Var(bounds=(0, None))
