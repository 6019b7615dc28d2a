"""Transfers, stage times and node usage: MODEL.md sections 4-5, in one place.

Every part of optdist that moves bytes between layer owners or times a stage uses this module:
the evaluator, the heuristics, the RL environment, the diagnosis (and, to switch, the MILP
formulations and the decomposition bounds). Plain numpy, no Pyomo.

**Edges.** Data moves along the edges ``u -> k`` of a network, ``u in in(k)`` (MODEL.md
section 9). A chain has one input per layer, ``in(k) = (k-1,)`` and none for the first layer
(:func:`inputs`); a DAG lists them in its profile (``add`` and ``concat`` layers have several).
Layer 1 and layer L run on the request's source (eqs. 8, 9), so the first edge leaves the source
and the last one enters it, with the same rules as any other edge. Each edge carries k's map
correspondence: the segments ``offset .. offset+span-1`` of k read u's output maps ``0..span-1``
(a ``concat`` k: ``offset`` = the maps of its earlier inputs, ``span = P^out_u``; any other k:
``offset = 0``, ``span = P_k``, the identity for ``add``). Below, ``n_k(j)`` counts only those
segments of k.

**Who needs what** (section 4, eq. 6). Sender i owns ``n_u(i)`` segments of u, receiver j owns
``n_k(j)`` segments of k, ``beta`` = bytes per output map of u; nothing moves when ``i = j``:

=========  ========================  ===================================================
kind       edge                      ``O[i,j]`` (bytes)
=========  ========================  ===================================================
``conv``   conv u (partial sums)     ``1[n_u(i)>0] * beta * n_k(j)``; into an fc k the
                                     owner needs every map: ``1[n_u(i)>0] * P^out_u * beta``
``flow``   elementwise u -> non-fc   ``|{p : A[u,p,i] = A[k,p,j] = 1}| * beta`` (map p moves
                                     from its owner at u to its owner at k)
``to_fc``  elementwise u -> fc       ``n_u(i) * beta * 1[n_k(j)>0]`` (all of i's maps)
``fc``     fc u (one vector)         ``1[n_u(i)>0] * beta * 1[n_k(j)>0]``
``group``  conv u with ``g > 1``     ``beta * |{q owned by j : group(q) in G(i)}|``, ``G(i)``
           groups (section 9)        = the groups of u's input maps i owns, ``group(q) =
                                     q // (P^out_u/g)``; into an fc k: ``beta * (P^out_u/g) *
                                     |G(i)| * 1[n_k(j)>0]``
=========  ========================  ===================================================

"Elementwise" u here is any kind whose owners hold complete output maps (``elementwise``,
which includes depthwise convolutions and global pooling, ``add`` and ``concat``). ``g = 1``
gives the ``conv`` rule; a depthwise convolution with a channel multiplier (``g = C_in <
C_out``) is a ``group`` edge with one input map per group.

The three count kinds are one formula with per-edge coefficients (:class:`Edge`)::

    O[i,j] = 1[n_u(i)>0] 1[n_k(j)>0] (per_receiver_segment * n_k(j)
                                      + per_sender_segment * n_u(i) + per_pair)

conv into a multi-segment layer: ``per_receiver_segment = beta``; conv into fc (one segment):
``per_pair = P^out_u * beta``; to_fc: ``per_sender_segment = beta``; fc: ``per_pair = beta``.
A ``flow`` edge depends on which maps each node owns: ``O[i,j] = f[i,j] * beta`` with ``f[i,j]``
the maps that move from i to j; so does a ``group`` edge (:func:`transfer_block`).

**Stage time** (section 5, eqs. 5, 7): over the owners j of layer k,

    T[k] = max_j ( tc[k,j] + wait[k,j] ),   tc[k,j] = n_k(j) * c_k / e_j,
    wait[k,j] = max_{u in in(k), i != j} O_u[i,j] / rho_i           (parallel uplink, the paper)
    wait[k,j] = max_{u, i != j: O_u[i,j] > 0} sum_j' O_u[i,j'] / rho_i  (serial uplink, section 8;
                                                         serialised per edge)

``T[1]`` is the first layer's compute on the source; request latency = ``sum_k T[k]``.

**Node usage** (section 6): memory ``n * m_k`` (10b), multiplications ``n * c_k`` (10c), bytes
sent ``sum_j O[i,j]`` (10d), summed over every edge; shared data of a request = the sum of all ``O``.

All byte counts are integers times integers (exact in float64), so every caller gets the same
numbers whichever way it groups them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

from optdist.profiles import WHOLE_MAP_KINDS, Layer, Profile

#: the node capacities a placement uses (MODEL.md section 6, rows 10b-10d): memory (bytes of
#: weights), compute (multiplications per period), bandwidth (bytes sent per period)
RESOURCES = ("memory", "compute", "bandwidth")

TransferKind = Literal["flow", "conv", "to_fc", "fc", "group"]


def inputs(profile: Profile, k: int) -> tuple[int, ...]:
    """``in(k)``: the layers whose output layer k reads (MODEL.md section 9); a chain: ``(k-1,)``."""
    return profile.inputs(k)


def transfer_kind(prev: Layer, nxt: Layer, span: int | None = None) -> TransferKind:
    """Which rule of eq. 6 / section 9 moves data from ``prev`` to ``nxt`` (module docstring).

    ``span``: the segments of ``nxt`` that read ``prev`` (default all, ``P_k``). Raises
    ValueError when a whole-map layer feeds a non-fc layer with another map count.
    """
    if prev.kind in WHOLE_MAP_KINDS:
        if nxt.kind == "fc":
            return "to_fc"
        want = nxt.segments if span is None else span
        if prev.segments != want:
            raise ValueError(f"{prev.name} -> {nxt.name}: {prev.segments} maps feed {want} segments")
        return "flow"
    if prev.kind == "conv":
        return "group" if prev.groups > 1 else "conv"
    return "fc"


def conv_coef(prev: Layer, nxt: Layer) -> float:
    """Bytes a conv sender ships per owned segment of ``nxt``: ``beta`` (``P^out * beta`` if fc)."""
    return float(prev.beta) * (prev.out_maps if nxt.kind == "fc" else 1)


def is_pairwise(kind: TransferKind) -> bool:
    """Whether the bytes of an edge of ``kind`` depend on which maps each node owns (flow, group)."""
    return kind in ("flow", "group")


@dataclass(frozen=True)
class Edge:
    """The transfer rule of one edge ``u -> k`` (module docstring; MODEL.md sections 4, 9).

    ``beta`` is bytes per map of u's output; for ``flow`` edges ``O = moved maps * beta``; for
    the other kinds ``O[i,j]`` is :meth:`bytes` of the owner counts with the coefficients
    ``per_receiver_segment`` (conv into a multi-segment layer), ``per_sender_segment`` (to_fc)
    and ``per_pair`` (fc, and conv into fc). ``u``, ``k``: layer indices (-1 when unknown).
    ``offset``, ``span``: the segments of k that read u (module docstring; all of k unless k is
    a concat). ``groups``: u's convolution groups (``group`` edges; 1 otherwise).
    """

    u: int
    k: int
    kind: TransferKind
    beta: float
    sender_segments: int  # P_u
    receiver_segments: int  # P_k
    per_receiver_segment: float = 0.0
    per_sender_segment: float = 0.0
    per_pair: float = 0.0
    offset: int = 0
    span: int = -1  # -1: all P_k segments
    groups: int = 1
    out_maps: int = 1  # P^out_u (group edges)

    def __post_init__(self) -> None:
        if self.span < 0:
            object.__setattr__(self, "span", self.receiver_segments)

    @classmethod
    def between(cls, prev: Layer, nxt: Layer, u: int = -1, k: int = -1, offset: int = 0) -> Edge:
        """The edge from layer ``prev`` (index u) into ``nxt`` (index k); ``offset``: where u's maps
        start among k's segments (a concat k; its span is then ``P^out_u``)."""
        span = prev.out_maps if nxt.kind == "concat" else nxt.segments
        if offset < 0 or offset + span > nxt.segments:
            raise ValueError(f"{prev.name} -> {nxt.name}: maps {offset}..{offset + span - 1} outside {nxt.segments} segments")
        kind = transfer_kind(prev, nxt, span)
        beta = float(prev.beta)
        coef: dict[str, float] = {}
        if kind == "conv" and nxt.segments > 1:
            coef["per_receiver_segment"] = conv_coef(prev, nxt)
        elif kind == "conv":  # one receiving segment (an fc layer): every partial-sum map
            coef["per_pair"] = conv_coef(prev, nxt)
        elif kind == "to_fc":
            coef["per_sender_segment"] = beta
        elif kind == "fc":
            coef["per_pair"] = beta
        extra = {"groups": prev.groups, "out_maps": prev.out_maps} if kind == "group" else {}
        return cls(u, k, kind, beta, prev.segments, nxt.segments, **coef, offset=offset, span=span, **extra)

    @property
    def sliced(self) -> bool:
        """True when only part of k's segments read u (a concat k)."""
        return self.span != self.receiver_segments

    def receiving(self, a_next: np.ndarray) -> np.ndarray:
        """The owners (..., span) of the segments of k that read u, from all of k's owners (..., P_k)."""
        return a_next[..., self.offset:self.offset + self.span] if self.sliced else a_next

    def bytes(self, n_send: np.ndarray | int, n_recv: np.ndarray | int) -> np.ndarray:
        """``O[i,j]`` (bytes, float) from owner counts, broadcasting ``n_send`` against ``n_recv``.

        Holds for ``i != j`` (the caller zeroes the diagonal); ``n_recv`` counts the segments of k
        that read u (:meth:`receiving`). ``flow`` and ``group`` edges depend on which maps each
        node owns, not on counts: use :func:`transfer_block` or :meth:`flow_bytes`.
        """
        if is_pairwise(self.kind):
            raise ValueError(f"edge {self.u} -> {self.k} ({self.kind}): bytes depend on which maps each node owns, not counts")
        n_send, n_recv = np.asarray(n_send), np.asarray(n_recv)
        terms = []
        if self.per_receiver_segment:
            terms.append((n_send > 0) * (n_recv * self.per_receiver_segment))
        if self.per_sender_segment:
            terms.append((n_send * self.per_sender_segment) * (n_recv > 0))
        if self.per_pair:
            terms.append(((n_send > 0) & (n_recv > 0)) * self.per_pair)
        if not terms:
            return np.zeros(np.broadcast_shapes(n_send.shape, n_recv.shape))
        return sum(terms[1:], terms[0]).astype(float, copy=False)

    def flow_bytes(self, moved: np.ndarray | int) -> np.ndarray:
        """Bytes of ``moved`` maps along a ``flow`` (or ``to_fc``) edge: ``moved * beta``."""
        return np.asarray(moved) * self.beta

    @property
    def whole_bytes(self) -> float:
        """``O[i,j]`` when node i owns all of u and another node j all of k (per-layer methods)."""
        if self.kind == "flow":
            return float(self.flow_bytes(self.sender_segments))
        if self.kind == "group":
            return self.beta * (self.out_maps if self.span == 1 else self.span)
        return float(self.bytes(self.sender_segments, self.span))

    @property
    def grows_with_receiver(self) -> bool:
        """True when a receiver's bytes grow with each segment of k it owns (flows, groups; conv into non-fc)."""
        return self.kind == "flow" or (self.kind == "group" and self.span > 1) or self.per_receiver_segment > 0

    def least_bytes(self, senders: int, *, receivers_own_u: bool) -> float:
        """A lower bound on ``sum O`` over the edge when ``senders`` nodes own u (at least 1).

        ``receivers_own_u=False``: no owner of k owns u (e.g. u runs on the source and k on
        devices); exact with one receiver: every map (``P_u * beta``) of an elementwise u,
        ``senders * (coef * P_k)`` partial sums of a conv u, ``beta`` of an fc u.
        ``receivers_own_u=True``: what cannot stay on its node whoever receives, the partial
        sums of every sender but one, ``(senders - 1) * coef * P_k`` (0 for the other kinds).
        """
        s = max(int(senders), 1)
        if self.kind == "flow":
            return 0.0 if receivers_own_u else self.beta * self.sender_segments
        if self.kind == "group":  # every map's partial sums come from >= 1 owner of its group
            return 0.0 if receivers_own_u else self.whole_bytes
        each = self.per_receiver_segment * self.span + self.per_pair  # one sender's bytes
        if receivers_own_u:
            return each * (s - 1)
        return each * s + self.per_sender_segment * self.sender_segments


