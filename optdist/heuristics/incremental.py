"""Incremental placement state shared by the greedy heuristic and the RL environment.

A request is placed layer by layer, segment by segment, keeping per-node usage and the exact
stage time of MODEL.md sections 4-6 (parallel uplink). The bytes of the edge into layer k come
from :mod:`optdist.transfers` (its kind and coefficients); with previous-layer owners S
(``n'_i`` segments each) and ``n_j`` segments of k on node j, the three shapes of
``wait_j = max_{i in S, i != j} O[i,j] / rho_i`` are:

* ``per_segment`` (conv into a multi-segment layer: ``O[i,j] = coef * n_j``):
  ``wait_j = n_j * coef / min_{i in S, i != j} rho_i``;
* ``map`` (flow edges: map p moves from its owner i to its new owner j != i):
  ``wait_j = max_{i != j} f_ij * beta / rho_i`` with ``f_ij`` maps moved from i to j;
* ``per_receiver`` (edges into a one-segment layer, e.g. fc: i sends ``O[i,j] = bytes_i``
  whatever j owns; ``n'_i * beta`` after an elementwise layer, ``P^out * beta`` after a
  conv, the vector after an fc): ``wait_j = max_{i in S, i != j} bytes_i / rho_i``.

A layer of a DAG (MODEL.md section 9) with several input edges (``add``, ``concat``), one
that reads a slice of it (a ``concat``) or a grouped-conv edge is in ``general`` mode: per edge
e, ``delta[e,q,i]`` = the bytes owner i of the input sends to the owner of segment q
(:func:`optdist.transfers.receiver_bytes`), accumulated per receiver into ``O_e[i,j]``, and
``wait_j = max_{e, i != j} O_e[i,j] / rho_i`` (the longest over k's input edges; bandwidth
sums over all of them), one segment at a time; the greedy books runs of segments at once where
conv edges (the same bytes from every sender) and single-sender edges (elementwise inputs)
provably give the same picks (:meth:`LayerState._general_batch`). A layer with one input edge
(any ``u in in(k)``) takes the three shapes above, so chains are unchanged.

Node j finishes at ``f_j = n_j c_k / e_j + wait_j``; the stage time is ``T_k = max_j f_j``
(eq. 7). One more segment on j is feasible when j is a candidate (a device, or the request's
source for first/last/(10h) layers, and active), keeps (10f) ``n_j <= cap_k``, (10b) memory,
(10c) compute and (10d) the bandwidth of every sender it adds bytes to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optdist import transfers as tr
from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.result import SolveResult, Termination


@dataclass
class Usage:
    """Memory, compute and bandwidth used per node over the period (10b-10d)."""

    memory: np.ndarray
    compute: np.ndarray
    bandwidth: np.ndarray

    @classmethod
    def zeros(cls, n_nodes: int) -> Usage:
        return cls(np.zeros(n_nodes), np.zeros(n_nodes), np.zeros(n_nodes))

    def copy(self) -> Usage:
        return Usage(self.memory.copy(), self.compute.copy(), self.bandwidth.copy())

    def restore(self, saved: Usage) -> None:
        self.memory[:], self.compute[:], self.bandwidth[:] = saved.memory, saved.compute, saved.bandwidth


class ParallelUplinkOnly(ValueError):
    """A method that models the parallel uplink only, asked to place an instance with a serial one."""


def require_parallel_uplink(inst: Instance, method: str, *, training: bool = False) -> None:
    """The incremental stage times assume the paper's parallel transfers (MODEL.md section 4).

    Raises :class:`ParallelUplinkOnly` where ``inst`` sets ``objective.uplink`` to ``serial``,
    naming ``method`` (a method, or what is being set up: "the RL environment"). Its fix fits the
    caller, CLI or Python: a placement (``training`` False) may use the milp method instead; a
    training (``training`` True: ``optdist train-rl``, the gym environment) has no such method, so
    its fix is the instance's uplink.
    """
    if inst.objective.uplink == "parallel":
        return
    fix = ("set objective.uplink to 'parallel': RL trains on the parallel uplink only (the milp method, "
           "`optdist solve --method milp`, solves a serial-uplink instance)" if training else
           "use the milp method (--method milp), or set objective.uplink to 'parallel'")
    raise ParallelUplinkOnly(f"{method} models the parallel uplink only; instance {inst.name} sets uplink 'serial' "
                             f"(fix: {fix})")


def _min_excluding(vals: np.ndarray, nodes: np.ndarray, n_nodes: int, largest: bool) -> np.ndarray:
    """Per node j: min (or max) of ``vals`` over ``nodes != j``; nan where no such node."""
    out = np.full(n_nodes, np.nan)
    if len(nodes) == 0:
        return out
    order = np.argsort(-vals if largest else vals, kind="stable")
    out[:] = vals[order[0]]
    out[nodes[order[0]]] = vals[order[1]] if len(nodes) > 1 else np.nan
    return out


def _share(used: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``used / cap`` (1 where the capacity is 0)."""
    return np.divide(used, cap, out=np.ones_like(used), where=cap > 0)


