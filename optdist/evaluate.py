"""The independent evaluator: score any per-map assignment exactly per MODEL.md sections 4-6.

Plain numpy, no Pyomo: every method's answer is re-scored here.

Data from layer k to layer k+1 (sender i, receiver j, ``i != j``), MODEL.md section 4:

* k conv:        ``O[i,j] = y[k,i] * owned_{k+1}(j) * beta_k`` (``owned = P^out_k`` if k+1 is fc)
* k elementwise: ``O[i,j] = |{p : A[k,p,i] = A[k+1,p,j] = 1}| * beta_k``
  (k+1 fc: ``owned_k(i) * beta_k * A[k+1,1,j]``)
* k fc:          ``O[i,j] = n_k * b * A[k,1,i] * A[k+1,1,j]``

Stage time (section 5): ``T[r,k] = max_j (tc[r,k,j] + max_{i != j} O[i,j] / rho_i)`` with
``tc = owned_k(j) * c_k / e_j``; with a serial uplink a receiver waits for each of its senders
to send everything: ``O[i,j] / rho_i`` becomes ``sum_j' O[i,j'] / rho_i``. Latency of a request
= ``sum_k T[r,k]``. Constraints (section 6): memory, compute, bandwidth per node over the
period, placement (first/last layer and (10h) layers on the request's source, intermediate
layers on devices), privacy (10f): a device receives at most ``Nf`` maps of a layer before SP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.profiles import Layer

REL_TOL = 1e-6  # capacities are checked with this relative slack (solver feasibility tolerance)


@dataclass(frozen=True)
class Violation:
    """A broken constraint: which family, where, and by how much."""

    constraint: str  # memory | compute | bandwidth | placement | privacy | admission
    node: str | None
    request: str | None
    layer: str | None
    amount: float  # how far over the limit (same unit as the limit)
    limit: float
    message: str


@dataclass
class Evaluation:
    """Scores of one assignment. Arrays are per request (nan for rejected) or per node."""

    objective: float
    latency: np.ndarray
    shared_bytes: np.ndarray
    stage_time: list[np.ndarray | None]
    stage_compute: list[np.ndarray | None]
    stage_transfer: list[np.ndarray | None]
    memory_used: np.ndarray
    compute_used: np.ndarray
    bandwidth_used: np.ndarray
    admitted: np.ndarray
    violations: list[Violation] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def total_latency(self) -> float:
        return float(np.nansum(self.latency))

    @property
    def makespan(self) -> float:
        return float(np.nanmax(self.latency)) if self.admitted.any() else 0.0

    @property
    def total_shared_bytes(self) -> float:
        return float(np.nansum(self.shared_bytes))

    @property
    def n_rejected(self) -> int:
        return int((~self.admitted).sum())

    def breakdown(self, inst: Instance, r: int):  # -> pandas.DataFrame
        """Per-stage time of request r: compute and transfer of the critical receiver."""
        import pandas as pd

        if self.stage_time[r] is None:
            return pd.DataFrame(columns=["layer", "T", "compute", "transfer"])
        return pd.DataFrame(
            {
                "layer": [la.name for la in inst.profile(r).layers],
                "T": self.stage_time[r],
                "compute": self.stage_compute[r],
                "transfer": self.stage_transfer[r],
            }
        )

    def summary(self, inst: Instance) -> dict:
        return {
            "objective": self.objective,
            "total_latency_s": self.total_latency,
            "makespan_s": self.makespan,
            "shared_bytes": self.total_shared_bytes,
            "rejected": self.n_rejected,
            "feasible": self.feasible,
            "violations": len(self.violations),
        }


def transfers(
    prev: Layer, nxt: Layer, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse ``O[i,j]`` from layer ``prev`` to layer ``nxt``: (senders, receivers, bytes), i != j."""
    N = n_nodes
    if prev.kind == "elementwise" and nxt.kind != "fc":
        code, cnt = np.unique(a_prev * N + a_next, return_counts=True)
        i, j = code // N, code % N
        byt = cnt * float(prev.beta)
    elif prev.kind == "elementwise":  # -> fc: the fc owner needs every map
        i, cnt = np.unique(a_prev, return_counts=True)
        j = np.full_like(i, a_next[0])
        byt = cnt * float(prev.beta)
    else:  # conv (partial sums of every output map) or fc (the whole vector)
        i = np.unique(a_prev)
        j, cnt = np.unique(a_next, return_counts=True)
        if prev.kind == "conv":
            need = (np.full_like(cnt, prev.out_maps) if nxt.kind == "fc" else cnt) * float(prev.beta)
        else:
            need = np.full(len(j), float(prev.beta))
        i, jj = np.repeat(i, len(j)), np.tile(np.arange(len(j)), len(i))
        j, byt = j[jj], need[jj]
    keep = i != j
    return i[keep], j[keep], np.asarray(byt, dtype=float)[keep]


