"""The plan's polish by pair moves (plan_guided module docstring step 1b; the moves themselves:
optdist.milp.decomposition.repair.pair_moves, tests/test_repair.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import optdist
from optdist.heuristics import plan_guided

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


def test_polish_facts_are_reported_and_zero_turns_it_off():
    inst = TINY / "lenet-2x4-tight.json"
    res = optdist.solve(inst, method="plan-guided", plan_time_limit=10, polish_time_limit=0, seed=0)
    assert res.extra["polish_moves"] == 0 and res.extra["polish_s"] < 0.1
    assert res.extra["plan_objective"] == res.extra["plan_engine_objective"]
    res = optdist.solve(inst, method="plan-rollout", plan_time_limit=10, polish_time_limit=5, seed=0)
    assert res.evaluation.feasible and res.evaluation.n_rejected == 0
    assert res.extra["plan_objective"] <= res.extra["plan_engine_objective"] * (1 + 1e-9)
    assert 0 <= res.extra["polish_s"] <= 5 + 1  # a solve's limit is the time left


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), True])
def test_a_bad_polish_time_limit_is_refused_by_name(value):
    with pytest.raises(ValueError, match="polish_time_limit"):
        optdist.solve(TINY / "micro-2x3-tight.json", method="plan-rollout", polish_time_limit=value)


def test_a_plan_proven_optimal_is_not_polished(monkeypatch):
    """The exact engine proves the tiny coupled set's optimum: no pair move is tried."""
    def no_polish(*a, **k):
        raise AssertionError("polished a proven optimum")

    monkeypatch.setattr(plan_guided, "pair_moves", no_polish)
    res = optdist.solve(TINY / "micro-2x3-tight.json", method="plan-guided", plan_time_limit=20, seed=0)
    assert res.extra["polish_moves"] == 0 and res.extra["plan_objective"] == res.extra["plan_engine_objective"]
    assert res.evaluation.feasible