@dataclass
class _GeneralPlan:
    """How :meth:`LayerState._general_batch` reads a ``general``-mode layer's input edges.

    ``cover`` (U, P): uniform edge e feeds segment q; ``beta`` (U,) its bytes per segment and
    sender; ``rmin`` (U, N): its slowest sender other than j (inf: none). ``single``: per
    single-sender edge (edge index, feeds q (P,), sender index into ``senders`` (P,), bytes (P,)).
    ``brk``: ascending segment indices where the set of uniform edges feeding k changes, then P.
    """

    cover: np.ndarray
    beta: np.ndarray
    rmin: np.ndarray
    single: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]
    brk: np.ndarray


class LayerState:
    """Layer k of request r while its segments are being placed (see module docstring)."""

    def __init__(
        self, inst: Instance, usage: Usage, r: int, k: int, placed: list[np.ndarray], active: np.ndarray,
        into: tuple[tr.Edge, ...] | None = None,
    ):
        """Layer k of request r on top of ``usage``; ``placed``: the owners (P_u,) of layers 0..k-1;
        ``into``: the edges into k (default ``transfers.edges(profile)[k]``, looked up by the profile)."""
        prof, lim = inst.profile(r), inst.limit(r)
        la = prof.layers[k]
        self.inst, self.usage, self.k, self.layer = inst, usage, k, la
        # plain views of the instance's read-only arrays: each operation on those passes through a Python hook
        # (optdist.instance.ReadOnlyArray), a few us, much of a small layer's bookkeeping (LeNet: benchmarks/online/README.md, lenet42)
        self.mem_cap, self.comp_cap, self.bw_cap, self.rho = (np.asarray(x) for x in (
            inst.memory, inst.compute_capacity, inst.bandwidth_capacity, inst.rate))
        N, D = inst.n_nodes, inst.n_devices
        self.P, self.c, self.m = la.segments, float(la.mults_per_segment), float(la.weight_bytes_per_segment)
        self.on_source = bool(lim.on_source[k])
        self.cand = np.zeros(N, dtype=bool)
        if self.on_source:
            self.cand[int(inst.request_source[r])] = True
        else:
            self.cand[:D] = True
        self.cand &= active
        cap = None if self.on_source else lim.device_cap[k]
        self.cap = self.P if cap is None else int(cap)
        self.cnt = np.zeros(N, dtype=np.int64)
        self.ce = np.asarray(inst.segment_seconds(r)[k])  # c_k / e_j, or measured (MODEL.md section 9)
        room = np.where(self.cand, float(self.cap), 0.0)  # segments each node could take now
        if self.m > 0:
            room = np.minimum(room, np.floor((self.mem_cap - usage.memory) / self.m))
        if self.c > 0:
            room = np.minimum(room, np.floor((self.comp_cap - usage.compute) / self.c))
        self.room0 = np.maximum(room, 0).astype(np.int64)
        load = np.max([_share(usage.memory, self.mem_cap), _share(usage.compute, self.comp_cap),
                       _share(usage.bandwidth, self.bw_cap)], axis=0)
        self.tie_order = np.lexsort((np.arange(N), load, -inst.mults_per_s, self.ce))  # fastest (s/segment, then e), least loaded, lowest index
        self.owners = np.full(self.P, -1, dtype=np.int64)
        self.t = 0  # segments placed so far
        self.shared = 0.0  # bytes moved into this layer so far
        self.order = np.arange(self.P)
        self.senders = np.zeros(0, dtype=np.int64)
        into = tr.edges(prof)[k] if into is None else into
        self.prev = placed[into[0].u] if into else None  # owners of the (first) input layer
        self.prev_cnt = sum((np.bincount(placed[ed.u], minlength=N) for ed in into), np.zeros(N, dtype=np.int64))
        self.prev_total = sum(len(placed[ed.u]) for ed in into)  # segments of the input layers
        if not into:
            self.mode = "none"
            return
        self.senders = np.flatnonzero(self.prev_cnt)
        rho = self.rho
        if len(into) > 1 or into[0].sliced or into[0].kind == "group":
            self._init_general(into, placed)
            return
        edge = into[0]
        if edge.kind == "flow":
            self.mode = "map"
            self.beta = edge.beta  # bytes per moved map
            self.order = np.argsort(self.prev, kind="stable")  # segments grouped by the owner of their input map
            self.flow = np.zeros((N, N))
            self.wait = np.zeros(N)
        elif edge.grows_with_receiver and not (edge.per_sender_segment or edge.per_pair):
            self.mode = "per_segment"
            self.beta = edge.per_receiver_segment  # bytes per segment of k the receiver owns
            self.sender_bytes = np.full(len(self.senders), self.beta)
            rmin = _min_excluding(rho[self.senders], self.senders, N, largest=False)
            self.inv_r = np.where(np.isnan(rmin), 0.0, 1.0 / np.nan_to_num(rmin, nan=1.0))
        elif self.P == 1:
            self.mode = "per_receiver"
            self.sender_bytes = edge.bytes(self.prev_cnt[self.senders], 1)
            wait = _min_excluding(self.sender_bytes / rho[self.senders], self.senders, N, largest=True)
            self.recv_wait = np.nan_to_num(wait)
        else:
            raise NotImplementedError(f"{prof.cnn}: the {edge.kind} edge into {la.name} ({self.P} segments) is outside the incremental model")

    def _init_general(self, into: tuple[tr.Edge, ...], placed: list[np.ndarray]) -> None:
        """``general`` mode (MODEL.md section 9): any input edges (several, a concat's slices, grouped convs).

        Per edge e and segment q of k, ``delta[e,q,s]`` = bytes sender ``senders[s]`` ships to the
        owner of q (:func:`optdist.transfers.receiver_bytes`); ``O[e,s,j]`` accumulates them per
        receiver j, ``wait_j = max_{e, i != j} O[e,i,j] / rho_i`` (the longest over k's input edges).
        """
        N = self.inst.n_nodes
        self.mode = "general"
        self.delta = np.stack([tr.receiver_bytes(ed, placed[ed.u], N)[:, self.senders] for ed in into])  # (E, P, S)
        self.send = self.delta.sum(axis=0)  # (P, S): bytes each sender ships for segment q (to another node)
        self.O = np.zeros((len(into), len(self.senders), N))
        self.wait = np.zeros(N)
        self.rho_s = self.rho[self.senders]
        self.is_sender = self.senders[:, None] == np.arange(N)[None, :]  # (S, N): sender s is node j
        self.map_owner = np.full(self.P, -1, dtype=np.int64)  # owner of segment q's input map (first flow edge)
        for ed in into:
            if ed.kind == "flow":
                part = self.map_owner[ed.offset:ed.offset + ed.span]
                np.copyto(part, placed[ed.u], where=part < 0)

    def _general_arrive(self, q: int) -> np.ndarray:
        """``wait_j`` (N,) if node j takes segment q next (``general`` mode)."""
        A = (self.O + self.delta[:, q, :, None]) / self.rho_s[None, :, None]
        A[:, self.is_sender] = 0.0
        return np.maximum(self.wait, A.max(axis=(0, 1))) if len(self.senders) else self.wait.copy()

    # ---- per-node quantities -------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.t >= self.P

    def sender(self) -> int | None:
        """Owner of the next segment's input map (elementwise previous layer only)."""
        return int(self.prev[self.order[self.t]]) if self.mode == "map" else None

    def input_owner(self) -> int | None:
        """Owner of the next segment's input map: :meth:`sender`, or in ``general`` mode the owner of
        its map on the first elementwise input edge (None where no such edge reads it)."""
        if self.mode != "general":
            return self.sender()
        i = int(self.map_owner[self.order[self.t]])
        return i if i >= 0 else None

    def steps(self, sender: int | None, xmax: int) -> np.ndarray:
        """``G[j, x-1]``: finish time of node j after x more segments (of ``sender``'s maps).

        ``general`` mode: x = 1 only (each segment has its own transfers); ValueError otherwise.
        """
        n = self.cnt[:, None] + np.arange(1, xmax + 1)[None, :]
        if self.mode == "general":
            if xmax != 1:
                raise ValueError("a general-mode layer is stepped one segment at a time (xmax = 1)")
            return n * self.ce[:, None] + self._general_arrive(int(self.order[self.t]))[:, None]
        if self.mode == "per_segment":
            return n * (self.ce + self.beta * self.inv_r)[:, None]
        g = n * self.ce[:, None]
        if self.mode == "per_receiver":
            return g + self.recv_wait[:, None]
        if self.mode == "map":
            moved = self.flow[sender][:, None] + np.arange(1, xmax + 1)[None, :]
            arrive = moved * (self.beta / self.rho[sender])
            arrive[sender] = 0.0
            return g + np.maximum(self.wait[:, None], arrive)
        return g

    def finish(self) -> np.ndarray:
        """Current ``f_j`` of every node (0 for nodes owning nothing)."""
        f = self.cnt * self.ce
        if self.mode == "per_segment":
            f = f + self.cnt * self.beta * self.inv_r
        elif self.mode == "per_receiver":
            f = f + np.where(self.cnt > 0, self.recv_wait, 0.0)
        elif self.mode in ("map", "general"):
            f = f + self.wait
        return np.where(self.cnt > 0, f, 0.0)

    @property
    def stage_time(self) -> float:
        return float(self.finish().max())

    def room(self, n: int) -> np.ndarray:
        """Most further segments each node can take by (10b), (10c), (10f) and candidacy, at most n."""
        return np.minimum(np.maximum(self.room0 - self.cnt, 0), n)

    def _bandwidth_ok(self) -> np.ndarray:
        """Per node j: may one more segment go to j without breaking a sender's (10d)?"""
        N = self.inst.n_nodes
        left = self.bw_cap - self.usage.bandwidth
        if self.mode == "map":
            i = self.sender()
            ok = np.full(N, left[i] >= self.beta)
            ok[i] = True
            return ok
        if self.mode == "none":
            return np.ones(N, dtype=bool)
        if self.mode == "general":
            need = self.send[self.order[self.t]]
            bad = self.senders[(need > 0) & (left[self.senders] < need)]
        else:
            bad = self.senders[left[self.senders] < self.sender_bytes]
        ok = np.zeros(N, dtype=bool) if len(bad) > 1 else np.ones(N, dtype=bool)
        if len(bad) == 1:
            ok[:] = False
            ok[bad[0]] = True
        return ok

    def feasible_parts(self) -> dict[str, np.ndarray]:
        """Binary availability of every node for the next segment: memory, compute, bandwidth, privacy."""
        u = self.usage
        return {
            "memory": self.cand & (u.memory + self.m <= self.mem_cap),
            "compute": self.cand & (u.compute + self.c <= self.comp_cap),
            "bandwidth": self.cand & self._bandwidth_ok(),
            "privacy": self.cand & (self.cnt < self.cap),
        }

    def feasible(self) -> np.ndarray:
        parts = self.feasible_parts()
        return parts["memory"] & parts["compute"] & parts["bandwidth"] & parts["privacy"]

    def segment_delay(self) -> np.ndarray:
        """Paper's per-segment penalty for each node j: ``O_ij / rho_i * 1[i != j] + c_k / e_j``."""
        d = self.ce
        if self.mode == "per_segment":
            d = d + self.beta * self.inv_r
        elif self.mode == "per_receiver":
            d = d + self.recv_wait
        elif self.mode == "map":
            i = self.sender()
            arrive = np.full(self.inst.n_nodes, self.beta / self.rho[i])
            arrive[i] = 0.0
            d = d + arrive
        elif self.mode == "general":
            per_sender = (self.delta[:, self.order[self.t], :] / self.rho_s).max(axis=0) if len(self.senders) else np.zeros(0)
            d = d + np.nan_to_num(_min_excluding(per_sender, self.senders, self.inst.n_nodes, largest=True))
        return d

    # ---- placing -------------------------------------------------------------------------
    def commit(self, nodes: np.ndarray) -> None:
        """Give the next ``len(nodes)`` segments (in ``order``) to ``nodes``, feasible or not."""
        nodes = np.asarray(nodes, dtype=np.int64)
        n = len(nodes)
        segs = self.order[self.t:self.t + n]
        if self.mode == "general":
            for q, j in zip(segs.tolist(), nodes.tolist()):
                self._book_general(q, j)
            return
        N = self.inst.n_nodes
        add = np.bincount(nodes, minlength=N)
        self.owners[segs] = nodes
        u = self.usage
        u.memory += add * self.m
        u.compute += add * self.c
        if self.mode == "per_segment":
            sent = self.sender_bytes * (n - add[self.senders])
        elif self.mode == "per_receiver":
            sent = sum(np.where(self.senders != j, self.sender_bytes, 0.0) for j in nodes)
        elif self.mode == "map":
            src, own = np.unique(self.prev[segs], return_inverse=True)  # the maps' owners, and each map's
            got = np.bincount(own * N + nodes, minlength=len(src) * N).reshape(len(src), N)  # maps i -> j
            got[np.arange(len(src)), src] = 0  # a map its owner keeps moves nothing
            moved = got.sum(axis=1) * self.beta
            hit = moved != 0  # owners that ship something
            src, got, moved = src[hit], got[hit], moved[hit]
            u.bandwidth[src] += moved
            for bytes_i in moved.tolist():  # one sum per owner, in order: the bytes of unbatched steps
                self.shared += bytes_i
            self.flow[src] += got
            arrive = np.where(got > 0, self.flow[src] * self.beta / self.rho[src][:, None], 0.0)
            np.maximum(self.wait, arrive.max(axis=0, initial=0.0), out=self.wait)
        if self.mode in ("per_segment", "per_receiver"):
            u.bandwidth[self.senders] += sent
            self.shared += float(np.sum(sent))
        self.cnt += add
        self.t += n

    def _book_general(self, q: int, j: int) -> None:
        """Segment q (the next in ``order``) on node j, ``general`` mode: usage, transfers, j's wait."""
        u, S = self.usage, self.senders
        self.owners[q] = j
        u.memory[j] += self.m
        u.compute[j] += self.c
        if len(S):
            mine = self.is_sender[:, j]
            sent = np.where(mine, 0.0, self.send[q])
            u.bandwidth[S] += sent
            self.shared += float(sent.sum())
            self.O[:, :, j] += np.where(mine, 0.0, self.delta[:, q, :])
            self.wait[j] = max(self.wait[j], float((self.O[:, :, j] / self.rho_s).max()))
        self.cnt[j] += 1
        self.t += 1

    def place(self, j: int) -> None:
        """Give the next segment to node j: :meth:`commit` of ``[j]``, with the same numbers from scalar
        updates in the modes without a per-segment table (one segment of a small layer: its arrays'
        bookkeeping cost more than the layer's decision, ``benchmarks/online/README.md``, ppo42)."""
        if self.mode not in ("none", "per_segment", "map"):
            self.commit(np.array([j]))
            return
        q = self.order[self.t]
        self.owners[q] = j
        u = self.usage
        u.memory[j] += self.m
        u.compute[j] += self.c
        if self.mode == "per_segment":
            sent = np.where(self.senders != j, self.sender_bytes, 0.0)
            u.bandwidth[self.senders] += sent
            self.shared += float(np.sum(sent))
        elif self.mode == "map":
            i = self.prev[q]
            if i != j:  # the map moves from its owner i (commit: got[i, j] = 1)
                u.bandwidth[i] += self.beta
                self.shared += float(self.beta)
                self.flow[i, j] += 1
                self.wait[j] = max(self.wait[j], self.flow[i, j] * self.beta / self.rho[i])
        self.cnt[j] += 1
        self.t += 1

    def fill_greedy(self) -> bool:
        """Place the remaining segments greedily (see :func:`greedy_picks`); False if stuck."""
        free = self.mode == "map" and self.t == 0 and not self.ce.any() and self.m == 0
        if free and np.all(self.room0[self.senders] >= self.prev_cnt[self.senders]):
            self.commit(self.prev[self.order])  # a free per-map layer stays on its maps (0 < any transfer)
            return True
        if self.mode == "general":
            return self._fill_general()
        while not self.done:
            i = self.sender()
            n = self.P - self.t if i is None else int(np.sum(self.prev[self.order[self.t:]] == i))
            picks = greedy_picks(self, i, n)
            if picks is None:
                return False
            self.commit(picks)
        return True

    def _fill_general(self, batched: bool = True) -> bool:
        """The greedy of :func:`greedy_picks`, one segment at a time (``general`` mode): the feasible
        node (:meth:`feasible`) with the least new finish time (:meth:`steps`), ties by
        ``tie_order``; False if a segment fits nowhere.

        ``batched``: book runs of segments at once where :meth:`_general_batch` proves the picks
        equal (the reference, ``batched=False``, steps every segment with :meth:`_general_step`).
        """
        N = self.inst.n_nodes
        rank = np.empty(N, dtype=np.int64)
        rank[self.tie_order] = np.arange(N)
        room = self.room0 - self.cnt  # (10b), (10c), (10f) and candidacy: segments each node may still take
        plan = self._general_plan() if batched else None
        while self.t < self.P:
            if plan is not None and self._general_batch(plan, room):
                continue
            if not self._general_step(room, rank):
                return False
        return True

    def _general_step(self, room: np.ndarray, rank: np.ndarray) -> bool:
        """Book the next segment on the feasible node with the least new finish time; False if none."""
        N, u, S = self.inst.n_nodes, self.usage, self.senders
        q = int(self.order[self.t])
        need = self.send[q]
        bad = S[(need > 0) & (self.bw_cap[S] - u.bandwidth[S] < need)]  # (10d) breaks
        ok = room > 0
        if len(bad) > 1:
            return False
        if len(bad) == 1:  # only that sender itself may take the segment (it sends nothing to itself)
            ok = ok & (np.arange(N) == bad[0])
        if not ok.any():
            return False
        G = (self.cnt + 1) * self.ce + self._general_arrive(q)
        best = np.flatnonzero(ok & (G == G[ok].min()))
        j = int(best[np.argmin(rank[best])]) if len(best) > 1 else int(best[0])
        self._book_general(q, j)
        room[j] -= 1
        return True

    def _general_plan(self) -> _GeneralPlan | None:
        """Split k's input edges into ``uniform`` and ``single``-sender ones for :meth:`_general_batch`.

        ``uniform`` edge: every segment it feeds gets the same bytes ``beta_e`` from each of its
        senders (a conv edge), so ``O[e,s,j] = beta_e * m_e[j]`` (``m_e[j]``: segments of its slice
        j owns) and ``max_{s != j} (O[e,s,j] + beta_e) / rho_s = beta_e (m_e[j] + 1) / rmin_e[j]``
        (``rmin_e[j]`` = the slowest of its senders other than j; division is monotone, so exact).
        ``single`` edge: each segment gets bytes from one sender at most (a flow edge: the owner of
        its map). None (segment by segment) when an edge is neither (a grouped conv), or a byte or
        usage count is no integer (sums in another order would round differently).
        """
        d, S, N = self.delta, self.senders, self.inst.n_nodes
        whole = float(self.m).is_integer() and float(self.c).is_integer() and np.array_equal(d, np.floor(d))
        if not len(S) or not whole:
            return None
        cover, beta, rmin, single = [], [], [], []
        for e in range(d.shape[0]):
            de = d[e]
            on = de.any(axis=1)
            rows = de[on]
            if not len(rows):
                continue
            vals = rows[0][rows[0] > 0]
            if np.all(rows == rows[0]) and np.all(vals == vals[0]):
                own = S[rows[0] > 0]
                cover.append(on)
                beta.append(float(vals[0]))
                slowest = _min_excluding(self.rho[own], own, N, largest=False)
                rmin.append(np.nan_to_num(slowest, nan=np.inf))
            elif np.all((de > 0).sum(axis=1) <= 1):
                single.append((e, on, de.argmax(axis=1), de.max(axis=1)))
            else:
                return None
        cov = np.array(cover, dtype=bool).reshape(len(cover), self.P)
        # segments where another set of uniform edges starts feeding k: runs are batched within them
        brk = np.append(np.flatnonzero(np.any(cov[:, 1:] != cov[:, :-1], axis=0)) + 1, self.P)
        return _GeneralPlan(cov, np.array(beta), np.array(rmin).reshape(len(cover), N), single, brk)

    def _general_batch(self, plan: _GeneralPlan, room: np.ndarray) -> int:
        """Book as many next segments as provably get :meth:`_general_step`'s picks; their number (0: none).

        Within a run of segments fed by the same uniform edges, with no sender's (10d) able to
        bind (the bytes of the whole run fit), node j's new finish time after x more segments is
        ``G[j,x] = (n_j + x) c_k/e_j + max(wait_j, max_e beta_e (m_e[j] + x) / rmin_e[j])`` if no
        single-sender edge's transfer ``F[t,j] = (O[e,a_t,j] + d_t) / rho_{a_t}`` exceeds it; each
        row is non-decreasing, so the picks are the merge of the rows in (value, tie order) order
        (as :func:`greedy_picks`). The merge is then checked step by step against ``F``: the picks
        before the first step t where some node with room has ``F[t,j] > G``'s arrival part are
        booked (bytes are integers, so the booked sums equal the step-by-step ones).
        """
        N, S, t0, u = self.inst.n_nodes, self.senders, self.t, self.usage
        end = int(plan.brk[np.searchsorted(plan.brk, t0, side="right")])
        left = self.bw_cap[S] - u.bandwidth[S]
        fits = np.all(np.cumsum(self.send[t0:end], axis=0) <= left, axis=1)
        L = int(np.argmin(fits)) if not fits.all() else end - t0
        xmax = np.clip(room, 0, L)
        L = min(L, int(xmax.sum()))
        if L == 0:
            return 0
        X = int(xmax.max())
        x = np.arange(1, X + 1)
        use = plan.cover[:, t0]
        booked = self.owners >= 0
        m = np.array([np.bincount(self.owners[c & booked], minlength=N) for c in plan.cover[use]])
        m = m.reshape(-1, N)  # (uniform edges feeding the run, N): segments of their slices j owns
        beta, rmin = plan.beta[use], plan.rmin[use]
        U = np.max((beta[:, None, None] * (m[:, :, None] + x)) / rmin[:, :, None], axis=0, initial=0.0)
        base = np.maximum(self.wait[:, None], U)  # (N, X): arrival if j takes x more segments
        G = (self.cnt[:, None] + x) * self.ce[:, None] + base
        picks = merge_rows(G, xmax, self.tie_order)[:L]
        onehot = picks[:, None] == np.arange(N)[None, :]  # (L, N)
        before = np.cumsum(onehot, axis=0) - onehot  # segments j took in this run before step t
        n = L
        if plan.single:
            roomy = before < xmax[None, :]
            arrive = base[np.arange(N)[None, :], np.minimum(before, X - 1)]  # (L, N)
            for e, on, sidx, val in plan.single:
                on, sidx, val = on[t0:t0 + L], sidx[t0:t0 + L], val[t0:t0 + L]
                got = np.zeros((L, N))  # bytes j got from step t's sender earlier in this run
                for s in np.unique(sidx[on]):
                    at = on & (sidx == s)
                    each = onehot[at] * val[at][:, None]
                    got[at] = np.cumsum(each, axis=0) - each
                F = (self.O[e, sidx, :] + got + val[:, None]) / self.rho_s[sidx][:, None]
                F[self.is_sender[sidx]] = 0.0
                bad = np.flatnonzero(np.any(on[:, None] & roomy & (F > arrive), axis=1))
                if len(bad):
                    n = min(n, int(bad[0]))
            if n == 0:
                return 0
        self._book_general_run(picks[:n], onehot[:n], base, room)
        return n

    def _book_general_run(self, picks: np.ndarray, onehot: np.ndarray, base: np.ndarray,
                          room: np.ndarray) -> None:
        """Book the next ``len(picks)`` segments on ``picks`` as :meth:`_book_general` would one by one;
        ``base[j, x-1]`` is j's wait after x of them (:meth:`_general_batch`)."""
        u, S, n = self.usage, self.senders, len(picks)
        qs = self.order[self.t:self.t + n]
        add = onehot.sum(axis=0)
        self.owners[qs] = picks
        u.memory += add * self.m
        u.compute += add * self.c
        mine = self.is_sender[:, picks].T  # (n, S): step t's receiver is sender s
        sent = np.where(mine, 0.0, self.send[qs]).sum(axis=0)
        u.bandwidth[S] += sent
        self.shared += float(sent.sum())
        moved = np.where(mine[None], 0.0, self.delta[:, qs, :])  # (E, n, S)
        self.O += np.einsum("ets,tj->esj", moved, onehot.astype(float))
        took = np.flatnonzero(add)
        self.wait[took] = base[took, add[took] - 1]
        self.cnt += add
        room -= add
        self.t += n