def dense_transfers(prev: Layer, nxt: Layer, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int) -> np.ndarray:
    """``O[r,i,j]`` for a block of requests: ``a_prev`` (R, P_prev), ``a_next`` (R, P_next) owners.

    Same definition as :func:`transfers`, for many requests at once; the diagonal is zero.
    """
    R, N = a_prev.shape[0], n_nodes
    rows = np.arange(R)[:, None]
    if prev.kind == "elementwise" and nxt.kind != "fc":
        code = (rows * N + a_prev) * N + a_next
        O = np.bincount(code.ravel(), minlength=R * N * N).reshape(R, N, N) * float(prev.beta)
    else:
        cnt_prev = _counts(a_prev, N)
        cnt_next = _counts(a_next, N)
        if prev.kind == "elementwise":  # -> fc: all of i's maps go to the fc owner
            O = cnt_prev[:, :, None] * (cnt_next[:, None, :] > 0) * float(prev.beta)
        elif prev.kind == "conv":  # partial sums of every map j owns (all maps if fc)
            need = np.where(cnt_next > 0, prev.out_maps, 0) if nxt.kind == "fc" else cnt_next
            O = (cnt_prev[:, :, None] > 0) * need[:, None, :] * float(prev.beta)
        else:  # fc: the whole vector to every owner of the next layer
            O = (cnt_prev[:, :, None] > 0) * (cnt_next[:, None, :] > 0) * float(prev.beta)
        O = O.astype(float)
    idx = np.arange(N)
    O[:, idx, idx] = 0.0
    return O


def _counts(a: np.ndarray, N: int) -> np.ndarray:
    """``n[r,i]`` = segments of each row of ``a`` (R, P) owned by node i."""
    R = a.shape[0]
    return np.bincount((np.arange(R)[:, None] * N + a).ravel(), minlength=R * N).reshape(R, N)


_BLOCK_CELLS = 4_000_000  # R*N*N cells per dense transfer block


