"""Pricing floor: a fast lower bound on one request's priced cost at any capacity prices, and
cheap Lagrangian dual steps on it (issue 11, item 3: certified bounds where pricing is slow).

Maths (MODEL.md sections 4-6; transfer rules from :mod:`optdist.transfers`). For request r and
prices ``pi[i, res] >= 0`` (seconds per unit of memory, multiplications, bytes sent by node i)
the pricing problem of :mod:`optdist.milp.decomposition.pricing` is

    v_r(pi) = min_p  w (latency_p + lambda shared_p) + sum_{i,res} pi[i,res] a_p[i,res]

(``w = 1``; ``w = 0`` gives the priced usage alone). Relax it to the *owner counts* of the
layers: ``s_k = 0`` when layer k runs on the source (the first and last layer, 10h), else the
number ``s_k`` of devices that own a segment of k, from ``ceil(P_k / cap_k)`` (privacy, 10f)
to ``min(P_k, D)`` (an fc layer: 1). For every placement with counts ``(a, b) = (s_{k-1}, s_k)``:

* **Stage time** (section 5; ``sec_j``: seconds per segment of k on node j,
  :meth:`Instance.segment_seconds`; ``E_b``: the ``b`` largest device speeds ``1/sec_j``):
  on devices (``b >= 1``), ``T_k >= P_k / E_b + least / rho`` (the slowest-finishing owner
  computes at least ``P_k / E_b``; adding the least any owner waits keeps it a bound, since
  ``max_j (tc_j + w_j) >= max_j tc_j + min_j w_j``) and ``T_k >= ceil(P_k/b) (min_j sec_j) +
  most / rho`` (the busiest owner). The waits count only where every owner of k must receive
  from another node: the previous layer on the source (``a = 0``: from the source, at its rate
  ``rho_s``, ``O = Edge.bytes(P_u, n)`` or ``flow_bytes(n)`` for an owner of n segments), or
  ``a >= 2`` senders of a count kind (``conv``, ``to_fc``, ``fc``: some other sender owns >= 1
  segment, ``O >= Edge.bytes(1, n)``, at most the fastest device radio); ``least`` takes
  ``n = 1``, ``most`` ``n = ceil(P_k/b)``. On the source (``b = 0``), ``T_k = P_k sec_src +``
  the largest transfer in: from ``a >= 1`` devices the busiest sender owns ``>= ceil(P_u/a)``
  segments of u and sends ``Edge.bytes(ceil(P_u/a), P_k)`` (``flow_bytes`` for a flow edge).
* **Bytes moved** (section 4, eq. 6, one sum over the edge's pairs; coefficients
  ``pr, ps, pp`` of :class:`optdist.transfers.Edge`): source to ``b`` devices
  ``b Edge.bytes(P_u, 1) + pr (P_k - b)`` (flow: every map); ``a`` devices to the source
  ``a Edge.bytes(1, P_k) + ps (P_u - a)`` (flow: every map); ``a`` devices to ``b`` devices,
  ``t = min(a, b)`` nodes owning both: ``pr (a P_k - (P_k - b + t)) + pp (a b - t) + ps b (a - 1)``
  (every receiver gets from every other sender; at most ``t`` receivers are senders, holding at
  most ``min(P_k - b + t, t h)`` segments, ``h``: the most segments of k one node may hold), flow
  ``max(|a - b|, P_k - t h') beta`` (segment s of k reads segment s of u; it stays only on a node
  owning both, at most ``t`` nodes holding at most ``h'`` (the least of ``h`` and u's) each). Source bytes are priced at the source's bandwidth price, device bytes at the
  cheapest device's (plus ``w lambda`` each: shared data).
* **Memory and compute** (10b, 10c): layer k on the source costs ``P_k (pi_mem m_k + pi_comp c_k)``
  at the source; on devices at least the cheapest filling of ``P_k`` segments, at most
  ``min(cap_k, P_k)`` per device (privacy), cheapest device first.

Each term is minimised separately for given counts, so their sum is at most the cost of every
placement with those counts; the shortest path over the counts of consecutive layers (dynamic
programming, :meth:`PricingFloor.evaluate`) is the *pricing floor* ``F_r(pi) <= v_r(pi)``.
Relaxed are: the capacities of each node alone, which devices own what (speeds and prices are
each taken at their best), and the serial uplink (its waits are at least the parallel ones).
:class:`TypedFloor` (the default of :func:`class_floors`) counts the owners per group of
identical devices instead, so that each owner's speed, bandwidth price and one-node capacities
are its own group's; at prices equal within each group it is at least ``F_r``.

**Use.** (a) ``max(pricing solve's proven bound, F)`` is a proven bound on ``v_c(pi)``;
(b) with ``B_c(0)`` a proven bound on class c alone at prices 0, ``v_c(pi) >= B_c(0) +
F^{w=0}_c(pi)`` (the latency part is at least its minimum, the priced usage at least its
floor), so for every ``pi >= 0`` the Lagrangian dual function (master rows ``rhs``, class sizes
``n_c``, master: :mod:`optdist.milp.decomposition.master`)

    L(pi) = -pi . rhs + sum_c n_c min(max(F_c(pi), B_c(0) + F^{w=0}_c(pi)), penalty)

is a lower bound on the optimum (weak duality); :func:`dual_ascent` maximises it by projected
subgradient steps (Polyak step towards the incumbent, step halved when the bound stalls), each
step one dynamic programme per class instead of a MILP per class. The best ``L`` is certified.

Chains only: a network with several inputs per layer or grouped convolutions (MODEL.md
section 9) raises :class:`ValueError` in :class:`PricingFloor` and :class:`TypedFloor` (:func:`class_floors` gives
None for such a class, so callers skip the floor there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from optdist.evaluate import capacity_limit
from optdist.instance import Instance
from optdist.solvers.base import stop_requested
from optdist.transfers import RESOURCES, Edge, edges

#: memory, compute, bandwidth columns of a node usage (n_nodes, 3): the order of RESOURCES
MEM, COMP, BW = range(3)


class PricingFloor:
    """The pricing floor ``F_r(pi)`` of request r (module docstring), precomputed per layer.

    ``inst``: the instance; ``r``: the request. Raises ValueError naming the layer when r's
    network is not a chain or has a grouped convolution (the floor is derived for chains).
    """

    def __init__(self, inst: Instance, r: int) -> None:
        prof, lim = inst.profile(r), inst.limit(r)
        D, L = inst.n_devices, prof.n_layers
        into = edges(prof)  # per layer, the edges into it
        for k in range(1, L):
            if len(into[k]) != 1 or into[k][0].u != k - 1 or into[k][0].kind == "group":
                raise ValueError(f"{inst.name}: request {r} ({prof.layers[k].name}): the pricing floor is "
                                 "derived for chain networks without grouped convolutions (MODEL.md section 9)")
        self.inst, self.r, self.src, self.D, self.L = inst, r, int(inst.request_source[r]), D, L
        sec = inst.segment_seconds(r)  # (L, N) seconds per segment
        rho_src, rho_dev = float(inst.rate[self.src]), float(inst.rate[:D].max())
        self.layers = prof.layers
        self.states: list[np.ndarray] = []
        for k, la in enumerate(prof.layers):
            if k in (0, L - 1) or lim.on_source[k]:
                self.states.append(np.array([0]))
            elif la.kind == "fc":
                self.states.append(np.array([1]))
            else:
                cap = lim.device_cap[k]
                if cap is not None and cap <= 0:  # no device may hold it (10h puts such layers on the source)
                    self.states.append(np.array([], dtype=np.int64))
                    continue
                lo = math.ceil(la.segments / cap) if cap is not None else 1
                self.states.append(np.arange(lo, min(la.segments, D) + 1))
        self.cap_eff = [la.segments if c is None else min(int(c), la.segments)
                        for la, c in zip(prof.layers, lim.device_cap)]
        self.time0 = prof.layers[0].segments * float(sec[0, self.src])
        self.time: list[np.ndarray] = []  # per k >= 1: (|states k-1|, |states k|) seconds
        self.src_bytes: list[np.ndarray] = []  # bytes the source sends over edge k-1 -> k
        self.dev_bytes: list[np.ndarray] = []  # bytes the devices send over it
        for k in range(1, L):
            ed = into[k][0]
            dev_sec = np.sort(sec[k, :D])
            with np.errstate(divide="ignore"):
                speed = np.sort(np.where(dev_sec > 0, 1.0 / dev_sec, np.inf))[::-1]
            top = np.concatenate([[0.0], np.cumsum(speed)])
            t, sb, db = _pair(ed, self.states[k - 1][:, None], self.states[k][None, :], prof.layers[k].segments,
                              top, float(dev_sec[0]), float(sec[k, self.src]), rho_src, rho_dev,
                              self.cap_eff[k], self.cap_eff[k - 1])
            self.time.append(t)
            self.src_bytes.append(sb)
            self.dev_bytes.append(db)

    def evaluate(self, prices: dict[str, np.ndarray], weight: float = 1.0,
                 shared_weight: float | None = None) -> tuple[float, np.ndarray]:
        """``F_r(pi)`` (seconds) and the node usage (n_nodes, 3) of its cheapest count sequence.

        ``prices``: per-node arrays (n_nodes,) keyed ``memory``/``compute``/``bandwidth``, seconds
        per unit, ``>= 0``; ``weight``: ``w`` of the module docstring (1: latency plus shared-data
        weight; 0: priced usage only); ``shared_weight``: lambda (default the instance's). The
        usage is a supergradient of ``F`` at ``pi`` along that sequence (devices' bytes at the
        cheapest device, segments where the filling put them); ``inf`` if a layer has no count.
        """
        inst, src, D = self.inst, self.src, self.D
        lam = inst.objective.shared_weight if shared_weight is None else shared_weight
        pm, pc, pb = (np.asarray(prices[res], dtype=float) for res in RESOURCES)
        p_src_b = pb[src] + weight * lam
        least = float(pb[:D].min())
        p_dev_b = least + weight * lam
        # the devices' bytes go to the cheapest devices, split over ties by bandwidth capacity
        # (any split is a supergradient; this one does not favour the first device of a group)
        tied = np.where(pb[:D] <= least * (1 + 1e-12), np.asarray(inst.bandwidth_capacity[:D], dtype=float), 0.0)
        share = tied / tied.sum() if tied.sum() > 0 else np.eye(D)[int(np.argmin(pb[:D]))]
        fills = []
        cost = np.array([weight * self.time0 + self.source_cost(0, pm, pc)])
        back: list[np.ndarray] = []
        for k in range(1, self.L):
            if not self.states[k].size:
                return math.inf, np.zeros((inst.n_nodes, 3))
            step = cost[:, None] + _weighted(weight, self.time[k - 1]) + p_src_b * self.src_bytes[k - 1] + p_dev_b * self.dev_bytes[k - 1]
            arg = step.argmin(axis=0)
            fill_cost, fill = self._device_fill(k, pm, pc)
            fills.append(fill)
            layer = np.where(self.states[k] == 0, self.source_cost(k, pm, pc), fill_cost)
            cost = step[arg, np.arange(step.shape[1])] + layer
            back.append(arg)
        y = int(cost.argmin())
        value = float(cost[y])
        use = np.zeros((inst.n_nodes, 3))
        for k in range(self.L - 1, 0, -1):
            x = int(back[k - 1][y])
            la = self.layers[k]
            if self.states[k][y] == 0:
                use[src, MEM] += la.segments * la.weight_bytes_per_segment
                use[src, COMP] += la.segments * la.mults_per_segment
            else:
                use[:D, MEM] += fills[k - 1] * la.weight_bytes_per_segment
                use[:D, COMP] += fills[k - 1] * la.mults_per_segment
            use[src, BW] += self.src_bytes[k - 1][x, y]
            use[:D, BW] += share * self.dev_bytes[k - 1][x, y]
            y = x
        la = self.layers[0]
        use[src, MEM] += la.segments * la.weight_bytes_per_segment
        use[src, COMP] += la.segments * la.mults_per_segment
        return value, use

    def source_cost(self, k: int, pm: np.ndarray, pc: np.ndarray) -> float:
        """Seconds of layer k's memory and compute priced on the request's source, all its
        segments there (``pm``, ``pc``: per-node prices of memory, s/byte, and compute, s/mult)."""
        la = self.layers[k]
        return la.segments * (pm[self.src] * la.weight_bytes_per_segment + pc[self.src] * la.mults_per_segment)

    def _device_fill(self, k: int, pm: np.ndarray, pc: np.ndarray) -> tuple[float, np.ndarray]:
        """Least priced memory and compute of layer k on devices (cheapest first, ``cap_eff`` each)."""
        la, D = self.layers[k], self.D
        unit = pm[:D] * la.weight_bytes_per_segment + pc[:D] * la.mults_per_segment
        fill = np.zeros(D)
        left, cap = la.segments, self.cap_eff[k]
        for i in np.argsort(unit, kind="stable"):
            if left <= 0:
                break
            take = min(cap, left)
            fill[i] = take
            left -= take
        return float(unit @ fill), fill


def _weighted(weight: float, seconds: np.ndarray | float) -> np.ndarray:
    """``weight * seconds`` where an infinite time (a state that cannot occur) stays infinite.

    At ``weight = 0`` (the floor of priced usage alone, as `class_bound` asks) numpy's
    ``0 * inf`` would be nan, and ``argmin`` picks a nan first.
    """
    t = np.asarray(seconds, dtype=float)
    return weight * t if weight else np.where(np.isinf(t), t, 0.0)


def _pair(ed: Edge, a: np.ndarray, b: np.ndarray, P: int, top: np.ndarray, sec_min: float, sec_src: float,
          rho_src: float, rho_dev: float, hold: int, hold_u: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stage-time bound, source bytes, device bytes), each (|a|, |b|), of edge ``ed`` for owner
    counts ``a`` (column, layer k-1) -> ``b`` (row, layer k), 0 meaning the source; ``P``: segments
    of k; ``top``: cumulative largest device speeds (segments/s) of k; ``hold``, ``hold_u``: the
    most segments of k, of u one device may hold; the rest as :class:`PricingFloor` (module
    docstring)."""
    Pu, flow = ed.sender_segments, ed.kind == "flow"
    pr, ps, pp = ed.per_receiver_segment, ed.per_sender_segment, ed.per_pair
    a, b = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))

    def recv(n_send, n_recv) -> np.ndarray:  # what one receiver of n_recv segments gets from one sender
        return ed.flow_bytes(n_recv) if flow else ed.bytes(n_send, n_recv)

    a1, b1 = np.maximum(a, 1), np.maximum(b, 1)
    share = -(-P // b1)  # segments of the busiest owner of k
    compute_all = P / top[b1] if sec_min > 0 else np.zeros(a.shape)
    compute_busiest = share * sec_min
    # k on the source (b = 0): its compute and the busiest device sender's transfer (a >= 1)
    busiest = -(-Pu // a1)
    into_src = (ed.flow_bytes(busiest) if flow else ed.bytes(busiest, np.full(a.shape, P))) / rho_dev
    t_src = P * sec_src + np.where(a == 0, 0.0, into_src)
    sent_to_src = np.full(a.shape, float(ed.flow_bytes(Pu))) if flow else a1 * ed.bytes(1, P) + ps * (Pu - a1)
    # k on devices from the source (a = 0): every owner receives at the source's rate
    t_from_src = np.maximum(compute_all + recv(Pu, np.ones_like(b1)) / rho_src,
                            compute_busiest + recv(Pu, share) / rho_src)
    sent_from_src = np.full(a.shape, float(ed.flow_bytes(P))) if flow else b1 * ed.bytes(Pu, 1) + pr * (P - b1)
    # devices to devices: with a >= 2 senders of a count kind every owner has another sender
    t_plain = np.maximum(compute_all, compute_busiest)
    t = np.minimum(a1, b1)
    if flow:
        moved, t_dev = ed.flow_bytes(np.maximum(np.abs(a - b), P - t * min(hold, hold_u))), t_plain
    else:
        kept = np.minimum(P - b1 + t, t * hold)  # segments of k on nodes that also own u
        moved = pr * (a1 * P - kept) + pp * (a1 * b1 - t) + ps * b1 * (a1 - 1)
        t_dev = np.where(a >= 2, np.maximum(compute_all + recv(1, np.ones_like(b1)) / rho_dev,
                                            compute_busiest + recv(1, share) / rho_dev), t_plain)
    time_ = np.where(b == 0, t_src, np.where(a == 0, t_from_src, t_dev))
    src_bytes = np.where((a == 0) & (b > 0), sent_from_src, 0.0)
    dev_bytes = np.where(a == 0, 0.0, np.where(b == 0, sent_to_src, moved))
    return time_.astype(float), src_bytes.astype(float), dev_bytes.astype(float)


#: most owner-count states one layer of a :class:`TypedFloor` may have (product over the device
#: groups of their count ranges); beyond it :func:`class_floors` keeps the :class:`PricingFloor`
MAX_TYPED_STATES = 50_000


class TypedFloor:
    """The *type-aware* pricing floor ``F^T_r(pi) <= v_r(pi)`` of request r: the shortest path of
    :class:`PricingFloor` with, per layer, the owner count of every group of identical devices
    (:func:`optdist.milp.decomposition.classes.identical_device_groups`) instead of their total.

    ``groups``: the device groups (default: the instance's identical devices). Per layer k on
    devices a state is ``b = (b_1, .., b_G)``, ``0 <= b_g <= min(|g|, P_k)``, with total ``|b|``
    in the range of :class:`PricingFloor` (privacy, an fc layer: 1) and ``sum_g b_g cap_g >= P_k``,
    where ``cap_g`` (segments one node of g can hold alone) is the least of the privacy cap, the
    node's memory over the layer's bytes per segment and its compute capacity over the
    multiplications per segment (10b, 10c, 10f: one node never holds more, whatever the other
    layers and requests use). Terms, each a lower bound for every placement with those counts:

    * **Stage time** on devices: an owner of ``n`` segments in group g finishes no earlier than
      ``h_g(n) = n sec_g + w(n)`` (its compute at its own speed plus the least wait of
      :class:`PricingFloor`: ``w(n)`` the transfer from the source of an owner of n segments when
      layer k-1 is on the source, from one other device when k-1 has ``>= 2`` owners on a count
      kind, else 0); ``h_g`` is non-decreasing. With ``n_g`` segments in group g its busiest owner
      holds ``>= ceil(n_g / b_g)``, so ``T_k >= min_{sum n_g = P_k, n_g <= b_g cap_g}
      max_{g: b_g > 0} h_g(ceil(n_g / b_g))`` = the least ``t`` with ``sum_g b_g min(cap_g,
      N_g(t)) >= P_k`` (``N_g(t)``: the most segments an owner of g finishes by t). It is at least
      :class:`PricingFloor`'s two stage bounds (some group has ``n_g / b_g >= P_k / |b|``, and its
      speed is at most the fastest). On the source, and the bytes, as :class:`PricingFloor` for
      the totals ``(|a|, |b|)``, with ``h`` the largest ``cap_g``.
    * **Bytes** sent by devices are sent by the groups that own layer k-1 (``a_g > 0``), so they
      cost at least the least bandwidth price of those groups (not of all devices).
    * **Memory and compute**: at most ``b_g cap_g`` segments in group g, at least the least unit
      price of g each, cheapest group first.

    Relaxed: which node of a group owns what (prices taken at the group's least), the owners'
    lower limit of one segment each, the rates (the fastest radio), the capacities across layers
    and requests. The DP is exact over these terms; since the bytes and waits depend on layer
    k-1 only through ``|a|``, whether ``|a| >= 2``, and the set of groups owning it, each layer's
    predecessors are first reduced to those keys (``(|a|, set)``), then to three wait kinds, so a
    step costs ``O(keys x totals + 3 states)``, not ``O(states^2)``.

    A layer with no state (no group's nodes can hold its segments: the request has no placement)
    makes the floor ``+inf``. Raises ValueError as :class:`PricingFloor` (chains without grouped
    convolutions) and when a layer has more than :data:`MAX_TYPED_STATES` states (the message
    gives the count).
    """

    def __init__(self, inst: Instance, r: int, groups: Sequence[Sequence[int]] | None = None) -> None:
        import itertools

        from optdist.milp.decomposition.classes import identical_device_groups

        base = PricingFloor(inst, r)  # checks the network; its count ranges and pair tables
        prof = inst.profile(r)
        self.inst, self.r, self.src, self.D, self.L, self.layers = inst, r, base.src, base.D, base.L, base.layers
        self.groups = [np.asarray(g, dtype=np.int64) for g in (groups or identical_device_groups(inst))]
        G = len(self.groups)
        sec = inst.segment_seconds(r)
        rho_src, rho_dev = float(inst.rate[self.src]), float(inst.rate[:self.D].max())
        self.time0, self._base = base.time0, base
        self.counts: list[np.ndarray] = []  # per layer (n_states, G) owners per group; all 0: the source
        self.cap: list[np.ndarray] = []  # per layer (G,) segments one node of each group may hold
        for k, la in enumerate(prof.layers):
            tot = base.states[k]
            caps = np.array([self._node_cap(k, g) for g in self.groups], dtype=np.int64)
            self.cap.append(caps)
            if not tot.size or tot.max() == 0:
                self.counts.append(np.zeros((tot.size, G), dtype=np.int64))
                continue
            ranges = [range(min(len(g), la.segments) + 1) for g in self.groups]
            n = math.prod(len(x) for x in ranges)
            if n > MAX_TYPED_STATES:
                raise ValueError(f"{inst.name}: request {r} ({la.name}): {n} owner-count states over {G} device "
                                 f"groups (more than {MAX_TYPED_STATES}); use PricingFloor")
            B = np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, G)
            s = B.sum(axis=1)
            ok = (s >= tot.min()) & (s <= tot.max()) & (B @ caps >= la.segments)
            self.counts.append(B[ok])
        self.sets = [(c > 0) @ (1 << np.arange(G)) for c in self.counts]  # bit g: group g owns the layer
        self.totals = [c.sum(axis=1) for c in self.counts]
        self.time: list[np.ndarray] = []  # per k >= 1: (3, n_states k) device-state times per wait kind
        self.src_time: list[np.ndarray] = []  # per k >= 1: (|totals k-1|,) time of k on the source
        self.tvals: list[np.ndarray] = []  # per k >= 0: sorted distinct totals
        self.src_bytes: list[np.ndarray] = []  # (|totals k-1|, |totals k|)
        self.dev_bytes: list[np.ndarray] = []
        self.tvals.append(np.unique(self.totals[0]))
        self.flow = [False]  # per layer: its edge in is an elementwise flow
        for k in range(1, self.L):
            ed = edges(prof)[k][0]  # the one edge into k (a chain: PricingFloor checked it)
            self.flow.append(ed.kind == "flow")
            self.tvals.append(np.unique(self.totals[k]))
            a, b = self.tvals[k - 1], self.tvals[k]
            dev_sec = np.sort(sec[k, :self.D])
            with np.errstate(divide="ignore"):
                speed = np.sort(np.where(dev_sec > 0, 1.0 / dev_sec, np.inf))[::-1]
            top = np.concatenate([[0.0], np.cumsum(speed)])
            t, sb, db = _pair(ed, a[:, None], b[None, :], prof.layers[k].segments, top, float(dev_sec[0]),
                              float(sec[k, self.src]), rho_src, rho_dev, int(self.cap[k].max()),
                              int(self.cap[k - 1].max()) if a.size and a.max() > 0 else prof.layers[k - 1].segments)
            self.src_bytes.append(sb)
            self.dev_bytes.append(db)
            self.src_time.append(t[:, 0] if b.size and b[0] == 0 else np.full(a.size, math.inf))
            self.time.append(self._stage_times(k, ed, sec[k], rho_src, rho_dev))
        # per layer: each state's key (index of its total, set of groups), the states sorted by
        # key, where each key's run starts, and the keys present (the DP's reduced predecessors)
        self.key, self.order, self.starts, self.keys = [], [], [], []
        for k in range(self.L):
            key = np.searchsorted(self.tvals[k], self.totals[k]) * (1 << G) + self.sets[k]
            order = np.argsort(key, kind="stable")
            keys, starts = np.unique(key[order], return_index=True)
            self.key.append(key)
            self.order.append(order)
            self.starts.append(starts)
            self.keys.append(keys)
        self.b_idx = [np.searchsorted(self.tvals[k], self.totals[k]) for k in range(self.L)]
        self.wait_kind = [np.zeros(0, dtype=np.int64)]  # per k >= 1: wait kind of each key of k-1
        for k in range(1, self.L):
            tot_a = self.tvals[k - 1][self.keys[k - 1] >> G]
            self.wait_kind.append(np.where(tot_a == 0, 0, np.where((tot_a >= 2) & (not self.flow[k]), 2, 1)))

    def _node_cap(self, k: int, g: np.ndarray) -> int:
        """Segments of layer k one node of group g can hold alone (privacy, memory, compute)."""
        la, inst = self.layers[k], self.inst
        cap = self._base.cap_eff[k]
        for have, per in ((inst.memory[g], la.weight_bytes_per_segment),
                          (inst.compute_capacity[g], la.mults_per_segment)):
            if per > 0:  # the capacity rule's limit (optdist.evaluate.capacity_limit)
                cap = min(cap, int(np.floor(capacity_limit(float(np.max(have))) / per * (1 + 1e-12))))
        return max(cap, 0)

    def _stage_times(self, k: int, ed: Edge, sec_k: np.ndarray, rho_src: float, rho_dev: float) -> np.ndarray:
        """(3, n_states) stage-time bounds of the device states of layer k for the three wait kinds
        of layer k-1 (0: on the source, 1: one device or a flow edge, 2: >= 2 devices on a count
        kind), by bisection on the least ``t`` of the class docstring."""
        B, caps, P = self.counts[k], self.cap[k], self.layers[k].segments
        out = np.full((3, len(B)), math.inf)
        if not len(B):
            return out
        n = np.arange(1, P + 1)
        flow = ed.kind == "flow"
        waits = [(ed.flow_bytes(n) if flow else ed.bytes(ed.sender_segments, n)) / rho_src, np.zeros(P),
                 np.zeros(P) if flow else ed.bytes(1, n) / rho_dev]
        for kind, w in enumerate(waits):
            h = [np.maximum.accumulate(n[:max(c, 0)] * float(np.min(sec_k[g])) + w[:max(c, 0)])
                 for g, c in zip(self.groups, caps)]
            cand = np.unique(np.concatenate(h)) if any(len(x) for x in h) else np.array([math.inf])
            lo, hi = np.zeros(len(B), dtype=np.int64), np.full(len(B), len(cand) - 1)
            while (lo < hi).any():
                mid = (lo + hi) // 2
                t = cand[mid] * (1 + 1e-12)
                held = sum(B[:, gi] * np.searchsorted(hg, t, side="right") for gi, hg in enumerate(h))
                enough = held >= P
                hi = np.where(enough, mid, hi)
                lo = np.where(enough, lo, mid + 1)
            out[kind] = cand[lo]
        return out

    def evaluate(self, prices: dict[str, np.ndarray], weight: float = 1.0,
                 shared_weight: float | None = None) -> tuple[float, np.ndarray]:
        """``F^T_r(pi)`` (seconds) and the node usage (n_nodes, 3) of its cheapest state sequence,
        as :meth:`PricingFloor.evaluate` (same arguments; a supergradient along that sequence:
        each group's segments and bytes on its cheapest nodes, ties split by capacity)."""
        inst, src, G = self.inst, self.src, len(self.groups)
        lam = inst.objective.shared_weight if shared_weight is None else shared_weight
        pm, pc, pb = (np.asarray(prices[res], dtype=float) for res in RESOURCES)
        p_src_b = pb[src] + weight * lam
        gb = np.array([pb[g].min() for g in self.groups]) + weight * lam  # (G,) least bandwidth price per group
        # least price of the groups in each set (bit mask), inf for the empty set (the source)
        masks = np.arange(1 << G)
        set_price = np.array([gb[[g for g in range(G) if m >> g & 1]].min() if m else math.inf for m in masks])
        cost = np.array([weight * self.time0 + self._base.source_cost(0, pm, pc)])
        costs, fills, picks = [cost], [None], []
        for k in range(1, self.L):
            if not len(self.counts[k]):
                return math.inf, np.zeros((inst.n_nodes, 3))
            live = self.keys[k - 1]
            agg = np.minimum.reduceat(cost[self.order[k - 1]], self.starts[k - 1])
            ka, ks = live >> G, live & ((1 << G) - 1)
            dev_p = np.where(ks == 0, 0.0, set_price[ks])
            # (keys, totals of k): predecessor cost plus its bytes into each total of k
            move = agg[:, None] + p_src_b * self.src_bytes[k - 1][ka] + dev_p[:, None] * self.dev_bytes[k - 1][ka]
            kind, b_idx = self.wait_kind[k], self.b_idx[k]
            layer_cost, fill = self._fill(k, pm, pc)
            step = np.full(len(self.counts[k]), math.inf)
            pick = np.full(len(self.counts[k]), -1)
            for w_kind in range(3):
                rows = np.flatnonzero(kind == w_kind)
                if not rows.size:
                    continue
                best = move[rows].argmin(axis=0)  # per total of k
                val = move[rows][best, np.arange(move.shape[1])]
                on_src = self.totals[k] == 0
                v = np.where(on_src, math.inf, val[b_idx] + _weighted(weight, self.time[k - 1][w_kind]))
                better = v < step
                step, pick = np.where(better, v, step), np.where(better, live[rows][best][b_idx], pick)
            on_src = np.flatnonzero(self.totals[k] == 0)
            if on_src.size:  # layer k on the source: the wait depends on the sender total
                v = move[:, b_idx[on_src[0]]] + _weighted(weight, self.src_time[k - 1][ka])
                j = int(v.argmin())
                step[on_src], pick[on_src] = v[j], live[j]
            cost = step + np.where(self.totals[k] == 0, self._base.source_cost(k, pm, pc), layer_cost)
            costs.append(cost)
            fills.append(fill)
            picks.append(pick)
        y = int(cost.argmin())
        value = float(cost[y])
        use = np.zeros((inst.n_nodes, 3))
        for k in range(self.L - 1, 0, -1):
            key = int(picks[k - 1][y])
            ka, ks = key >> G, key & ((1 << G) - 1)
            prev = np.flatnonzero(self.key[k - 1] == key)
            x = int(prev[costs[k - 1][prev].argmin()])
            la, b_i = self.layers[k], int(np.searchsorted(self.tvals[k], self.totals[k][y]))
            if self.totals[k][y] == 0:
                use[src, MEM] += la.segments * la.weight_bytes_per_segment
                use[src, COMP] += la.segments * la.mults_per_segment
            else:
                unit = pm * la.weight_bytes_per_segment + pc * la.mults_per_segment
                for g, n_g in zip(self.groups, fills[k][y]):
                    at = _cheapest_share(unit[g], inst.memory[g])
                    use[g, MEM] += n_g * at * la.weight_bytes_per_segment
                    use[g, COMP] += n_g * at * la.mults_per_segment
            use[src, BW] += self.src_bytes[k - 1][ka, b_i]
            if ks:
                gi = min((g for g in range(G) if ks >> g & 1), key=lambda g: gb[g])
                g = self.groups[gi]
                use[g, BW] += self.dev_bytes[k - 1][ka, b_i] * _cheapest_share(pb[g], inst.bandwidth_capacity[g])
            y = x
        la = self.layers[0]
        use[src, MEM] += la.segments * la.weight_bytes_per_segment
        use[src, COMP] += la.segments * la.mults_per_segment
        return value, use

    def _fill(self, k: int, pm: np.ndarray, pc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least priced memory and compute of layer k per state (n_states,) and the segments per
        group (n_states, G) of that filling: cheapest group first, ``b_g cap_g`` segments at most."""
        la, B = self.layers[k], self.counts[k]
        unit = np.array([float(np.min(pm[g] * la.weight_bytes_per_segment + pc[g] * la.mults_per_segment))
                         for g in self.groups])
        left = np.full(len(B), la.segments)
        fill = np.zeros(B.shape)
        for gi in np.argsort(unit, kind="stable"):
            take = np.minimum(left, B[:, gi] * self.cap[k][gi])
            fill[:, gi] = take
            left = left - take
        return fill @ unit, fill


def _cheapest_share(price: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Shares (summing to 1) over the nodes of one group at its least price, split by capacity."""
    least = float(price.min())
    tied = np.where(price <= least * (1 + 1e-12), np.asarray(capacity, dtype=float), 0.0)
    return tied / tied.sum() if tied.sum() > 0 else (price == least) / max(int((price == least).sum()), 1)


def class_floors(inst: Instance, representatives: Sequence[int], typed: bool = True
                 ) -> list[PricingFloor | TypedFloor | None]:
    """One floor per class, for its representative request: the :class:`TypedFloor` (``typed``;
    the :class:`PricingFloor` where a layer has too many typed states) or the
    :class:`PricingFloor`; None where no floor is derived (a DAG or grouped convolution; the
    caller then keeps its other bounds)."""
    cache: dict[tuple[str, int], PricingFloor | TypedFloor | None] = {}
    out = []
    for r in representatives:
        key = inst.request_class(r)
        if key not in cache:
            try:
                cache[key] = PricingFloor(inst, r)
            except ValueError:
                cache[key] = None
            if typed and cache[key] is not None:
                try:
                    cache[key] = TypedFloor(inst, r)
                except ValueError:  # too many states: keep the count floor
                    pass
        out.append(cache[key])
    return out


def class_bound(floor: PricingFloor | TypedFloor | None, prices: dict[str, np.ndarray], alone: float | None = None
                ) -> tuple[float, np.ndarray | None]:
    """``max(F(pi), B(0) + F^{w=0}(pi))`` (module docstring, use (b)) and the usage of ``F``'s
    cheapest count sequence (the ascent's direction: ``F`` is the term that grows with the prices
    like the priced optimum does); ``alone``: a proven bound ``B(0)`` on the class alone at
    prices 0 (None: unknown). ``(-inf, None)`` without a floor."""
    if floor is None:
        return -math.inf, None
    value, use = floor.evaluate(prices)
    if alone is not None and math.isfinite(alone):
        value = max(value, alone + floor.evaluate(prices, weight=0.0)[0])
    return value, use


#: uniform per-unit prices on every device row of one resource tried before the steps (seconds
#: per byte, per multiplication, per byte of bandwidth): 0 and 8 per decade over the range
GRID = {0: (0.0, *(10.0 ** (e / 8) for e in range(-120, -71))),  # memory 1e-15 .. 1e-9
        1: (0.0, *(10.0 ** (e / 8) for e in range(-136, -87))),  # compute 1e-17 .. 1e-11
        2: (0.0, *(10.0 ** (e / 8) for e in range(-104, -47)))}  # bandwidth 1e-13 .. 1e-6


def dual_ascent(
    floors: Sequence[PricingFloor | TypedFloor | None],
    sizes: Sequence[int],
    rhs: np.ndarray,
    node_prices: Callable[[np.ndarray], dict[str, np.ndarray]],
    row_usage: Callable[[np.ndarray], np.ndarray],
    *,
    deadline: float,
    target: float,
    alone: Sequence[float | None] | None = None,
    penalty: float = math.inf,
    device_rows: Sequence[tuple[int, bool]] | None = None,
    max_steps: int = 2000,
    coarse: Sequence[PricingFloor | TypedFloor | None] | None = None,
) -> tuple[float, np.ndarray, list[dict]]:
    """Maximise ``L(pi)`` (module docstring) over row prices ``pi >= 0``; every value it reports is
    a valid lower bound (seconds).

    First a coordinate search over one uniform price per resource on the device rows (``GRID``,
    bandwidth, then compute, then memory, each from the best so far), then projected steps along
    ``sum_c n_c a_c - rhs`` (``a_c``: the row usage of ``F_c``'s cheapest sequence) of Polyak size
    ``theta (target - L) / |g|^2`` in shares of each row's capacity, ``theta`` halved after 10
    steps without a better bound.

    ``floors``, ``sizes``, ``alone``: per master class its floor (None: ``L`` is ``-inf``, no
    steps), ``n_c`` and ``B_c(0)``; ``rhs`` (n_rows,): the rows' capacities; ``node_prices``:
    row prices -> per-node prices; ``row_usage``: node usage (n_nodes, 3) -> row usage (n_rows,);
    ``target``: an upper bound (the incumbent); ``penalty``: the rejection cost (admission);
    ``device_rows``: per row (resource, is a device row) for the search (default: none);
    ``coarse``: per class a cheaper floor for the search (e.g. the :class:`PricingFloor` where
    ``floors`` are :class:`TypedFloor`: the steps then start from its best prices, where ``L``
    with ``floors`` is evaluated again; default ``floors``); stops at ``deadline`` (``time.perf_counter()``), after ``max_steps`` steps, or
    as at the deadline once SIGINT/SIGTERM was received (:func:`~optdist.solvers.base.stop_requested`:
    before, a Ctrl-C of ``optdist solve`` in this phase waited up to its 30 s). Returns the
    best bound, its prices and a log (phase, step, elapsed, bound, theta).
    """
    t0 = time.perf_counter()
    n_rows = len(rhs)
    if any(f is None for f in floors) or n_rows == 0:
        return -math.inf, np.zeros(n_rows), []
    alone = list(alone) if alone is not None else [None] * len(floors)
    scale = np.where(rhs > 0, rhs, 0.0)  # prices per share of a row; rows of capacity 0 keep price 0

    def lagrangian(pi: np.ndarray, which: Sequence = floors) -> tuple[float, np.ndarray]:
        prices = node_prices(pi)
        total, g = float(-pi @ rhs), -rhs.astype(float)
        for f, n, b0 in zip(which, sizes, alone):
            value, use = class_bound(f, prices, b0)
            if value >= penalty:  # rejecting is cheaper: no usage
                value, use = penalty, None
            total += n * value
            if use is not None:
                g = g + n * row_usage(use)
        return total, g

    best, best_pi, log = -math.inf, np.zeros(n_rows), []
    best_g = None
    for res in (2, 1, 0):  # coordinate search: one uniform price on the device rows of a resource
        rows = np.array([r == res and dev for r, dev in (device_rows or [])], dtype=bool)
        if not rows.any():
            continue
        for lam in GRID[res]:
            if time.perf_counter() >= deadline or stop_requested():
                break
            pi = np.where(rows & (scale > 0), lam, best_pi)
            val, g = lagrangian(pi, floors if coarse is None else coarse)
            if val > best:
                best, best_pi, best_g = val, pi, g
        log.append({"phase": f"grid {res}", "elapsed_s": round(time.perf_counter() - t0, 3), "bound": best})
    if coarse is not None and best_g is not None:  # the search's best prices, with the finer floors
        fine, fine_g = lagrangian(best_pi)
        if fine >= best:  # the finer floors are at least the coarse ones (typed vs counts): always here
            best, best_g = fine, fine_g
        log.append({"phase": "fine", "elapsed_s": round(time.perf_counter() - t0, 3), "bound": best})
    q = best_pi * scale
    theta, stall = 1.0, 0
    for step in range(max_steps):
        if time.perf_counter() >= deadline or stop_requested():  # SIGINT/SIGTERM: as at the deadline
            break
        pi = np.divide(q, scale, out=np.zeros(n_rows), where=scale > 0)
        if step == 0 and best_g is not None:
            total, g = best, best_g
        else:
            total, g = lagrangian(pi)
        if total > best * (1 + 1e-12) or best == -math.inf:
            best, best_pi, stall = total, pi.copy(), 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if step % 25 == 0:
            log.append({"phase": "steps", "step": step, "elapsed_s": round(time.perf_counter() - t0, 3),
                        "bound": best, "theta": theta})
        gs = np.divide(g, scale, out=np.zeros(n_rows), where=scale > 0)
        gs = np.where((q <= 0) & (gs < 0), 0.0, gs)  # projected direction
        norm = float(gs @ gs)
        if norm <= 0 or theta < 1e-3 or not math.isfinite(total):
            break  # no direction left (or no finite bound)
        q = np.maximum(q + theta * max(target - total, 1e-9 * abs(target)) / norm * gs, 0.0)
    log.append({"phase": "end", "elapsed_s": round(time.perf_counter() - t0, 3), "bound": best, "theta": theta})
    return best, best_pi, log
