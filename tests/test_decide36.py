"""Batched decisions guess that an elementwise layer's maps stay with their owners once two
decisions did (:func:`decide._guess`'s ``stay``), and decide the segment after a miss alone,
with exactly the actions of one forward per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.heuristics.incremental import RequestPlacer, Usage  # noqa: E402
from optdist.rl import decide  # noqa: E402
from optdist.rl.decide import decide_layer  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.trajectory import DeviceRows, batchable  # noqa: E402

from tests.test_first35 import backwards, counted, first, walk_first_request  # noqa: E402
from tests.test_rl_decide import fewest_first, snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT / "instances" / "paper" / "cifar-250x70-tau0.6.json"


def stays(calls: list[int]):
    """A policy that keeps each map on the owner of its input map where that one is allowed
    (feature 6, the input map's owner, in elementwise layers), else places it on the allowed
    device holding the fewest of the layer's segments (:func:`fewest_first`)."""
    def choose(glob: np.ndarray, dev: DeviceRows, allowed: np.ndarray) -> np.ndarray:
        calls.append(len(glob))
        blocks = dev.dense()
        score = np.where(blocks[:, 6, :] > 0, 1e6, 0.0) - blocks[:, 4, :]
        return np.where(allowed, score, -np.inf).argmax(axis=1)
    return choose


def test_guess_keeps_the_maps_with_their_owners_after_two_that_stayed():
    """``stay`` (each map's owner in segment order) is the guess once the last two decisions were
    their maps' owners; otherwise the guesses before (here: ``done`` continued periodically)."""
    stay = np.repeat(np.arange(4), 8)  # maps grouped by owner, as LayerState.order sorts them
    done = stay[:10]
    np.testing.assert_array_equal(decide._guess(done, stay, done[:0], 12, stay), stay[10:22])
    moved = np.concatenate([stay[:9], [3]])  # the last map moved: the guess is not the owners'
    assert decide._guess(moved, stay, moved[:0], 12, stay)[0] != stay[10]
    np.testing.assert_array_equal(decide._guess(done, stay, done[:0], 12), np.ones(12))  # (no stay: period 1)


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_maps_that_stay_take_few_rounds_with_the_per_segment_actions(masked):
    """CIFAR's first request, convolutions placed round-robin, elementwise layers by a policy that
    keeps maps where they are, every ranking wrong: the elementwise layers (64-128 segments in
    blocks of one owner) take a few rounds after the first one's stretch of segments alone (20-21
    calls of ``choose`` in all; before, about one per segment), and each layer's actions are those of one forward per segment."""
    inst = first(CIFAR, 1)
    feats, checked = Features(inst), []

    def ranked(st):
        policy = stays if st.mode == "map" else fewest_first
        ref, run, calls = snapshot(st), snapshot(st), []
        assert decide_layer(policy([]), feats, 0, ref, masked, batched=False)
        assert decide_layer(policy(calls), feats, 0, run, masked, rank=backwards)
        np.testing.assert_array_equal(run.owners, ref.owners)
        if st.mode == "map":
            assert (ref.owners == st.prev).all()  # (every map stayed: the guess can hold)
            assert len(calls) <= decide.RANKED_ALONE + 8, (st.k, st.P, calls)  # (the stretch after the missed ranking)
            checked.append(st.k)
        return ref

    walk_first_request(inst, feats, ranked)
    assert len(checked) >= 5


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_the_segment_after_a_miss_is_decided_alone(monkeypatch, masked):
    """A previous request's decisions that are wrong from the start (reversed): each round that
    misses is followed by one segment decided alone (before: none with such a hint), and the
    actions stay those of one forward per segment."""
    inst = first(CIFAR, 1)
    feats = Features(inst)
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    st = rp.next_layer()
    st.commit(np.full(st.P, int(inst.request_source[0])))
    rp.close(st)
    st = rp.next_layer()  # the first convolution: 64 segments
    assert batchable(st) and st.mode == "per_segment"
    ref, run = snapshot(st), snapshot(st)
    assert decide_layer(fewest_first([]), feats, 0, ref, masked, batched=False)
    hint = ref.owners[ref.order][::-1].copy()
    counts = counted(monkeypatch)
    assert decide_layer(fewest_first([]), feats, 0, run, masked, hint=hint)
    np.testing.assert_array_equal(run.owners, ref.owners)
    assert counts["rounds"] >= 1 and counts["alone"] >= 1, counts
