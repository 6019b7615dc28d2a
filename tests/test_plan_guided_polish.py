"""The plan's polish by joint and pair moves (plan_guided module docstring step 1b; the moves themselves:
optdist.milp.decomposition.repair.joint_moves and pair_moves, tests/test_joint_moves.py, tests/test_repair.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import optdist
from optdist.heuristics import plan_guided

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
COUPLED = ROOT / "instances" / "coupled"


def test_polish_facts_are_reported_and_zero_turns_it_off():
    inst = TINY / "lenet-2x4-tight.json"
    res = optdist.solve(inst, method="plan-guided", plan_time_limit=10, polish_time_limit=0, seed=0)
    assert res.extra["polish_moves"] == 0 and res.extra["polish_s"] < 0.1
    assert res.extra["polish_joint_moves"] == 0
    assert res.extra["polish_joint_solves"] == res.extra["polish_joint_capped"] == 0
    assert res.extra["plan_objective"] == res.extra["plan_engine_objective"]
    res = optdist.solve(inst, method="plan-rollout", plan_time_limit=10, polish_time_limit=5, seed=0)
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
    assert res.extra["plan_objective"] <= res.extra["plan_engine_objective"] * (1 + 1e-9)
    assert 0 <= res.extra["polish_s"] <= 5 + 1  # a solve's limit is the time left
    assert 0 <= res.extra["polish_joint_moves"] <= res.extra["polish_moves"]
    assert res.extra["polish_joint_moves"] <= res.extra["polish_joint_solves"]  # a move is a solve's placement
    assert 0 <= res.extra["polish_joint_capped"] <= res.extra["polish_joint_solves"]


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), True, False, "5"])
def test_a_bad_polish_time_limit_is_refused_by_name(value):
    """The fix names the range the polish accepts (0 is allowed: no polish), not the "> 0" of the
    other limits; a bool is not a number of seconds (False was taken for 0)."""
    with pytest.raises(ValueError, match=r"polish_time_limit = .* >= 0; 0: no polish"):
        optdist.solve(TINY / "micro-2x3-tight.json", method="plan-rollout", polish_time_limit=value)


def test_a_plan_proven_optimal_is_not_polished(monkeypatch):
    """The exact engine proves the tiny coupled set's optimum: no pair move is tried."""
    def no_polish(*a, **k):
        raise AssertionError("polished a proven optimum")

    monkeypatch.setattr(plan_guided, "pair_moves", no_polish)
    res = optdist.solve(TINY / "micro-2x3-tight.json", method="plan-guided", plan_time_limit=20, seed=0)
    assert res.extra["polish_moves"] == 0 and res.extra["plan_objective"] == res.extra["plan_engine_objective"]
    assert res.evaluation.feasible


def test_a_signal_during_the_plan_skips_the_polish(monkeypatch):
    """SIGTERM during the plan's exact engine (a real signal, sent as HiGHS starts its first
    solve): the result is ``interrupted`` and the polish tries no pair move (before the fix it
    went on with its exact single-request solves, seconds after the signal)."""
    import os
    import signal

    from optdist.solvers import highs

    real_solve, sent = highs.Highs._solve, []

    def signalled(self, *a, **k):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return real_solve(self, *a, **k)

    from optdist.milp.decomposition import repair

    real_polish, real_single = plan_guided.pair_moves, repair.solve_single
    polishing, tried = [False], []

    def polish(*a, **k):
        polishing[0] = True
        try:
            return real_polish(*a, **k)
        finally:
            polishing[0] = False

    def single(*a, **k):
        if polishing[0]:
            tried.append(True)
        return real_single(*a, **k)

    monkeypatch.setattr(highs.Highs, "_solve", signalled)
    monkeypatch.setattr(plan_guided, "pair_moves", polish)
    monkeypatch.setattr(repair, "solve_single", single)
    res = optdist.solve(COUPLED / "lenet-8x4-rpi3.json", method="plan-guided", plan_time_limit=5,
                        polish_time_limit=30, seed=0)
    assert sent and res.termination == "interrupted" and res.extra["interrupted"] == "SIGTERM"
    assert tried == [] and res.extra["polish_moves"] == 0
    assert res.evaluation is not None
