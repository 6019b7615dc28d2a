"""optdist: privacy-aware distributed CNN inference on IoT devices.

Solve instance files exactly (Pyomo + HiGHS or any MILP solver), score any placement with the
independent evaluator, and compare heuristics and RL against the optimum.
"""

from optdist.assignment import Assignment
from optdist.evaluate import Evaluation, evaluate
from optdist.instance import Instance, InstanceError, load_instance
from optdist.result import SolveResult, Termination
from optdist.solve import solve

__all__ = [
    "Assignment",
    "Evaluation",
    "Instance",
    "InstanceError",
    "SolveResult",
    "Termination",
    "evaluate",
    "load_instance",
    "solve",
]
__version__ = "0.1.0"
