"""Numbers a formulation needs, derived once from an :class:`Instance` (MODEL.md sections 3-6).

Everything here is data, no Pyomo: candidate nodes, which of them may own a layer, the
tightest upper bound on ``n[r,k,i]`` that the enforced constraint families imply, the kind of
each layer-to-layer transfer (eq. 6) and the big-Ms derived from those bounds.

Times inside the model are in :data:`TIME_UNIT` seconds (microseconds): stage times of the
tiny CNNs are ~1e-5 s, below a solver's 1e-7 feasibility tolerance in relative terms if
written in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from optdist.instance import Instance
from optdist.profiles import Layer
from optdist.transfers import TransferKind, conv_coef, edges, transfer_kind

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

    def layers(self, r: int) -> tuple[Layer, ...]:
        return self.inst.profile(r).layers

    def allowed(self, r: int, k: int, i: int) -> bool:
        """Placement (eqs. 8, 9, 10h): source-only layers on s(r), the others on devices."""
        if self.inst.limit(r).on_source[k]:
            return i == int(self.inst.request_source[r])
        return i < self.inst.n_devices

    def active(self, r: int, k: int) -> list[int]:
        return [i for i in self.cand[r] if self.nmax[r][k, i] > 0]

    def kind(self, r: int, k: int) -> TransferKind:
        """Transfer kind from layer k-1 into layer k (k >= 1)."""
        la = self.layers(r)
        return transfer_kind(la[k - 1], la[k])

    def flow_max(self, r: int, k: int, i: int, j: int) -> int:
        """Largest elementwise flow ``f[r,k,i,j]``: ``min(nmax)`` of both ends and, for ``i != j``
        under a stage-time cap ``tmax`` (``stage_max``), ``floor(tmax / (c_k/e_j + beta/rho_i))``
        (``T >= n_j c_k/e_j + f beta/rho_i >= f (c_k/e_j + beta/rho_i)``)."""
        fu = int(min(self.nmax[r][k - 1, i], self.nmax[r][k, j]))
        tmax = self.stage_max[r][k] if r in self.stage_max else math.inf
        if i != j and math.isfinite(tmax):
            la = self.layers(r)
            per = la[k].mults_per_segment / self.inst.mults_per_s[j] + la[k - 1].beta / self.inst.rate[i]
            if per > 0:
                fu = min(fu, math.floor(tmax / per * (1 + 1e-9)))
        return fu

    def pair_max_bytes(self, r: int, k: int, i: int, j: int) -> float:
        """Largest ``O[i,j]`` from layer k-1 into layer k: the big-M of its linearisation."""
        la = self.layers(r)
        prev, nxt = la[k - 1], la[k]
        ni, nj = self.nmax[r][k - 1, i], self.nmax[r][k, j]
        kind = self.kind(r, k)
        if kind == "flow":
            return float(prev.beta) * (self.flow_max(r, k, i, j) if self.stage_max else min(ni, nj))
        if kind == "conv":
            return conv_coef(prev, nxt) * nj
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
            for k, la in enumerate(layers):
                act = len(self.active(r, k))
                total += len(self.cand[r]) * (la.segments if formulation == "per-map" else 1) + act
                if k == 0:
                    continue
                pairs = len(self.active(r, k - 1)) * act
                if self.kind(r, k) == "flow":
                    total += pairs * (la.segments + 1 if formulation == "per-map" else 1)
                elif formulation != "tight":
                    total += pairs
        return total

    def sender_max_bytes(self, r: int, k: int, i: int) -> float:
        """Largest total ``sum_j O[i,j]`` sender i ships into layer k (serial-uplink big-M)."""
        la = self.layers(r)
        prev, nxt = la[k - 1], la[k]
        kind = self.kind(r, k)
        if kind in ("flow", "to_fc"):
            return float(prev.beta) * self.nmax[r][k - 1, i]
        if kind == "conv":
            return conv_coef(prev, nxt) * nxt.segments
        return float(prev.beta) * nxt.segments


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
    for r in reqs:
        prof = inst.profile(r)
        if not prof.is_chain or any(ed.kind == "group" for into in edges(prof) for ed in into):
            raise NotImplementedError(f"{prof.cnn}: the MILP formulations take chain networks without grouped "
                                      "convolutions so far (MODEL.md section 9); score placements with the evaluator")
    if len(set(reqs)) != len(reqs) or any(not 0 <= r < inst.n_requests for r in reqs):
        raise ValueError(f"requests must be distinct indices in 0..{inst.n_requests - 1}, got {list(reqs)}")
    capacity = {c: np.asarray(getattr(inst, c), dtype=float).copy() for c in CAPACITIES}
    for key, arr in (capacity_override or {}).items():
        name = key if key in CAPACITIES else f"{key}_capacity"
        if name not in CAPACITIES:
            raise ValueError(f"capacity_override: unknown capacity {key!r}; use one of {CAPACITIES}")
        arr = np.asarray(arr, dtype=float)
        if arr.shape != (inst.n_nodes,):
            raise ValueError(f"capacity_override[{key!r}] has shape {arr.shape}, expected ({inst.n_nodes},)")
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
