"""lead39: a CNN's first request without warm-up (its only request) guesses its small layers
(fewer than ``RANKED_MIN`` segments: LeNet's) from the owners of their input maps or the
request's previous layer (:func:`optdist.rl.decide._own_guess`) instead of deciding every
segment alone; the actions stay those of one forward per segment."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.rl.decide import Scorer, place_requests  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.policy import Policy, load_policy, place_online  # noqa: E402

from tests.test_first35 import counted  # noqa: E402
from tests.test_rl_decide import assert_same_outcome, first  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "models" / "policies" / "lenet-cifar-70"


@pytest.mark.parametrize("name", ["lenet-1x10-tau0.6", "lenet-10x70-tau0.6"])
@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_a_first_lenet_request_guesses_its_small_layers(monkeypatch, name, masked):
    """LeNet's first request (57 segments in layers of 8 and 16): every segment was decided alone;
    now at most half are, in a few rounds, and the placement is the per-segment one."""
    inst = first(ROOT / "instances" / "paper" / f"{name}.json", 1)
    base = load_policy(POLICY)
    policy = Policy(base.net, {**base.config, "masked": masked})
    counts = counted(monkeypatch)
    out, _, segments = place_online(inst, policy)
    assert out.warmup_s is None  # (a CNN's only request: no warm-up)
    assert 0 < counts["alone"] <= segments[0] // 2 and 0 < counts["rounds"] <= 12, (counts, segments)
    feats = Features(inst, policy.config["cnns"], policy.config["max_layers"])
    ref, _, _ = place_requests(inst, feats, Scorer(policy.net).choose, masked, batched=False)
    assert_same_outcome(out, ref)
