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


def evaluate(inst: Instance, asg: Assignment) -> Evaluation:
    """Score ``asg`` on ``inst``: latency per request and stage, shared data, node use, violations."""
    N, R, D = inst.n_nodes, inst.n_requests, inst.n_devices
    if len(asg.owners) != R:
        raise ValueError(f"assignment has {len(asg.owners)} requests, the instance has {R}")
    e, rho = inst.mults_per_s, inst.rate
    uplink_serial = inst.objective.uplink == "serial"
    mem = np.zeros(N)
    comp = np.zeros(N)
    bw = np.zeros(N)
    latency = np.full(R, np.nan)
    shared = np.full(R, np.nan)
    st: list[np.ndarray | None] = [None] * R
    sc: list[np.ndarray | None] = [None] * R
    stt: list[np.ndarray | None] = [None] * R
    viol: list[Violation] = []
    ids = inst.node_ids

    for r in range(R):
        own = asg.owners[r]
        rid = inst.request_ids[r]
        if own is None:
            if not inst.objective.admission:
                viol.append(Violation("admission", None, rid, None, 1, 0, f"request {rid} is rejected but admission control is off"))
            continue
        prof, lim, src = inst.profile(r), inst.limit(r), int(inst.request_source[r])
        L = prof.n_layers
        if len(own) != L:
            raise ValueError(f"request {rid}: {len(own)} layers assigned, {prof.cnn} has {L}")
        T = np.zeros(L)
        Tc = np.zeros(L)
        Tt = np.zeros(L)
        sh = 0.0
        for k, la in enumerate(prof.layers):
            a = own[k]
            if a.shape != (la.segments,):
                raise ValueError(f"request {rid} layer {la.name}: {a.shape[0]} owners for {la.segments} segments")
            if a.min() < 0 or a.max() >= N:
                raise ValueError(f"request {rid} layer {la.name}: node index out of range")
            cnt = np.bincount(a, minlength=N)
            owners = np.flatnonzero(cnt)
            mem[owners] += cnt[owners] * la.weight_bytes_per_segment
            comp[owners] += cnt[owners] * la.mults_per_segment
            tc = cnt[owners] * la.mults_per_segment / e[owners]
            wait = np.zeros(len(owners))
            if k > 0:
                i, j, byt = transfers(prof.layers[k - 1], la, own[k - 1], a, N)
                np.add.at(bw, i, byt)
                sh += byt.sum()
                if len(i):
                    if uplink_serial:
                        sent = np.zeros(N)
                        np.add.at(sent, i, byt)
                        arrive = sent[i] / rho[i]
                    else:
                        arrive = byt / rho[i]
                    w = np.zeros(N)
                    np.maximum.at(w, j, arrive)
                    wait = w[owners]
            total = tc + wait
            c = int(np.argmax(total))
            T[k], Tc[k], Tt[k] = total[c], tc[c], wait[c]
            # placement and privacy
            on_dev = owners[owners < D]
            on_src = owners[owners >= D]
            if lim.on_source[k]:
                bad = owners[owners != src]
                for n in bad:
                    viol.append(Violation("placement", ids[n], rid, la.name, float(cnt[n]), 0, f"{la.name} must run on the request's source {ids[src]} (eqs. 8, 9, 10h) but {ids[n]} owns {cnt[n]} segment(s)"))
            else:
                for n in on_src:
                    viol.append(Violation("placement", ids[n], rid, la.name, float(cnt[n]), 0, f"source {ids[n]} computes intermediate layer {la.name} (sources only run the first and last layers)"))
                cap = lim.device_cap[k]
                if cap is not None:
                    for n in on_dev:
                        got = cnt[n] if la.kind != "fc" else la.in_maps
                        nf = lim.nf[k]
                        if got > nf:
                            viol.append(Violation("privacy", ids[n], rid, la.name, float(got - nf), float(nf), f"{ids[n]} receives {got} maps of {la.name} but Nf = {nf} at tau {lim.tau} (10f)"))
        st[r], sc[r], stt[r] = T, Tc, Tt
        latency[r] = T.sum()
        shared[r] = sh

    for name, used, capa in (
        ("memory", mem, inst.memory),
        ("compute", comp, inst.compute_capacity),
        ("bandwidth", bw, inst.bandwidth_capacity),
    ):
        over = np.flatnonzero(used > capa * (1 + REL_TOL) + 1e-9)
        for n in over:
            viol.append(Violation(name, ids[n], None, None, float(used[n] - capa[n]), float(capa[n]), f"{ids[n]} uses {used[n]:.6g} of {name}, capacity {capa[n]:.6g} ({100 * used[n] / max(capa[n], 1e-300):.1f}%)"))

    admitted = asg.admitted
    obj = inst.objective
    base = float(np.nanmax(latency)) if (obj.kind == "makespan" and admitted.any()) else float(np.nansum(latency))
    objective = base + obj.shared_weight * float(np.nansum(shared))
    if obj.admission:
        objective += inst.rejection_penalty() * int((~admitted).sum())
    return Evaluation(objective, latency, shared, st, sc, stt, mem, comp, bw, admitted, viol)