def merge_rows(G: np.ndarray, xmax: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Nodes in the order the steps ``G[j, x-1]`` (N, X; each row non-decreasing) are taken, x <= xmax[j].

    The steps of all rows sorted by value, ties by ``order`` (the tie order of the nodes), then x:
    the per-segment greedy's picks when each row's steps stay feasible (:func:`greedy_picks`).
    """
    valid = np.arange(G.shape[1])[None, :] < xmax[order][:, None]
    return np.repeat(order, xmax[order])[np.argsort(G[order][valid], kind="stable")]


def greedy_picks(st: LayerState, sender: int | None, n: int) -> np.ndarray | None:
    """The nodes the per-segment greedy gives the next n segments (one input owner).

    Per segment the greedy takes the feasible node with the least new finish time
    ``G[j, n_j + 1]`` (hence the least added stage time; ties: the fastest node ``e_j``, then
    the one whose most used resource was least used when the layer began, then the lowest
    index: ``st.tie_order``).
    Each ``G[j, .]`` is non-decreasing and a node that becomes infeasible stays so, so the
    sequence of picks is the merge of the rows of G in (value, tie order) order, skipping
    infeasible steps.
    """
    xmax = st.room(n)
    if xmax.sum() < n:
        return None
    seq = merge_rows(st.steps(sender, int(xmax.max())), xmax, st.tie_order)
    left = st.bw_cap - st.usage.bandwidth
    if st.mode == "map":
        senders, per = np.array([sender]), np.array([st.beta])
    elif st.mode == "none":
        return seq[:n]
    else:
        senders, per = st.senders, st.sender_bytes
    if np.all(per * n <= left[senders]):
        return seq[:n]
    sent = np.zeros(len(senders))  # bandwidth binds: walk the merge, skipping infeasible steps
    picks: list[int] = []
    for j in seq:
        other = senders != j
        if np.all(sent[other] + per[other] <= left[senders][other]):
            sent[other] += per[other]
            picks.append(int(j))
            if len(picks) == n:
                return np.array(picks)
    return None


class RequestPlacer:
    """Places request r layer by layer on top of ``usage``; can roll the request back."""

    def __init__(self, inst: Instance, usage: Usage, r: int, active: np.ndarray | None = None):
        self.inst, self.usage, self.r = inst, usage, r
        self.active = np.ones(inst.n_nodes, dtype=bool) if active is None else active
        self.profile = inst.profile(r)
        self.edges = tr.edges(self.profile)  # looked up once: a profile's hash walks all its layers
        self.owners: list[np.ndarray] = []
        self.stage: list[float] = []
        self.shared = 0.0
        self._saved = usage.copy()

    @property
    def done(self) -> bool:
        return len(self.owners) == self.profile.n_layers

    @property
    def latency(self) -> float:
        return float(sum(self.stage))

    def next_layer(self) -> LayerState:
        k = len(self.owners)
        return LayerState(self.inst, self.usage, self.r, k, self.owners, self.active, self.edges[k])

    def close(self, st: LayerState) -> None:
        self.owners.append(st.owners)
        self.stage.append(st.stage_time)
        self.shared += st.shared

    def fill_greedy(self) -> bool:
        """Place the request's remaining layers greedily (:meth:`LayerState.fill_greedy`, layer by
        layer); False if a segment fits nowhere (the layers placed so far stay booked: see
        :meth:`rollback`)."""
        while not self.done:
            st = self.next_layer()
            if not st.fill_greedy():
                return False
            self.close(st)
        return True

    def rollback(self) -> None:
        self.usage.restore(self._saved)


def claimed_objective(inst: Instance, latency: list[float | None], shared: list[float | None]) -> float:
    """The instance objective (MODEL.md sections 5 and 8) of per-request latencies and bytes; None = rejected."""
    obj = inst.objective
    lat = [x for x in latency if x is not None]
    base = (max(lat) if lat else 0.0) if obj.kind == "makespan" else float(sum(lat))
    base += obj.shared_weight * float(sum(s for s in shared if s is not None))
    if obj.admission:
        base += inst.rejection_penalty() * sum(x is None for x in latency)
    return base


@dataclass
class OnlineOutcome:
    """What an online method decided, request by request in arrival order (None = rejected)."""

    inst: Instance
    owners: list = field(default_factory=list)
    latency: list[float | None] = field(default_factory=list)
    shared: list[float | None] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warmup_s: float | None = None  # start-up seconds before the first arrival (rl's optdist.rl.decide.warm_up)

    def accept(self, owners: list[np.ndarray], latency: float, shared: float) -> None:
        self.owners.append(owners)
        self.latency.append(latency)
        self.shared.append(shared)

    def reject(self, r: int) -> None:
        self.accept(None, None, None)
        self.rejected.append(self.inst.request_ids[r])

    def result(self, method: str, wall: float, *, masked: bool | None = None, **extra) -> SolveResult:
        """The method's :class:`SolveResult` (objective as the method claims it; the evaluator re-scores it).

        ``extra["not_modelled"]`` (family -> the method's words for the violations it makes by
        design, as ``optdist solve`` names them) is passed through :meth:`proven_rejections`: where
        requests were rejected and the pre-solve checks prove the instance infeasible, its
        ``admission`` words say so and ``extra["infeasible_by_checks"]`` lists the proof."""
        if extra.get("not_modelled") is not None:
            extra.update(self.proven_rejections(extra["not_modelled"]))
        meta = {"method": method} if masked is None else {"method": method, "masked": masked}
        return SolveResult(
            instance=self.inst.name,
            method=method,
            termination=Termination.FEASIBLE,
            objective=claimed_objective(self.inst, self.latency, self.shared),
            wall_time=wall,
            assignment=Assignment(self.owners, meta),
            extra={"rejected": len(self.rejected), "rejected_ids": self.rejected, **extra},
        )

    def proven_rejections(self, not_modelled: dict[str, str]) -> dict:
        """``{"not_modelled": ...}`` for ``extra``: ``not_modelled`` (family -> words) as given, or,
        where requests were rejected and the pre-solve checks (:func:`optdist.diagnose.check`, as
        ``--method milp`` runs them) prove the instance infeasible, with its ``admission`` words
        replaced by that proof ("rejects requests with admission control off: the instance is
        proven infeasible by N pre-solve check(s) ..., the first: ...") and
        ``"infeasible_by_checks"`` (each finding in words) added: no time limit or method places
        them. The one home of those words for every online method (greedy, per-layer, edge-cloud,
        plan-guided, plan-rollout, rl, rl-ppo); before, rl said "the method said feasible" and
        greedy offered --method milp on an instance proven infeasible."""
        if not self.rejected or "admission" not in not_modelled:
            return {"not_modelled": dict(not_modelled)}
        from optdist.diagnose import check  # not at import: a report, only when requests were rejected

        findings = check(self.inst)
        if not findings:
            return {"not_modelled": dict(not_modelled)}
        first = findings[0]
        proof = (f"rejects requests with admission control off: the instance is proven infeasible by "
                 f"{len(findings)} pre-solve check(s) (as --method milp says), the first: [{first.family}] "
                 f"{first.where}: {first.message} (`optdist diagnose` explains; no --time-limit or method places them)")
        return {"not_modelled": {**not_modelled, "admission": proof},
                "infeasible_by_checks": [f"[{f.family}] {f.where}: {f.message}" for f in findings]}
