"""Latency / shared-data Pareto front by the epsilon-constraint method (MODEL.md section 8).

1. minimise latency (the instance's kind, ``shared_weight`` set to 0): shared data ``S_hi``;
2. minimise shared bytes alone: ``S_lo``;
3. for ``eps`` evenly spaced in ``[S_lo, S_hi]`` (upwards, each point seeded with the
   previous one, which stays feasible): minimise latency s.t. ``sum_r shared_r <= eps``.
   Equal levels (``S_lo == S_hi``: one level whatever the count) are solved once; at most
   :data:`MAX_POINTS` levels (each is a MILP).

Every point is re-scored by the evaluator: ``latency_s`` is the swept axis (the instance's
latency objective, weighted latency or makespan, and its rejection penalty, without the
shared-data term; the table names it after the objective kind, ``latency_s`` or ``makespan_s``:
:func:`axis_column`), ``objective_s`` the instance's own objective as ``optdist solve`` reports it
(``latency_s`` + ``objective.shared_weight`` x ``shared_bytes``; the same where the weight is 0).
``nondominated`` marks the points no other point
beats in both latency and shared bytes (:func:`mark_front`). Two levels often give the same
point (the same latency and shared bytes): the first of them represents it on the front, the
others are marked ``duplicate_of`` its index and not ``nondominated``, so the table and the
figure show each front point once.

A signal (SIGINT/SIGTERM) stops the sweep: the level under way is its last point, the levels
not started are not points (:attr:`ParetoFront.not_run` counts them).

A solve that fails (termination ``error``, e.g. its CBC process killed) is a point without a
solution; the sweep goes on (the next level unseeded) and says why in
:attr:`ParetoFront.solver_errors`. So is a solve whose loaded values are no placement (a loose
``mip_feasibility_tolerance``, NaN values): the solution is read back by the engine's checked path
(:class:`~optdist.milp.extract.InvalidSolution`, :func:`optdist.milp.run.answer_invalid`), never
unchecked, and its point says termination ``error``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.assignment import Assignment
from optdist.milp.extract import InvalidSolution
from optdist.milp.model import BuildInterrupted, build
from optdist.milp.objective import add_shared_bytes_limit, shared_bytes_expr
from optdist.milp.run import answer_invalid
from optdist.milp.solve import DEFAULT_MIP_GAP
from optdist.result import Termination, gap
from optdist.solvers import Feature, get_solver
from optdist.solvers.base import failure_counts, signals_received, solver_failures, stop_on_signals

MAX_POINTS = 1000  # epsilon levels of one sweep: each is a MILP solve


@dataclass
class ParetoPoint:
    """One solve of the sweep (``eps`` None: no shared-data limit)."""

    eps_bytes: float | None
    latency_s: float | None  # the swept axis: the latency objective (shared_weight 0) as the evaluator scores it
    shared_bytes: float | None
    objective_s: float | None  # the instance's objective (its shared_weight too), as `optdist solve` reports it
    bound_s: float | None  # a lower bound on latency_s (None for the least-shared solve: it bounds shared bytes)
    gap: float | None  # of latency_s and bound_s
    termination: str
    wall_s: float
    nondominated: bool = False
    duplicate_of: int | None = None  # index in the sweep of an earlier point with the same latency and shared bytes


class ParetoFront(list):
    """The points of one sweep (:class:`ParetoPoint`, in the order solved) and the solver calls of
    the sweep that failed: ``solver_errors``, one ``{"message": why, "solves": how many}`` per
    distinct message (:func:`~optdist.solvers.base.failure_counts`, e.g. "solver cbc ended
    abnormally: it was killed by signal SIGKILL ..."), empty when none did. The point of a failed
    call says termination ``error``; a failed latency-optimal or least-shared solve ends the sweep
    and is its last point (:func:`pareto_sweep`)."""

    def __init__(self, points: Iterable[ParetoPoint] = (), solver_errors: list[dict[str, Any]] | None = None,
                 not_run: int = 0) -> None:
        super().__init__(points)
        self.solver_errors: list[dict[str, Any]] = solver_errors or []
        #: epsilon levels a signal kept from being solved (not points of the front)
        self.not_run = not_run

    @property
    def solved(self) -> list[ParetoPoint]:
        """The points with a solution (those a table, figure or file can show)."""
        return [p for p in self if p.latency_s is not None]


def pareto_sweep(
    inst: Instance,
    points: int = 5,
    *,
    formulation: str = "compact",
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
) -> ParetoFront:
    """The sweep above with ``points`` epsilon values (the two end points included; equal
    values solved once); ``time_limit`` in seconds per solve. Raises ValueError unless
    ``1 <= points <= MAX_POINTS``, for ``mip_gap`` beside a different raw gap in the profile's
    ``[solver_options]`` (:meth:`~optdist.solvers.Solver.gap_conflict`, the rule of
    :func:`optdist.solve`; before, the raw one won silently), and the adapter's error when
    ``solver`` is not available.

    When the latency-optimal solve or the least-shared one ends without a solution (a time limit,
    an infeasible instance, a failed solver) the sweep ends there: the front is that solve's point
    (and the one before it), and has no solved point when the first one failed. A failed solve
    (termination ``error``) is reported in :attr:`ParetoFront.solver_errors`.

    SIGINT/SIGTERM stop the solve under way (its point says ``interrupted``) and the sweep: the
    levels not started are left out (:attr:`ParetoFront.not_run`); the points solved so far are
    returned. One that comes while the model is
    built stops the build at once: the sweep is then one point, ``interrupted``, without a solution.
    Where no level got a solution (e.g. a signal after the two end solves), the two ends' points
    (``eps_bytes`` None) come first: they are the solved points of the sweep.
    """
    not_run: list[int] = []
    with stop_on_signals(lambda signum: None), solver_failures() as failed:
        front = _sweep(inst, points, formulation=formulation, solver=solver, time_limit=time_limit,
                       mip_gap=mip_gap, threads=threads, not_run=not_run)
    return ParetoFront(front, failure_counts(failed), sum(not_run))


def _sweep(inst: Instance, points: int, *, formulation: str, solver: str, time_limit: float | None,
           mip_gap: float | None, threads: int | None, not_run: list[int] | None = None) -> list[ParetoPoint]:
    if not 1 <= points <= MAX_POINTS:
        raise ValueError(f"points {points} is outside [1, {MAX_POINTS}]: each point is a MILP solve; "
                         "give the number of shared-data levels, e.g. 5")
    own = inst if inst.objective.shared_weight > 0 else None  # scores objective_s where it differs from latency_s
    inst = inst.with_spec(objective=inst.objective.model_copy(update={"shared_weight": 0.0}))
    adapter = get_solver(solver)
    if (two_gaps := adapter.gap_conflict(mip_gap, raw_taken=False)) is not None:  # a profile's raw gap would override mip_gap
        raise ValueError(two_gaps)
    adapter.require()
    if mip_gap is None and "mip_gap" not in adapter.defaults:
        mip_gap = DEFAULT_MIP_GAP
    t0 = time.perf_counter()
    try:
        b = build(inst, formulation, interruptible=True)
    except BuildInterrupted:
        return [ParetoPoint(None, None, None, None, None, None, str(Termination.INTERRUPTED), time.perf_counter() - t0)]
    m = b.model
    warm = adapter.has(Feature.WARM_START)

    loaded: list[Assignment] = []  # the placement of the last solve with one, read back once (checked)

    def run(eps: float | None, seeded: bool = False) -> ParetoPoint:
        """Solve the model as it stands; score the loaded solution, read back by the checked path:
        values that are no placement make the point termination ``error`` (:func:`answer_invalid`,
        also counted in the sweep's ``solver_errors``), not a traceback."""
        out = adapter.solve(m, time_limit=time_limit, mip_gap=mip_gap, threads=threads, warm_start=seeded)
        asg = None
        if out.has_solution:
            try:
                asg = b.to_assignment()
            except InvalidSolution as e:  # e.g. a loose feasibility tolerance, NaN values
                answer_invalid(out, adapter.name, str(e))
        if asg is None:
            return ParetoPoint(eps, None, None, None, None, None, str(out.termination), out.wall_time)
        loaded[:] = [asg]
        ev = evaluate(inst, asg)
        objective = ev.objective if own is None else evaluate(own, asg).objective
        if not m.obj.active:  # the least-shared solve: its bound is in bytes, no bound on the latency
            return ParetoPoint(eps, ev.objective, ev.total_shared_bytes, objective, None, None, str(out.termination),
                               out.wall_time)
        bound = None if out.bound is None else out.bound * b.time_unit
        return ParetoPoint(eps, ev.objective, ev.total_shared_bytes, objective, bound,
                           gap(out.incumbent * b.time_unit, bound), str(out.termination), out.wall_time)

    top = run(None)
    if top.shared_bytes is None:
        return [top]
    m.obj.deactivate()
    m.obj_shared = pyo.Objective(expr=shared_bytes_expr(b), sense=pyo.minimize)
    low = run(None)
    m.del_component(m.obj_shared)
    m.obj.activate()
    if low.shared_bytes is None:  # the sweep ends: the latency-optimal point, if solved, is the front
        front = [top, low]
        mark_front(front)
        return front
    seeded = warm  # the min-shared solution is loaded and feasible for every eps >= S_lo
    if seeded:
        b.set_warm_start(loaded[0])
    front = []
    levels = np.unique(np.linspace(low.shared_bytes, top.shared_bytes, points)) if points > 1 else [top.shared_bytes]
    for i, eps in enumerate(levels):
        if signals_received():  # the levels not started are no points (not rows of `interrupted`)
            if not_run is not None:
                not_run.append(len(levels) - i)
            break
        add_shared_bytes_limit(b, float(eps))
        pt = run(float(eps), seeded)
        front.append(pt)
        seeded = warm and pt.latency_s is not None
        if seeded:
            b.set_warm_start(loaded[0])
    if not any(p.latency_s is not None for p in front):  # e.g. a signal after the ends: they are the points found
        front = [top, low, *front]
    mark_front(front)
    return front


def _same(p: ParetoPoint, q: ParetoPoint) -> bool:
    """The same point: latency and shared bytes equal to 1e-9 relative (re-scored sums may differ in the last bits)."""
    return math.isclose(p.latency_s, q.latency_s, rel_tol=1e-9) and math.isclose(p.shared_bytes, q.shared_bytes,
                                                                                         rel_tol=1e-9)


def mark_front(front: list[ParetoPoint]) -> None:
    """Set ``duplicate_of`` and ``nondominated`` of the solved points of ``front`` in place.

    A point equal to an earlier one (:func:`_same`) is that one's duplicate (``duplicate_of``:
    the earlier point's index) and not nondominated; of the rest, a point is nondominated when no
    other beats it in one of latency and shared bytes without being worse in the other (the
    usual definition, under which equal points do not dominate each other and would all be
    marked). Points without a solution are neither.
    """
    solved = [i for i, p in enumerate(front) if p.latency_s is not None]
    for k, i in enumerate(solved):
        p = front[i]
        p.duplicate_of = next((j for j in solved[:k] if _same(front[j], p) and front[j].duplicate_of is None), None)
    for i in solved:
        p = front[i]
        p.nondominated = p.duplicate_of is None and not any(
            q.latency_s <= p.latency_s and q.shared_bytes <= p.shared_bytes and not _same(p, q)
            for q in (front[j] for j in solved)
        )


def axis_column(kind: str) -> str:
    """The table's name of the swept axis (:attr:`ParetoPoint.latency_s`) for an instance's
    ``objective.kind``: ``latency_s`` for "latency", ``makespan_s`` for "makespan" (the value is
    the makespan there, not the total latency `optdist solve` prints)."""
    return f"{kind}_s"


def front_table(front: list[ParetoPoint], kind: str = "latency"):  # -> pandas.DataFrame
    """The sweep as a table (one row per point; ``duplicate_of``: see :func:`mark_front`), its
    swept axis named after the instance's objective ``kind`` (:func:`axis_column`)."""
    import pandas as pd

    df = pd.DataFrame([asdict(p) for p in front])
    df["duplicate_of"] = df["duplicate_of"].astype("Int64")  # an index or empty, never 2.0
    return df.rename(columns={"latency_s": axis_column(kind)})


def plot_front(front: list[ParetoPoint], path: str, title: str, kind: str = "latency") -> None:
    """Shared kB vs latency (or makespan: ``kind``) ms, non-dominated points joined (matplotlib,
    Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [p for p in front if p.latency_s is not None]
    nd = sorted((p for p in ok if p.nondominated), key=lambda p: p.shared_bytes)
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    ax.scatter([p.shared_bytes / 1e3 for p in ok], [p.latency_s * 1e3 for p in ok], color="0.6", label="solved points")
    ax.plot([p.shared_bytes / 1e3 for p in nd], [p.latency_s * 1e3 for p in nd], "o-", color="C0", label="Pareto front")
    ax.set_xlabel("shared data (kB)")
    ax.set_ylabel(f"{kind} objective (ms)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
