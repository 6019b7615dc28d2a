"""Edge-cloud split (Osia et al., seeds 002/004): a head on the trusted source, the rest on one device.

For request r with layers ``0..L-1``, a split s puts layers ``0..s-1`` on the source (the
"feature extractor"), layers ``s..L-2`` on one device d (the "cloud" analyser) and the last
layer back on the source (eq. 9). The cloud part may start only where the privacy limits let
one device hold whole layers: every ``k in [s, L-2]`` has no (10h) pin and a cap
``>= P_k`` (e.g. from the split point SP on); ``s = L-1`` means the source computes
everything. Latency (one owner per layer, MODEL.md section 5):

    T(s, d) = sum_{k<s} M_k / e_src + B_s / rho_src + sum_{s<=k<L-1} M_k / e_d
              + B_{L-1} / rho_d + M_{L-1} / e_src          (transfers only if s < L-1)

(``B_k``: the bytes into layer k from a single owner of layer k-1,
:attr:`optdist.transfers.Edge.whole_bytes`.) On a DAG (MODEL.md section 9) every edge
``u -> k`` that crosses the split moves ``B_{u->k}``: into each cloud layer k from the head
(``u < s``), stage time ``M_k / e_d + max_u B_{u->k} / rho_src``; into the last layer from the
cloud part, ``M_{L-1} / e_src + max_u B_{u->L-1} / rho_d``; the sender's bandwidth (10d) sums
its crossing edges. On a chain the only crossing edges are ``s-1 -> s`` and ``L-2 -> L-1``.

Each request, in arrival order, takes the feasible (s, d) with the least latency under the
residual capacities, else it is rejected. Intermediate layers on the source break MODEL.md's
placement rule (sources compute only first, last and (10h) layers): the evaluator reports
them as placement violations, which is the price of Osia's design in this model. The method's
``feasible`` covers only what it models (capacities, privacy, the (10h) pins); its result says
what it does not in ``extra["not_modelled"]`` (:data:`NOT_MODELLED`), which ``optdist solve``
names for each such violation instead of "the method said feasible".
"""

from __future__ import annotations

import time

import numpy as np

from optdist import transfers as tr
from optdist.heuristics.incremental import OnlineOutcome, Usage
from optdist.instance import Instance
from optdist.result import SolveResult

#: the violations edge-cloud makes by design, by family (as :data:`optdist.heuristics.per_layer.NOT_MODELLED`)
NOT_MODELLED = {
    "placement:source": "runs intermediate layers on the source: edge-cloud does not model the rule that sources "
    "compute only the first, last and (10h) layers (its head runs there by design)",
    "admission": "rejects requests with admission control off: edge-cloud rejects a request that nothing fits",
}


def cloud_starts(inst: Instance, r: int) -> list[int]:
    """Splits s whose cloud part ``s..L-2`` one device may hold under the privacy limits; L-1 always."""
    prof, lim = inst.profile(r), inst.limit(r)
    L = prof.n_layers
    ok = [not lim.on_source[k] and (lim.device_cap[k] is None or lim.device_cap[k] >= prof.layers[k].segments) for k in range(L - 1)]
    return [s for s in range(1, L - 1) if all(ok[s:L - 1])] + [L - 1]


def solve_edge_cloud(
    inst: Instance, *, seed: int | None = None, time_limit: float | None = None, threads: int | None = None
) -> SolveResult:
    """Best (split, device) per request; requests in arrival order.

    Deterministic and fast: ``seed``, ``time_limit`` and ``threads`` are accepted for the common
    method interface and not used.
    """
    t0 = time.perf_counter()
    usage = Usage.zeros(inst.n_nodes)
    D = inst.n_devices
    rho = inst.rate
    placed, splits = OnlineOutcome(inst), []
    for r in range(inst.n_requests):
        prof = inst.profile(r)
        layers = prof.layers
        L, src = len(layers), int(inst.request_source[r])
        mults = np.array([la.total_mults for la in layers], dtype=float)
        weights = np.array([la.total_weight_bytes for la in layers], dtype=float)
        secs = inst.segment_seconds(r) * np.array([la.segments for la in layers])[:, None]  # (L, N) s per whole layer
        into = [[(ed.u, ed.whole_bytes) for ed in tr.edges(prof)[k]] for k in range(L)]  # (u, bytes) into k
        left_m, left_c, left_b = inst.memory - usage.memory, inst.compute_capacity - usage.compute, inst.bandwidth_capacity - usage.bandwidth
        best: tuple[float, int, int, float, float] | None = None
        for s in cloud_starts(inst, r):
            on_src = np.r_[np.arange(s), L - 1]
            if weights[on_src].sum() > left_m[src] or mults[on_src].sum() > left_c[src]:
                continue
            head = secs[on_src, src].sum()
            if s == L - 1:
                T, d, up, down = head, -1, 0.0, 0.0
            else:
                cloud = slice(s, L - 1)
                up_in = [[b for u, b in into[k] if u < s] for k in range(s, L - 1)]  # head -> cloud layer k
                up = sum(b for bs in up_in for b in bs)
                up_wait = sum(max(bs) / rho[src] for bs in up_in if bs)
                down_in = [b for u, b in into[L - 1] if u >= s]  # cloud -> last layer
                down = sum(down_in)
                ok = (weights[cloud].sum() <= left_m[:D]) & (mults[cloud].sum() <= left_c[:D]) & (down <= left_b[:D])
                if up > left_b[src] or not ok.any():
                    continue
                Td = np.where(ok, head + up_wait + secs[cloud, :D].sum(axis=0) + max(down_in, default=0.0) / rho[:D], np.inf)
                d = int(np.argmin(Td))
                T = float(Td[d])
            if best is None or T < best[0]:
                best = (T, s, d, up, down)
        if best is None:
            placed.reject(r)
            continue
        T, s, d, up, down = best
        nodes = [src if k < s or k == L - 1 else d for k in range(L)]
        for k, j in enumerate(nodes):
            usage.memory[j] += weights[k]
            usage.compute[j] += mults[k]
        moved = 0.0
        if d >= 0:
            usage.bandwidth[src] += up
            usage.bandwidth[d] += down
            moved = up + down
        placed.accept([np.full(la.segments, j, dtype=np.int64) for la, j in zip(layers, nodes)], T, float(moved))
        splits.append(layers[s].name if s < L - 1 else "source only")
    wall = time.perf_counter() - t0
    return placed.result("edge-cloud", wall, cloud_starts_at=sorted(set(splits)), decision_ms_per_request=1e3 * wall / inst.n_requests,
                         not_modelled=dict(NOT_MODELLED))