@cache
def edges(profile: Profile) -> tuple[tuple[Edge, ...], ...]:
    """``edges(profile)[k]`` = the edges into layer k, one per ``u in in(k)`` in order (cached per
    profile); into a concat k, input q starts at the offset ``sum`` of the earlier inputs' maps."""
    lay = profile.layers
    out = []
    for k in range(len(lay)):
        into, offset = [], 0
        for u in inputs(profile, k):
            into.append(Edge.between(lay[u], lay[k], u, k, offset if lay[k].kind == "concat" else 0))
            offset += lay[u].out_maps
        out.append(tuple(into))
    return tuple(out)


def all_edges(profile: Profile) -> tuple[Edge, ...]:
    """Every edge of the network, receivers in stage order."""
    return tuple(ed for into in edges(profile) for ed in into)


# ---- bytes moved, from the owner of every segment -----------------------------------------------
def counts(a: np.ndarray, n_nodes: int) -> np.ndarray:
    """``n[r,i]`` = segments of row r of ``a`` (R, P) (owner node of each segment) owned by node i; (R, N) int."""
    R = a.shape[0]
    return np.bincount((np.arange(R)[:, None] * n_nodes + a).ravel(), minlength=R * n_nodes).reshape(R, n_nodes)


def transfer_block(edge: Edge, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int,
                   cnt_prev: np.ndarray | None = None, cnt_next: np.ndarray | None = None) -> np.ndarray:
    """``O[r,i,j]`` (bytes, (R, N, N), zero diagonal) for R requests at once.

    ``a_prev`` (R, P_u) and ``a_next`` (R, P_k) are the owner nodes of every segment of u and
    k; ``cnt_prev`` / ``cnt_next`` (R, N) are their :func:`counts` when the caller has them
    (``cnt_next`` is ignored for a sliced edge: the counts of the reading segments are taken).
    """
    R, N = a_prev.shape[0], n_nodes
    if edge.sliced:
        a_next, cnt_next = edge.receiving(a_next), None
    if edge.kind == "flow":
        code = (np.arange(R)[:, None] * N + a_prev) * N + a_next
        O = np.bincount(code.ravel(), minlength=R * N * N).reshape(R, N, N) * edge.beta
    elif edge.kind == "group":
        O = _group_block(edge, a_prev, a_next, N)
    else:
        cp = counts(a_prev, N) if cnt_prev is None else cnt_prev
        cn = counts(a_next, N) if cnt_next is None else cnt_next
        O = edge.bytes(cp[:, :, None], cn[:, None, :])
    idx = np.arange(N)
    O[:, idx, idx] = 0.0
    return O


