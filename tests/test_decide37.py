"""Batched decisions where the previous request's decisions miss (capacity binds): a request's
first rounds shrink after a layer whose first round missed (:class:`decide.Plan`), and rounds
that keep few segments are followed by a stretch decided alone (:data:`decide.SLOW_ALONE`);
the actions stay exactly those of one forward per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.heuristics.incremental import RequestPlacer, Usage  # noqa: E402
from optdist.rl import decide  # noqa: E402
from optdist.rl.decide import Plan, Scorer, decide_layer, place_requests  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.policy import place_online  # noqa: E402
from optdist.rl.trajectory import batchable  # noqa: E402

from tests.test_rl_decide import assert_same_outcome, fewest_first, first, random_policy, snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT / "instances" / "paper" / "cifar-250x70-tau0.6.json"
BINDS = ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json"  # the senders' bandwidth binds within layers


def first_convolution():
    """CIFAR's first request, its input layer on the source: the first convolution's LayerState
    (64 segments, per_segment) and the request's Features."""
    inst = first(CIFAR, 1)
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    st = rp.next_layer()
    st.commit(np.full(st.P, int(inst.request_source[0])))
    rp.close(st)
    st = rp.next_layer()
    assert batchable(st) and st.mode == "per_segment" and st.P == 64
    return st, Features(inst)


def spy_calls(monkeypatch) -> dict[str, list[int]]:
    """Record the states of each batched round (:func:`decide.layer_states`) and the segments of
    each stretch decided one by one (:func:`decide._one_by_one`'s ``n``); the real ones run."""
    calls: dict[str, list[int]] = {"round": [], "alone": []}
    states, one_by_one = decide.layer_states, decide._one_by_one

    def layer_states(feats, r, st, actions):
        calls["round"].append(len(actions))
        return states(feats, r, st, actions)

    def alone(choose, feats, r, st, masked, n):
        calls["alone"].append(n)
        return one_by_one(choose, feats, r, st, masked, n)

    monkeypatch.setattr(decide, "layer_states", layer_states)
    monkeypatch.setattr(decide, "_one_by_one", alone)
    return calls


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_a_first_round_that_missed_shrinks_the_requests_next_first_round(monkeypatch, masked):
    """A wrong previous request (the decisions reversed) misses at once: the plan's next first
    round is :data:`decide.FIRST_AFTER_MISS` states, and it is the next layer's first round; a
    first round that keeps every segment sets it back to :data:`decide.FIRST_ROUND`. The actions
    are those of one forward per segment."""
    st, feats = first_convolution()
    ref = snapshot(st)
    assert decide_layer(fewest_first([]), feats, 0, ref, masked, batched=False)
    right = ref.owners[ref.order].copy()
    calls, plan = spy_calls(monkeypatch), Plan()
    run = snapshot(st)
    assert decide_layer(fewest_first([]), feats, 0, run, masked, hint=right[::-1].copy(), plan=plan)
    np.testing.assert_array_equal(run.owners, ref.owners)
    assert calls["round"][0] == st.P and plan.first == decide.FIRST_AFTER_MISS, (calls, plan)
    calls["round"].clear()
    run = snapshot(st)
    assert decide_layer(fewest_first([]), feats, 0, run, masked, hint=right, plan=plan)
    np.testing.assert_array_equal(run.owners, ref.owners)
    assert calls["round"] == [decide.FIRST_AFTER_MISS, st.P - decide.FIRST_AFTER_MISS], calls  # (kept all: 32, then 64)
    assert plan.first == decide.FIRST_ROUND


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_rounds_that_keep_few_are_followed_by_a_stretch_alone(monkeypatch, masked):
    """Along a wrong previous request each round keeps few segments: after
    :data:`decide.SLOW_ROUNDS` such rounds, :data:`decide.SLOW_ALONE` segments are decided one by
    one (before: one after each round), and the actions stay those of one forward per segment."""
    st, feats = first_convolution()
    ref, run = snapshot(st), snapshot(st)
    assert decide_layer(fewest_first([]), feats, 0, ref, masked, batched=False)
    hint = np.random.default_rng(0).integers(0, feats.D, st.P)  # (random devices: each round misses early)
    calls = spy_calls(monkeypatch)
    assert decide_layer(fewest_first([]), feats, 0, run, masked, hint=hint)
    np.testing.assert_array_equal(run.owners, ref.owners)
    assert decide.SLOW_ALONE in calls["alone"], calls
    assert decide._slow([1, 2, 3]) and not decide._slow([1, 30, 3]) and not decide._slow([1, 1])


def test_capacity_binding_unmasked_requests_keep_the_per_segment_actions(monkeypatch):
    """Four CIFAR requests where the senders' bandwidth binds, an unmasked (untrained) policy: the
    previous request's decisions miss, first rounds shrink and stretches are decided alone, and
    every request is placed as one forward per segment places it."""
    inst = first(BINDS, 4)
    policy = random_policy(inst, False, 1)
    calls = spy_calls(monkeypatch)
    out, _, _ = place_online(inst, policy)
    cfg = policy.config
    ref, _, _ = place_requests(inst, Features(inst, cfg["cnns"], cfg["max_layers"]), Scorer(policy.net).choose, False,
                               batched=False)
    assert_same_outcome(out, ref)
    assert decide.SLOW_ALONE in calls["alone"] and decide.FIRST_AFTER_MISS in calls["round"], calls
