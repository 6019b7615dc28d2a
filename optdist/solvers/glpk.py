"""GLPK through Pyomo's legacy ``glpk`` shell interface (``glpsol``).

Typical raw options: ``cuts = ""`` (all cuts), ``pcost = ""`` (pseudo-cost branching).
No threads and no MIP start; at a time limit ``glpsol`` reports the incumbent as 'feasible'.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from optdist.solvers.base import Feature, LegacySolver


class Glpk(LegacySolver):
    """GLPK (GPL; Debian ``apt-get install glpk-utils``)."""

    name = "glpk"
    pyomo_name = "glpk"
    features = frozenset({Feature.SEED, Feature.BOUND})
    install_hint = "apt-get install glpk-utils   (or conda install -c conda-forge glpk); needs `glpsol` on PATH"
    option_names: ClassVar[dict[str, str]] = {"time_limit": "tmlim", "mip_gap": "mipgap", "seed": "seed"}

    def native_value(self, option: str, value: Any) -> Any:
        """``glpsol --tmlim`` takes whole seconds (rounded up, at least 1)."""
        return max(1, math.ceil(value)) if option == "time_limit" else value
