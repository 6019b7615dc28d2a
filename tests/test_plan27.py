"""plan27: a plan method's ``plan_time_limit`` / ``polish_time_limit`` given above its
``time_limit`` is said (a warning and ``extra['limits_above_time_limit']``): the run's deadline
ends that step first, while the record kept the larger cap without a word."""

from __future__ import annotations

import logging

import pytest

import optdist

from .conftest import ROOT

TINY = ROOT / "instances/tiny/lenet-1x4-tau0.6.json"


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_a_step_limit_above_the_time_limit_is_said(caplog, method):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = optdist.solve(TINY, method=method, time_limit=1.5, plan_time_limit=9, polish_time_limit=0)
    said = res.extra["limits_above_time_limit"]
    assert said == (f"{method}: plan_time_limit = 9 s above time_limit = 1.5 s: the run's deadline ends that step "
                    "first (fix: give limits below time_limit, e.g. plan_time_limit = 0.75, or leave them out for shares of "
                    "it)")
    assert said in caplog.text and res.extra["plan_time_limit_s"] == 9 and res.evaluation.feasible


def test_limits_within_the_time_limit_and_the_defaults_say_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = optdist.solve(TINY, method="plan-guided", time_limit=1.5)
        assert "limits_above_time_limit" not in res.extra
        res = optdist.solve(TINY, method="plan-guided", time_limit=1.5, plan_time_limit=1, polish_time_limit=0.2)
    assert "limits_above_time_limit" not in res.extra and "above time_limit" not in caplog.text
