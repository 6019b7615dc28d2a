"""Between model values and per-map assignments: read a solution back, seed a warm start.

Read-back (compact): counts say how many maps each node owns, flows say where each map
goes next. Maps of layer 1 are labelled in node order; across an elementwise -> non-fc
transition the maps node i owned at k-1 are handed to the receivers j in ``f[i,j]`` blocks, so
the per-map overlaps (and hence eq. 6's bytes) are exactly the model's. Elsewhere map
identity does not matter and layers are labelled in node order.

Seeding: every variable is set to what the assignment implies under the model's own
definitions (counts, flows, products, stage times), so a feasible assignment gives a
feasible start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.milp.data import TIME_UNIT
from optdist.transfers import conv_coef

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


def _int(v: pyo.Var) -> int:
    return int(round(v.value)) if v.value is not None else 0


def owners_from_model(b: BuiltModel) -> Assignment:
    """The loaded solution as an :class:`Assignment` (requests outside the model: ``None``)."""
    m, d, N = b.model, b.data, b.inst.n_nodes
    owners: list[list[np.ndarray] | None] = [None] * b.inst.n_requests
    for r in d.requests:
        if b.inst.objective.admission and _int(m.reject[r]) == 1:
            continue
        layers = d.layers(r)
        per_layer: list[np.ndarray] = []
        for k, la in enumerate(layers):
            if b.formulation == "per-map":
                a = np.array(
                    [max(d.cand[r], key=lambda i: m.A[r, k, p, i].value or 0.0) for p in range(la.segments)],
                    dtype=np.int64,
                )
            elif k > 0 and d.kind(r, k) == "flow":
                a = _label_along_flows(b, r, k, per_layer[k - 1])
            else:
                cnt = np.zeros(N, dtype=np.int64)
                for i in d.cand[r]:
                    cnt[i] = _int(m.n[r, k, i])
                if cnt.sum() != la.segments:
                    raise RuntimeError(f"request {r} layer {la.name}: solution owns {cnt.sum()} of {la.segments} segments")
                a = np.repeat(np.arange(N), cnt)
            per_layer.append(a)
        owners[r] = per_layer
    return Assignment(owners, {"formulation": b.formulation, "requests": list(d.requests)})


def _label_along_flows(b: BuiltModel, r: int, k: int, prev: np.ndarray) -> np.ndarray:
    """Owners of layer k: the maps node i held at k-1 go to j in blocks of ``f[r,k,i,j]``."""
    m, d = b.model, b.data
    a = np.full(len(prev), -1, dtype=np.int64)
    for i in np.unique(prev):
        maps = np.flatnonzero(prev == i)
        pos = 0
        for j in d.active(r, k):
            c = _int(m.f[r, k, i, j]) if (r, k, i, j) in m.f else 0
            a[maps[pos : pos + c]] = j
            pos += c
        if pos != len(maps):
            raise RuntimeError(f"request {r} layer {k}: flows from node {i} carry {pos} of its {len(maps)} maps")
    return a


def transfer_matrix(b: BuiltModel, r: int, k: int, a_prev: np.ndarray, a_next: np.ndarray) -> np.ndarray:
    """Dense ``O[i,j]`` (bytes) into layer k under the model's definitions (eq. 6), zero diagonal."""
    N = b.inst.n_nodes
    layers = b.data.layers(r)
    prev, nxt = layers[k - 1], layers[k]
    cp, cn = np.bincount(a_prev, minlength=N), np.bincount(a_next, minlength=N)
    kind = b.data.kind(r, k)
    if kind == "flow":
        O = np.zeros((N, N))
        np.add.at(O, (a_prev, a_next), float(prev.beta))
    elif kind == "conv":
        O = np.outer(cp > 0, cn) * conv_coef(prev, nxt)
    elif kind == "to_fc":
        O = np.outer(cp, cn > 0) * float(prev.beta)
    else:
        O = np.outer(cp > 0, cn > 0) * float(prev.beta)
    np.fill_diagonal(O, 0.0)
    return O


