"""A solver's claim the evaluator does not confirm is no proof (optdist.result.finalize).

Found by fuzzing micro instances against brute force: SCIP on ``compact`` with admission
control, a makespan objective and a serial uplink returns a placement whose makespan variable
sits 7 % below the placement's own makespan (big-M rows within its tolerances) and calls it
optimal, its bound equal to that claim; the placement's true score leaves a 7 % gap.
"""

from __future__ import annotations

import pytest

import optdist
from optdist.instance import parse
from optdist.result import SolveResult, Termination, finalize
from tests.conftest import ROOT, requires_solver

MICRO = str(ROOT / "instances" / "tiny" / "micro-2x3-tight.json")


def test_an_optimal_claim_below_the_placements_score_is_not_optimal():
    inst = optdist.load_instance(MICRO)
    ref = optdist.solve(inst, mip_gap=0.0)
    score = ref.evaluator_objective
    res = finalize(inst, SolveResult(inst.name, "milp", Termination.OPTIMAL, objective=0.8 * score, bound=0.8 * score,
                                     assignment=ref.assignment, options={"mip_gap": 1e-4}))
    assert res.termination is Termination.FEASIBLE
    assert res.objective == score and res.extra["claimed_objective"] == 0.8 * score
    assert res.gap == pytest.approx(0.2)
    assert "method claims objective" in res.extra["warning"] and "optimality_unproven" in res.extra


def test_a_claim_within_the_requested_gap_stays_optimal():
    inst = optdist.load_instance(MICRO)
    ref = optdist.solve(inst, mip_gap=0.0)
    score = ref.evaluator_objective
    res = finalize(inst, SolveResult(inst.name, "milp", Termination.OPTIMAL, objective=0.99 * score,
                                     bound=0.99 * score, assignment=ref.assignment, options={"mip_gap": 0.02}))
    assert res.termination is Termination.OPTIMAL and res.objective == score


def _scip_case() -> dict:
    return {
        "format": "optdist-instance/1", "name": "scip-claim", "tau": 0.3, "period_s": 0.001,
        "privacy": {"micro": None},
        "devices": [{"id": "d0", "type": "rpi3", "mults_per_s": 1e4, "rate": 10, "memory": 500,
                     "compute_capacity": 300, "bandwidth_capacity": 500},
                    {"id": "d1", "type": "nexus", "mults_per_s": 1e9, "rate": 1e6}],
        "sources": [{"id": "cam", "type": "nexus"}],
        "requests": [{"id": "r0", "source": "cam", "cnn": "micro"}, {"id": "r1", "source": "cam", "cnn": "micro"}],
        "objective": {"kind": "makespan", "uplink": "serial", "admission": True},
    }


@requires_solver("scip")
def test_scip_compact_claim_is_re_scored():
    inst = parse(_scip_case(), "scip-claim")
    res = optdist.solve(inst, formulation="compact", solver="scip", mip_gap=0.0, threads=1)
    assert res.evaluation.feasible
    assert res.objective == res.evaluator_objective  # the placement's own makespan, 2.258e-4 s (brute force's optimum)
    if res.termination is Termination.OPTIMAL:  # only if the bound closes on the placement's score
        assert res.bound >= res.objective * (1 - 1e-6)
