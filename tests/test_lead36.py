"""lead36: the warm-up skips a CNN with one request (it would decide that request twice); the
deadline line of ``optdist solve --method rl`` names the warm-up's share of --time-limit; the
result's ``policy_config`` says the policy's train_freq."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.instance import load_instance  # noqa: E402
from optdist.rl.policy import load_policy, place_online, solve_rl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "models" / "policies" / "lenet-cifar-70"
ONE = ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json"  # one CIFAR request
TWO = ROOT / "instances" / "tiny" / "lenet-2x4-tight.json"  # two LeNet requests


def test_a_cnn_with_one_request_gets_no_warmup():
    policy = load_policy(POLICY)
    one, _, _ = place_online(load_instance(ONE), policy)
    two, _, _ = place_online(load_instance(TWO), policy)
    assert one.warmup_s is None and two.warmup_s > 0
    res = solve_rl(load_instance(ONE), policy=POLICY)
    assert res.extra["warmup_s"] is None


def test_policy_config_says_train_freq():
    res = solve_rl(load_instance(TWO), policy=POLICY)
    assert res.extra["policy_config"]["train_freq"] == load_policy(POLICY).config["train_freq"]


def test_deadline_line_names_the_warmup():
    run = subprocess.run([sys.executable, "-m", "optdist", "solve", str(TWO), "--method", "rl", "--policy", str(POLICY),
                          "--time-limit", "1e-7"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith("deadline"))
    assert "2 of 2 requests decided after --time-limit" in line and "the warm-up before the first request took" in line
