"""Build either exact formulation of MODEL.md section 7 as a Pyomo model.

``build(inst, "compact" | "per-map", relax=..., requests=..., capacity_override=...)``
returns a :class:`BuiltModel`: the ``ConcreteModel`` (objective ``model.obj``, minimised, in
``TIME_UNIT`` seconds), one Block per constraint family, and the maps between model values
and per-map :class:`Assignment` objects (solution read-back, warm starts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.milp import constraints as C
from optdist.milp.data import TIME_UNIT, ModelData, model_data
from optdist.milp.extract import owners_from_model, set_model_values
from optdist.milp.objective import add_objective
from optdist.milp.variables import add_assignment_variables, add_stage_variables, add_transfer_variables

FORMULATIONS = ("compact", "per-map")

#: Constraint families in build order; each can be left out with ``build(relax=...)``.
FAMILIES: dict[str, Callable[[BuiltModel], None]] = {
    "one_owner": C.add_one_owner_constraints,
    "placement": C.add_placement_constraints,
    "memory": C.add_memory_constraints,
    "compute": C.add_compute_constraints,
    "bandwidth": C.add_bandwidth_constraints,
    "privacy": C.add_privacy_constraints,
    "transfers": C.add_transfer_constraints,
    "stage_time": C.add_stage_time_constraints,
}


@dataclass
class BuiltModel:
    """A built formulation: the Pyomo model plus what is needed to read and seed it.

    ``transfer[(r, k, i, j)]`` is the Pyomo expression of ``O[r,k,i,j]`` (bytes, ``i != j``,
    from layer k-1 on i to layer k on j). Objective values in seconds are
    ``pyo.value(model.obj) * time_unit``.
    """

    inst: Instance
    formulation: str
    data: ModelData
    model: pyo.ConcreteModel
    transfer: dict[tuple[int, int, int, int], pyo.Expression] = field(default_factory=dict)
    time_unit: float = TIME_UNIT

    @property
    def requests(self) -> tuple[int, ...]:
        return self.data.requests

    @property
    def relax(self) -> frozenset[str]:
        return self.data.relax

    def admit(self, r: int) -> pyo.Expression | int:
        """``a_r = 1 - reject_r`` with admission control, else 1."""
        return 1 - self.model.reject[r] if self.inst.objective.admission else 1

    def y(self, r: int, k: int, i: int) -> pyo.Var:
        """Participation of node i in layer k (``n`` itself for a one-segment layer)."""
        if self.data.layers(r)[k].segments == 1:
            return self.model.n[r, k, i]
        return self.model.y[r, k, i]

    def families(self) -> dict[str, pyo.Block]:
        """The constraint-family Blocks present in the model."""
        return {f: self.model.component(f) for f in FAMILIES if self.model.component(f) is not None}

    def objective_seconds(self) -> float:
        """Current value of the objective, in seconds."""
        return float(pyo.value(self.model.obj)) * self.time_unit

    def to_assignment(self) -> Assignment:
        """Per-map assignment of the loaded solution (compact: maps labelled along the flows).

        Requests outside the model are ``None``; ``meta['requests']`` lists those modelled.
        """
        return owners_from_model(self)

    def set_warm_start(self, asg: Assignment) -> None:
        """Set every variable of the modelled requests to the values ``asg`` implies."""
        set_model_values(self, asg)

    def stats(self) -> dict[str, int]:
        """Size of the model: variables (integer), constraints."""
        m = self.model
        vars_ = list(m.component_data_objects(pyo.Var, descend_into=True))
        return {
            "variables": len(vars_),
            "integer_variables": sum(1 for v in vars_ if v.is_integer()),
            "constraints": sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True, descend_into=True)),
        }


def build(
    inst: Instance,
    formulation: str = "compact",
    *,
    relax: frozenset[str] = frozenset(),
    requests: Sequence[int] | None = None,
    capacity_override: Mapping[str, np.ndarray] | None = None,
) -> BuiltModel:
    """Build ``formulation`` for ``inst``.

    ``relax``: constraint families to leave out (names in :data:`FAMILIES`); the bounds and
    big-Ms are derived only from the families kept. ``requests``: model only these request
    indices (the others are absent; capacities stay whole). ``capacity_override``: per-node
    arrays replacing ``memory`` / ``compute_capacity`` / ``bandwidth_capacity`` (short names
    ``compute`` and ``bandwidth`` accepted), e.g. a decomposition's share per request.
    """
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r}; choose one of {FORMULATIONS}")
    relax = frozenset(relax)
    unknown = sorted(relax - set(FAMILIES))
    if unknown:
        raise ValueError(f"relax: unknown constraint families {unknown}; known: {list(FAMILIES)}")
    data = model_data(inst, relax, requests, capacity_override)
    m = pyo.ConcreteModel(name=f"{inst.name}-{formulation}")
    b = BuiltModel(inst, formulation, data, m)
    add_assignment_variables(b)
    add_transfer_variables(b)
    add_stage_variables(b)
    for family, add in FAMILIES.items():
        if family not in relax:
            add(b)
    add_objective(b)
    return b
