"""Decision and auxiliary variables of both formulations (MODEL.md sections 3 and 7).

Common to both: ``n[r,k,i]`` segments of layer k of request r owned by node i (a Var in
*compact*, the expression ``sum_p A[r,k,p,i]`` in *per-map*), participation ``y[r,k,i]``
(binary, only for layers with ``P_k > 1``; for one-segment layers ``y = n``), product
transfers ``O[r,k,i,j]`` (bytes from layer k-1 on i to layer k on j, conv / to_fc / fc
kinds), stage times ``T[r,k]``, ``reject[r]`` (admission), ``u[r,k,i,j]`` (serial uplink: i
sends to j) and ``makespan``. Elementwise flows are ``f[r,k,i,j]`` (compact, integer) or the
map products ``w[r,k,p,i,j]`` (per-map). Times are in ``TIME_UNIT`` seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.environ as pyo

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


def add_assignment_variables(b: BuiltModel) -> None:
    """``n`` (and ``A`` for per-map) with bounds ``0 <= n[r,k,i] <= nmax[r,k,i]``; ``y`` binaries."""
    m, d = b.model, b.data
    idx_n = [(r, k, i) for r in d.requests for k in range(len(d.layers(r))) for i in d.cand[r]]
    if b.formulation != "per-map":

        def n_domain(m: pyo.ConcreteModel, r: int, k: int, i: int) -> pyo.Set:
            return pyo.Binary if d.layers(r)[k].segments == 1 else pyo.NonNegativeIntegers

        m.n = pyo.Var(idx_n, domain=n_domain, bounds=lambda m, r, k, i: (0, int(d.nmax[r][k, i])))
    else:
        idx_a = [(r, k, p, i) for (r, k, i) in idx_n for p in range(d.layers(r)[k].segments)]
        m.A = pyo.Var(idx_a, domain=pyo.Binary, bounds=lambda m, r, k, p, i: (0, min(1, int(d.nmax[r][k, i]))))
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


def add_transfer_variables(b: BuiltModel) -> None:
    """Flows (``f`` or ``w``) for elementwise transitions, ``O`` for the products; fills ``b.transfer``.

    Only pairs of active nodes exist (``nmax > 0`` on both sides); ``i != j`` for data.
    tight (parallel uplink): :func:`optdist.milp.tight.add_tight_transfer_variables`.
    Fills ``b.sent`` / ``b.sent_max`` (bytes each sender ships into each layer).
    """
    if not b.pairwise:
        from optdist.milp.tight import add_tight_transfer_variables

        add_tight_transfer_variables(b)
        return
    m, d = b.model, b.data
    idx_f, idx_w, idx_o = [], [], []
    for r in d.requests:
        for k in range(1, len(d.layers(r))):
            src, dst = d.active(r, k - 1), d.active(r, k)
            if d.kind(r, k) == "flow":
                idx_f += [(r, k, i, j) for i in src for j in dst]
                if b.formulation == "per-map":
                    P = d.layers(r)[k].segments
                    idx_w += [(r, k, p, i, j) for i in src for j in dst if i != j for p in range(P)]
            else:
                idx_o += [(r, k, i, j) for i in src for j in dst if i != j]
    if b.formulation != "per-map":
        m.f = pyo.Var(
            idx_f,
            domain=pyo.NonNegativeIntegers,
            bounds=lambda m, r, k, i, j: (0, int(min(d.nmax[r][k - 1, i], d.nmax[r][k, j]))),
        )
    else:
        m.w = pyo.Var(idx_w, bounds=(0, 1))
    m.O = pyo.Var(idx_o, bounds=lambda m, r, k, i, j: (0, d.pair_max_bytes(r, k, i, j)))
    for r, k, i, j in idx_o:
        b.transfer[r, k, i, j] = m.O[r, k, i, j]
    for r, k, i, j in idx_f:
        if i == j:
            continue
        beta = float(d.layers(r)[k - 1].beta)
        if b.formulation != "per-map":
            b.transfer[r, k, i, j] = beta * m.f[r, k, i, j]
        else:
            P = d.layers(r)[k].segments
            b.transfer[r, k, i, j] = beta * sum(m.w[r, k, p, i, j] for p in range(P))
    per_sender: dict[tuple[int, int, int], list] = {}
    for (r, k, i, j), expr in sorted(b.transfer.items(), key=lambda t: t[0]):
        per_sender.setdefault((r, k, i), []).append(expr)
        b.sent_max[r, k, i] = b.sent_max.get((r, k, i), 0.0) + d.pair_max_bytes(r, k, i, j)
    b.sent.update({key: pyo.quicksum(terms) for key, terms in per_sender.items()})


def add_stage_variables(b: BuiltModel) -> None:
    """``T[r,k] >= 0``; ``reject[r]`` if admission; ``u`` if serial uplink; ``makespan`` if asked."""
    m, d, obj = b.model, b.data, b.inst.objective
    m.T = pyo.Var([(r, k) for r in d.requests for k in range(len(d.layers(r)))], bounds=(0, None))
    if obj.admission:
        m.reject = pyo.Var(list(d.requests), domain=pyo.Binary)
    if obj.uplink == "serial":
        m.u = pyo.Var(sorted(b.transfer), domain=pyo.Binary)
    if obj.kind == "makespan":
        m.makespan = pyo.Var(bounds=(0, None))
