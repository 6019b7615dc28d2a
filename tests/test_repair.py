"""Pair moves (optdist.milp.decomposition.repair.pair_moves): two requests re-placed exactly, one after
the other, in the room the rest leaves them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.construct import placement_by_construction
from optdist.milp.decomposition.repair import alone, pair_moves
from optdist.milp.decomposition.single import solve_single
from tests.conftest import capacity_dict, fits

ROOT = Path(__file__).resolve().parents[1]
COUPLED = ROOT / "instances" / "coupled"
TINY = ROOT / "instances" / "tiny"


def test_pair_moves_cut_a_poor_placement_and_keep_every_capacity():
    """A poor placement (request 0 kept off devices 0 and 1, request 1 at its best in what is left)
    becomes strictly cheaper, the capacities held, and every placement found is reported."""
    inst = load_instance(TINY / "micro-2x3-tight.json")
    caps = capacity_matrix(inst)
    off = caps.copy()
    off[[0, 1], :] = 0.0
    first = solve_single(inst, 0, threads=1, time_limit=10, capacity=capacity_dict(off)).owners
    second = solve_single(inst, 1, threads=1, time_limit=10,
                          capacity=capacity_dict(np.maximum(caps - alone(inst, 0, first)[1], 0.0))).owners
    start = [first, second]
    before = evaluate(inst, Assignment(start))
    assert before.feasible
    seen: list[int] = []
    owners, moves = pair_moves(inst, start, deadline=time.perf_counter() + 20, solver="highs", per_solve=5.0,
                               threads=1, seed=0, on_column=lambda r, o: seen.append(r))
    after = evaluate(inst, Assignment(owners))
    assert after.feasible and after.n_rejected == 0 and fits(inst, owners)
    assert moves > 0 and after.objective < before.objective * (1 - 1e-6)
    assert set(seen) == {0, 1}
    assert all(np.array_equal(a, b) for a, b in zip(start[0], first))  # the input is not changed


@pytest.mark.slow  # 20 s of pair moves
def test_pair_moves_from_shares_of_the_devices_on_a_coupled_set():
    """From the placement by shares of the devices (feasible, far from the optimum) on 8 LeNet
    requests over 4 RPi3: feasible and strictly cheaper."""
    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 20)
    assert start is not None
    before = evaluate(inst, start)
    assert before.feasible
    owners, moves = pair_moves(inst, start.owners, deadline=time.perf_counter() + 20, solver="highs",
                               per_solve=5.0, threads=1, seed=0)
    after = evaluate(inst, Assignment(owners))
    assert after.feasible and after.n_rejected == 0 and fits(inst, owners)
    assert moves > 0 and after.objective < before.objective * (1 - 1e-6)


def test_no_time_no_move_and_unplaced_requests_stay_unplaced():
    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 20)
    owners = list(start.owners)
    owners[0] = None  # a request the placement left out
    got, moves = pair_moves(inst, owners, deadline=time.perf_counter(), solver="highs", per_solve=5.0,
                            threads=1, seed=0)
    assert moves == 0 and got[0] is None
    assert all(np.array_equal(a, b) for o, p in zip(got[1:], owners[1:]) for a, b in zip(o, p))


def test_pairs_at_their_optimum_alone_are_not_solved():
    """``least`` at each request's own cost: no pair can gain, so no single-request solve runs."""
    inst = load_instance(TINY / "micro-2x3-tight.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 10)
    least = [alone(inst, r, o)[0] for r, o in enumerate(start.owners)]
    solved: list[int] = []
    _, moves = pair_moves(inst, start.owners, deadline=time.perf_counter() + 10, threads=1, least=least,
                          on_column=lambda r, o: solved.append(r))
    assert moves == 0 and solved == []


def test_polish_returns_a_feasible_placement_never_worse_than_its_start():
    """From the placement by shares on 8 LeNet requests over 4 RPi3: every request placed, the
    evaluator finds it feasible, its objective at most the start's (strictly less here: the
    shares leave room), every column reported is a placement of one request."""
    from optdist.milp.decomposition.repair import polish

    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 20)
    before = evaluate(inst, start)
    assert before.feasible
    seen: list[int] = []
    got = polish(inst, start, deadline=time.perf_counter() + 8, threads=1, seed=0, per_solve=2.0,
                 on_column=lambda r, o: seen.append(r))
    after = evaluate(inst, got)
    assert after.feasible and after.n_rejected == 0 and fits(inst, got.owners)
    assert after.objective < before.objective * (1 - 1e-6)
    assert seen and all(0 <= r < inst.n_requests for r in seen)


def test_polish_without_time_keeps_its_start_and_refuses_a_partial_one():
    from optdist.milp.decomposition.repair import polish

    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 20)
    assert polish(inst, start, deadline=time.perf_counter(), threads=1) is start
    owners = list(start.owners)
    owners[0] = None
    with pytest.raises(ValueError, match="feasible placement of every request"):
        polish(inst, Assignment(owners), deadline=time.perf_counter() + 5, threads=1)
