"""The states of one layer along a sequence of segment placements, computed at once (vectorised).

:class:`optdist.rl.env.Features` builds the observation of one :class:`LayerState`; placing a
segment then changes the state. For a sequence of K devices ``a_0 .. a_{K-1}`` (the next K
segments of the layer) :func:`layer_states` gives the K observations and action masks that
``Features`` would give before each placement, placing ``a_0 .. a_{s-1}`` one by one, without
placing anything: cumulative counts per node (K x N arrays) replace the step-by-step updates.

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
    return all(bool(np.all(np.asarray(v) == np.round(np.asarray(v)))) for v in values)


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
class LayerStates:
    """Observations along a placement sequence, in :class:`Features`' layout split in two parts.

    ``glob``: (K, n_global) float32, the CNN / layer / segment part of each state;
    ``dev``: (K, n_device, D) float32, the per-device blocks; ``mask``: (K, D) bool, the action
    masks; ``cand``: (D,) bool, the devices the layer may use at all (active, not a source).
    """

    glob: np.ndarray
    dev: np.ndarray
    mask: np.ndarray
    cand: np.ndarray

    def obs(self) -> np.ndarray:
        """(K, n_global + n_device * D) float32: the observation vectors ``Features`` returns."""
        K = len(self.glob)
        return np.concatenate([self.glob, self.dev.reshape(K, -1)], axis=1)


def _relative(x: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Row-wise :func:`optdist.rl.env._relative` of ``x`` (K, D) over the candidates ``cand`` (D,)."""
    if not cand.any():
        return np.ones_like(x)
    every = bool(cand.all())  # (the usual case: no device has left) no copy of the candidates' columns
    top = (x if every else x[:, cand]).max(axis=1, keepdims=True)
    scaled = np.divide(x, top, out=np.zeros_like(x), where=top > 0)
    return scaled if every else np.where(cand, scaled, 1.0)


def layer_states(feats: Features, r: int, st: LayerState, actions: np.ndarray) -> LayerStates:
    """The states before each of ``actions`` (K device indices, ``K <= st.P - st.t``) of request r.

    ``st`` must be :func:`batchable`; it is read, not changed. Shapes: see :class:`LayerStates`.
    Raises ValueError for more actions than segments left.
    """
    inst, D, N = feats.inst, feats.D, st.inst.n_nodes
    actions = np.asarray(actions, dtype=np.int64)
    K = len(actions)
    if K > st.P - st.t:
        raise ValueError(f"{K} placements for the {st.P - st.t} segments left of layer {st.layer.name}")
    steps = np.arange(K)
    one = np.zeros((K, N), dtype=np.int64)
    one[steps, actions] = 1
    added = np.cumsum(one, axis=0)
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
    memory = cand & (u.memory + added * st.m + st.m <= inst.memory)
    compute = cand & (u.compute + added * st.c + st.c <= inst.compute_capacity)
    if st.mode != "per_segment":
        del added
    privacy = cand & (cnt < st.cap)
    sender = None
    if st.mode == "per_segment":
        s_idx = st.senders
        sent = st.sender_bytes * (steps[:, None] - added[:, s_idx])  # bytes each sender shipped in the sequence
        left = inst.bandwidth_capacity[s_idx] - (u.bandwidth[s_idx] + sent)
        bad = left < st.sender_bytes
        n_bad = bad.sum(axis=1)
        ok = np.repeat((n_bad <= 1)[:, None], N, axis=1)
        one_bad = np.flatnonzero(n_bad == 1)
        ok[one_bad] = False
        ok[one_bad, s_idx[bad[one_bad].argmax(axis=1)]] = True
        coef = st.ce + st.beta * st.inv_r
        rise_at = (cnt + 1) * coef
        finish = cnt * st.ce + cnt * st.beta * st.inv_r
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
        left = inst.bandwidth_capacity[sender] - (u.bandwidth[sender] + moves_before * st.beta)
        ok = np.repeat((left >= st.beta)[:, None], N, axis=1)
        ok[steps, sender] = True
        move = moved.astype(bool)
        flow_add = np.zeros((K, N))
        flow_add[steps[move], actions[move]] = 1.0
        run_sum = np.cumsum(flow_add, axis=0)
        run_sum -= flow_add
        del flow_add
        run_sum -= run_sum[run_start][run_of]
        flow = st.flow[sender] + run_sum  # row of the step's sender in f, before the step
        del run_sum
        flow[steps, sender] = 0.0
        rate = inst.rate[sender]
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
        finish = cnt * st.ce + wait
        del wait
        # a step's delays depend on its sender alone: one row per distinct sender (few per round)
        senders, delay_of = np.unique(sender, return_inverse=True)
        delay_arrive = np.repeat((st.beta / inst.rate[senders])[:, None], N, axis=1)
        delay_arrive[np.arange(len(senders)), senders] = 0.0
        delay = st.ce + delay_arrive
    else:  # "none": no input edge
        ok = np.ones((K, N), dtype=bool)
        rise_at = (cnt + 1) * st.ce
        finish = cnt * st.ce
        delay, delay_of = st.segment_delay()[None, :], np.zeros(K, dtype=np.int64)
    bandwidth = cand & ok
    stage = np.where(cnt > 0, finish, 0.0).max(axis=1)
    del finish

    F = feats.n_device
    dev = np.empty((K, F, D), dtype=np.float32)  # every plane is written below (no memset of the whole block)
    for n, part in enumerate((memory, compute, bandwidth, privacy)):
        dev[:, n] = part[:, :D]
    dev[:, 4] = np.minimum(cnt[:, :D] / st.cap, 1.0)
    dev[:, 5] = st.prev_cnt[:D] / st.prev_total if st.prev_total else 0.0
    dev[:, 6] = 0.0
    if sender is not None:
        here = sender < D
        dev[steps[here], 6, sender[here]] = 1.0
    cd = cand[:D]
    dev[:, 7] = _relative(np.maximum(rise_at[:, :D] - stage[:, None], 0.0), cd)
    rel_delay = _relative(np.ascontiguousarray(delay[:, :D]), cd)  # (rows of delay, D): row-wise, as per step
    dev[:, 8] = rel_delay[0] if len(rel_delay) == 1 else rel_delay[delay_of]
    dev[:, 9:] = feats.static.reshape(2, D)
    mask = (memory & compute & bandwidth & privacy)[:, :D]
    return LayerStates(glob, dev, mask, cd)
