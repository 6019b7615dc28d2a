"""rl / rl-ppo honour ``time_limit`` (the training before the placement ends at a share of it), so
an rl warm start leaves the MILP its time; train-rl's first signal says what train-rl does."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import optdist
from optdist.instance import load_instance
from tests.conftest import requires_solver

ROOT = Path(__file__).resolve().parents[1]
LENET_8X4 = ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"
# A bound for a run that must not train to its end (3000 episodes: 70.8 s at the reviewer's load),
# not a timing under test: time_limit 2 s plus the one-off imports (torch, its compiler) and placing.
GENEROUS_S = 20.0


def test_rl_training_stops_at_its_share_of_time_limit():
    """Without --policy, rl trained the preset's 3000 episodes whatever time_limit said (70.8 s for
    --time-limit 3); now the training ends at TRAIN_SHARE (optdist.rl.policy) of the limit and every request is placed."""
    inst = load_instance(LENET_8X4)
    t0 = time.perf_counter()
    res = optdist.solve(inst, method="rl", time_limit=2.0)
    wall = time.perf_counter() - t0
    cut = res.extra["train_cut"]
    assert cut["episodes_planned"] == 3000 and cut["episodes"] < 3000 and cut["train_limit_s"] == 1.0  # TRAIN_SHARE, 0.5, of 2 s
    assert res.extra["policy_config"]["episodes"] == cut["episodes"]
    assert len(res.extra["decision_ms_per_request"]) == inst.n_requests  # every request decided
    assert wall < GENEROUS_S, f"rl with time_limit 2 s took {wall:.1f} s"


def test_rl_without_time_limit_records_no_cut():
    """No limit: nothing is cut (a short training, run to its end)."""
    res = optdist.solve(load_instance(LENET_8X4), method="rl", episodes=5)
    assert "train_cut" not in res.extra and "decided_past_deadline" not in res.extra
    assert res.extra["policy_config"]["episodes"] == 5


def test_rl_ppo_training_stops_at_its_share_of_time_limit():
    """rl-ppo's 20000 default timesteps end at the first env step past TRAIN_SHARE of the limit."""
    pytest.importorskip("sb3_contrib")
    inst = load_instance(LENET_8X4)
    t0 = time.perf_counter()
    res = optdist.solve(inst, method="rl-ppo", time_limit=2.0)
    wall = time.perf_counter() - t0
    cut = res.extra["train_cut"]
    assert cut["timesteps"] == 20_000 and cut["env_steps"] < 20_000
    assert len(res.extra["decision_ms_per_request"]) == inst.n_requests
    assert wall < GENEROUS_S, f"rl-ppo with time_limit 2 s took {wall:.1f} s"


@pytest.mark.slow
@requires_solver("glpk")
def test_rl_warm_start_leaves_glpk_its_placement(tmp_path):
    """--warm-start rl used to train its 3000 episodes inside the MILP's time limit, which ended
    no_solution (exit 1) where GLPK alone finds a placement in 2-4 s; now the warm start ends at its
    share and GLPK's placement is kept. The limit leaves room for the compact build (10.6 s at load
    2.5 beside a CI run: with 20 s, GLPK then had 1.1 s and found nothing)."""
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "optdist", "solve", str(LENET_8X4), "--solver", "glpk", "--formulation",
                           "compact", "--gap", "0.5", "--time-limit", "40", "--warm-start", "rl", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["termination"] in ("optimal", "feasible", "time_limit") and res["assignment"] is not None
    assert res["extra"]["warm_start"] == "rl"


@pytest.mark.parametrize("algo, step", [("dqn", "episode"), ("maskable-ppo", "env step")])
def test_train_rl_first_signal_says_training_stops(sigint_handled, caplog, algo, step):
    """train-rl's first SIGINT said "stopping the solver and keeping its incumbent", which is not
    what it does; it now says it stops training and saves the policy so far."""
    from optdist.commands.rl import _stoppable_training

    with caplog.at_level(logging.WARNING, logger="optdist"), _stoppable_training(algo, "lenet-8x4-rpi3"):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # the handler runs at the next bytecode of the main thread
    assert (f"SIGINT: stopping training after the current {step} and saving the policy trained so far "
            "(again to abort)") in caplog.text
    assert "solver" not in caplog.text


def test_rl_training_cut_before_any_gradient_step_warns():
    """A limit too short for one gradient step (the first needs 64 stored transitions) says the
    policy placed with its initial weights and names the fix; every request is still placed by the
    network past the deadline, and counted."""
    inst = load_instance(LENET_8X4)
    res = optdist.solve(inst, method="rl", time_limit=1e-6)
    assert res.extra["train_cut"]["episodes"] == 0
    assert res.extra["decided_past_deadline"] == inst.n_requests  # still placed by the network
    assert "initial weights" in res.extra["warning"] and "--policy DIR" in res.extra["warning"]
