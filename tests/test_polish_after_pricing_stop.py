"""Column generation skips its polish after branch-and-price stopped because the pricing solver
kept failing, where the polish would solve with that same solver (tidy22).

Before: the polish (:func:`optdist.milp.decomposition.repair.polish`) ran on to the run's deadline
with the failing solver; on lenet-8x4-rpi3 with every CBC killed once branch-and-price started,
it spent 23 s of a 41.8-s run on 210 CBC solves, every one killed.
"""

from __future__ import annotations

import threading
import time

import pytest

import optdist
from optdist.milp.decomposition import branch
from tests.conftest import ROOT, kill_solver_once_it_runs, linux_only, requires_solver

#: 8 LeNet requests competing for 4 devices: column generation with CBC hands over to
#: branch-and-price after 9-14 s (load 1-3; tests/test_engine_edges.py)
COUPLED = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")
REL = 1e-7
#: seconds the run may take past the search's end (what follows it without the polish: the
#: bound's bookkeeping and the result, well under a second; before, the polish took 23 s)
AFTER_SEARCH_S = 8.0


@pytest.mark.slow  # 19 s at load 1.7 (column generation up to the hand-over; 45 s without the fix)
@linux_only
@requires_solver("cbc")
def test_no_polish_with_the_pricing_solver_that_kept_failing(monkeypatch):
    """Every CBC is SIGKILLed from the moment branch-and-price starts: the search stops after
    PRICING_FAILURES_MAX failed pricing rounds, then no CBC starts (the polish would solve with
    CBC), the run ends soon after, keeps its incumbent and bound, and says why the polish did not run."""
    from optdist.milp.decomposition.colgen import column_generation

    killed: list[int] = []
    done = threading.Event()
    watchers: list[threading.Thread] = []
    search_end: list[tuple[float, int]] = []  # when the search returned, CBCs killed by then
    search = branch.branch_and_price

    def killing_from_here(*args, **kwargs):  # the real search, every CBC from here on killed
        watchers.append(kill_solver_once_it_runs("cbc", killed, after=0.0, every=done))
        try:
            return search(*args, **kwargs)
        finally:
            search_end.append((time.perf_counter(), len(killed)))

    monkeypatch.setattr(branch, "branch_and_price", killing_from_here)
    inst = optdist.load_instance(COUPLED)
    try:
        res = column_generation(inst, solver="cbc", time_limit=300, threads=1, seed=0)  # 60 ran out first at load 4
        ended = time.perf_counter()
    finally:
        done.set()
    for w in watchers:
        w.join(5)
    assert watchers and search_end, "column generation never handed over to branch-and-price"
    assert killed, "cbc never ran in the search"
    assert res.extra.get("pricing_stopped", "").startswith("branch-and-price stopped at node"), res.extra.get(
        "pricing_stopped")
    at, killed_by_then = search_end[-1]
    assert len(killed) == killed_by_then, f"{len(killed) - killed_by_then} CBC solves killed after the search"
    assert ended - at < AFTER_SEARCH_S, f"the run went on {ended - at:.1f} s after the search stopped"
    assert "polish" not in res.extra["seconds"], res.extra["seconds"]
    assert res.extra["polish_skipped"] == ("after branching: the polish did not run: its solver cbc is the pricing "
                                           f"solver that failed in {branch.PRICING_FAILURES_MAX} pricing rounds in a "
                                           "row (see pricing_stopped)")
    assert res.assignment is not None and optdist.evaluate(inst, res.assignment).feasible
    assert res.objective is not None and res.bound is not None and res.bound <= res.objective * (1 + REL)


@pytest.mark.slow  # 45 s: the polish runs to the time limit
@linux_only
@requires_solver("cbc")
def test_the_polish_still_runs_where_its_solver_is_not_the_failing_pricing_solver(monkeypatch):
    """Pricing on CBC (every CBC killed from branch-and-price on), the run's own solves on HiGHS:
    the polish, which solves with HiGHS, still runs after the pricing stop (in a 30-s run at load
    2.5 it found lenet-8x4-rpi3's best known placement, 0.0100013629 s, from 0.0100651856)."""
    from optdist.milp.decomposition.colgen import column_generation

    killed: list[int] = []
    done = threading.Event()
    search = branch.branch_and_price

    def killing_from_here(*args, **kwargs):
        kill_solver_once_it_runs("cbc", killed, after=0.0, every=done)
        return search(*args, **kwargs)

    monkeypatch.setattr(branch, "branch_and_price", killing_from_here)
    inst = optdist.load_instance(COUPLED)
    try:
        res = column_generation(inst, solver="highs", pricing_solver="cbc", time_limit=45, threads=1, seed=0)
        # 20 s ran out before branch-and-price's pricing stop beside another suite (ci76, load ~4)
    finally:
        done.set()
    assert killed, "cbc never ran in the search"
    assert res.extra.get("pricing_stopped", "").startswith("branch-and-price stopped at node"), res.extra.get(
        "pricing_stopped")
    assert "polish_skipped" not in res.extra and res.extra["seconds"].get("polish", 0.0) > 0, res.extra["seconds"]
    assert res.assignment is not None and optdist.evaluate(inst, res.assignment).feasible
