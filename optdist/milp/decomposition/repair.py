"""Primal heuristic for requests that compete: each request re-solved alone in what the others leave.

Requests interact only through the node capacities (MODEL.md section 6, rows 10b-10d), and a
request's usage of a node (weights, multiplications, bytes sent) does not depend on the other
requests. So, with every request but r fixed, the best placement of r is request r alone on
the *residual* capacities ``cap - sum_{q != r} use_q`` (the exact single-request solve
:func:`optdist.milp.decomposition.single.solve_single` with ``capacity=``). This gives

* **repair** (:func:`fill_and_improve`): requests without a placement (a greedy placement
  that rejected them, or none at all) are placed one by one, each at its best in the
  capacity left (a known placement that fits, the cheapest first, before any solve);
* **improvement**: each placed request in turn is replaced by its best placement in the
  capacity the others leave (it never gets worse: its own placement fits there), until a
  pass changes nothing or the time is up. A request whose cost is already within
  ``least_tol`` of a proven lower bound on its cost alone on the full capacities (``least``,
  e.g. column generation's round 0) is not solved again: no residual capacity can give it
  more than that share.

A heuristic: it gives incumbents (re-scored by the independent evaluator), never bounds.
Every placement it finds for a request alone is also a column of the Dantzig-Wolfe master
(``on_column``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.single import alone, solve_single
from optdist.transfers import RESOURCES



def fill_and_improve(
    inst: Instance,
    owners: list[list[np.ndarray] | None],
    *,
    deadline: float,
    solver: str = "highs",
    threads: int | None = None,
    seed: int | None = None,
    solver_options: dict | None = None,
    per_solve: float = 10.0,
    passes: int = 3,
    on_column: Callable[[int, list[np.ndarray]], None] | None = None,
    candidates: Callable[[int], list[tuple[float, list[np.ndarray], np.ndarray]]] | None = None,
    least: Sequence[float] | None = None,
    least_tol: float = 0.0,
) -> Assignment | None:
    """Place the requests ``owners`` leaves unplaced (None), then improve request by request
    (module docstring). ``owners``: per request, its owner arrays or None; the placed ones must
    fit the capacities together. ``deadline``: ``time.perf_counter()`` value to stop at;
    ``per_solve``: seconds at most per single-request solve; ``on_column(r, owners_r)`` is
    called for every placement found; ``candidates(r)`` lists known placements of r alone as
    ``(cost, owners, usage)``: the cheapest that fits the capacity left and beats r's current
    cost is taken without a solve. ``least[r]``: a proven lower bound (seconds) on r's cost
    alone on the full capacities; r is not improved once ``least[r] >= cost_r (1 - least_tol)``
    (it can gain at most the share ``least_tol``). Returns the placement if every request is placed and the
    evaluator finds it feasible, else None."""
    caps = capacity_matrix(inst)
    own = [None if o is None else [a.copy() for a in o] for o in owners]
    cost = np.full(inst.n_requests, math.inf)
    use = np.zeros((inst.n_requests, inst.n_nodes, 3))
    for r, o in enumerate(own):
        if o is not None:
            cost[r], use[r] = alone(inst, r, o)

    def best_alone(r: int, share: int = 1) -> tuple[float, list[np.ndarray]] | None:
        """r at its best in the capacity the others leave, in ``1 / share`` of the time left."""
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None
        resid = np.maximum(caps - (use.sum(axis=0) - use[r]), 0.0)
        if candidates is not None:  # known placements first: the cheapest that fits, if cheaper
            for c, o, u in sorted(candidates(r), key=lambda t: t[0]):
                if c >= cost[r] * (1 - 1e-9):
                    break
                if (u <= resid * (1 + 1e-9) + 1e-9).all():
                    return c, o
        ss = solve_single(inst, r, solver=solver, time_limit=min(left / share, per_solve), mip_gap=1e-6, threads=threads,
                          seed=seed, solver_options=solver_options,
                          capacity={k: resid[:, i] for i, k in enumerate(RESOURCES)})
        if not ss.has_solution:
            return None
        if on_column is not None:
            on_column(r, ss.owners)
        return ss.objective, ss.owners

    todo = [r for r in range(inst.n_requests) if own[r] is None]
    for q, r in enumerate(todo):  # repair: place the rest in turn (the time shared among them)
        found = best_alone(r, len(todo) - q)
        if found is None:
            return None
        own[r] = found[1]
        cost[r], use[r] = alone(inst, r, own[r])
    for _ in range(passes):  # improvement: each request at its best in what the others leave
        changed = False
        for r in np.argsort(-cost):
            if time.perf_counter() >= deadline:
                break
            if least is not None and least[r] >= cost[r] * (1 - least_tol):
                continue  # at its optimum alone (within least_tol): nothing left to gain
            found = best_alone(int(r))
            if found is not None and found[0] < cost[r] * (1 - 1e-9):
                c, u = alone(inst, int(r), found[1])
                if c < cost[r] * (1 - 1e-9):
                    own[r], cost[r], use[r] = found[1], c, u
                    changed = True
        if not changed:
            break
    asg = Assignment(own)
    return asg if evaluate(inst, asg).feasible else None