def evaluate(inst: Instance, asg: Assignment) -> Evaluation:
    """Score ``asg`` on ``inst``: latency per request and stage, shared data, node use, violations.

    Requests of one CNN are scored together in blocks (dense ``O[r,i,j]`` per layer pair).
    """
    N, R, D = inst.n_nodes, inst.n_requests, inst.n_devices
    if len(asg.owners) != R:
        raise ValueError(f"assignment has {len(asg.owners)} requests, the instance has {R}")
    e, rho = inst.mults_per_s, inst.rate
    serial = inst.objective.uplink == "serial"
    mem, comp, bw = np.zeros(N), np.zeros(N), np.zeros(N)
    latency, shared = np.full(R, np.nan), np.full(R, np.nan)
    st: list[np.ndarray | None] = [None] * R
    sc: list[np.ndarray | None] = [None] * R
    stt: list[np.ndarray | None] = [None] * R
    viol: list[Violation] = []
    ids = inst.node_ids
    is_src = np.arange(N) >= D

    groups: dict[str, list[int]] = {}
    for r in range(R):
        rid = inst.request_ids[r]
        own = asg.owners[r]
        if own is None:
            if not inst.objective.admission:
                viol.append(Violation("admission", None, rid, None, 1, 0, f"request {rid} is rejected but admission control is off"))
            continue
        prof = inst.profile(r)
        if len(own) != prof.n_layers:
            raise ValueError(f"request {rid}: {len(own)} layers assigned, {prof.cnn} has {prof.n_layers}")
        for k, la in enumerate(prof.layers):
            a = own[k]
            if a.shape != (la.segments,):
                raise ValueError(f"request {rid} layer {la.name}: {a.shape[0]} owners for {la.segments} segments")
        groups.setdefault(inst.request_cnn[r], []).append(r)

    block = max(1, _BLOCK_CELLS // (N * N))
    for cnn, members in groups.items():
        prof, lim = inst.profiles[cnn], inst.limits[cnn]
        L = prof.n_layers
        for b0 in range(0, len(members), block):
            rs = np.array(members[b0 : b0 + block])
            B = len(rs)
            src = inst.request_source[rs]
            T, Tc, Tt = np.zeros((B, L)), np.zeros((B, L)), np.zeros((B, L))
            sh = np.zeros(B)
            prev_a = None
            for k, la in enumerate(prof.layers):
                a = np.stack([asg.owners[r][k] for r in rs])
                if a.min() < 0 or a.max() >= N:
                    raise ValueError(f"{cnn} layer {la.name}: node index out of range 0..{N - 1}")
                cnt = _counts(a, N)
                mem += cnt.sum(0) * la.weight_bytes_per_segment
                comp += cnt.sum(0) * la.mults_per_segment
                tc = cnt * (la.mults_per_segment / e)
                wait = np.zeros((B, N))
                if k > 0:
                    O = dense_transfers(prof.layers[k - 1], la, prev_a, a, N)
                    bw += O.sum(axis=(0, 2))
                    sh += O.sum(axis=(1, 2))
                    if serial:
                        sent = O.sum(axis=2)
                        arrive = np.where(O > 0, (sent / rho)[:, :, None], 0.0)
                    else:
                        arrive = O / rho[None, :, None]
                    wait = arrive.max(axis=1)
                total = np.where(cnt > 0, tc + wait, -1.0)
                c = total.argmax(axis=1)
                row = np.arange(B)
                T[:, k], Tc[:, k], Tt[:, k] = total[row, c], tc[row, c], wait[row, c]
                viol += _layer_violations(inst, rs, src, la, k, lim, cnt, is_src, D, ids)
                prev_a = a
            for q, r in enumerate(rs):
                st[r], sc[r], stt[r] = T[q], Tc[q], Tt[q]
            latency[rs] = T.sum(axis=1)
            shared[rs] = sh

    for name, used, capa in (
        ("memory", mem, inst.memory),
        ("compute", comp, inst.compute_capacity),
        ("bandwidth", bw, inst.bandwidth_capacity),
    ):
        for n in np.flatnonzero(used > capa * (1 + REL_TOL) + 1e-9):
            viol.append(Violation(name, ids[n], None, None, float(used[n] - capa[n]), float(capa[n]), f"{ids[n]} uses {used[n]:.6g} of {name}, capacity {capa[n]:.6g} ({100 * used[n] / max(capa[n], 1e-300):.1f}%)"))

    admitted = asg.admitted
    obj = inst.objective
    base = float(np.nanmax(latency)) if (obj.kind == "makespan" and admitted.any()) else float(np.nansum(latency))
    objective = base + obj.shared_weight * float(np.nansum(shared))
    if obj.admission:
        objective += inst.rejection_penalty() * int((~admitted).sum())
    return Evaluation(objective, latency, shared, st, sc, stt, mem, comp, bw, admitted, viol)


def _layer_violations(inst, rs, src, la, k, lim, cnt, is_src, D, ids) -> list[Violation]:
    """Placement (eqs. 8, 9, 10h) and privacy (10f) violations of layer k for requests ``rs``."""
    out: list[Violation] = []
    if lim.on_source[k]:
        bad = cnt > 0
        bad[np.arange(len(rs)), src] = False
        for q, n in zip(*np.nonzero(bad)):
            out.append(Violation("placement", ids[n], inst.request_ids[rs[q]], la.name, float(cnt[q, n]), 0, f"{la.name} must run on the request's source {ids[src[q]]} (eqs. 8, 9, 10h) but {ids[n]} owns {cnt[q, n]} segment(s)"))
        return out
    for q, n in zip(*np.nonzero((cnt > 0) & is_src[None, :])):
        out.append(Violation("placement", ids[n], inst.request_ids[rs[q]], la.name, float(cnt[q, n]), 0, f"source {ids[n]} computes intermediate layer {la.name} (sources only run the first and last layers)"))
    if lim.device_cap[k] is not None:
        nf = lim.nf[k]
        got = cnt[:, :D] if la.kind != "fc" else (cnt[:, :D] > 0) * la.in_maps
        for q, n in zip(*np.nonzero(got > nf)):
            out.append(Violation("privacy", ids[n], inst.request_ids[rs[q]], la.name, float(got[q, n] - nf), float(nf), f"{ids[n]} receives {got[q, n]} maps of {la.name} but Nf = {nf} at tau {lim.tau} (10f)"))
    return out
