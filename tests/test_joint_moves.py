"""Joint moves (optdist.milp.decomposition.repair.joint_moves): k requests freed together and solved
jointly, exactly, in the room the rest leaves them (a large-neighbourhood search)."""

from __future__ import annotations

import sys
import time
import tracemalloc
from itertools import combinations, islice
from math import comb
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.repair import JOINT_FULL, PAIR_GAIN, JointStats, alone, joint_moves, ranked_sets
from optdist.milp.decomposition.single import solve_single
from tests.conftest import capacity_dict, fits

ROOT = Path(__file__).resolve().parents[1]
COUPLED = ROOT / "instances" / "coupled"
TINY = ROOT / "instances" / "tiny"


def _poor_start(inst) -> list[list[np.ndarray]]:
    """Request 0 kept off devices 0 and 1, request 1 at its best in what is left."""
    caps = capacity_matrix(inst)
    off = caps.copy()
    off[[0, 1], :] = 0.0
    first = solve_single(inst, 0, threads=1, time_limit=10, capacity=capacity_dict(off)).owners
    second = solve_single(inst, 1, threads=1, time_limit=10,
                          capacity=capacity_dict(np.maximum(caps - alone(inst, 0, first)[1], 0.0))).owners
    return [first, second]


def test_joint_moves_cut_a_poor_placement_keep_every_capacity_and_are_deterministic():
    """Two requests competing for two devices, one kept off them: the joint solve of the pair is
    strictly cheaper, feasible under the evaluator, within every capacity, reports both new
    placements, leaves its input untouched, and gives the same placement again for the seed."""
    inst = load_instance(TINY / "micro-2x3-tight.json")
    start = _poor_start(inst)
    before = evaluate(inst, Assignment(start))
    assert before.feasible
    kept = [[a.copy() for a in o] for o in start]
    seen: list[int] = []
    owners, moves = joint_moves(inst, start, deadline=time.perf_counter() + 20, per_solve=10, threads=1, seed=3,
                                on_column=lambda r, o: seen.append(r))
    after = evaluate(inst, Assignment(owners))
    assert after.feasible and after.n_rejected == 0 and fits(inst, owners)
    assert moves > 0 and after.objective < before.objective * (1 - 1e-6)
    assert set(seen) == {0, 1}
    assert all(np.array_equal(a, b) for o, p in zip(start, kept) for a, b in zip(o, p))  # input unchanged
    again, moves_again = joint_moves(inst, start, deadline=time.perf_counter() + 20, per_solve=10, threads=1, seed=3)
    assert moves_again == moves
    assert all(np.array_equal(a, b) for o, p in zip(owners, again) for a, b in zip(o, p))


def test_no_time_no_move_and_unplaced_requests_stay_unplaced():
    inst = load_instance(TINY / "micro-2x3-tight.json")
    start = _poor_start(inst)
    got, moves = joint_moves(inst, [start[0], None], deadline=time.perf_counter() + 10, threads=1, seed=0)
    assert moves == 0 and got[1] is None  # one placed request: no set of two to free
    got, moves = joint_moves(inst, start, deadline=time.perf_counter(), threads=1, seed=0)
    assert moves == 0 and all(np.array_equal(a, b) for o, p in zip(got, start) for a, b in zip(o, p))


