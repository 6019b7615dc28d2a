"""Numbers a formulation needs, derived once from an :class:`Instance` (MODEL.md sections 3-6).

Everything here is data, no Pyomo: candidate nodes, which of them may own a layer, the
tightest upper bound on ``n[r,k,i]`` that the enforced constraint families imply, the kind of
each layer-to-layer transfer (eq. 6) and the big-Ms derived from those bounds.

Times inside the model are in :data:`TIME_UNIT` seconds (microseconds): stage times of the
tiny CNNs are ~1e-5 s, below a solver's 1e-7 feasibility tolerance in relative terms if
written in seconds.

**Transitions.** Model rows and variables of data moved are indexed by a transition ``t``,
one per edge ``u -> k`` of the network (:func:`optdist.transfers.edges`, MODEL.md section 9):
``t = k + L*q`` for the q-th input u of layer k. On a chain every layer has one input, so
``t = k`` and ``u = k - 1``, the indices the formulations always had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from optdist.evaluate import capacity_limit
from optdist.instance import Instance
from optdist.jsonfile import json_text, quoted
from optdist.profiles import Layer, Profile
from optdist.transfers import Edge, TransferKind, conv_coef, edges

TIME_UNIT = 1e-6  # seconds per model time unit
CAPACITIES = ("memory", "compute_capacity", "bandwidth_capacity")


@dataclass
class ModelData:
    """Resolved data of one model: requests, candidate nodes, bounds and capacities.

    ``cand[r]`` = the devices and the request's own source (other sources never serve r);
    ``nmax[r][k][i]`` = upper bound on ``n[r,k,i]`` implied by the families in force:
    P_k; 0 if placement forbids i; the privacy cap on devices; ``floor(cap_i / coef_k)`` for
    memory and compute. A node with ``nmax = 0`` is *inactive* for that layer: no transfer
    or stage-time terms are created for it (its ``n`` is held at 0 by the family that gave 0).
    ``nmax_base`` is the same bound from placement and privacy only: a capacity row is left
    out only if it cannot bind even then.
    """

    inst: Instance
    requests: tuple[int, ...]
    relax: frozenset[str]
    capacity: dict[str, np.ndarray]
    cand: dict[int, tuple[int, ...]]
    nmax: dict[int, np.ndarray]  # r -> (L, N) int
    nmax_base: dict[int, np.ndarray]
    stage_max: dict[int, Sequence[float]] = field(default_factory=dict)  # r -> per-layer cap on T (s)
    #: r -> its transitions, looked up once (hashing a large profile on every lookup of the
    #: cached :func:`optdist.transfers.edges` took most of the build time on 10k-segment DAGs)
    _edges: dict[int, dict[int, Edge]] = field(default_factory=dict, repr=False, compare=False)
    _maps: dict[int, frozenset[int]] = field(default_factory=dict, repr=False, compare=False)

    def layers(self, r: int) -> tuple[Layer, ...]:
        return self.inst.profile(r).layers

    def allowed(self, r: int, k: int, i: int) -> bool:
        """Placement (eqs. 8, 9, 10h): source-only layers on s(r), the others on devices."""
        if self.inst.limit(r).on_source[k]:
            return i == int(self.inst.request_source[r])
        return i < self.inst.n_devices

    def active(self, r: int, k: int) -> list[int]:
        return [i for i in self.cand[r] if self.nmax[r][k, i] > 0]

    def transitions(self, r: int) -> tuple[int, ...]:
        """The transitions ``t`` of request r (module docstring), receivers in stage order."""
        return tuple(self.edge_of(r))

    def edge_of(self, r: int) -> dict[int, Edge]:
        """Transition ``t`` -> its :class:`~optdist.transfers.Edge` (``u``, ``k``, kind, slice)."""
        found = self._edges.get(r)
        if found is None:
            found = self._edges[r] = _transitions(self.inst.profile(r))
        return found

    def map_layers(self, r: int) -> frozenset[int]:
        """Layers of request r that compact and tight index per map (:func:`map_identity_layers`)."""
        found = self._maps.get(r)
        if found is None:
            found = self._maps[r] = map_identity_layers(self.inst.profile(r))
        return found

    def edge(self, r: int, t: int) -> Edge:
        return self.edge_of(r)[t]

    def src(self, r: int, t: int) -> int:
        """The sending layer u of transition t (``t - 1`` on a chain)."""
        return self.edge_of(r)[t].u

    def dst(self, r: int, t: int) -> int:
        """The receiving layer k of transition t (``t`` on a chain)."""
        return self.edge_of(r)[t].k

    def recv_max(self, r: int, t: int, j: int) -> int:
        """Largest number of the receiving segments of transition t node j may own (its slice of k)."""
        ed = self.edge(r, t)
        return int(min(self.nmax[r][ed.k, j], ed.span))

    def kind(self, r: int, t: int) -> TransferKind:
        """Transfer kind of transition t (a chain: from layer t-1 into layer t)."""
        return self.edge(r, t).kind

    def flow_max(self, r: int, t: int, i: int, j: int) -> int:
        """Largest elementwise flow ``f[r,t,i,j]``: ``min(nmax)`` of both ends and, for ``i != j``
        under a stage-time cap ``tmax`` (``stage_max``), ``floor(tmax / (c_k/e_j + beta/rho_i))``
        (``T >= n_j c_k/e_j + f beta/rho_i >= f (c_k/e_j + beta/rho_i)``)."""
        ed = self.edge(r, t)
        fu = int(min(self.nmax[r][ed.u, i], self.recv_max(r, t, j)))
        tmax = self.stage_max[r][ed.k] if r in self.stage_max else math.inf
        return min(fu, self.flow_time_cap(r, t, i, j, tmax))

    def flow_time_cap(self, r: int, t: int, i: int, j: int, tmax: float) -> float:
        """Most maps i can send j over transition t (u -> k) within a stage time ``tmax`` (seconds):
        ``floor(tmax / (s_kj + beta_u/rho_i))`` (``s_kj``: :meth:`Instance.segment_seconds`), as
        ``T >= n_j s_kj + f beta_u/rho_i >= f (s_kj + beta_u/rho_i)``; ``inf`` for ``i = j``, an
        infinite ``tmax`` or a zero cost per map."""
        ed = self.edge(r, t)
        per = self.inst.segment_seconds(r)[ed.k, j] + self.layers(r)[ed.u].beta / self.inst.rate[i]
        if i == j or per <= 0 or not math.isfinite(tmax):
            return math.inf
        return math.floor(tmax / per * (1 + 1e-9))

    def pair_max_bytes(self, r: int, t: int, i: int, j: int) -> float:
        """Largest ``O[i,j]`` of transition t (a chain: from layer t-1 into layer t): the big-M of its linearisation."""
        ed = self.edge(r, t)
        la = self.layers(r)
        prev, nxt = la[ed.u], la[ed.k]
        ni, nj = self.nmax[r][ed.u, i], self.recv_max(r, t, j)
        kind = ed.kind
        if kind == "flow":
            return float(prev.beta) * (self.flow_max(r, t, i, j) if self.stage_max else min(ni, nj))
        if kind == "conv":
            return conv_coef(prev, nxt) * nj
        if kind == "group":
            return float(prev.beta) * (prev.out_maps if nxt.kind == "fc" else nj)
        if kind == "to_fc":
            return float(prev.beta) * ni
        return float(prev.beta)

    def size_estimate(self, formulation: str) -> int:
        """Number of variables ``formulation`` will have (the largest families: counts, flows, products).

        Data only, computed before any Pyomo object exists, so that a build that cannot finish
        within a time limit is refused up front.
        """
        total = 0
        for r in self.requests:
            layers = self.layers(r)
            maps = range(len(layers)) if formulation == "per-map" else self.map_layers(r)
            for k, la in enumerate(layers):
                act = len(self.active(r, k))
                total += len(self.cand[r]) * (la.segments + (formulation != "per-map") if k in maps else 1) + act
            for t in self.transitions(r):
                ed = self.edge(r, t)
                pairs = len(self.active(r, ed.u)) * len(self.active(r, ed.k))
                if ed.kind == "flow":
                    total += pairs * (ed.span + 1 if ed.u in maps else 1)
                elif formulation != "tight" or ed.kind == "group":
                    total += pairs
        return total

    def sender_max_bytes(self, r: int, t: int, i: int) -> float:
        """Largest total ``sum_j O[i,j]`` sender i ships in transition t (serial-uplink big-M)."""
        ed = self.edge(r, t)
        la = self.layers(r)
        prev, nxt = la[ed.u], la[ed.k]
        if ed.kind in ("flow", "to_fc"):
            return float(prev.beta) * self.nmax[r][ed.u, i]
        if ed.kind in ("conv", "group"):
            return conv_coef(prev, nxt) * ed.span
        return float(prev.beta) * ed.span


@cache
def _transitions(profile: Profile) -> dict[int, Edge]:
    L = profile.n_layers
    return {ed.k + L * q: ed for into in edges(profile) for q, ed in enumerate(into)}


def map_identity_layers(profile: Profile) -> frozenset[int]:
    """Layers whose maps compact and tight track one by one (per-map binaries), MODEL.md section 9.

    Counts stand for interchangeable segments. Two constructs make the identity of a map matter:
    a grouped convolution u -> k (``1 < g``: which groups a node holds input maps of, and which
    maps of each group a receiver owns) and a layer k (not a concat) that receives whole maps from
    two or more layers (an add: map p of k reads map p of every input, so the owners of one map
    along all of them count jointly). Their layers (u and k of the first; k and its whole-map
    inputs of the second) are the seeds; maps keep their identity along whole-map (``flow``)
    edges, so the set is closed under those edges in both directions (a concat's slices at their
    offsets included). Every edge that crosses the border of the set is then of a count kind
    (conv, to_fc, fc: eq. 6 depends only on how many segments each node owns), so the hybrid model
    (per-map inside, counts outside, ``n = sum_p A`` on the set) is exact. Empty on a chain.
    """
    into = edges(profile)
    seeds: set[int] = set()
    nbrs: dict[int, set[int]] = {}
    for k, ins in enumerate(into):
        flows = [ed for ed in ins if ed.kind == "flow"]
        for ed in flows:
            nbrs.setdefault(ed.u, set()).add(k)
            nbrs.setdefault(k, set()).add(ed.u)
        if len(flows) > 1 and profile.layers[k].kind != "concat":
            seeds |= {k, *(ed.u for ed in flows)}
        seeds |= {v for ed in ins if ed.kind == "group" for v in (ed.u, k)}
    found, todo = set(seeds), list(seeds)
    while todo:
        for v in nbrs.get(todo.pop(), ()):
            if v not in found:
                found.add(v)
                todo.append(v)
    return frozenset(found)


def model_data(
    inst: Instance,
    relax: frozenset[str],
    requests: Sequence[int] | None,
    capacity_override: Mapping[str, np.ndarray] | None,
    bounds: Mapping[int, np.ndarray] | None = None,
    stage_max: Mapping[int, Sequence[float]] | None = None,
) -> ModelData:
    """Resolve requests, capacities (override per node) and the ``nmax`` bounds.

    ``bounds``: request -> (L, N) extra upper bounds on ``n[r,k,i]`` (min with the others);
    ``stage_max``: request -> per-layer upper bounds on the stage times (seconds).
    """
    reqs = tuple(range(inst.n_requests)) if requests is None else tuple(int(r) for r in requests)
    if len(set(reqs)) != len(reqs) or any(not 0 <= r < inst.n_requests for r in reqs):
        raise ValueError(f"requests must be distinct indices in 0..{inst.n_requests - 1}, got {list(reqs)}")
    # the instance's capacities as the models' right-hand sides: THE capacity rule (an override is one already)
    capacity = {c: capacity_limit(np.asarray(getattr(inst, c), dtype=float)) for c in CAPACITIES}
    for key, arr in (capacity_override or {}).items():
        name = key if key in CAPACITIES else f"{key}_capacity"
        if name not in CAPACITIES:
            raise ValueError(f"capacity_override: unknown capacity {json_text(key)}; use one of {quoted(CAPACITIES)}")
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (inst.n_nodes,):
            raise ValueError(f"capacity_override[{json_text(key)}] has shape {arr.shape}, expected ({inst.n_nodes},)")
        capacity[name] = arr.copy()
    D = inst.n_devices
    cand = {r: tuple(range(D)) + (int(inst.request_source[r]),) for r in reqs}
    data = ModelData(inst, reqs, relax, capacity, cand, {}, {}, dict(stage_max or {}))
    for r in reqs:
        layers, lim = inst.profile(r).layers, inst.limit(r)
        nmax = np.zeros((len(layers), inst.n_nodes), dtype=np.int64)
        base = np.zeros_like(nmax)
        for k, la in enumerate(layers):
            for i in cand[r]:
                ub = la.segments
                if "placement" not in relax and not data.allowed(r, k, i):
                    ub = 0
                cap = lim.device_cap[k]
                if "privacy" not in relax and i < D and cap is not None:
                    ub = min(ub, cap)
                base[k, i] = ub
                for fam, cname, per in (
                    ("memory", "memory", la.weight_bytes_per_segment),
                    ("compute", "compute_capacity", la.mults_per_segment),
                ):
                    if fam not in relax and per > 0:
                        ub = min(ub, math.floor(capacity[cname][i] / per * (1 + 1e-12)))
                nmax[k, i] = max(ub, 0)
        if bounds is not None and r in bounds:
            extra = np.asarray(bounds[r], dtype=np.int64)
            if extra.shape != nmax.shape:
                raise ValueError(f"bounds[{r}] has shape {extra.shape}, expected {nmax.shape}")
            nmax = np.minimum(nmax, np.maximum(extra, 0))
        data.nmax[r] = nmax
        data.nmax_base[r] = base
    return data
