"""Between model values and per-map assignments: read a solution back, seed a warm start.

Read-back (compact): counts say how many maps each node owns, flows say where each map
goes next. Maps of layer 1 are labelled in node order; across an elementwise -> non-fc
transition u -> k the maps node i owned at u are handed to the receivers j in ``f[i,j]`` blocks,
so the per-map overlaps (and hence eq. 6's bytes) are exactly the model's. Elsewhere map
identity does not matter and layers are labelled in node order (a concat slice by slice, each
slice by its flow or its counts ``ns``; a counted layer has at most one flow into it or into a
slice). Layers indexed per map (per-map; in compact and tight those of
:func:`optdist.milp.data.map_identity_layers`) are read from ``A``.

Seeding: every variable is set to what the assignment implies under the model's own
definitions (counts, flows, products, stage times), so a feasible assignment gives a
feasible start.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.milp.data import TIME_UNIT
from optdist.transfers import transfer_matrix

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


class InvalidSolution(RuntimeError):
    """The values a solver loaded into the model are no placement (a value that is not a finite
    number, counts or flows that do not add up): the message names the request and variable.
    :func:`optdist.milp.run.solve_built` turns it into termination ``error`` naming the solver."""


def _value(v: pyo.Var) -> float:
    """``v``'s value (None: 0); :class:`InvalidSolution` naming ``v`` if it is not a finite number."""
    if v.value is None:
        return 0.0
    x = float(v.value)
    if not math.isfinite(x):
        raise InvalidSolution(f"variable {v.name} = {x} is not a finite number")
    return x


def _int(v: pyo.Var) -> int:
    return int(round(_value(v)))


def owners_from_model(b: BuiltModel) -> Assignment:
    """The loaded solution as an :class:`Assignment` (requests outside the model: ``None``)."""
    m, d = b.model, b.data
    owners: list[list[np.ndarray] | None] = [None] * b.inst.n_requests
    for r in d.requests:
        if b.inst.objective.admission and _int(m.reject[r]) == 1:
            continue
        layers = d.layers(r)
        per_layer: list[np.ndarray] = []
        for k, la in enumerate(layers):
            if b.mapwise(r, k):
                a = np.array(
                    [max(d.cand[r], key=lambda i: _value(m.A[r, k, p, i])) for p in range(la.segments)],
                    dtype=np.int64,
                )
            else:
                a = _label_layer(b, r, k, per_layer)
            per_layer.append(a)
        owners[r] = per_layer
    return Assignment(owners, {"formulation": b.formulation, "requests": list(d.requests)})


def _label_layer(b: BuiltModel, r: int, k: int, per_layer: list[np.ndarray]) -> np.ndarray:
    """Owners of counted layer k (compact, tight): along the flow into each slice, else in node order by counts."""
    m, d, N = b.model, b.data, b.inst.n_nodes
    la = d.layers(r)[k]
    into = [t for t in d.transitions(r) if d.dst(r, t) == k]
    slices = [t for t in into if d.edge(r, t).sliced] or [None]
    a = np.full(la.segments, -1, dtype=np.int64)
    for t in slices:
        lo, hi = (0, la.segments) if t is None else (d.edge(r, t).offset, d.edge(r, t).offset + d.edge(r, t).span)
        flow = next((q for q in into if d.kind(r, q) == "flow" and (t is None or q == t)), None)
        if flow is not None:
            a[lo:hi] = _label_along_flows(b, r, flow, per_layer[d.src(r, flow)])
            continue
        cnt = np.zeros(N, dtype=np.int64)
        for i in d.cand[r]:
            cnt[i] = _int(m.n[r, k, i]) if t is None else _int(m.ns[r, k, t, i])
        if cnt.sum() != hi - lo:
            what = f"n[{r},{k},*]" if t is None else f"ns[{r},{k},{t},*]"
            raise InvalidSolution(f"request {r} layer {la.name}: its counts {what} own {cnt.sum()} of its "
                                  f"{hi - lo} segments")
        a[lo:hi] = np.repeat(np.arange(N), cnt)
    return a


def _label_along_flows(b: BuiltModel, r: int, t: int, prev: np.ndarray) -> np.ndarray:
    """Owners of transition t's receiving slice: the maps node i held at u go to j in blocks of ``f[r,t,i,j]``."""
    m, d = b.model, b.data
    a = np.full(len(prev), -1, dtype=np.int64)
    for i in np.unique(prev):
        maps = np.flatnonzero(prev == i)
        pos = 0
        for j in d.active(r, d.dst(r, t)):
            c = _int(m.f[r, t, i, j]) if (r, t, i, j) in m.f else 0
            a[maps[pos : pos + c]] = j
            pos += c
        if pos != len(maps):
            raise InvalidSolution(f"request {r} transition {t}: its flows f[{r},{t},{i},*] from node {i} carry {pos} "
                                  f"of the {len(maps)} maps node {i} owns")
    return a


def _set(var: pyo.Var, value: float) -> None:
    var.set_value(value, skip_validation=True)


