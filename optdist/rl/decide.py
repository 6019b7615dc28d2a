"""Greedy decisions of a trained Q-network, many states per forward pass.

:class:`Scorer` evaluates ``Q(s, j)`` (:class:`optdist.rl.dqn.DeviceQNet`'s maths in numpy,
float64) for a batch of states at once and picks ``a = argmax_j Q(s, j)`` over the allowed
devices with a tie rule that does not depend on how the states were batched (see
:meth:`Scorer.choose`). The states of one layer share most device rows and differ in their
global part only by the segment index, so it numbers the distinct device rows of the whole
batch (only the rows :class:`optdist.rl.trajectory.DeviceRows` looked up, those that may have
changed: a device keeps its row's number until its row changes), forwards each row at few
segment indices and interpolates Q in between where the network is provably affine (no ReLU
input changes sign: :meth:`Scorer._q_pairs`).

:func:`decide_layer` places the remaining segments of one layer with one batched forward per
round instead of one forward per segment: it guesses the next devices, builds the states along
the guess at once (:func:`optdist.rl.trajectory.layer_states`), lets the network choose in every
one of them, and keeps the choices up to the first one that differs from the guess (that one
included: its state was exact). The first guess is the previous request's decisions for the
layer (same CNN), for a CNN's first request those of :func:`warm_up` where it ran (the
placement's start-up work); without it the first request has none, and where the policy can rank the devices of a
state (``rank``: :meth:`Scorer.order`) its layers of at least :data:`RANKED_MIN` segments are
guessed from the first state's ranking repeated (a policy tends to go round its preferred
devices; where such rounds keep fewer than :data:`RANKED_KEEP` segments each, some segments
are decided alone between them), its smaller layers from the owners of their input maps
(elementwise) or the request's previous layer (:func:`_own_guess`), others are decided segment
by segment; after a miss the next
segment is decided alone (a guess right after a miss is often wrong at once), then the guess is
:func:`_guess`: in an elementwise layer whose last :data:`STAYED` decisions kept their input
map's owner, the owners of the next maps; else the layer's decisions so far continued
periodically, else the previous request's decisions continued from where the last decision
occurs in them, else the network's choices after the miss (a Jacobi iteration on the sequence
of decisions). Where capacity binds
an unmasked policy's choices shift from one request to the next and rounds may keep only one
or two segments; such a round has :data:`MIN_ROUND` states, whose few (row, segment index)
pairs are forwarded at once (:data:`DIRECT_PAIRS`): it costs a few single decisions; after
:data:`SLOW_ROUNDS` rounds that kept fewer than :data:`SLOW_KEEP` segments each on average, :data:`SLOW_ALONE` are
decided alone, and once a layer's first round missed, the request's next layers start with
small rounds (:class:`Plan`). The
actions are exactly those of deciding segment by segment, whatever the guess; a good guess only
makes the rounds few.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits
from torch import nn

from optdist.heuristics.incremental import LayerState, OnlineOutcome, RequestPlacer, Usage
from optdist.instance import Instance
from optdist.rl.dqn import DeviceQNet
from optdist.rl.env import Features
from optdist.rl.trajectory import DeviceRows, batchable, layer_states

Choose = Callable[[np.ndarray, DeviceRows, np.ndarray], np.ndarray]  # (glob, device rows, allowed) -> devices
Rank = Callable[[np.ndarray, DeviceRows, np.ndarray], np.ndarray]  # one state's (glob, rows, allowed) -> devices by preference

TIE_TOLERANCE = 1e-9  # Q-values this close (relative, plus absolute) to the best are ties
FIRST_ROUND = 512  # segments in a layer's first round; then twice the segments last kept,
MIN_ROUND = 16  # within [MIN_ROUND, MAX_ROUND] (a wrong guess wastes at most about the work kept)
MAX_ROUND = 2048
FIRST_AFTER_MISS = 32  # after a layer whose first round missed, a request's next first round: twice what it kept, at least this
SLOW_ROUNDS = 3  # where the last SLOW_ROUNDS rounds along a previous request's decisions kept fewer than
SLOW_KEEP = 4  # SLOW_KEEP segments each on average (a small round costs about 4 single decisions), the next
SLOW_ALONE = 8  # SLOW_ALONE segments are decided one by one
RANKED_MIN = 64  # segments a layer needs for its first request's decisions to be guessed from a ranking
RANKED_ROUND = 64  # segments in the first round along such a guess (it is coarser than a previous request's)
RANKED_KEEP = 2  # along a ranking, while a layer's rounds keep fewer segments on average, each round is followed by
RANKED_ALONE = 16  # this many segments decided one by one (a small round costs about 4 of those)
ROUND_COST = 3  # a round of a small layer costs about this many lone decisions (LeNet, MaskablePPO: Plan.guesses_pay)
SPLIT = 8  # a piece of a row's segment indices whose ends lie on different linear pieces is cut in SPLIT
STAYED = 2  # after this many decisions that kept their input map's owner (elementwise layers), guess it keeps the next
DIRECT_PAIRS = 256  # at most this many (row, tau) pairs (a small round) are all forwarded, not interpolated
GLIBC_MMAP_MAX = 32 * 2**20  # bytes: glibc's largest dynamic mmap threshold on 64-bit systems (mallopt(3))


class Scorer:
    """``Q(s, j)`` of a :class:`DeviceQNet` for batches of states, and the greedy choice.

    The network's first layer is split into its global part (shared by every device of a
    state) and its device part; the MLP runs in float64 (float32 rounding, about 1e-7
    relative, is coarser than the Q differences between devices of a little-trained network).
    The number of devices D is read off the inputs, so a policy serves any D.

    A batch of states of one layer differs in few device rows from state to state and in one
    global entry, the segment index ``tau = t / P``: :meth:`choose` forwards each distinct
    device row at few values of ``tau`` and interpolates the rest (see :meth:`_q_pairs`).
    """

    def __init__(self, net: DeviceQNet):
        layers = [(m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy().astype(np.float64))
                  for m in net.mlp if isinstance(m, nn.Linear)]
        self.G, self.F = net.n_global, net.n_device
        (w0, b0), self.rest = layers[0], layers[1:]
        self.wg, self.wd, self.b0 = np.ascontiguousarray(w0[: self.G]), np.ascontiguousarray(w0[self.G:]), b0
        # row hash: the float32 bits of each feature times a fixed odd 64-bit number, summed (mod 2**64)
        self._cuts = np.arange(1, SPLIT)
        self.proj = np.random.default_rng(0).integers(1, 2**62, self.F, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    def _mlp(self, x: np.ndarray) -> np.ndarray:
        for w, b in self.rest:
            np.maximum(x, 0.0, out=x)
            x = x @ w + b
        return x[:, 0]

    def _mlp_signs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_mlp` of first-layer pre-activations ``x`` (R, H0): Q (R,) and which ReLU inputs
        are positive, as bits (each layer's packed, :func:`np.packbits`; (R, W) uint64 words where
        they fill whole words, else uint8): rows with equal signs are on the same linear piece."""
        signs = []
        for w, b in self.rest:
            signs.append(np.packbits(x > 0.0, axis=1))
            np.maximum(x, 0.0, out=x)
            x = x @ w
            x += b
        bits = np.concatenate(signs, axis=1)
        return x[:, 0], bits.view(np.uint64) if bits.shape[1] % 8 == 0 else bits

    def q_rows(self, glob: np.ndarray, rows: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Q of device rows ``rows`` (R, F) in states ``state`` (R,) of ``glob`` (K, G): (R,) float64."""
        h = rows.astype(np.float64) @ self.wd + (glob.astype(np.float64) @ self.wg + self.b0)[state]
        return self._mlp(h)

    def _row_ids(self, dev: DeviceRows) -> tuple[np.ndarray, np.ndarray]:
        """Equal device rows of ``dev`` numbered: ``(rid, rows)``, rid (K, D) int64 and the distinct
        rows (R, F) float32.

        Only the looked-up rows (:class:`DeviceRows`: state 0's and those that may have changed
        since the state before) are numbered; an entry takes the number of the row it holds. They
        are grouped by a hash of their bits (:attr:`proj`) and checked equal to their group's first
        row: a collision gives every looked-up row its own id (same Q, more forwards).
        """
        rows = dev.rows
        key = rows.view(np.uint32).astype(np.uint64) @ self.proj  # (integer matmul: wraps mod 2**64, as the sum)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        if not (rows == rows[first][inv]).all():
            first, inv = np.arange(len(rows)), np.arange(len(rows))
        return inv[dev.last], rows[first]

    def _q_pairs(self, glob: np.ndarray, rows: np.ndarray, p_row: np.ndarray, p_glob: np.ndarray,
                 col: int | None) -> np.ndarray:
        """Q of the (row, global part) pairs ``rows[p_row]`` (rows (R, F)) in ``glob[p_glob]`` (glob
        (K', G)): (U,) float64.

        ``col``: the one entry in which the rows of ``glob`` differ (the segment index tau; None:
        they differ in more, and every pair is forwarded), the pairs sorted by row, then by tau.
        The first-layer input of a row is then affine in tau, and so is Q wherever no ReLU input
        changes sign: each pre-activation is affine in tau on such a piece, so equal signs at
        its two ends mean equal signs throughout. Per row the first and last pair are
        forwarded; a piece whose ends have equal signs is interpolated (the value at tau is the
        forwarded one up to rounding, about 1e-16 relative, far below :data:`TIE_TOLERANCE`), any
        other is cut in :data:`SPLIT` (the pairs at the cuts forwarded) until it is or has no
        pair inside. At most :data:`DIRECT_PAIRS` pairs (a round of a few states after a missed
        guess: 100-140 pairs in a round of 16 states on VGG16) are all forwarded: one forward of
        them costs less than the numpy calls of the interpolation (about 0.15 ms a round, half of
        such a round's ``choose``).
        """
        U = len(p_row)
        part = rows.astype(np.float64) @ self.wd  # (R, H0): a row's share of the first layer
        q = np.empty(U)
        if col is None or U <= DIRECT_PAIRS:
            q[:] = self._mlp(part[p_row] + (glob.astype(np.float64) @ self.wg + self.b0)[p_glob])
            return q
        tau = glob[:, col].astype(np.float64)[p_glob]
        rest = glob[0].astype(np.float64)
        rest[col] = 0.0
        part += rest @ self.wg + self.b0  # a row's first-layer input is part + tau * slope
        slope = self.wg[col]
        signs: np.ndarray | None = None

        def forward(at: np.ndarray) -> None:
            nonlocal signs
            x = tau[at][:, None] * slope
            x += part[p_row[at]]
            q[at], s = self._mlp_signs(x)
            if signs is None:
                signs = np.empty((U, s.shape[1]), dtype=s.dtype)
            signs[at] = s

        last = np.append(np.flatnonzero(p_row[1:] != p_row[:-1]), U - 1)
        first = np.append(0, last[:-1] + 1)
        forward(_distinct(np.stack([first, last], axis=1).ravel()))
        lo, hi = first, last
        while True:
            inner = hi - lo > 1
            lo, hi = lo[inner], hi[inner]
            if not len(lo):
                return q
            flat = (signs[lo] == signs[hi]).all(axis=1)
            a, b = lo[flat], hi[flat]
            n = b - a - 1
            at = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(a + 1, n)
            a, b = np.repeat(a, n), np.repeat(b, n)
            q[at] = q[a] + (tau[at] - tau[a]) * ((q[b] - q[a]) / (tau[b] - tau[a]))
            lo, hi = lo[~flat], hi[~flat]
            cut = np.concatenate([lo[:, None], lo[:, None] + ((hi - lo)[:, None] * self._cuts) // SPLIT, hi[:, None]],
                                 axis=1)  # (I, SPLIT + 1) ascending, repeats where a piece is short
            forward(_distinct(cut[:, 1:-1][cut[:, 1:-1] > lo[:, None]]))  # (ascending: the pieces are in order)
            lo, hi = cut[:, :-1].ravel(), cut[:, 1:].ravel()

    def choose(self, glob: np.ndarray, dev: DeviceRows | np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Per state the allowed device of largest Q: (K,) int64 (0 for a state with none allowed).

        ``glob`` (K, G) float32 and ``dev``, the device rows as :class:`DeviceRows` or as (K, F, D)
        float32, are states in :class:`LayerStates`' layout; ``allowed`` (K, D) bool. Q is found
        once per distinct (device row, global part) pair (:meth:`_q_batch`), so equal rows of a
        state score equally. Q-values
        within :data:`TIE_TOLERANCE` (relative, plus absolute) of the best are ties, won by the
        lowest device index: rounding, which depends on how the states were batched (about
        1e-16 relative), then never changes a choice, while devices a network scores equally
        (equal rows, or rows differing only where it does not look) keep the lowest-index rule.
        """
        dev = _rows(dev)
        K, D = dev.last.shape
        if not allowed.any():
            return np.zeros(K, dtype=np.int64)
        if K == 1:  # one state (a segment decided alone): every allowed row forwarded, no grouping
            j = np.flatnonzero(allowed[0])
            q = np.full((1, D), -np.inf)
            q[0, j] = self._q_one(glob, dev, j)
        else:
            q = self._q_batch(glob, dev, allowed)
        best = q.max(axis=1)
        near = q >= (best - TIE_TOLERANCE * (1.0 + np.abs(best)))[:, None]
        return near.argmax(axis=1).astype(np.int64)

    def order(self, glob: np.ndarray, dev: DeviceRows | np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """The allowed devices of one state by decreasing Q, equal Q by lowest index: (n,) int64
        (``glob`` (1, G), ``dev`` and ``allowed`` (1, D) as in :meth:`choose`; empty when none is
        allowed). Every allowed row is forwarded; the first device is :meth:`choose`'s up to ties
        within :data:`TIE_TOLERANCE`. A guess for :func:`decide_layer`, never a decision."""
        dev = _rows(dev)
        j = np.flatnonzero(allowed[0])
        return j[np.lexsort((j, -self._q_one(glob, dev, j)))]

    def _q_one(self, glob: np.ndarray, dev: DeviceRows, j: np.ndarray) -> np.ndarray:
        """Q (len(j),) float64 of the devices ``j`` of the first state of ``glob``, ``dev``."""
        return self.q_rows(glob, dev.rows[dev.last[0, j]], np.zeros(len(j), dtype=np.int64))

    def _q_batch(self, glob: np.ndarray, dev: DeviceRows | np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Q (K, D) float64 of the allowed entries of a batch of states (``dev`` as in :meth:`choose`;
        -inf elsewhere), once per distinct (device row, global part) pair (:meth:`_row_ids`,
        :meth:`_q_pairs`)."""
        K = len(glob)
        rid, rows = self._row_ids(_rows(dev))
        varies = np.flatnonzero((glob != glob[0]).any(axis=0))
        col = int(varies[0]) if len(varies) == 1 else None
        if col is not None and (glob[1:, col] > glob[:-1, col]).all():  # a round's states: tau ascending
            gl, g_of = glob, np.arange(K)
        elif col is not None:  # one entry differs (the segment index): the globs in its order
            _, first, g_of = np.unique(glob[:, col], return_index=True, return_inverse=True)
            gl = glob[first]
        elif not len(varies):
            gl, g_of = glob[:1], np.zeros(K, dtype=np.int64)
        else:
            gl, g_of = np.unique(glob, axis=0, return_inverse=True)
        n_g = len(gl)
        key = rid * n_g + g_of.reshape(K, 1)  # (K, D): the (row, glob) pair of each entry
        seen = np.zeros(len(rows) * n_g, dtype=bool)
        seen[key[allowed]] = True
        pairs = np.flatnonzero(seen)  # sorted by row, then by tau
        pos = np.zeros(len(seen), dtype=np.int64)  # (0 for pairs not scored: a valid index, masked below)
        pos[pairs] = np.arange(len(pairs))
        q_pair = self._q_pairs(gl, rows, pairs // n_g, pairs % n_g, col)
        return np.where(allowed, q_pair[pos[key]], -np.inf)


def _distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of the ascending array ``a`` (np.unique without its sort)."""
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _rows(dev: DeviceRows | np.ndarray) -> DeviceRows:
    """``dev`` as :class:`DeviceRows` (from (K, F, D) blocks: :meth:`DeviceRows.of`)."""
    return dev if isinstance(dev, DeviceRows) else DeviceRows.of(dev)


def _split(feats: Features, obs: np.ndarray) -> tuple[np.ndarray, DeviceRows]:
    """One observation vector as ``glob`` (1, G) and its device rows (one state of D devices)."""
    return obs[None, : feats.n_global], DeviceRows.of(obs[feats.n_global:].reshape(1, feats.n_device, feats.D))


def decide_segment(choose: Choose, feats: Features, r: int, st: LayerState, masked: bool) -> int | None:
    """The device for the next segment of ``st`` (None: a masked policy has none), from one observation.

    A ``choose`` with a method ``one(obs, allowed) -> int`` (the observation vector (size,) float32 and
    ``allowed`` (D,) bool of one state: :meth:`optdist.rl.ppo._Chooser.one`) decides it through that
    method, without the state split into its global part and device rows."""
    obs, mask = feats(r, st)
    if masked and not mask.any():
        return None
    allowed = mask if masked else st.cand[: feats.D]
    one = getattr(choose, "one", None)
    if one is not None:
        return one(obs, allowed)
    glob, dev = _split(feats, obs)
    return int(choose(glob, dev, allowed[None])[0])


@dataclass
class Plan:
    """A request's round sizes across its layers (:func:`decide_layer` updates it): ``first``, the
    segments of the next layer's first round along a previous request's decisions. After a layer
    whose first round kept all its segments, :data:`FIRST_ROUND`; after one that missed, twice
    the segments it kept, at least :data:`FIRST_AFTER_MISS` (where capacity binds, the previous
    request's decisions miss early in every layer of a request, and a long first round is wasted)."""

    first: int = FIRST_ROUND
    rounds: int = 0  # the request's batched rounds so far
    kept: int = 0  # the segments they kept

    def guesses_pay(self) -> bool:
        """Whether the request's rounds so far kept at least :data:`ROUND_COST` segments each on
        average (True before any): where they did not, the request's next layers that no earlier
        request decided are decided one by one rather than along :func:`_own_guess` (a policy whose
        choices follow neither its input maps' owners nor its previous layer: MaskablePPO on
        ``lenet-1x10-tau0.6``, 15 rounds keeping 1.3 segments each, each costing about 3 lone decisions)."""
        return self.kept >= ROUND_COST * self.rounds


def decide_layer(choose: Choose, feats: Features, r: int, st: LayerState, masked: bool, hint: np.ndarray | None = None,
                 batched: bool = True, rank: Rank | None = None, plan: Plan | None = None) -> bool:
    """Place the remaining segments of ``st`` as segment-by-segment greedy decisions would; False
    (segments before it placed) when a masked policy finds no allowed device for a segment.

    ``choose(glob, dev, allowed)``: the policy's device per state (see :meth:`Scorer.choose`; ``dev``
    is a :class:`DeviceRows`, ``dev.dense()`` the (K, F, D) blocks); it must depend on each state alone. ``hint``: a guess of the layer's devices in segment order
    (e.g. the previous request's decisions for this layer); it changes the speed, never the
    decisions. ``rank(glob, dev, allowed)``: the policy's devices of one state by preference
    (:meth:`Scorer.order`); without a hint, in a layer of at least :data:`RANKED_MIN` remaining
    segments, the hint is the ranking of its first state repeated (:func:`_ranked`), and while
    the layer's rounds keep fewer than :data:`RANKED_KEEP` segments each on average, each round
    is followed by :data:`RANKED_ALONE` segments decided alone (a round costs about 3 of those;
    the next guess then continues the decisions so far, :func:`_guess`); otherwise a round with
    a miss is followed by one segment decided alone, or, where the last :data:`SLOW_ROUNDS` rounds
    kept fewer than :data:`SLOW_KEEP` segments each on average, by :data:`SLOW_ALONE` segments
    decided alone. ``plan``: the request's round sizes (:class:`Plan`: the first round's size along
    the hint, updated after it; None: :data:`FIRST_ROUND`). Without a hint
    otherwise (a CNN's first request: a small layer :func:`_own_guess` has no guess for, or no ``rank``), in layers
    :func:`batchable` rejects, and with ``batched=False`` (the reference) each segment gets one
    observation and one forward: guessing blind costs more rounds than it saves.
    """
    size, ranked = plan.first if plan else FIRST_ROUND, batched and hint is None and rank is not None and st.P - st.t >= RANKED_MIN
    if ranked and batchable(st):
        hint, size = _ranked(rank, feats, r, st, masked), RANKED_ROUND
    if not batched or hint is None or not batchable(st):
        return _one_by_one(choose, feats, r, st, masked, st.P - st.t)
    hint = np.asarray(hint, dtype=np.int64)
    stay = st.prev[st.order] if st.mode == "map" else None  # each segment's input-map owner (nothing moves)
    guess, kept, rounds, recent = hint[st.t:], 0, 0, []  # recent: the segments kept by each round since the last stretch alone
    while not st.done:
        K = min(size, st.P - st.t)
        guess = _extend(st, guess[:K], K)
        ls = layer_states(feats, r, st, guess)
        allowed = ls.mask if masked else np.broadcast_to(ls.cand, ls.mask.shape)
        act = choose(ls.glob, ls.rows, allowed)
        wrong = np.flatnonzero(act != guess)
        end = int(wrong[0]) + 1 if len(wrong) else K  # states up to act[end - 1] followed the decisions
        if masked:
            stuck = np.flatnonzero(~allowed[:end].any(axis=1))
            if len(stuck):
                st.commit(act[: stuck[0]])
                return False
        st.commit(act[:end])
        size = min(MAX_ROUND, max(MIN_ROUND, 2 * end))
        after = act[end:]  # the choices past the miss (in states built along the wrong guess)
        kept, rounds = kept + end, rounds + 1
        if plan is not None:
            plan.rounds, plan.kept = plan.rounds + 1, plan.kept + end
        recent.append(end)
        if plan is not None and rounds == 1 and not ranked:
            plan.first = FIRST_ROUND if end == K else max(FIRST_AFTER_MISS, 2 * end)
        if ranked and kept < RANKED_KEEP * rounds and not st.done:  # rounds cost more than they keep
            if not _one_by_one(choose, feats, r, st, masked, RANKED_ALONE):
                return False
            after = after[:0]
        elif not ranked and _slow(recent) and not st.done:
            if not _one_by_one(choose, feats, r, st, masked, SLOW_ALONE):
                return False
            after, recent = after[:0], []
        elif len(wrong) and not st.done:  # the next decision after a miss is often one too: it is made alone
            if not _one_by_one(choose, feats, r, st, masked, 1):
                return False
            after = after[1:]
        if not st.done:
            guess = _guess(st.owners[st.order[: st.t]], hint, after, st.P - st.t, stay)
    return True


def _slow(recent: list[int]) -> bool:
    """Whether the last :data:`SLOW_ROUNDS` of the rounds ``recent`` (segments kept by each) kept
    fewer than :data:`SLOW_KEEP` segments each on average (they cost more than single decisions)."""
    return len(recent) >= SLOW_ROUNDS and sum(recent[-SLOW_ROUNDS:]) < SLOW_KEEP * SLOW_ROUNDS


def _one_by_one(choose: Choose, feats: Features, r: int, st: LayerState, masked: bool, n: int) -> bool:
    """Place the next ``n`` segments of ``st`` (fewer where the layer ends) with one observation and
    one forward each; False when a masked policy finds no allowed device for one."""
    for _ in range(min(n, st.P - st.t)):
        j = decide_segment(choose, feats, r, st, masked)
        if j is None:
            return False
        st.place(j)
    return True


def _ranked(rank: Rank, feats: Features, r: int, st: LayerState, masked: bool) -> np.ndarray | None:
    """A hint (P,) for the segments of ``st`` (:func:`decide_layer` reads it from ``st.t``):
    ``rank``'s order of the allowed devices in the current state, repeated; None where none is
    allowed (the segment-by-segment path then handles the rejection)."""
    obs, mask = feats(r, st)
    allowed = mask if masked else st.cand[: feats.D]
    if not allowed.any():
        return None
    glob, dev = _split(feats, obs)
    return np.resize(rank(glob, dev, allowed[None]), st.P)


def _guess(done: np.ndarray, hint: np.ndarray, after: np.ndarray, n: int, stay: np.ndarray | None = None) -> np.ndarray:
    """A guess of the next ``n`` devices of a layer after a miss (it changes the speed of
    :func:`decide_layer`, never its decisions).

    ``done`` (t,): the layer's decisions so far, t >= 1; ``hint``: the previous request's
    decisions for the layer; ``after``: the network's choices past the miss, in states built
    along the missed guess; ``stay`` (P,): in an elementwise layer, the owner of each segment's
    input map in segment order (None elsewhere). In order: ``stay`` from t where the last
    :data:`STAYED` decisions were their maps' owners (a policy that keeps maps where they are);
    ``done`` continued periodically, the period being the distance back to the last decision's previous
    occurrence (round-robin placements); else ``hint`` continued from the occurrence of the
    last decision nearest to its position (the previous request's sequence shifted, as when a
    device has filled up); else ``after`` then the hint (a Jacobi step). At most n devices
    (fewer: :func:`_extend` pads).
    """
    t, last = len(done), done[-1]
    if stay is not None and (done[-STAYED:] == stay[max(t - STAYED, 0):t]).all():
        return stay[t:t + n]
    seen = np.flatnonzero(done[:-1] == last)
    if len(seen):
        return np.resize(done[seen[-1] + 1:], n)
    at = np.flatnonzero(hint == last)
    if len(at):
        q = int(at[np.abs(at - (t - 1)).argmin()])
        return hint[q + 1:q + 1 + n]
    return np.concatenate([after, hint[t + len(after):]])[:n]


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
                   active: np.ndarray | None = None, batched: bool = True,
                   rank: Rank | None = None, warmup: bool = False) -> tuple[OnlineOutcome, list[float], list[int]]:
    """Place every request in arrival order with ``choose`` (see :func:`decide_layer`): the
    outcome, each request's decision seconds and the segments it decided.

    Source-pinned layers go to the source. A ``masked`` policy rejects a request (rolled back)
    when a segment has no allowed device or the source cannot take a pinned layer; an unmasked
    one picks among the layer's candidate devices and may break constraints. ``active`` (bool
    per node): devices still present. Each layer's guess is the previous request's decisions
    for the same CNN and layer; a CNN's first request guesses from ``rank`` (see :func:`decide_layer`;
    :meth:`Scorer.order` for a DQN), or, with ``warmup`` (batched only), from the decisions of
    :func:`warm_up` before the first arrival (start-up work: its seconds are the outcome's
    ``warmup_s``, not in any request's decision seconds). ``batched=False``: one forward per
    segment (same decisions, slower; the reference of the tests and
    ``benchmarks/online/decisions.py``), without warm-up (it reads no guess). BLAS runs on one
    thread (its threads only contend on these small matrices).
    """
    keep_freed_heap()
    with threadpool_limits(1, user_api="blas"):
        return _place_requests(inst, feats, choose, masked, active, batched, rank, warmup and batched)


def keep_freed_heap() -> None:
    """Let the C heap keep what a round of decisions frees for the next round (glibc's malloc).

    glibc returns the free top of its heap to the system once it exceeds the trim threshold,
    which by default follows the mmap threshold (twice it); that one rises to the size of the
    largest block that was mmapped and freed, up to :data:`GLIBC_MMAP_MAX` (mallopt(3), "dynamic
    mmap threshold"). A round's temporaries (a few MB: the (K, 11, D) states, (K, N) and
    (pairs, 64) float64 arrays) are freed at the top of the heap, handed back, and page-faulted
    in again by the next round: about a quarter of the batched CPU time on VGG16
    (``benchmarks/online/decision_split.py``). Allocating and freeing one block just under
    :data:`GLIBC_MMAP_MAX` raises the thresholds as any temporary of that size would (mmap
    about 32 MiB, trim about 64 MiB), so the heap keeps up to about 64 MiB of freed memory. No
    page of the block is touched (it costs an mmap and a munmap); the process's allocator
    settings are not changed, and other allocators are not affected.
    """
    np.empty(GLIBC_MMAP_MAX - 2**16, dtype=np.uint8)


def warm_up(inst: Instance, usage: Usage, feats: Features, choose: Choose, masked: bool,
            active: np.ndarray | None = None, rank: Rank | None = None) -> dict[tuple[str, int], np.ndarray]:
    """The guesses for each CNN's first request, decided before the first arrival.

    Decides the first request of each CNN of ``inst`` that has more than one (from its own source, in
    arrival order of the CNNs' first requests; a CNN's only request would cost its decisions twice)
    on a scratch copy of ``usage``, as :func:`place_requests` would
    with no earlier request; nothing is committed to ``usage`` and nothing is accepted. Returns
    each (CNN, layer)'s decisions (devices in segment order) for :func:`decide_layer`'s
    ``hint``: a guess, so the later decisions stay exactly those without it. A masked request
    stopped by a segment without an allowed device gives the layers decided up to there.
    """
    last: dict[tuple[str, int], np.ndarray] = {}
    for r in warm_up_requests(inst):
        _decide_request(inst, usage.copy(), r, feats, choose, masked, active, True, rank, last)
    return last


def warm_up_requests(inst: Instance) -> list[int]:
    """The requests :func:`warm_up` decides: the first of each CNN that has more than one (a CNN's
    only request would be decided twice), in arrival order."""
    many = Counter(inst.request_cnn)
    firsts: dict[str, int] = {}
    for r, cnn in enumerate(inst.request_cnn):
        firsts.setdefault(cnn, r)
    return [r for cnn, r in firsts.items() if many[cnn] > 1]


def _decide_request(inst: Instance, usage: Usage, r: int, feats: Features, choose: Choose, masked: bool,
                    active: np.ndarray | None, batched: bool, rank: Rank | None,
                    last: dict[tuple[str, int], np.ndarray]) -> tuple[RequestPlacer, bool, int]:
    """Decide request ``r``'s layers on ``usage`` (guesses from ``last``, updated with its
    decisions): the placer, whether every segment got a device, and the segments decided."""
    rp, plan = RequestPlacer(inst, usage, r, active), Plan()
    ok, n, prev = True, 0, None  # prev: the decisions of the request's last layer decided by the policy
    while ok and not rp.done:
        st = rp.next_layer()
        if st.on_source:
            src = int(inst.request_source[r])
            ok = not masked or bool(st.feasible()[src])
            st.commit(np.full(st.P, src))
        else:
            key = (inst.request_cnn[r], st.k)
            hint = last.get(key)
            if hint is None and batched and plan.guesses_pay():
                hint = _own_guess(st, prev)
            ok = decide_layer(choose, feats, r, st, masked, hint=hint, batched=batched, rank=rank, plan=plan)
            last[key] = prev = st.owners[st.order[: st.t]]
            n += st.t
        if ok:
            rp.close(st)
    return rp, ok, n


def _own_guess(st: LayerState, prev: np.ndarray | None) -> np.ndarray | None:
    """A guess (P,) for a layer of fewer than :data:`RANKED_MIN` segments that no earlier request of
    its CNN decided (a CNN's first request, without warm-up): in an elementwise layer the owners of
    its input maps in segment order (a policy that keeps maps where they are), else ``prev``, the
    request's previous layer's decisions, repeated to the layer's segments (a policy spreads the
    layers of a request alike: the same devices round by round, or each filled to its cap).
    None where there is neither (the layer is decided segment by segment) and for larger layers
    (:func:`decide_layer` guesses those from the policy's ranking). A guess changes the speed of
    :func:`decide_layer`, never its decisions: LeNet's first request (layers of 8 and 16
    segments) decides at most half its 57 segments alone, in at most 12 rounds, instead of all 57
    alone (``tests/test_lead39.py``; ``benchmarks/online/decisions.py``: 8.6 -> 5.7-6.0 ms)."""
    if st.P - st.t >= RANKED_MIN:
        return None
    if st.mode == "map":
        return st.prev[st.order]
    return None if prev is None else np.resize(prev, st.P)


def _place_requests(inst: Instance, feats: Features, choose: Choose, masked: bool, active: np.ndarray | None,
                    batched: bool, rank: Rank | None, warmup: bool) -> tuple[OnlineOutcome, list[float], list[int]]:
    usage = Usage.zeros(inst.n_nodes)
    out, decision_s, segments = OnlineOutcome(inst), [], []
    t0 = time.perf_counter()
    warmed = warmup and bool(warm_up_requests(inst))  # (none: no CNN of 2+ requests)
    last = warm_up(inst, usage, feats, choose, masked, active, rank) if warmed else {}
    out.warmup_s = time.perf_counter() - t0 if warmed else None
    for r in range(inst.n_requests):
        t0 = time.perf_counter()
        rp, ok, n = _decide_request(inst, usage, r, feats, choose, masked, active, batched, rank, last)
        if ok:
            out.accept(rp.owners, rp.latency, rp.shared)
        else:
            rp.rollback()
            out.reject(r)
        decision_s.append(time.perf_counter() - t0)
        segments.append(n)
    return out, decision_s, segments
