"""The warm-up of :func:`optdist.rl.policy.place_online`: before the first arrival each CNN's first
request is decided on a scratch copy of the usage (:func:`optdist.rl.decide.warm_up`) to guess
the CNN's first real request; the decisions stay those of one forward per segment, the real
usage is not touched, and the warm-up's seconds are reported apart from the decisions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.heuristics.incremental import Usage  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.decide import Scorer, place_requests, warm_up  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.policy import Policy, load_policy, place_online, solve_rl  # noqa: E402

from tests.test_first35 import counted  # noqa: E402
from tests.test_rl_decide import assert_same_outcome, first, random_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MIXED = ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json"  # CIFAR and LeNet requests
BINDS = ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json"  # the senders' bandwidth binds within layers
CIFAR = ROOT / "instances" / "paper" / "cifar-250x70-tau0.6.json"
POLICY = ROOT / "models" / "policies" / "lenet-cifar-70"  # masked double DQN trained on 70 devices


def features(inst, policy: Policy) -> Features:
    return Features(inst, policy.config["cnns"], policy.config["max_layers"])


@pytest.mark.parametrize("path", [MIXED, BINDS], ids=["mixed", "binds"])
@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_warmup_keeps_the_per_segment_actions(path, masked):
    """With and without warm-up, every request is placed (or rejected) as one forward per segment
    places it: two CNNs, and capacity binding within layers (masked: requests run out of devices)."""
    inst = load_instance(path)
    policy = random_policy(inst, masked, 3)
    warm, _, _ = place_online(inst, policy)
    cold, _, _ = place_online(inst, policy, warmup=False)
    ref, _, _ = place_requests(inst, features(inst, policy), Scorer(policy.net).choose, masked, batched=False)
    assert_same_outcome(warm, ref)
    assert_same_outcome(cold, ref)
    assert warm.warmup_s > 0 and cold.warmup_s is None and ref.warmup_s is None


def test_warmup_leaves_the_usage_untouched_and_guesses_each_cnn():
    """The warm-up decides on a copy: a usage already partly taken is as it was; it guesses every
    non-pinned layer of each CNN, and on an empty usage its guess for the first request is exact."""
    inst = load_instance(MIXED)
    policy = random_policy(inst, True, 3)
    feats, scorer = features(inst, policy), Scorer(policy.net)
    rng = np.random.default_rng(0)
    usage = Usage(rng.random(inst.n_nodes), rng.random(inst.n_nodes), rng.random(inst.n_nodes))
    before = usage.copy()
    hints = warm_up(inst, usage, feats, scorer.choose, True, rank=scorer.order)
    for a, b in ((usage.memory, before.memory), (usage.compute, before.compute), (usage.bandwidth, before.bandwidth)):
        np.testing.assert_array_equal(a, b)
    assert {cnn for cnn, _ in hints} == set(inst.request_cnn)
    hints = warm_up(inst, Usage.zeros(inst.n_nodes), feats, scorer.choose, True, rank=scorer.order)
    out, _, _ = place_online(inst, policy, warmup=False)
    assert out.owners[0] is not None
    for (cnn, k), devices in hints.items():
        if cnn == inst.request_cnn[0]:
            np.testing.assert_array_equal(np.sort(devices), np.sort(out.owners[0][k].ravel()))


def test_warmup_makes_the_first_request_a_few_rounds(monkeypatch):
    """CIFAR's first request (1473 segments, tracked policy): guessed by the warm-up, it takes far
    fewer batched rounds and lone segments than the warm-up itself (its unguessed cost)."""
    inst = first(CIFAR, 2)  # (a CNN's only request gets no warm-up: it would be decided twice)
    policy = load_policy(POLICY)
    counts = counted(monkeypatch)
    place_online(inst, policy, warmup=False)
    cold = counts["rounds"] + counts["alone"]
    counts.update(rounds=0, alone=0)
    out, _, _ = place_online(inst, policy)
    guessed = counts["rounds"] + counts["alone"] - cold  # the warm-up repeats the unguessed work
    assert 0 < guessed < cold // 4, (guessed, cold)
    assert out.warmup_s > 0


def test_solve_reports_the_warmup():
    """``optdist solve --method rl`` puts the warm-up in ``extra["warmup_s"]`` (in the wall time, not in
    the decision times) and prints it on the decisions line."""
    inst = first(CIFAR, 2)
    res = solve_rl(inst, policy=POLICY, time_limit=600)
    assert 0 < res.extra["warmup_s"] < res.wall_time
    assert sum(res.extra["decision_ms_per_request"]) / 1e3 + res.extra["warmup_s"] <= res.wall_time
    assert "decided_past_deadline" not in res.extra
    run = subprocess.run([sys.executable, "-m", "optdist", "solve", str(ROOT / "instances" / "tiny" / "lenet-2x4-tight.json"),
                          "--method", "rl", "--policy", str(POLICY)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "ms before the first request" in run.stdout, run.stdout
