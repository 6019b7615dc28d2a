"""Exact MILP formulations of the placement problem (MODEL.md sections 3-8) and their solving.

``build(inst, formulation)`` gives a :class:`BuiltModel` (Pyomo model, one Block per
constraint family, read-back and warm start) for ``compact``, ``per-map`` or ``tight``
(:mod:`optdist.milp.tight`); :func:`optdist.milp.solve.solve_milp` solves it with any adapter
of :mod:`optdist.solvers`, or runs the decomposition by request
(:mod:`optdist.milp.decomposition`), which ``formulation='auto'`` (the default) picks when it
applies. :data:`optdist.milp.run.DEFAULT_MIP_GAP` is the one default gap of every path.
"""

from optdist.milp.data import TIME_UNIT
from optdist.milp.model import FAMILIES, FORMULATIONS, BuiltModel, build

__all__ = ["FAMILIES", "FORMULATIONS", "TIME_UNIT", "BuiltModel", "build"]
