"""rl24: an rl warm start that cannot start up within its share of the time leaves the MILP its
time; a signal during ``solve --method rl``'s own training places with the policy trained so far;
a policy saved by an interrupted train-rl warns when it places."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import optdist
from optdist.cli import main
from optdist.instance import load_instance
from tests.conftest import sigint_once

ROOT = Path(__file__).resolve().parents[1]
LENET_8X4 = ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"
TINY_INSTANCE = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
PLANNED = 1_000_000  # episodes (env steps for rl-ppo) no test trains to the end: a signal ends them


def _sigint_once_training_runs(after_s: float = 1.0, wait_s: float = 60.0) -> threading.Thread:
    """A thread that sends SIGINT to this process ``after_s`` seconds after a SIGINT handler other
    than Python's default (``sigint_handled``'s) is installed: the training's
    :func:`~optdist.solvers.base.stop_on_signals` block. Without one it sends after ``wait_s``
    anyway (a bound for a run that installs none, not a timing under test): KeyboardInterrupt."""
    return sigint_once(lambda: signal.getsignal(signal.SIGINT) is not signal.default_int_handler, after_s, wait_s)


@pytest.fixture
def torch_loaded() -> None:
    """torch and its compiler imported (the first optimiser built), as after any earlier training:
    the training's first episodes then start within the signal thread's ``after_s``."""
    import torch

    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())


def _no_keyboard_interrupt(call):
    try:
        return call()
    except KeyboardInterrupt:
        pytest.fail("the first SIGINT during training raised KeyboardInterrupt: nothing was placed")


# 1. --warm-start rl with too little time for its start-up

def test_short_limit_skips_the_rl_warm_start_and_keeps_the_solvers_placement(tmp_path):
    """`solve lenet-8x4-rpi3 --warm-start rl --time-limit 4` (HiGHS) ended no_solution, exit 1: the
    rl start spent the MILP's time importing torch. Now it is skipped, the warning names the fix,
    and HiGHS's placement is the result. The limit is the longest that is always too short (its
    share, of a time left that is at most the limit, is below RL_START_UP_S whatever the load; 4 s
    left too little for the solve's own placement once on a loaded machine); the wide gap ends the
    solve at its first placement within it (about 1 s), not at the limit."""
    from optdist.milp.run import RL_START_UP_S, WARM_START_SHARE

    limit = 9
    assert WARM_START_SHARE * limit < RL_START_UP_S
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "optdist", "solve", str(LENET_8X4), "--warm-start", "rl",
                           "--time-limit", str(limit), "--gap", "0.5", "--out", str(out)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["assignment"] is not None and res["termination"] in ("optimal", "feasible", "time_limit")
    assert res["extra"]["warm_start"] == "rl" and "warm_start_objective" not in res["extra"]  # it never ran
    skipped = res["extra"]["warm_start_skipped"]
    assert "start-up" in skipped and "--time-limit" in skipped and "--warm-start file" in skipped
    assert "--warm-start rl not used: its start-up" in proc.stderr


def test_rl_warm_start_is_used_when_its_share_covers_the_start_up():
    """Guard (passes without the fix too): in a fresh process, a share of the time left that covers
    RL_START_UP_S still runs the rl warm start (it reports its objective) and imports torch; a
    shorter one skips it before importing torch."""
    script = """
