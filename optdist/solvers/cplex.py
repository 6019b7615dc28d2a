"""CPLEX through its Python API and Pyomo's legacy ``cplex_direct`` interface.

The pip wheel is the Community Edition (1000 variables and 1000 constraints). Typical raw
options: ``mip_strategy_heuristicfreq = 10``, ``emphasis_mip = 1``.
"""

from __future__ import annotations

from typing import ClassVar

from optdist.solvers.base import Feature, LegacySolver


class Cplex(LegacySolver):
    """IBM CPLEX (commercial; ``pip install cplex`` = size-limited Community Edition)."""

    name = "cplex"
    pyomo_name = "cplex_direct"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND})
    install_hint = "pip install cplex   (Community Edition, size-limited; full: IBM ILOG CPLEX Optimization Studio)"
    abs_gap = 1e-6  # CPLEX's default absmipgap
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "timelimit",
        "mip_gap": "mip_tolerances_mipgap",
        "threads": "threads",
        "seed": "randomseed",
    }