def moves_nothing(edge: Edge, a_prev: np.ndarray, a_next: np.ndarray) -> bool:
    """True when ``O = 0`` in every row: a ``flow`` edge whose every map stays on its owner (map p of u
    and of k on the same node; nothing moves when ``i = j``, section 4). ``a_prev`` (R, P_u), ``a_next``
    (R, P_k): owners. False otherwise (the bytes may still be 0; :func:`transfer_block` has them).
    """
    return edge.kind == "flow" and np.array_equal(a_prev, edge.receiving(a_next))


def _group_block(edge: Edge, a_prev: np.ndarray, a_recv: np.ndarray, N: int) -> np.ndarray:
    """``O[r,i,j]`` of a grouped-conv edge (section 9): ``beta * sum_g has[r,i,g] * need[r,j,g]``.

    ``has[r,i,g]`` = 1 if i owns an input map of group g; ``need[r,j,g]`` = the maps of group g
    among the receiving segments j owns (every map of the group, ``P^out/g``, into an fc).
    """
    R, g = a_prev.shape[0], edge.groups
    rows = np.arange(R)[:, None]
    in_group = np.arange(a_prev.shape[1]) // (edge.sender_segments // g)
    has = np.bincount(((rows * N + a_prev) * g + in_group).ravel(), minlength=R * N * g).reshape(R, N, g) > 0
    per_group = edge.out_maps // g
    if edge.span == 1:  # an fc receiver (a non-fc one reads P^out >= g >= 2 maps) needs every map of its groups
        need = np.broadcast_to((counts(a_recv, N) > 0)[:, :, None] * per_group, (R, N, g))
    else:
        out_group = np.arange(a_recv.shape[1]) // per_group
        need = np.bincount(((rows * N + a_recv) * g + out_group).ravel(), minlength=R * N * g).reshape(R, N, g)
    return np.einsum("rig,rjg->rij", has.astype(float), need.astype(float)) * edge.beta


