"""rlws25: a SIGINT while an rl warm start trains its policy stops the whole MILP run, also when
:func:`optdist.milp.run.solve_formulation` is called directly (before: only the training stopped,
the run went on to build and solve), and the result names that step (before, inside
``optdist.solve``: "stopped while the model was built", though no model had been built)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import optdist
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.run import solve_formulation
from optdist.rl.env import DistPrivacyEnv

pytestmark = pytest.mark.learn

TINY_INSTANCE = Path(__file__).resolve().parents[1] / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
#: the training's env reset (one before the first episode, one after each) that sends SIGINT: 8
#: episodes done, the fewest after which the policy has taken a gradient step on this instance
#: (3 steps: the first waits for 64 stored transitions; seed 0, the rl method's default)
SIGNAL_AT_RESET = 9
EPISODES_DONE = SIGNAL_AT_RESET - 1


@pytest.fixture
def sigint_in_training(monkeypatch, sigint_handled):
    """A real SIGINT to this process from inside the rl training: at its ``SIGNAL_AT_RESET``-th env
    reset (the handler runs at the next bytecode, in the training's signal block)."""
    reset = DistPrivacyEnv.reset
    calls = []

    def signalled(self, *args, **kwargs):
        calls.append(None)
        if len(calls) == SIGNAL_AT_RESET:
            os.kill(os.getpid(), signal.SIGINT)
        return reset(self, *args, **kwargs)

    monkeypatch.setattr(DistPrivacyEnv, "reset", signalled)


def _assert_stopped_while_the_warm_start_trained(res, inst) -> None:
    assert res.termination == "interrupted" and res.extra["interrupted"] == "SIGINT"
    assert res.extra["stopped"] == "SIGINT while the warm start trained: no model was built, no solver was started"
    assert "build_s" not in res.extra and "solver_status" not in res.extra  # no build, no solve
    cut = res.extra["warm_start_train_interrupted"]
    assert cut["signal"] == "SIGINT" and cut["episodes"] == EPISODES_DONE, cut
    assert res.extra["incumbent"] == (f"the warm start: stopped while the warm start trained, after {EPISODES_DONE} of "
                                      f"{cut['episodes_planned']} episodes: the policy trained so far placed it")
    ev = evaluate(inst, res.assignment)
    assert ev.feasible and res.objective == pytest.approx(ev.objective) == res.extra["warm_start_objective"]
    assert res.bound is None


def test_direct_solve_formulation_stops_while_the_rl_warm_start_trains(sigint_in_training):
    """A library user's ``solve_formulation(inst, "tight", warm_start="rl")``: the SIGINT ended the
    training only, then the model was built and HiGHS solved it to ``optimal``, the signal not
    mentioned. Now the run ends there, ``interrupted``, the policy-so-far placement its incumbent."""
    inst = load_instance(TINY_INSTANCE)
    res = solve_formulation(inst, "tight", warm_start="rl")
    _assert_stopped_while_the_warm_start_trained(res, inst)


def test_optdist_solve_names_the_warm_starts_training_as_the_step_stopped(sigint_in_training):
    """Through ``optdist.solve`` the run already ended ``interrupted``, but said "the warm start:
    stopped while the model was built" (the build raised on entry for the training's signal)."""
    inst = load_instance(TINY_INSTANCE)
    res = optdist.solve(inst, method="milp", formulation="tight", warm_start="rl")
    _assert_stopped_while_the_warm_start_trained(res, inst)
