"""Exact MILP formulations of the placement problem (MODEL.md sections 3-8) and their solving.

``build(inst, formulation)`` gives a :class:`BuiltModel` (Pyomo model, one Block per
constraint family, read-back and warm start); :func:`optdist.milp.solve.solve_milp` solves it
with any adapter of :mod:`optdist.solvers`.
"""

from optdist.milp.data import TIME_UNIT
from optdist.milp.model import FAMILIES, FORMULATIONS, BuiltModel, build

__all__ = ["FAMILIES", "FORMULATIONS", "TIME_UNIT", "BuiltModel", "build"]
