"""HiGHS solves that stop on their own progress (:class:`optdist.solvers.highs.StallStop`, branch joint23).

The model: a market-split problem (Cornuejols and Dawande 1998: 4 equality rows of 30 binaries
with random weights, made feasible by slacks whose sum is minimised). HiGHS finds improving
solutions within half a second and then branches for longer than any cap here without closing
(seed 1: 20 s on its own, to the limit, load 2; the stall rule stopped it 1.5 s in), so a solve
that stops early can only have stopped on the stall rule.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

import optdist
from optdist.result import Termination
from optdist.solvers.highs import Highs, StallStop

pytestmark = pytest.mark.skipif(not Highs.is_available(), reason="highspy not installed")

CAP_S = 20.0  # the time limit: a solve that is not stopped by the stall rule runs this long


def market_split(m: int = 4, n: int = 30, seed: int = 1) -> pyo.ConcreteModel:
    """min sum |slack_i| s.t. sum_j a_ij x_j + slack_i = floor(sum_j a_ij / 2), x binary, a_ij in 0..99."""
    a = np.random.default_rng(seed).integers(0, 100, size=(m, n))
    d = a.sum(axis=1) // 2
    M = pyo.ConcreteModel()
    M.x = pyo.Var(range(n), domain=pyo.Binary)
    M.over = pyo.Var(range(m), domain=pyo.NonNegativeReals)
    M.under = pyo.Var(range(m), domain=pyo.NonNegativeReals)
    M.split = pyo.Constraint(range(m), rule=lambda M, i: sum(int(a[i, j]) * M.x[j] for j in range(n))
                             + M.over[i] - M.under[i] == int(d[i]))
    M.obj = pyo.Objective(expr=sum(M.over[i] + M.under[i] for i in range(m)))
    return M


def test_a_stalled_solve_stops_well_before_its_cap_then_the_adapter_solves_on():
    adapter = Highs()
    adapter.stall = StallStop(stall_s=1.0)
    t = time.perf_counter()
    out = adapter.solve(market_split(), time_limit=CAP_S, threads=1, seed=0)
    wall = time.perf_counter() - t
    assert "stalled" in out.extra, out.extra
    assert wall < CAP_S / 2, (wall, out.extra)
    assert out.termination is Termination.TIME_LIMIT and out.has_solution  # a limit, not a user's interrupt
    improving = out.extra["improving_at_s"]
    assert improving and wall >= improving[-1] + 1.0 - 0.05  # 1 s after the last improving solution at least
    # the same adapter, next model: not interrupted at once by the last solve's stop
    M = pyo.ConcreteModel()
    M.x = pyo.Var(range(3), domain=pyo.Binary)
    M.cap = pyo.Constraint(expr=3 * M.x[0] + 4 * M.x[1] + 5 * M.x[2] <= 8)
    M.obj = pyo.Objective(expr=-(4 * M.x[0] + 5 * M.x[1] + 7 * M.x[2]), sense=pyo.minimize)
    again = adapter.solve(M, time_limit=CAP_S, threads=1, seed=0)
    assert again.termination is Termination.OPTIMAL and again.incumbent == pytest.approx(-11.0)


def test_the_floor_holds_a_stalled_solve_and_the_cap_stays_the_ceiling():
    adapter = Highs()
    adapter.stall = StallStop(stall_s=1.0, floor_s=4.0)
    t = time.perf_counter()
    out = adapter.solve(market_split(), time_limit=CAP_S, threads=1, seed=0)
    wall = time.perf_counter() - t
    assert "stalled" in out.extra and 4.0 <= wall < CAP_S / 2, (wall, out.extra)


@pytest.mark.parametrize("stall_s, floor_s", [(0.0, 0.0), (-1.0, 0.0), (float("inf"), 0.0), (1.0, -1.0),
                                              (1.0, float("nan"))])
def test_a_stall_rule_out_of_range_is_refused(stall_s, floor_s):
    with pytest.raises(ValueError, match="stall_s > 0 and floor_s >= 0"):
        StallStop(stall_s=stall_s, floor_s=floor_s)


COUPLED = Path(__file__).resolve().parents[1] / "instances" / "coupled"


@pytest.mark.slow
def test_joint_moves_hand_a_stalled_solves_time_to_the_next_set():
    """mixed-8x6-nexus-rpi3 from the construction's placement: its first joint solve closes in no
    10 s (the fixed cap: 1 solve in 10 s, 1 capped, load 5.6); stopped 1 s after its last improving
    solution (3.7 s in at load 5.6), the time left goes to the next sets."""
    from optdist.instance import load_instance
    from optdist.milp.decomposition.construct import placement_by_construction
    from optdist.milp.decomposition.repair import JointStats, joint_moves

    inst = load_instance(COUPLED / "mixed-8x6-nexus-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 30)
    assert start is not None
    stats = JointStats()
    joint_moves(inst, start.owners, deadline=time.perf_counter() + 10, per_solve=10, threads=1, seed=0, sizes=(2,),
                stats=stats, stall=StallStop(stall_s=1.0))
    assert stats.stalled >= 1 and stats.solves >= 2, stats
    assert stats.solve_s[0] < 10 / 2 * 1.9, stats  # the first, stalled: well before its 10-s cap


@pytest.mark.slow
def test_the_plans_polish_stops_its_joint_solves_on_a_stall(monkeypatch):
    """The polish of plan-guided's plan passes :data:`JOINT_STALL` to its joint solves (here a
    1-s stall, so that a 12-s polish on mixed-8x6 sees one: the 15-s floor of the real rule would
    take longer than the polish)."""
    from optdist.heuristics import plan_guided

    monkeypatch.setattr(plan_guided, "JOINT_STALL", StallStop(stall_s=1.0))
    res = optdist.solve(COUPLED / "mixed-8x6-nexus-rpi3.json", method="plan-guided", plan_time_limit=3,
                        polish_time_limit=12, threads=1, seed=0)
    assert res.evaluation.feasible
    assert res.extra["polish_joint_stalled"] >= 1, res.extra
    assert res.extra["polish_joint_stalled"] + res.extra["polish_joint_capped"] <= res.extra["polish_joint_solves"]
