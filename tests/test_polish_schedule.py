"""Joint moves' schedule knobs (optdist.milp.decomposition.repair.joint_moves, issue 14): ``share``
caps each joint solve at a share of the time left, ``stop_on_capped_miss`` returns after the first
solve stopped by its cap without a cheaper placement (benchmarks/online/polish_probe.py's "halve"
schedule; measured, not landed: benchmarks/online/README.md, "Joint solves capped by the polish time")."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from optdist.heuristics.greedy import solve_greedy
from optdist.instance import load_instance
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.repair import JointStats, alone, joint_moves
from optdist.milp.decomposition.single import solve_single
from tests.conftest import capacity_dict

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
COUPLED = ROOT / "instances" / "coupled"
SHORT = 1e-6  # a share of the time left no model of two requests is built in (20 us of 20 s)


def _poor_start(inst) -> list[list[np.ndarray]]:
    """Request 0 kept off devices 0 and 1, request 1 at its best in what is left (a pair move and a
    joint move both cut it: tests/test_joint_moves.py)."""
    caps = capacity_matrix(inst)
    off = caps.copy()
    off[[0, 1], :] = 0.0
    first = solve_single(inst, 0, threads=1, time_limit=10, capacity=capacity_dict(off)).owners
    second = solve_single(inst, 1, threads=1, time_limit=10,
                          capacity=capacity_dict(np.maximum(caps - alone(inst, 0, first)[1], 0.0))).owners
    return [first, second]


def test_the_share_caps_each_joint_solve_by_the_time_left():
    """The same pair's joint solve closes within its cap with the whole time left (share 1) and is
    stopped by its cap at a share too short to build its model."""
    inst = load_instance(TINY / "micro-2x3-tight.json")
    start = _poor_start(inst)
    whole, short = JointStats(), JointStats()
    _, moves = joint_moves(inst, start, deadline=time.perf_counter() + 20, per_solve=10, threads=1, seed=0,
                           stats=whole)
    assert moves > 0 and whole.solves >= 1 and whole.capped == 0
    _, moves = joint_moves(inst, start, deadline=time.perf_counter() + 20, per_solve=10, threads=1, seed=0,
                           stats=short, share=SHORT)
    assert moves == 0 and short.solves >= 1 and short.capped == short.solves


def test_joint_moves_stop_at_the_first_capped_solve_that_found_nothing():
    """cifar-6x5's greedy placement (4 requests placed: 6 sets of two, 4 of three), joint solves
    too short to build: without the stop every set is tried and capped; with it the joint moves
    return after the first, the placement unchanged (the time left is the caller's to give to
    pair moves)."""
    inst = load_instance(COUPLED / "cifar-6x5-nexus-rpi3.json")
    start = solve_greedy(inst).assignment.owners
    every, first = JointStats(), JointStats()
    _, moves = joint_moves(inst, start, deadline=time.perf_counter() + 20, threads=1, seed=0, stats=every, share=SHORT)
    assert moves == 0 and every.solves > 1 and every.capped == every.solves
    got, moves = joint_moves(inst, start, deadline=time.perf_counter() + 20, threads=1, seed=0, stats=first,
                             share=SHORT, stop_on_capped_miss=True)
    assert moves == 0 and first.solves == first.capped == 1
    assert all(a is b or np.array_equal(a, b) for o, p in zip(got, start) if o is not None for a, b in zip(o, p))


@pytest.mark.parametrize("share", [0.0, 1.5, -1.0, float("nan")])
def test_a_share_outside_zero_one_is_refused_by_name(share):
    inst = load_instance(TINY / "micro-2x3-tight.json")
    with pytest.raises(ValueError, match="share"):
        joint_moves(inst, _poor_start(inst), deadline=time.perf_counter() + 5, share=share)
