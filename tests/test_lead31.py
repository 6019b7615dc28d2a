"""The lead's fixes of session 31 (break31b): plan-guided / plan-rollout name their rejections by design."""

from __future__ import annotations

import pytest

import optdist

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_plan_methods_say_their_rejections_break_the_model_by_design(method):
    res = optdist.solve(TINY, method=method, time_limit=5)
    said = res.extra["not_modelled"]["admission"]
    assert said.startswith("rejects requests with admission control off")
    assert "--time-limit" in said and "--method milp" in said


def test_glpk_refused_as_pricing_solver_from_python_names_the_python_argument():
    with pytest.raises(ValueError, match='pricing_solver="highs" in Python'):
        optdist.solve(TINY, pricing_solver="glpk")
