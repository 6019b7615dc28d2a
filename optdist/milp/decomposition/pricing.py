"""Pricing for the Dantzig-Wolfe master: one request alone, its usage priced by the capacity duals.

Maths (MODEL.md sections 5-6; notation of :mod:`optdist.milp.decomposition.master`). For a
request r of class c, every placement ``p`` of r that satisfies the one-owner, placement,
privacy and *its own* capacity rows (a request alone on the full capacities) is a column
with cost ``c_p = latency_p + lambda shared_p`` (seconds) and usage ``a_p[i, res]`` (bytes of
weights, multiplications, bytes sent by node i). Given prices ``pi[i, res] >= 0`` (seconds per
unit: minus the master's duals of its capacity rows), the pricing problem is

    v_c(pi) = min_p  c_p + sum_{i, res} pi[i, res] a_p[i, res]

and the reduced cost of the best column is ``v_c(pi) - mu_c`` (``mu_c``: the dual of the
class's convexity row). The pricing problem is the tight single-request count model
(``optdist.milp_decompose.TightModel``, MODEL.md section 7) with the prices added to its
objective as costs on its usage terms; identical devices carry equal prices in the master
(aggregated rows), so the model's symmetry breaking among them stays exact.

What the solver *proves* is what the master may use: :class:`Priced` carries ``bound``, a
valid lower bound on ``v_c(pi)`` (the solver's dual bound, also when it stops at a time limit
or gap), next to the best placement found. Solvers: every HiGHS adapter or profile runs the
array-built tight model in-process; any other adapter (SCIP, CBC, Gurobi, ...) runs the same
request as a Pyomo model (``optdist.milp.build(..., requests=[r])``) with the priced objective,
through that adapter, with its own dual bound.

The one place to switch the model used for pricing is :func:`price`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from optdist.instance import Instance

RESOURCES = ("memory", "compute", "bandwidth")


@dataclass
class Priced:
    """One pricing solve (seconds throughout).

    ``owners``: per layer, the owner node of every segment of request ``r`` (None if no
    placement was found); ``value``: its priced objective ``c_p + pi a_p``; ``bound``: a proven
    lower bound on ``v_c(pi)`` (``-inf`` if the solver proved nothing); ``proven``: the solve
    closed (``bound`` equals the optimum up to the gap).
    """

    r: int
    owners: list[np.ndarray] | None
    value: float | None
    bound: float
    proven: bool
    seconds: float
    log: dict = field(default_factory=dict)


def is_highs(solver: str) -> bool:
    """Whether ``solver`` (adapter, profile or profile file) runs HiGHS."""
    from optdist.solvers import get_solver

    return get_solver(solver).name == "highs"


def price(inst: Instance, r: int, prices: dict[str, np.ndarray], *, solver: str, time_limit: float,
          mip_gap: float, threads: int | None, seed: int | None, tee: bool = False,
          solver_options: dict | None = None) -> Priced:
    """``v_c(pi)`` for request ``r`` (module docstring): its best priced placement and a proven bound.

    ``prices``: resource (``memory``, ``compute``, ``bandwidth``) -> array over nodes, seconds
    per byte / multiplication / byte sent, all ``>= 0``. The instance's objective must be the
    sum of latencies (``kind = 'latency'``; admission is handled by the master, not here).
    Raises ``ValueError`` for a makespan objective or a negative price.
    """
    if inst.objective.kind != "latency":
        raise ValueError(f"{inst.name}: column generation needs objective.kind = 'latency' (the sum over requests), "
                         f"not {inst.objective.kind!r}")
    for res in RESOURCES:
        if (np.asarray(prices[res]) < 0).any():
            raise ValueError(f"price of {res} must be >= 0")
    if inst.objective.admission:  # a request alone is always placed; rejection is the master's column
        inst = inst.with_spec(objective=inst.objective.model_copy(update={"admission": False}))
    t0 = time.perf_counter()
    if is_highs(solver) and inst.objective.uplink == "parallel" and not solver_options:
        out = _price_tight_arrays(inst, r, prices, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    else:
        out = _price_pyomo(inst, r, prices, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                           threads=threads, seed=seed, tee=tee, solver_options=solver_options)
    out.seconds = time.perf_counter() - t0
    return out


def _price_tight_arrays(inst: Instance, r: int, prices: dict[str, np.ndarray], *, time_limit: float,
                        mip_gap: float, threads: int | None) -> Priced:
    """The tight count model built as arrays for highspy (exact cutoff rounds of ``solve_single``)."""
    from optdist.milp_decompose import solve_single

    ss = solve_single(inst, r, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                      extra_cost={res: np.asarray(prices[res], dtype=float) for res in RESOURCES})
    o = ss.outcome
    bound = -np.inf if o.bound is None else float(o.bound)
    if o.status == "infeasible":
        return Priced(r, None, None, np.inf, True, o.seconds, {"status": "infeasible"})
    owners = ss.model.owners(o.values, r) if o.has_solution else None
    value = None if o.objective is None else float(o.objective)
    if value is not None:
        bound = min(bound, value)
    return Priced(r, owners, value, bound, o.status == "optimal", o.seconds, {"status": o.status, "nodes": o.nodes})


def _price_pyomo(inst: Instance, r: int, prices: dict[str, np.ndarray], *, solver: str, time_limit: float,
                 mip_gap: float, threads: int | None, seed: int | None, tee: bool,
                 solver_options: dict | None) -> Priced:
    """Request r as a Pyomo model, objective ``latency (+ lambda shared) + pi . usage``, on any adapter."""
    import pyomo.environ as pyo

    from optdist.milp import build
    from optdist.milp.objective import latency_expr, shared_bytes_expr
    from optdist.result import Termination
    from optdist.solvers import get_solver

    adapter = get_solver(solver)
    if solver_options:
        adapter = type(adapter)(adapter.defaults, {**adapter.solver_options, **solver_options})
    adapter.require()
    b = build(inst, "compact", requests=[r])
    m, tu = b.model, b.time_unit
    expr = latency_expr(b, r)
    if inst.objective.shared_weight > 0:
        expr = expr + (inst.objective.shared_weight / tu) * shared_bytes_expr(b, r)
    for k, la in enumerate(b.data.layers(r)):
        for i in b.data.cand[r]:
            per = prices["memory"][i] * la.weight_bytes_per_segment + prices["compute"][i] * la.mults_per_segment
            if per:
                expr = expr + (per / tu) * m.n[r, k, i]
    for (q, _k, i, _j), byt in b.transfer.items():
        if q == r and prices["bandwidth"][i]:
            expr = expr + (float(prices["bandwidth"][i]) / tu) * byt
    m.obj.deactivate()
    m.priced_obj = pyo.Objective(expr=expr, sense=pyo.minimize)
    out = adapter.solve(m, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, warm_start=False, tee=tee)
    if out.termination is Termination.INFEASIBLE:
        return Priced(r, None, None, np.inf, True, out.wall_time, {"status": out.status})
    owners = b.to_assignment().owners[r] if out.has_solution else None
    value = None if out.incumbent is None else out.incumbent * tu
    if out.bound is not None:
        bound = out.bound * tu
    elif out.termination is Termination.OPTIMAL and value is not None:
        bound = value * (1 - mip_gap)  # the solver proved the gap but reports no bound
    else:
        bound = -np.inf
    if value is not None:
        bound = min(bound, value)
    return Priced(r, owners, value, bound, out.termination is Termination.OPTIMAL, out.wall_time,
                  {"status": out.status, "nodes": out.nodes})