import json, sys
from optdist.instance import load_instance
from tests.conftest import sigint_once
from optdist.milp.run import RL_START_UP_S, WARM_START_SHARE, warm_start_assignment
inst = load_instance(sys.argv[1])
_, short = warm_start_assignment(inst, "rl", time_left=0.5 * RL_START_UP_S / WARM_START_SHARE)
torch_after_short = "torch" in sys.modules
_, long = warm_start_assignment(inst, "rl", time_left=RL_START_UP_S / WARM_START_SHARE + 2.0)
print(json.dumps({"short": short, "torch_after_short": torch_after_short, "long": long}))
"""
    proc = subprocess.run([sys.executable, "-c", script, str(LENET_8X4)], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert "start-up" in got["short"]["warm_start_skipped"] and not got["torch_after_short"]
    assert "warm_start_objective" in got["long"]  # the rl method ran
    assert "start-up" not in got["long"].get("warm_start_skipped", "")


# 2. a signal during solve --method rl's own training

def test_sigint_during_rl_training_places_with_the_policy_so_far(sigint_handled, torch_loaded):
    """A real SIGINT while `solve(method="rl")` trains (no policy given): it raised
    KeyboardInterrupt, nothing placed. Now the training ends after its episode and the policy so
    far places every request; the run is interrupted and extra says at which episode."""
    inst = load_instance(TINY_INSTANCE)
    thread = _sigint_once_training_runs()
    res = _no_keyboard_interrupt(lambda: optdist.solve(inst, method="rl", episodes=PLANNED))
    thread.join()
    cut = res.extra["train_interrupted"]
    assert cut["signal"] == "SIGINT" and cut["episodes_planned"] == PLANNED and 0 < cut["episodes"] < PLANNED
    assert res.termination == "interrupted" and res.extra["interrupted"] == "SIGINT"
    assert res.extra["policy_config"]["episodes"] == cut["episodes"]
    assert len(res.extra["decision_ms_per_request"]) == inst.n_requests and res.assignment is not None
    assert f"training interrupted by SIGINT at {cut['episodes']} of {PLANNED} episodes" in res.extra["warning"]


def test_cli_sigint_during_rl_training_writes_and_prints_the_placement(sigint_handled, torch_loaded, tmp_path, capsys):
    """The CLI: exit 130 with the placement written to --out and printed, and a WARNING line saying
    at which episode the training was interrupted (before: exit 130, nothing placed or written)."""
    out = tmp_path / "r.json"
    thread = _sigint_once_training_runs()
    rc = _no_keyboard_interrupt(lambda: main(["solve", str(TINY_INSTANCE), "--method", "rl", "--episodes", str(PLANNED),
                                              "--out", str(out)]))
    thread.join()
    stdout, stderr = capsys.readouterr()
    assert rc == 130, stdout[-2000:] + stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["assignment"] is not None and res["termination"] == "interrupted"
    k = res["extra"]["train_interrupted"]["episodes"]
    assert f"WARNING      training interrupted by SIGINT at {k} of {PLANNED} episodes" in stdout
    assert "interrupted  by SIGINT" in stdout
    assert "SIGINT: stopping training; the policy trained so far places the requests (again to abort)" in stderr


def test_sigint_during_rl_ppo_training_places_with_the_policy_so_far(sigint_handled, torch_loaded):
    """rl-ppo likewise: the training ends at the next env step and the policy so far places."""
    pytest.importorskip("sb3_contrib")
    inst = load_instance(TINY_INSTANCE)
    thread = _sigint_once_training_runs()
    res = _no_keyboard_interrupt(lambda: optdist.solve(inst, method="rl-ppo", timesteps=PLANNED))
    thread.join()
    cut = res.extra["train_interrupted"]
    assert cut["signal"] == "SIGINT" and cut["timesteps"] == PLANNED and 0 < cut["env_steps"] < PLANNED
    assert res.termination == "interrupted" and len(res.extra["decision_ms_per_request"]) == inst.n_requests
    assert f"at {cut['env_steps']} of {PLANNED} env steps" in res.extra["warning"]


# 3. a policy saved by an interrupted train-rl

@pytest.mark.parametrize("algo, method, options, after_s, unit", [
    ("dqn", "rl", ["--episodes", str(PLANNED), "--masked"], 1.0, "episodes"),
    # the first update comes after one 256-step rollout (well under a second here)
    ("maskable-ppo", "rl-ppo", ["--timesteps", str(PLANNED)], 3.0, "env steps"),
])
def test_policy_of_an_interrupted_train_rl_warns_when_it_places(sigint_handled, torch_loaded, tmp_path, capsys,
                                                                algo, method, options, after_s, unit):
    """train-rl stopped by a real SIGINT records it in policy.json (interrupted, what was done and
    planned); placing with that policy (--policy) gave no notice. Now a WARNING line, stderr and
    extra["warning"] say so, with what was done of what was planned."""
    if algo == "maskable-ppo":
        pytest.importorskip("sb3_contrib")
    pol = tmp_path / "pol"
    thread = _sigint_once_training_runs(after_s)
    rc = main(["train-rl", str(TINY_INSTANCE), "--algo", algo, *options, "--out", str(pol)])
    thread.join()
    assert rc == 130
    config = json.loads((pol / "policy.json").read_text())
    assert config["interrupted"] == "SIGINT"
    done = config["episodes"] if algo == "dqn" else config["env_steps"]
    capsys.readouterr()

    out = tmp_path / "r.json"
    assert main(["solve", str(TINY_INSTANCE), "--method", method, "--policy", str(pol), "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    note = f"the policy {pol} is what train-rl had trained when SIGINT interrupted it, after {done} of {PLANNED} {unit}"
    assert f"WARNING      {note}" in stdout and note in stderr
    assert note in json.loads(out.read_text())["extra"]["warning"]


def test_policy_trained_to_its_end_places_without_warning(tmp_path):
    """Guard: a policy whose training ran to its end gives no such warning."""
    from optdist.rl.policy import solve_rl
    from optdist.rl.presets import preset_for
    from optdist.rl.train import save_policy, train

    inst = load_instance(TINY_INSTANCE)
    save_policy(train(inst, preset_for(inst), episodes=3, progress=False), tmp_path / "pol")
    res = solve_rl(inst, policy=tmp_path / "pol")
    assert "warning" not in res.extra and res.termination == "feasible"


def test_an_interrupted_training_without_a_gradient_step_reports_both_warnings():
    """The deadline's "no gradient step" warning (time_limit_extra) and the signal's (interrupted_training_extra)
    both reach extra["warning"], in order: merge_extra adds, a dict update would keep only the last."""
    from optdist.result import warnings_of
    from optdist.rl.policy import interrupted_training_extra, merge_extra

    config = {"interrupted": "SIGINT", "episodes": 0, "episodes_planned": 50, "gradient_steps": 0}
    extra: dict = {}
    merge_extra(extra, interrupted_training_extra(config))
    merge_extra(extra, {"train_cut": {"episodes": 0}, "warning": "the training got no gradient step"})
    said = warnings_of(extra)
    assert len(said) == 2 and said[0].startswith("training interrupted by SIGINT at 0 of 50 episodes"), said
    assert said[1] == "the training got no gradient step" and extra["train_interrupted"]["signal"] == "SIGINT"


def test_a_training_that_ends_without_a_gradient_step_warns():
    """--episodes 1: the preset's batch is never filled, so the network's initial weights place every
    request. Before: no warning (only a signal's or a deadline's cut said so)."""
    from optdist.result import warnings_of

    res = optdist.solve(load_instance(TINY_INSTANCE), method="rl", episodes=1)
    said = warnings_of(res.extra)
    assert any(w.startswith("the training took no gradient step in its 1 episode(s): the network's initial weights")
               and "fix: more --episodes" in w for w in said), said


def test_the_fix_for_an_rl_ppo_training_trains_a_maskable_ppo_policy():
    """rl-ppo's warnings name `train-rl ... --algo maskable-ppo` (a DQN policy is refused by rl-ppo);
    rl's the default algorithm. Before: both said `optdist train-rl FILE --out DIR`."""
    from optdist.rl.policy import interrupted_policy_warning, interrupted_training_extra

    ppo = {"interrupted": "SIGINT", "env_steps": 5, "timesteps": 100, "updates": 0}
    dqn = {"interrupted": "SIGINT", "episodes": 3, "episodes_planned": 50, "gradient_steps": 2}
    for text in (interrupted_training_extra(ppo)["warning"], interrupted_policy_warning(ppo, "DIR")):
        assert "`optdist train-rl FILE --algo maskable-ppo --out DIR`, then --policy DIR" in text, text
    for text in (interrupted_training_extra(dqn)["warning"], interrupted_policy_warning(dqn, "DIR")):
        assert "`optdist train-rl FILE --out DIR`, then --policy DIR" in text, text


def test_an_infeasible_rl_warm_start_says_why_it_seeds_nothing(torch_loaded):
    """A share of 0.05 s cuts rl's training within a few episodes, too few to place well (requests rejected): the
    skip names the broken constraint and the cut. Before: only "rl gave no feasible assignment"."""
    from optdist.milp.run import warm_start_assignment

    start, info = warm_start_assignment(load_instance(LENET_8X4), "rl", time_left=0.2)
    assert start is None
    why = info["warm_start_skipped"]
    assert why.startswith("rl gave no feasible assignment (its placement breaks "), why
    assert "first: request " in why and "its training stopped by its share of the time limit after " in why, why