def receiver_bytes(edge: Edge, a_prev: np.ndarray, n_nodes: int) -> np.ndarray:
    """``d[q,i]`` (bytes, (P_k, N)): what an owner i of u sends to the owner of segment q of k for it.

    Every rule of the module docstring is a sum over the receiving segments a node owns (``flow``,
    ``conv`` and ``group`` into a multi-segment layer; 0 for the segments of k outside the edge's
    slice) or, into a one-segment layer (fc), the bytes of its one segment; so for ``i != j``
    ``O[i,j] = sum_{q owned by j} d[q,i]`` (the caller drops ``i = j``: nothing moves to itself).
    Row q is :func:`transfer_block`'s column of a virtual node that owns segment q alone (all R = P_k
    rows in one call). ``a_prev`` (P_u,): owners of u's segments. Raises ValueError for a
    per-sender or per-pair rule into a multi-segment layer (not a sum over receiving segments).
    ``flow`` and count kinds take that column's closed form (the same rule, :meth:`Edge.flow_bytes`
    of one map, :meth:`Edge.bytes` of one receiving segment) without building the blocks.
    """
    P, N = edge.receiver_segments, n_nodes
    if P > 1 and (edge.per_sender_segment or edge.per_pair):
        raise ValueError(f"edge {edge.u} -> {edge.k} ({edge.kind}) into {P} segments: its bytes are no sum over receiving segments")
    a_prev = np.asarray(a_prev, dtype=np.int64)
    if edge.kind == "flow":  # segment offset + p reads map p from its owner alone
        out = np.zeros((P, N))
        out[edge.offset + np.arange(edge.span), a_prev] = edge.flow_bytes(1)
        return out
    if edge.kind != "group":  # the virtual node owns one receiving segment (in the slice) or none
        recv = np.zeros(P, dtype=np.int64)
        recv[edge.offset:edge.offset + edge.span] = 1
        return edge.bytes(counts(a_prev[None, :], N)[0][None, :], recv[:, None])
    out = np.empty((P, N))
    rows = max(1, _RECEIVER_CELLS // (N + 2) ** 2)  # rows per transfer_block call (bounded memory)
    for q0 in range(0, P, rows):
        q = np.arange(q0, min(q0 + rows, P))
        a_next = np.full((len(q), P), N + 1, dtype=np.int64)  # virtual node N owns segment q of row q, N + 1 the rest
        a_next[np.arange(len(q)), q] = N
        out[q] = transfer_block(edge, np.broadcast_to(a_prev, (len(q), len(a_prev))), a_next, N + 2)[:, :N, N]
    return out


_RECEIVER_CELLS = 2_000_000  # (rows, N + 2, N + 2) cells per block of receiver_bytes


def transfer_matrix(edge: Edge, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int) -> np.ndarray:
    """``O[i,j]`` (bytes, (N, N), zero diagonal) of one request; ``a_prev`` (P_u,), ``a_next`` (P_k,)."""
    return transfer_block(edge, a_prev[None, :], a_next[None, :], n_nodes)[0]


def transfer_list(edge: Edge, a_prev: np.ndarray, a_next: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse ``O``: (senders, receivers, bytes) of the pairs ``i != j`` that may carry bytes.

    Same numbers as :func:`transfer_matrix` without the (N, N) array (pairs with 0 bytes of a
    count kind may appear).
    """
    N = n_nodes
    a_next = edge.receiving(a_next)
    if edge.kind == "group":
        O = _group_block(edge, a_prev[None, :], a_next[None, :], N)[0]
        i, j = np.nonzero(O)
        return i[i != j], j[i != j], O[i, j][i != j]
    if edge.kind == "flow":
        code, cnt = np.unique(a_prev * N + a_next, return_counts=True)
        i, j, byt = code // N, code % N, edge.flow_bytes(cnt)
    else:
        i, ci = np.unique(a_prev, return_counts=True)
        j, cj = np.unique(a_next, return_counts=True)
        ii, jj = np.repeat(np.arange(len(i)), len(j)), np.tile(np.arange(len(j)), len(i))
        byt = edge.bytes(ci[ii], cj[jj])
        i, j = i[ii], j[jj]
    keep = i != j
    return i[keep], j[keep], np.asarray(byt, dtype=float)[keep]


# ---- stage times ----------------------------------------------------------------------------------
def compute_time(n: np.ndarray, layer: Layer, e: np.ndarray) -> np.ndarray:
    """``tc[...,j] = n[...,j] * c_k / e_j`` (seconds); ``n`` (..., N) segments, ``e`` (N,) mult/s."""
    return n * (layer.mults_per_segment / e)


def segment_seconds(profile: Profile, e: np.ndarray, node_types: Sequence[str | None]) -> np.ndarray:
    """``(L, N)`` seconds one segment of layer k takes on node j: ``c_k / e_j`` (MODEL.md section 5), or the
    profile's measured seconds for node j's device type where it has them (section 9, ``measured_seconds``).

    ``e`` (N,) mult/s; ``node_types`` (N,) catalog types (None: no type). Use it through
    :meth:`optdist.instance.Instance.segment_seconds` (cached per CNN).
    """
    out = np.array([compute_time(1.0, la, e) for la in profile.layers]).reshape(profile.n_layers, len(e))
    for j, device_type in enumerate(node_types):
        measured = profile.measured_seconds(device_type)
        if measured is not None:
            out[:, j] = measured
    return out


def incoming_wait(O: np.ndarray, rho: np.ndarray, serial: bool = False) -> np.ndarray:
    """``wait[...,j]`` (seconds): when receiver j has all its input, from ``O[...,i,j]`` (bytes).

    Parallel uplink: ``max_i O[i,j] / rho_i``; serial: ``max_{i: O[i,j] > 0} sum_j' O[i,j'] / rho_i``
    (a sender sends everything one transfer after the other). ``rho`` (N,) bytes/s.
    """
    if serial:
        sent = O.sum(axis=-1)
        arrive = np.where(O > 0, (sent / rho)[..., :, None], 0.0)
    else:
        arrive = O / rho[:, None]
    return arrive.max(axis=-2)


def stage_times(n: np.ndarray, tc: np.ndarray, wait: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``T[r] = max_{j: n[r,j] > 0} tc[r,j] + wait[r,j]`` and the critical owner j of each row.

    ``n``, ``tc``, ``wait`` (R, N); returns (R,) seconds and (R,) node indices (first maximum).
    """
    total = np.where(n > 0, tc + wait, -1.0)
    crit = total.argmax(axis=1)
    return total[np.arange(len(total)), crit], crit


# ---- node usage -----------------------------------------------------------------------------------
def layer_usage(layer: Layer, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Memory (10b, bytes) and multiplications (10c) of owning ``n`` segments of ``layer``."""
    return n * layer.weight_bytes_per_segment, n * layer.mults_per_segment


def bytes_sent(O: np.ndarray) -> np.ndarray:
    """Bytes each sender ships (10d): ``sum_j O[...,i,j]``."""
    return O.sum(axis=-1)


def least_sent(profile: Profile, on_source: Sequence[bool], min_owners: Sequence[int]) -> tuple[float, float]:
    """Least bytes (source, devices) one request must send, whatever its placement (10d bounds).

    ``on_source[k]``: layer k runs on the source; ``min_owners[k]``: least number of device
    owners of layer k. The source sends into every device layer after a source layer
    (:meth:`Edge.least_bytes`, no shared owner); the devices send into every source layer after
    a device layer, and the partial sums between device layers that cannot stay on their node.
    """
    src = dev = 0.0
    for k in range(1, profile.n_layers):
        for ed in edges(profile)[k]:
            if on_source[ed.u] and not on_source[k]:
                src += ed.least_bytes(1, receivers_own_u=False)
            elif not on_source[ed.u] and on_source[k]:
                dev += ed.least_bytes(min_owners[ed.u], receivers_own_u=False)
            elif not on_source[ed.u]:
                dev += ed.least_bytes(min_owners[ed.u], receivers_own_u=True)
    return src, dev