def test_a_joint_solve_cut_short_respects_the_deadline_and_never_worsens():
    """Four CIFAR requests sharing six devices' bandwidth (their joint solve closes in no 30 s):
    a 4-s deadline is kept (within a solver's stop lag, load 7 on 2 cores allowed for), and the
    placement returned is feasible and no dearer than the start."""
    from optdist.milp.decomposition.construct import placement_by_construction

    inst = load_instance(COUPLED / "mixed-8x6-nexus-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 30)
    assert start is not None
    before = evaluate(inst, start)
    t0 = time.perf_counter()
    owners, _ = joint_moves(inst, start.owners, deadline=t0 + 4, threads=1, seed=0)
    took = time.perf_counter() - t0
    after = evaluate(inst, Assignment(owners))
    assert took < 4 + 6
    assert after.feasible and after.n_rejected == 0 and fits(inst, owners)
    assert after.objective <= before.objective * (1 + 1e-12)


def test_no_seed_orders_tied_sets_as_seed_zero():
    """Eight identical LeNet requests (many sets tie on overlap x spread): without a seed (the
    default of `optdist solve`) the sets are tried in one order, seed 0's, so the moves repeat
    (before: a fresh random tie order per call, 7 or 8 moves in 15 s, in a different order).
    Each run stops at its deadline, so the moves of one are a prefix of the other's."""
    from optdist.milp.decomposition.construct import placement_by_construction

    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    start = placement_by_construction(inst, deadline=time.perf_counter() + 30)
    assert start is not None
    runs = []
    for seed in (None, None, 0):
        seen: list[int] = []
        joint_moves(inst, start.owners, deadline=time.perf_counter() + 10, threads=1, seed=seed, sizes=(2,),
                    on_column=lambda r, o: seen.append(r))
        runs.append(seen)
    assert all(runs)  # the first move comes within a second or two
    for a, b in combinations(runs, 2):
        n = min(len(a), len(b))
        assert a[:n] == b[:n]


def test_ranking_many_sets_keeps_the_deadline():
    """160 placed LeNet requests (lenet-250x70's greedy placement): ranking their 669,920 sets
    of three took 14.8 s past a 0.1-s deadline (load 1.4) before any solve; the ranking now
    stops at the deadline too (at most a few tenths over it at load 7 on 2 cores allowed for)."""
    import optdist

    inst = load_instance(COUPLED / "lenet-250x70-nexus-rpi3.json")
    start = optdist.solve(inst, method="greedy").assignment
    assert sum(o is not None for o in start.owners) >= 100
    t0 = time.perf_counter()
    owners, moves = joint_moves(inst, start.owners, deadline=t0 + 0.5, threads=1, seed=0, sizes=(3,))
    assert time.perf_counter() - t0 < 0.5 + 3
    assert moves == 0 and all((a is None) == (b is None) for a, b in zip(owners, start.owners))


def _full_sort(k, placed, use, caps, cost, tie, least=None) -> list[tuple[int, ...]]:
    """The sets of k placed requests in the documented order (joint_moves' docstring), by sorting
    the list of every set with its key: (-overlap * spread, -overlap, [tie[r] for r in S]), where
    overlap sums, over the contested capacities (used to JOINT_FULL or more), the set's shares
    less its largest one; sets whose ``least`` reaches their cost (within PAIR_GAIN) left out."""
    full = use[placed].sum(axis=0) >= caps * JOINT_FULL
    share = np.where(full, use / np.where(caps > 0, caps, 1.0), 0.0)
    ranked = []
    for S in combinations(placed, k):
        idx = list(S)
        if least is not None and sum(least[r] for r in S) >= cost[idx].sum() * (1 - PAIR_GAIN):
            continue
        overlap = float((share[idx].sum(axis=0) - share[idx].max(axis=0)).sum())
        ranked.append(((-overlap * float(np.ptp(cost[idx])), -overlap, [int(tie[r]) for r in S]), S))
    return [S for _key, S in sorted(ranked)]


@pytest.mark.parametrize("name, k", [("lenet-20x10-rpi3", 3), ("mixed-8x6-nexus-rpi3", 2), ("lenet-8x4-rpi3", 3)])
def test_ranked_sets_come_in_the_full_sorts_order(name, k):
    """The sets ranked in bounded batches (a batch of 40 here: many batches) come in the order of
    the full sort of every set by the documented key, ties (identical LeNet requests) included,
    with and without ``least`` leaving sets out."""
    import optdist

    inst = load_instance(COUPLED / f"{name}.json")
    owners = optdist.solve(inst, method="greedy").assignment.owners
    placed = [r for r, o in enumerate(owners) if o is not None]
    cost, use = np.zeros(inst.n_requests), np.zeros((inst.n_requests, inst.n_nodes, 3))
    for r in placed:
        cost[r], use[r] = alone(inst, r, owners[r])
    caps = capacity_matrix(inst)
    for seed, least in ((0, None), (1, list(cost * np.random.default_rng(5).uniform(0.99999, 1.00001, len(cost))))):
        tie = np.random.default_rng(seed).permutation(inst.n_requests)
        want = _full_sort(k, placed, use, caps, cost, tie, least)
        assert len(want) > 40 or name != "lenet-20x10-rpi3"
        assert list(ranked_sets(k, placed, use, caps, cost, tie, least=least, batch=40)) == want


def test_ranking_many_sets_holds_a_batch_not_the_full_list():
    """280,840 sets of three of 120 requests (synthetic usage, two of four nodes' capacities
    contested): the first sets come with a peak of traced memory below a tenth of what the list
    of every set with its key alone takes (before: that list, then its sorted copy)."""
    n = 120
    rng = np.random.default_rng(0)
    use = rng.uniform(0.0, 1.0, (n, 4, 3))
    caps = use.sum(axis=0) * np.array([1.0, 1.02, 2.0])  # memory used up, compute nearly, bandwidth half
    cost, tie = rng.uniform(1.0, 2.0, n), rng.permutation(n)
    entry = ((-0.5, -0.25, [1, 2, 3]), (1, 2, 3))  # one entry of the full list: its objects' sizes
    per_entry = sum(sys.getsizeof(x) for x in (entry, entry[0], entry[0][0], entry[0][1], entry[0][2], entry[1]))
    full_list = comb(n, 3) * per_entry
    tracemalloc.start()
    try:
        first = list(islice(ranked_sets(3, list(range(n)), use, caps, cost, tie), 5))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(first) == 5
    assert peak < full_list / 10, (peak, full_list)


def test_a_whole_sweep_of_ranked_sets_takes_logarithmically_many_passes(monkeypatch):
    """Every set of three of 40 requests (9,880) from batches of 10 doubling: 10 passes through the
    sets, not the 988 of batches of one size (review20: about 650 passes, 28 min, for the 669,920
    sets of lenet-250x70's greedy placement), and still in the full sort's order."""
    from optdist.milp.decomposition import repair

    n = 40
    rng = np.random.default_rng(1)
    use = rng.uniform(0.0, 1.0, (n, 4, 3))
    caps = use.sum(axis=0) * np.array([1.0, 1.02, 2.0])
    cost, tie = rng.uniform(1.0, 2.0, n), rng.permutation(n)
    passes = []
    monkeypatch.setattr(repair, "combinations", lambda *a: passes.append(a) or combinations(*a))
    got = list(ranked_sets(3, list(range(n)), use, caps, cost, tie, batch=10))
    assert got == _full_sort(3, list(range(n)), use, caps, cost, tie, None)
    assert len(got) == comb(n, 3) and len(passes) == 10  # 10 (2^10 - 1) >= 9,880 > 10 (2^9 - 1)


@pytest.mark.slow  # about 10 s to prove the optimum, 10 s of joint pair solves (load 4)
def test_joint_solves_on_the_proven_optimum_close_within_their_cap():
    """8 LeNet requests on 4 RPi3 at their proven optimum (10.0014 ms, instances/coupled.solu):
    every joint solve of a pair closes (proves the current placement of the pair is best in its
    room) before its 30-s cap: none is counted as capped, no move, the objective unchanged; with a
    1-ms cap some are counted."""
    import optdist

    inst = load_instance(COUPLED / "lenet-8x4-rpi3.json")
    res = optdist.solve(inst, time_limit=120, threads=1)
    assert res.termination == "optimal" and res.objective == pytest.approx(0.0100013628809, rel=1e-9)
    stats = JointStats()
    owners, moves = joint_moves(inst, res.assignment.owners, deadline=time.perf_counter() + 300, threads=1, seed=0,
                                sizes=(2,), stats=stats)
    assert moves == 0 and stats.solves > 0 and stats.capped == 0
    assert evaluate(inst, Assignment(owners)).objective == evaluate(inst, res.assignment).objective
    short = JointStats()  # the count sees a cap: 1 ms per solve
    joint_moves(inst, res.assignment.owners, deadline=time.perf_counter() + 30, per_solve=1e-3, threads=1, seed=0,
                sizes=(2,), stats=short)
    assert short.capped > 0