def _set(var: pyo.Var, value: float) -> None:
    var.set_value(value, skip_validation=True)


def set_model_values(b: BuiltModel, asg: Assignment) -> None:
    """Set every variable of the modelled requests to the values implied by ``asg``."""
    m, d, inst = b.model, b.data, b.inst
    if len(asg.owners) != inst.n_requests:
        raise ValueError(f"assignment has {len(asg.owners)} requests, the instance has {inst.n_requests}")
    e, rho = inst.mults_per_s, inst.rate
    serial = inst.objective.uplink == "serial"
    latency = []
    for var in m.component_data_objects(pyo.Var, descend_into=True):
        _set(var, 0)
    for r in d.requests:
        own = asg.owners[r]
        if own is None:
            if not inst.objective.admission:
                raise ValueError(f"request {inst.request_ids[r]} is rejected but admission control is off")
            _set(m.reject[r], 1)
            continue
        outside = {int(i) for a in own for i in np.unique(a)} - set(d.cand[r])
        if outside:
            names = [inst.node_ids[i] for i in sorted(outside)]
            raise ValueError(f"request {inst.request_ids[r]}: nodes {names} are not candidates (another request's source)")
        layers = d.layers(r)
        lat = 0.0
        for k, la in enumerate(layers):
            a = own[k]
            cnt = np.bincount(a, minlength=inst.n_nodes)
            for i in d.cand[r]:
                if b.formulation != "per-map":
                    _set(m.n[r, k, i], int(cnt[i]))
                if (r, k, i) in m.y:
                    _set(m.y[r, k, i], int(cnt[i] > 0))
            if b.formulation == "per-map":
                for p, i in enumerate(a):
                    _set(m.A[r, k, p, int(i)], 1)
            tc = cnt * la.mults_per_segment / (e * TIME_UNIT)
            wait = np.zeros(inst.n_nodes)
            if k > 0:
                O = transfer_matrix(b, r, k, own[k - 1], a)
                _set_transfer_values(b, r, k, own[k - 1], a, O)
                if not b.pairwise:
                    from optdist.milp.tight import set_tight_values

                    set_tight_values(b, r, k, own[k - 1], a)
                secs = O / (rho[:, None] * TIME_UNIT)
                if serial:
                    secs = np.where(O > 0, (O.sum(axis=1) / (rho * TIME_UNIT))[:, None], 0.0)
                wait = secs.max(axis=0)
            T = float(np.max((tc + wait)[cnt > 0]))
            _set(m.T[r, k], T)
            lat += T
        latency.append(lat)
    if inst.objective.kind == "makespan":
        _set(m.makespan, max(latency, default=0.0))


def _set_transfer_values(b: BuiltModel, r: int, k: int, a_prev: np.ndarray, a_next: np.ndarray, O: np.ndarray) -> None:
    m, d = b.model, b.data
    if d.kind(r, k) == "flow":
        if b.formulation != "per-map":
            pairs, cnt = np.unique(np.stack([a_prev, a_next]), axis=1, return_counts=True)
            for (i, j), c in zip(pairs.T.tolist(), cnt.tolist()):
                if (r, k, i, j) in m.f:
                    _set(m.f[r, k, i, j], c)
        else:
            for p, (i, j) in enumerate(zip(a_prev.tolist(), a_next.tolist())):
                if i != j and (r, k, p, i, j) in m.w:
                    _set(m.w[r, k, p, i, j], 1)
    if not b.pairwise:
        return
    for i, j in zip(*np.nonzero(O)):
        key = (r, k, int(i), int(j))
        if key in m.O:
            _set(m.O[key], float(O[i, j]))
        if b.inst.objective.uplink == "serial" and key in m.u:
            _set(m.u[key], 1)
