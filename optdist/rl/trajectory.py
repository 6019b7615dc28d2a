"""The states of one layer along a sequence of segment placements, computed at once (vectorised).

:class:`optdist.rl.env.Features` builds the observation of one :class:`LayerState`; placing a
segment then changes the state. For a sequence of K devices ``a_0 .. a_{K-1}`` (the next K
segments of the layer) :func:`layer_states` gives the K observations and action masks that
``Features`` would give before each placement, placing ``a_0 .. a_{s-1}`` one by one, without
placing anything: cumulative counts per node (K x N arrays) replace the step-by-step updates.
The per-device part is built incrementally (:class:`DeviceRows`): a step changes the row of the
device it places on, and a state-wide change (the stage time, the scale of the relative rise,
the senders' bandwidth, the input map's owner) the rows of the devices it can affect; only those
rows are computed, each state's other devices keep the row they had (on VGG16 about 65 000 rows
a request instead of 650 000).

Every number is computed with the floating-point operations of ``LayerState`` and ``Features``
in the same order, so the result is bit-identical. That needs the usage updates of a sequence
to equal those of single steps, which holds when the layer's per-segment memory, multiplications
and bytes are whole numbers (sums of integers below 2**53 are exact): :func:`batchable` checks it
(and the layer kind); other layers are decided segment by segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optdist.heuristics.incremental import LayerState
from optdist.rl.env import Features


def _whole(*values: float | np.ndarray) -> bool:
    v = np.concatenate([np.ravel(x) for x in values])  # (one check of all: this runs once per layer)
    return bool((v == np.round(v)).all())


def batchable(st: LayerState) -> bool:
    """Whether :func:`layer_states` reproduces ``st`` exactly: a layer with no input edge, a conv
    edge into a multi-segment layer or an elementwise (flow) edge, with whole-number usage steps
    (not a DAG's ``general``-mode layer: a merge, a concat slice or a grouped convolution)."""
    if st.on_source or st.mode not in ("none", "per_segment", "map"):
        return False
    u = st.usage
    edge = () if st.mode == "none" else (st.beta,)
    return _whole(st.m, st.c, *edge, u.memory, u.compute, u.bandwidth)


@dataclass
class DeviceRows:
    """The per-device blocks of K states, stored once per change of a device's row.

    ``rows``: (M, F) float32, the looked-up rows in state order (devices ascending within a
    state): every device of state 0, then each entry whose row may differ from the same device's
    row in the state before (a superset of the changes: equal rows may repeat). ``last``: (K, D)
    int64, the index in ``rows`` of the row each entry holds (the latest looked-up row of that
    device up to that state).
    """

    rows: np.ndarray
    last: np.ndarray

    @classmethod
    def at(cls, flat: np.ndarray, rows: np.ndarray, K: int, D: int) -> DeviceRows:
        """The rows ``rows`` (M, F) looked up at the entries ``flat`` (M,) ascending (state * D +
        device), every device of state 0 among them, for K states of D devices: ``last`` found
        with one running maximum (the order numbers each device's changes in state order, so
        the latest change is the largest number so far)."""
        last = np.zeros(K * D, dtype=np.int64)
        last[flat] = np.arange(len(flat))
        last = last.reshape(K, D)
        np.maximum.accumulate(last, axis=0, out=last)
        return cls(rows, last)

    @classmethod
    def of(cls, dev: np.ndarray) -> DeviceRows:
        """The rows of the dense blocks ``dev`` (K, F, D): state 0's and the changed ones."""
        K, F, D = dev.shape
        if K == 1:  # one state (a segment decided alone): its rows
            return cls(np.ascontiguousarray(dev[0].T), np.arange(D)[None])
        new = np.ones((K, D), dtype=bool)
        new[1:] = (dev[1:] != dev[:-1]).any(axis=1)
        flat = np.flatnonzero(new)
        return cls.at(flat, dev.transpose(0, 2, 1)[flat // D, flat % D], K, D)

    def dense(self) -> np.ndarray:
        """(K, F, D) float32: the per-device blocks of every state."""
        return np.ascontiguousarray(self.rows[self.last].transpose(0, 2, 1))


@dataclass
class LayerStates:
    """Observations along a placement sequence, in :class:`Features`' layout split in two parts.

    ``glob``: (K, n_global) float32, the CNN / layer / segment part of each state;
    ``rows``: the per-device blocks (K, n_device, D) as :class:`DeviceRows`; ``mask``: (K, D) bool,
    the action masks; ``cand``: (D,) bool, the devices the layer may use at all (active, not a source).
    """

    glob: np.ndarray
    rows: DeviceRows
    mask: np.ndarray
    cand: np.ndarray

    def obs(self) -> np.ndarray:
        """(K, n_global + n_device * D) float32: the observation vectors ``Features`` returns."""
        K = len(self.glob)
        return np.concatenate([self.glob, self.rows.dense().reshape(K, -1)], axis=1)


def _relative(x: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Row-wise :func:`optdist.rl.env._relative` of ``x`` (K, D) over the candidates ``cand`` (D,)."""
    if not cand.any():
        return np.ones_like(x)
    every = bool(cand.all())  # (the usual case: no device has left) no copy of the candidates' columns
    top = (x if every else x[:, cand]).max(axis=1, keepdims=True)
    scaled = np.divide(x, top, out=np.zeros_like(x), where=top > 0)
    return scaled if every else np.where(cand, scaled, 1.0)


def layer_states(feats: Features, r: int, st: LayerState, actions: np.ndarray) -> LayerStates:
    """The states before each of ``actions`` (K device indices, ``1 <= K <= st.P - st.t``) of request r.

    ``st`` must be :func:`batchable`; it is read, not changed. Shapes: see :class:`LayerStates`.
    Raises ValueError for no actions or more actions than segments left.
    """
    inst, D, N = feats.inst, feats.D, st.inst.n_nodes
    actions = np.asarray(actions, dtype=np.int64)
    K = len(actions)
    if not 0 < K <= st.P - st.t:
        raise ValueError(f"{K} placements for the {st.P - st.t} segments left of layer {st.layer.name} (give 1 or more, "
                         f"at most the segments left)")
    # plain views of the instance's read-only arrays (each operation on those passes through a Python hook)
    bw_cap, rates, mem, comp = (np.asarray(x) for x in (inst.bandwidth_capacity, inst.rate, inst.memory,
                                                        inst.compute_capacity))
    steps = np.arange(K)
    one = np.zeros((K, N), dtype=np.int32)  # (counts are far below 2**31; numpy sums int32 about 3x faster)
    one[steps, actions] = 1
    added = np.cumsum(one, axis=0, dtype=np.int32)
    added -= one  # segments placed on each node before step s
    del one  # (temporaries are dropped as soon as used: a round's peak memory is faulted in again each round)
    cnt = st.cnt[None, :] + added
    u = st.usage

    n_cnn = len(feats.cnns)
    glob = np.zeros((K, feats.n_global), dtype=np.float32)
    glob[:, feats.cnns.index(inst.request_cnn[r])] = 1.0
    glob[:, n_cnn + st.k] = 1.0
    glob[:, n_cnn + feats.max_layers] = (st.t + steps) / st.P

    cand = st.cand
    sender = None
    if st.mode == "per_segment":
        s_idx = st.senders
        sent = st.sender_bytes * (steps[:, None] - added[:, s_idx])  # bytes each sender shipped in the sequence
        left = bw_cap[s_idx] - (u.bandwidth[s_idx] + sent)
        bad = left < st.sender_bytes
        n_bad = bad.sum(axis=1)
        ok = np.repeat((n_bad <= 1)[:, None], N, axis=1)
        one_bad = np.flatnonzero(n_bad == 1)
        ok[one_bad] = False
        ok[one_bad, s_idx[bad[one_bad].argmax(axis=1)]] = True
        coef = st.ce + st.beta * st.inv_r
        rise_at = (cnt + 1) * coef
        delay, delay_of = st.segment_delay()[None, :], np.zeros(K, dtype=np.int64)
    elif st.mode == "map":
        sender = st.prev[st.order[st.t + steps]]
        moved = (actions != sender).astype(np.int64)
        # the segments of one sender are consecutive in st.order: count moves within each run
        new_run = np.concatenate([[False], sender[1:] != sender[:-1]])
        run_start = np.flatnonzero(new_run | (steps == 0))
        run_of = np.cumsum(new_run)
        moves_before = np.cumsum(moved) - moved
        moves_before = moves_before - moves_before[run_start][run_of]
        left = bw_cap[sender] - (u.bandwidth[sender] + moves_before * st.beta)
        ok = np.repeat((left >= st.beta)[:, None], N, axis=1)
        ok[steps, sender] = True
        move = moved.astype(bool)
        flow_add = np.zeros((K, N), dtype=np.int32)
        flow_add[steps[move], actions[move]] = 1
        run_sum = np.cumsum(flow_add, axis=0, dtype=np.int32)
        run_sum -= flow_add
        del flow_add
        run_sum -= run_sum[run_start][run_of]
        flow = st.flow[sender] + run_sum  # row of the step's sender in f, before the step
        del run_sum
        flow[steps, sender] = 0.0
        rate = rates[sender]
        # wait_j after a move of the step's map to j: f_ij * beta / rho_i (LayerState.commit)
        bump = np.zeros((K, N))
        bump[steps[move], actions[move]] = (flow[steps[move], actions[move]] + 1.0) * st.beta / rate[move]
        seen = np.maximum.accumulate(bump, axis=0)
        del bump
        wait = np.empty((K, N))
        wait[0] = st.wait
        np.maximum(st.wait[None, :], seen[:-1], out=wait[1:])
        del seen
        arrive = (flow + 1) * (st.beta / rate)[:, None]
        del flow
        arrive[steps, sender] = 0.0
        rise_at = (cnt + 1) * st.ce + np.maximum(wait, arrive)
        del arrive
        # a step's delays depend on its sender alone: one row per distinct sender (few per round)
        senders, delay_of = np.unique(sender, return_inverse=True)
        delay_arrive = np.repeat((st.beta / rates[senders])[:, None], N, axis=1)
        delay_arrive[np.arange(len(senders)), senders] = 0.0
        delay = st.ce + delay_arrive
    else:  # "none": no input edge
        ok = np.ones((K, N), dtype=bool)
        rise_at = (cnt + 1) * st.ce
        delay, delay_of = st.segment_delay()[None, :], np.zeros(K, dtype=np.int64)

    # A step raises f (LayerState.finish) of the node it places on and of no other: the stage time
    # is the first state's, then a running maximum of the new f of each node placed on
    at = np.concatenate([np.zeros(N, dtype=np.int64), steps[1:]])
    j = np.concatenate([np.arange(N), actions[:-1]])
    c = cnt[at, j]
    f = c * st.ce[j]
    if st.mode == "per_segment":
        f = f + c * st.beta * st.inv_r[j]
    elif st.mode == "map":
        f = f + wait[at, j]
        del wait
    stage = np.concatenate([[np.where(c[:N] > 0, f[:N], 0.0).max()], f[N:]])
    np.maximum.accumulate(stage, out=stage)
    cd = cand[:D]
    rel_delay = _relative(np.ascontiguousarray(delay[:, :D]), cd)  # (rows of delay, D): row-wise, as per step
    if cd.any():  # the rise's scale: max over the candidates of max(rise - stage, 0), i.e. max(max rise - stage, 0)
        high = (rise_at[:, :D] if cd.all() else rise_at[:, :D][:, cd]).max(axis=1)  # (rounding grows with x: the
        top = np.maximum(high - stage, 0.0)  # largest fl(x - stage) is fl(largest x - stage), bit for bit)

    # A step changes the count, bounds and timing of the node it places on (for an input map, its
    # flow and wait too): that device's row is looked up. Other changes come with a state-wide
    # change (the senders' bandwidth, the stage time, the rise's scale, the input map's owner and
    # so the arrival times and delays): there the devices whose bandwidth bit, one-hot, delay or
    # relative rise may differ are looked up (the relative rise is 0 where the rise does not
    # exceed the stage time, and changes with the timing only where it does, before or after).
    new = np.zeros((K, D), dtype=bool)  # the entries whose row is looked up
    new[0] = True
    here = actions[:-1] < D
    new[steps[1:][here], actions[:-1][here]] = True
    timing = stage[1:] != stage[:-1]
    if cd.any():
        timing |= top[1:] != top[:-1]
    switched = np.zeros(K - 1, dtype=bool) if sender is None else sender[1:] != sender[:-1]
    bw = ok[1:, :D] != ok[:-1, :D]
    b = np.flatnonzero(timing | switched | bw.any(axis=1))  # states b + 1 with a state-wide change
    rise = rise_at[b + 1, :D]
    cols = bw[b] | (rel_delay[delay_of[b + 1]] != rel_delay[delay_of[b]])
    above = (rise_at[b, :D] > stage[b, None]) | (rise > stage[b + 1, None])
    cols |= above & (timing[b, None] | (rise != rise_at[b, :D]))
    for i in (sender[b][switched[b]], sender[b + 1][switched[b]]) if sender is not None else ():  # one-hot
        on = i < D
        cols[np.flatnonzero(switched[b])[on], i[on]] = True
    new[b + 1] |= cols
    flat = np.flatnonzero(new)  # (np.nonzero is several times slower on 2-D arrays)
    del new
    ns = flat // D
    nj = flat - ns * D

    # each looked-up row: Features' values at (ns, nj), with its operations in its order
    rows = np.empty((len(ns), feats.n_device), dtype=np.float32)
    c_j, a, n = cand[nj], added[ns, nj], cnt[ns, nj]
    del added, cnt
    allowed = c_j & (u.memory[nj] + a * st.m + st.m <= mem[nj])
    rows[:, 0] = allowed
    part = c_j & (u.compute[nj] + a * st.c + st.c <= comp[nj])
    rows[:, 1] = part
    allowed &= part
    part = c_j & ok[ns, nj]
    rows[:, 2] = part
    allowed &= part
    part = c_j & (n < st.cap)
    rows[:, 3] = part
    allowed &= part
    rows[:, 4] = np.minimum(n / st.cap, 1.0)
    rows[:, 5] = st.prev_cnt[nj] / st.prev_total if st.prev_total else 0.0
    rows[:, 6] = 0.0 if sender is None else nj == sender[ns]
    if cd.any():
        x, t = np.maximum(rise_at[ns, nj] - stage[ns], 0.0), top[ns]
        scaled = np.divide(x, t, out=np.zeros_like(x), where=t > 0)
        rows[:, 7] = scaled if cd.all() else np.where(cd[nj], scaled, 1.0)
    else:
        rows[:, 7] = 1.0
    rows[:, 8] = rel_delay[delay_of[ns], nj]
    rows[:, 9] = feats.static[nj]
    rows[:, 10] = feats.static[D + nj]
    dev = DeviceRows.at(flat, rows, K, D)
    mask = allowed[dev.last]
    return LayerStates(glob, dev, mask, cd)