def check_holdable(b: BuiltModel, asg: Assignment) -> None:
    """Raise ``ValueError`` (naming the request and nodes of ``asg``) if no value of ``b``'s
    variables holds ``asg``: another number of requests, a request rejected without admission
    control, or a modelled request on a node outside its candidates (another request's source)."""
    d, inst = b.data, b.inst
    if len(asg.owners) != inst.n_requests:
        raise ValueError(f"assignment has {len(asg.owners)} requests, the instance has {inst.n_requests}")
    for r in d.requests:
        own = asg.owners[r]
        if own is None:
            if not inst.objective.admission:
                raise ValueError(f"request {inst.request_ids[r]} is rejected but admission control is off")
            continue
        outside = {int(i) for a in own for i in np.unique(a)} - set(d.cand[r])
        if outside:
            names = [inst.node_ids[i] for i in sorted(outside)]
            raise ValueError(f"request {inst.request_ids[r]}: nodes {names} are not candidates (another request's source)")


def set_model_values(b: BuiltModel, asg: Assignment) -> None:
    """Set every variable of the modelled requests to the values implied by ``asg``; raises
    ``ValueError`` if none holds it (:func:`check_holdable`)."""
    m, d, inst = b.model, b.data, b.inst
    check_holdable(b, asg)
    rho = inst.rate
    serial = inst.objective.uplink == "serial"
    latency = []
    for var in m.component_data_objects(pyo.Var, descend_into=True):
        _set(var, 0)
    for r in d.requests:
        own = asg.owners[r]
        if own is None:
            _set(m.reject[r], 1)
            continue
        layers = d.layers(r)
        lat = 0.0
        waits = np.zeros((len(layers), inst.n_nodes))
        for t in d.transitions(r):
            ed = d.edge(r, t)
            a_u, a_k = own[ed.u], own[ed.k]
            O = transfer_matrix(ed, a_u, a_k, inst.n_nodes)
            recv = ed.receiving(a_k)
            if ed.sliced and not b.mapwise(r, ed.k):
                for i, c in enumerate(np.bincount(recv, minlength=inst.n_nodes)):
                    if (r, ed.k, t, i) in m.ns:
                        _set(m.ns[r, ed.k, t, i], int(c))
            _set_transfer_values(b, r, t, a_u, recv, O)
            if not b.pairwise:
                from optdist.milp.tight import set_tight_values

                set_tight_values(b, r, t, a_u, recv)
            secs = O / (rho[:, None] * TIME_UNIT)
            if serial:
                secs = np.where(O > 0, (O.sum(axis=1) / (rho * TIME_UNIT))[:, None], 0.0)
            np.maximum(waits[ed.k], secs.max(axis=0), out=waits[ed.k])
        for k, la in enumerate(layers):
            a = own[k]
            cnt = np.bincount(a, minlength=inst.n_nodes)
            for i in d.cand[r]:
                if b.formulation != "per-map":
                    _set(m.n[r, k, i], int(cnt[i]))
                if (r, k, i) in m.y:
                    _set(m.y[r, k, i], int(cnt[i] > 0))
            if b.mapwise(r, k):
                for p, i in enumerate(a):
                    _set(m.A[r, k, p, int(i)], 1)
            tc = cnt * inst.segment_seconds(r)[k] / TIME_UNIT
            T = float(np.max((tc + waits[k])[cnt > 0]))
            _set(m.T[r, k], T)
            lat += T
        latency.append(lat)
    if inst.objective.kind == "makespan":
        _set(m.makespan, max(latency, default=0.0))


def _set_transfer_values(b: BuiltModel, r: int, t: int, a_prev: np.ndarray, a_recv: np.ndarray, O: np.ndarray) -> None:
    """Flows and products of transition t; ``a_recv``: owners of its receiving slice."""
    m, d = b.model, b.data
    if d.kind(r, t) == "flow":
        if not b.map_edge(r, t):
            pairs, cnt = np.unique(np.stack([a_prev, a_recv]), axis=1, return_counts=True)
            for (i, j), c in zip(pairs.T.tolist(), cnt.tolist()):
                if (r, t, i, j) in m.f:
                    _set(m.f[r, t, i, j], c)
        else:
            for p, (i, j) in enumerate(zip(a_prev.tolist(), a_recv.tolist())):
                if i != j and (r, t, p, i, j) in m.w:
                    _set(m.w[r, t, p, i, j], 1)
    ed = d.edge(r, t)
    if ed.kind == "group":  # which groups i holds, and the maps of each group j needs from it
        per_in, per_out = ed.sender_segments // ed.groups, ed.out_maps // ed.groups
        fc = d.layers(r)[ed.k].kind == "fc"
        for (q, tt, g, i), var in m.gh.items():
            if (q, tt) == (r, t):
                _set(var, float((a_prev[g * per_in:(g + 1) * per_in] == i).any()))
        for (q, tt, g, i, j), var in m.gw.items():
            if (q, tt) == (r, t) and m.gh[q, tt, g, i].value:
                _set(var, float(per_out * (a_recv == j).any() if fc else (a_recv[g * per_out:(g + 1) * per_out] == j).sum()))
    for i, j in zip(*np.nonzero(O)):
        key = (r, t, int(i), int(j))
        if key in m.O:
            _set(m.O[key], float(O[i, j]))
        if b.inst.objective.uplink == "serial" and key in m.u:
            _set(m.u[key], 1)
