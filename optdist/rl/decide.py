"""Greedy decisions of a trained Q-network, many states per forward pass.

:class:`Scorer` evaluates ``Q(s, j)`` (:class:`optdist.rl.dqn.DeviceQNet`'s maths in numpy)
for a batch of states at once, forwarding each distinct (state, device-feature row) once, and
picks ``a = argmax_j Q(s, j)`` over the allowed devices with a tie rule that does not depend
on how the states were batched (see :meth:`Scorer.choose`).

:func:`decide_layer` places the remaining segments of one layer with one batched forward per
round instead of one forward per segment: it guesses the next devices, builds the states along
the guess at once (:func:`optdist.rl.trajectory.layer_states`), lets the network choose in every
one of them, and keeps the choices up to the first one that differs from the guess (that one
included: its state was exact). The first guess is the previous request's decisions for the
layer (same CNN; a CNN's first request is decided segment by segment); the next is the network's choices after the miss (a Jacobi iteration on the
sequence of decisions), then the rest of that guess. The actions are exactly those of deciding
segment by segment, whatever the guess; a good guess only makes the rounds few.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits
from torch import nn

from optdist.heuristics.incremental import LayerState, OnlineOutcome, RequestPlacer, Usage
from optdist.instance import Instance
from optdist.rl.dqn import DeviceQNet
from optdist.rl.env import Features
from optdist.rl.trajectory import batchable, layer_states

Choose = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (glob, dev, allowed) -> devices

TIE_TOLERANCE = 1e-9  # Q-values this close (relative, plus absolute) to the best are ties
MIN_ROUND = 8  # segments per round: twice the segments last kept, within [MIN_ROUND, MAX_ROUND]
MAX_ROUND = 256


class Scorer:
    """``Q(s, j)`` of a :class:`DeviceQNet` for batches of states, and the greedy choice.

    The network's first layer is split into its global part (shared by every device of a
    state) and its device part; the MLP runs in float64 on one row per distinct device row of a
    state (float32 rounding, about 1e-7 relative, is coarser than the Q differences between
    devices of a little-trained network). The number of devices D is read off the inputs, so a
    policy serves any D.
    """

    def __init__(self, net: DeviceQNet):
        layers = [(m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy().astype(np.float64))
                  for m in net.mlp if isinstance(m, nn.Linear)]
        self.G, self.F = net.n_global, net.n_device
        (w0, b0), self.rest = layers[0], layers[1:]
        self.wg, self.wd, self.b0 = np.ascontiguousarray(w0[: self.G]), np.ascontiguousarray(w0[self.G:]), b0
        self.proj = np.random.default_rng(0).uniform(0.5, 1.0, self.F).astype(np.float32)

    def _mlp(self, x: np.ndarray) -> np.ndarray:
        for w, b in self.rest:
            np.maximum(x, 0.0, out=x)
            x = x @ w + b
        return x[:, 0]

    def q_rows(self, glob: np.ndarray, rows: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Q of device rows ``rows`` (R, F) in states ``state`` (R,) of ``glob`` (K, G): (R,) float64."""
        h = rows.astype(np.float64) @ self.wd + (glob.astype(np.float64) @ self.wg + self.b0)[state]
        return self._mlp(h)

    def _distinct(self, dev: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The distinct allowed device rows of each state, found state by state (no sort across states).

        ``dev`` (K, F, D), ``allowed`` (K, D) bool. Returns ``(s, rows, order, pair)``: the distinct
        (state, row) pairs as state indices (U,) and rows (U, F) (those of the lowest device of
        each group of equal rows), each state's devices sorted by row key (K, D) and, per sorted position,
        the index in 0..U-1 of its pair (K, D; -1 for a device not allowed). The key is a fixed
        random projection of the row, summed feature by feature (elementwise, so equal rows get
        equal keys); rows sharing a key are checked equal, and a collision makes every allowed
        row its own pair.
        """
        K, F, D = dev.shape
        key = np.einsum("f,kfd->kd", self.proj, dev)
        key[~allowed] = np.inf
        order = np.argsort(key, axis=1, kind="stable")  # equal keys: the lowest device first
        skey = np.take_along_axis(key, order, axis=1)
        valid = skey < np.inf
        start = valid.copy()
        start[:, 1:] &= skey[:, 1:] != skey[:, :-1]
        head = np.maximum.accumulate(np.where(start, np.arange(D), 0), axis=1)  # sorted position of each group's first
        rows = dev.transpose(0, 2, 1).reshape(K * D, F)  # one copy, row (s, j) at s * D + j
        base = (D * np.arange(K))[:, None]
        at, first = (base + order)[valid], (base + np.take_along_axis(order, head, axis=1))[valid]
        if not (np.take(rows, at, axis=0) == np.take(rows, first, axis=0)).all():
            start = valid
        pair = np.where(valid, np.cumsum(start.ravel()).reshape(K, D) - 1, -1)
        s, pos = np.nonzero(start)
        return s, rows[D * s + order[s, pos]], order, pair

    def choose(self, glob: np.ndarray, dev: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Per state the allowed device of largest Q: (K,) int64 (0 for a state with none allowed).

        ``glob`` (K, G) and ``dev`` (K, F, D) are float32 states in :class:`LayerStates`' layout,
        ``allowed`` (K, D) bool. Q-values within :data:`TIE_TOLERANCE` (relative, plus absolute)
        of the best are ties, won by the lowest device index: rounding, which depends on how
        many states share a batch (about 1e-16 relative), then never changes a choice, while
        devices a network scores equally (equal rows, or rows differing only where it does not
        look) keep the lowest-index rule.
        """
        K, _, D = dev.shape
        if not allowed.any():
            return np.zeros(K, dtype=np.int64)
        s_idx, rows, order, pair = self._distinct(dev, allowed)
        q_pair = self.q_rows(glob, rows, s_idx)
        q = np.full((K, D), -np.inf)
        np.put_along_axis(q, order, np.where(pair >= 0, q_pair[pair], -np.inf), axis=1)
        best = q.max(axis=1)
        near = q >= (best - TIE_TOLERANCE * (1.0 + np.abs(best)))[:, None]
        return near.argmax(axis=1).astype(np.int64)


def _split(feats: Features, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One observation vector as ``glob`` (1, G) and ``dev`` (1, F, D)."""
    return obs[None, : feats.n_global], obs[feats.n_global:].reshape(1, feats.n_device, feats.D)


def decide_segment(choose: Choose, feats: Features, r: int, st: LayerState, masked: bool) -> int | None:
    """The device for the next segment of ``st`` (None: a masked policy has none), from one observation."""
    obs, mask = feats(r, st)
    if masked and not mask.any():
        return None
    allowed = mask if masked else st.cand[: feats.D]
    glob, dev = _split(feats, obs)
    return int(choose(glob, dev, allowed[None])[0])


def decide_layer(choose: Choose, feats: Features, r: int, st: LayerState, masked: bool, hint: np.ndarray | None = None,
                 batched: bool = True) -> bool:
    """Place the remaining segments of ``st`` as segment-by-segment greedy decisions would; False
    (segments before it placed) when a masked policy finds no allowed device for a segment.

    ``choose(glob, dev, allowed)``: the policy's device per state (see :meth:`Scorer.choose`); it
    must depend on each state alone. ``hint``: a guess of the layer's devices in segment order
    (e.g. the previous request's decisions for this layer); it changes the speed, never the
    decisions. Without a hint (a CNN's first request), in layers :func:`batchable` rejects,
    and with ``batched=False`` (the reference) each segment gets one observation and one
    forward: guessing blind costs more rounds than it saves.
    """
    if not batched or hint is None or not batchable(st):
        while not st.done:
            j = decide_segment(choose, feats, r, st, masked)
            if j is None:
                return False
            st.place(j)
        return True
    size = MAX_ROUND
    hint = np.asarray(hint, dtype=np.int64)
    guess = hint[st.t:]
    while not st.done:
        K = min(size, st.P - st.t)
        guess = _extend(st, guess[:K], K)
        ls = layer_states(feats, r, st, guess)
        allowed = ls.mask if masked else np.broadcast_to(ls.cand, ls.mask.shape)
        act = choose(ls.glob, ls.dev, allowed)
        wrong = np.flatnonzero(act != guess)
        end = int(wrong[0]) + 1 if len(wrong) else K  # states up to act[end - 1] followed the decisions
        if masked:
            stuck = np.flatnonzero(~allowed[:end].any(axis=1))
            if len(stuck):
                st.commit(act[: stuck[0]])
                return False
        st.commit(act[:end])
        size = min(MAX_ROUND, max(MIN_ROUND, 2 * end))
        guess = np.concatenate([act[end:], hint[st.t + K - end:]])  # the choices made past the miss, then the hint
    return True


def _extend(st: LayerState, guess: np.ndarray, K: int) -> np.ndarray:
    """``guess`` padded to K devices: the owner of each segment's input map (elementwise layers:
    nothing moves), else the last guessed device again."""
    n = K - len(guess)
    if n <= 0:
        return guess
    if st.mode == "map":
        pad = st.prev[st.order[st.t + len(guess):st.t + K]]
    else:
        pad = np.full(n, guess[-1] if len(guess) else 0)
    return np.concatenate([guess, pad]).astype(np.int64)


def place_requests(inst: Instance, feats: Features, choose: Choose, masked: bool,
                   active: np.ndarray | None = None, batched: bool = True) -> tuple[OnlineOutcome, list[float], list[int]]:
    """Place every request in arrival order with ``choose`` (see :func:`decide_layer`): the
    outcome, each request's decision seconds and the segments it decided.

    Source-pinned layers go to the source. A ``masked`` policy rejects a request (rolled back)
    when a segment has no allowed device or the source cannot take a pinned layer; an unmasked
    one picks among the layer's candidate devices and may break constraints. ``active`` (bool
    per node): devices still present. Each layer's guess is the previous request's decisions
    for the same CNN and layer. ``batched=False``: one forward per segment (same decisions,
    slower; the reference of the tests and ``benchmarks/online/decisions.py``). BLAS runs on one
    thread (its threads only contend on these small matrices).
    """
    with threadpool_limits(1, user_api="blas"):
        return _place_requests(inst, feats, choose, masked, active, batched)


def _place_requests(inst: Instance, feats: Features, choose: Choose, masked: bool,
                    active: np.ndarray | None, batched: bool) -> tuple[OnlineOutcome, list[float], list[int]]:
    usage = Usage.zeros(inst.n_nodes)
    out, decision_s, segments = OnlineOutcome(inst), [], []
    last: dict[tuple[str, int], np.ndarray] = {}
    for r in range(inst.n_requests):
        t0 = time.perf_counter()
        rp = RequestPlacer(inst, usage, r, active)
        ok, n = True, 0
        while ok and not rp.done:
            st = rp.next_layer()
            if st.on_source:
                src = int(inst.request_source[r])
                ok = not masked or bool(st.feasible()[src])
                st.commit(np.full(st.P, src))
            else:
                key = (inst.request_cnn[r], st.k)
                ok = decide_layer(choose, feats, r, st, masked, hint=last.get(key), batched=batched)
                last[key] = st.owners[st.order[: st.t]]
                n += st.t
            if ok:
                rp.close(st)
        if ok:
            out.accept(rp.owners, rp.latency, rp.shared)
        else:
            rp.rollback()
            out.reject(r)
        decision_s.append(time.perf_counter() - t0)
        segments.append(n)
    return out, decision_s, segments
