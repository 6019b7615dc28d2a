"""``solve_milp``: build a formulation, optionally seed it, solve it with any adapter.

Registered as method ``milp`` in :mod:`optdist.solve`, which re-scores the returned
assignment with the independent evaluator. A time limit returns the incumbent with its
bound (the gap is optdist's own, :func:`optdist.result.gap`), never an exception.
"""

from __future__ import annotations

import time
from typing import Any

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.milp.model import build
from optdist.result import SolveResult, Termination
from optdist.solvers import Feature, get_solver

DEFAULT_MIP_GAP = 1e-6  # relative; HiGHS's own default (1e-4) is too loose to compare optima


def warm_start_assignment(inst: Instance, warm_start: Assignment | str) -> tuple[Assignment | None, dict[str, Any]]:
    """The start to seed with: an Assignment as given, or the result of a method by name."""
    if isinstance(warm_start, Assignment):
        return warm_start, {"warm_start": "assignment"}
    from optdist.solve import solve

    if warm_start == "milp":
        raise ValueError("warm_start: use a heuristic method (e.g. 'greedy'), not 'milp'")
    res = solve(inst, method=warm_start)
    info: dict[str, Any] = {"warm_start": warm_start, "warm_start_objective": res.evaluator_objective}
    if res.evaluation is None or not res.evaluation.feasible:
        info["warm_start_skipped"] = f"{warm_start} gave no feasible assignment"
        return None, info
    return res.assignment, info


def solve_milp(
    inst: Instance,
    *,
    formulation: str = "compact",
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    warm_start: Assignment | str | None = None,
    tee: bool = False,
) -> SolveResult:
    """Solve ``inst`` exactly with ``formulation`` and ``solver`` (adapter or profile name).

    Options given here beat the profile's; ``mip_gap`` falls back to :data:`DEFAULT_MIP_GAP`.
    ``warm_start``: an :class:`Assignment` or a method name (e.g. ``'greedy'``); it is passed
    to solvers that accept a MIP start and ignored (noted in ``extra``) by the others.
    ``formulation='decomposed'``: decomposition by request with a certified bound
    (:func:`optdist.milp_decompose.solve_decomposed`, HiGHS only).
    """
    if formulation == "decomposed":
        from optdist.milp_decompose import solve_decomposed

        return solve_decomposed(
            inst, solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
            seed=seed, warm_start=warm_start, tee=tee,
        )
    start = time.perf_counter()
    adapter = get_solver(solver)
    adapter.require()
    if mip_gap is None and "mip_gap" not in adapter.defaults:
        mip_gap = DEFAULT_MIP_GAP
    b = build(inst, formulation)
    build_s = time.perf_counter() - start
    extra: dict[str, Any] = {"build_s": build_s, **b.stats()}
    seeded = False
    if warm_start is not None:
        asg, info = warm_start_assignment(inst, warm_start)
        extra.update(info)
        if asg is not None and adapter.has(Feature.WARM_START):
            b.set_warm_start(asg)
            seeded = True
        elif asg is not None:
            extra["warm_start_skipped"] = f"solver {adapter.name} takes no MIP start"
    out = adapter.solve(
        b.model, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, warm_start=seeded, tee=tee
    )
    extra.update(solve_s=out.wall_time, solver_status=out.status, solver_version=out.version, **out.extra)
    scale = b.time_unit
    bound = out.bound if out.bound is not None or out.termination is not Termination.OPTIMAL else out.incumbent
    asg = b.to_assignment() if out.has_solution else None
    if asg is not None:
        extra["rejected"] = int((~asg.admitted).sum())
    return SolveResult(
        instance=inst.name,
        method="milp",
        termination=out.termination,
        objective=None if out.incumbent is None else out.incumbent * scale,
        bound=None if bound is None else bound * scale,
        wall_time=time.perf_counter() - start,
        solver=solver,
        formulation=formulation,
        nodes=out.nodes,
        assignment=asg,
        options={**adapter.settings(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
                 "warm_start": seeded},
        extra=extra,
    )
