"""Stand-in methods for the runner tests (``tests.test_bench_methods:NAME`` in a spec).

They exercise what real methods rarely do on purpose: hang past the wall-clock guard and
raise. ``solve_greedy_seeded`` checks that a seed reaches a seeded method.
"""

from __future__ import annotations

import time

from optdist.heuristics.greedy import solve_greedy
from optdist.instance import Instance
from optdist.result import SolveResult


def solve_hang(inst: Instance, **options) -> SolveResult:
    """Never returns in time: the runner's guard must kill it."""
    time.sleep(3600)
    raise AssertionError("unreachable")


def solve_fail(inst: Instance, **options) -> SolveResult:
    raise RuntimeError(f"deliberate failure on {inst.name}")


def solve_greedy_seeded(inst: Instance, seed: int) -> SolveResult:
    res = solve_greedy(inst)
    res.extra["seed_seen"] = seed
    return res

