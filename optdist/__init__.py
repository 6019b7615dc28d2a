"""optdist: privacy-aware distributed CNN inference on IoT devices.

Solve instance files exactly (Pyomo + HiGHS or any MILP solver), score any placement with the
independent evaluator, and compare heuristics and RL against the optimum. Profile your own
torch CNN with ``optdist.profile_module(module, (C, H, W))`` (needs torch). ``optdist.METHODS``
is the registry of method names ``optdist.solve`` takes (``optdist.solve`` here is the function, so
``import optdist.solve as m`` gives the function, not its module: use ``from optdist.solve import ...``).
"""

from optdist.assignment import Assignment
from optdist.evaluate import Evaluation, evaluate
from optdist.instance import Instance, InstanceError, load_instance
from optdist.result import SolveResult, Termination
from optdist.solve import METHODS, solve

__all__ = [
    "Assignment",
    "Evaluation",
    "Instance",
    "InstanceError",
    "METHODS",
    "SolveResult",
    "Termination",
    "evaluate",
    "load_instance",
    "solve",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``optdist.profile_module`` (:func:`optdist.tracing.profile_module`), imported on first use: it needs torch."""
    if name == "profile_module":
        from optdist.tracing import profile_module

        return profile_module
    raise AttributeError(f"module 'optdist' has no attribute {name!r}")
