"""``optdist.solve`` range-checks the generic options for every method (break16: the
heuristics, ``rl`` and ``defended`` took ``time_limit=-1``, ``0`` or NaN silently, and
``defended`` answered "optimal" after giving each inner solve 0.1 s; ``optdist solve`` refuses
them for every method)."""

from __future__ import annotations

import math

import pytest

import optdist

from .conftest import ROOT

MICRO = ROOT / "instances/tiny/micro-1x3-tau0.6.json"


@pytest.mark.parametrize("method", ["greedy", "per-layer", "edge-cloud", "rl", "defended", "milp"])
@pytest.mark.parametrize("option, value", [("time_limit", -1), ("time_limit", 0), ("time_limit", math.nan),
                                           ("time_limit", "5"), ("threads", 0), ("seed", -1)])
def test_a_generic_option_out_of_range_is_refused_for_every_method(method, option, value):
    # a type (msgs25) or nan (scip28), else a range
    said = "is not a number" if isinstance(value, str) or value != value else "is out of range"
    with pytest.raises(ValueError, match=rf"method {method}: {option} = .* {said} \(fix: give "):
        optdist.solve(MICRO, method=method, **{option: value})


def test_in_range_options_still_reach_a_heuristic():
    res = optdist.solve(MICRO, method="greedy", time_limit=5, threads=1, seed=0)
    assert res.evaluation.feasible


def test_the_registry_is_reachable_from_the_package():
    from optdist.solve import METHODS

    assert optdist.METHODS is METHODS and "greedy" in optdist.METHODS  # optdist.solve is the function
