"""Objective (eq. 5 and MODEL.md section 8) and the epsilon-constraint on shared data.

In ``TIME_UNIT`` seconds, minimised:

    sum_r latency_r                       (kind latency, eq. 5)   or   makespan >= latency_r
    + (lambda / TIME_UNIT) * sum_r shared_r                       (shared_weight, s per byte)
    + (penalty / TIME_UNIT) * sum_r reject_r                      (admission control)

with ``latency_r = sum_k T[r,k]`` and ``shared_r = sum_{t,i!=j} O[r,t,i,j]`` (bytes, over every
transition t, :mod:`optdist.milp.data`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.environ as pyo

from optdist.milp.data import TIME_UNIT

if TYPE_CHECKING:
    from optdist.milp.model import BuiltModel


def latency_expr(b: BuiltModel, r: int) -> pyo.Expression:
    """``latency_r = sum_k T[r,k]`` in TIME_UNIT."""
    return sum(b.model.T[r, k] for k in range(len(b.data.layers(r))))


def shared_bytes_expr(b: BuiltModel, r: int | None = None) -> pyo.Expression:
    """Bytes moved between different nodes: of request r, or of every request in the model."""
    return sum(expr for (q, *_), expr in b.sent.items() if r is None or q == r)


def add_objective(b: BuiltModel) -> None:
    """``model.obj`` as in the module docstring; makespan rows in block ``model.objective_rows``."""
    m, d, obj = b.model, b.data, b.inst.objective
    blk = pyo.Block(concrete=True)
    m.add_component("objective_rows", blk)
    if obj.kind == "makespan":
        blk.makespan = pyo.Constraint(list(d.requests), rule=lambda _, r: m.makespan >= latency_expr(b, r))
        expr = m.makespan
    else:
        expr = sum(latency_expr(b, r) for r in d.requests)
    if obj.shared_weight > 0:
        expr = expr + (obj.shared_weight / TIME_UNIT) * shared_bytes_expr(b)
    if obj.admission:
        expr = expr + (b.inst.rejection_penalty() / TIME_UNIT) * sum(m.reject[r] for r in d.requests)
    m.obj = pyo.Objective(expr=expr, sense=pyo.minimize)


def add_shared_bytes_limit(b: BuiltModel, limit: float) -> pyo.Param:
    """Epsilon-constraint ``sum_r shared_r <= eps`` (bytes); returns the mutable ``eps`` Param."""
    m = b.model
    if m.component("shared_limit") is None:
        m.shared_eps = pyo.Param(mutable=True, initialize=float(limit))
        m.shared_limit = pyo.Constraint(expr=shared_bytes_expr(b) <= m.shared_eps)
    else:
        m.shared_eps.set_value(float(limit))
    return m.shared_eps
