"""Gurobi through gurobipy and ``pyomo.contrib.solver`` (``gurobi_direct``).

The pip wheel bundles a size-limited licence (2000 variables and constraints): enough for
the tiny instances. Typical raw options: ``MIPFocus = 1``, ``Presolve = 2``, ``Cuts = 0``.
"""

from __future__ import annotations

from typing import ClassVar

from optdist.solvers.base import ContribSolver, Feature


class Gurobi(ContribSolver):
    """Gurobi (commercial; ``pip install gurobipy``, size-limited without a licence file)."""

    name = "gurobi"
    pyomo_name = "gurobi_direct"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND})
    install_hint = "pip install gurobipy scipy   (size-limited licence bundled; full licence: gurobi.com)"
    abs_gap = 1e-10  # Gurobi's default MIPGapAbs
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "TimeLimit",
        "mip_gap": "MIPGap",
        "threads": "Threads",
        "seed": "Seed",
    }
