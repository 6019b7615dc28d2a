"""SCIP through pyscipopt and ``pyomo.contrib.solver`` (``scip_direct``).

Typical raw options: ``"limits/nodes" = 10000``, ``"presolving/maxrounds" = 0``,
``"display/verblevel" = 4``. SCIP solves on one thread (``threads`` sets ``lp/threads`` only).
"""

from __future__ import annotations

from typing import Any, ClassVar

from optdist.solvers.base import ContribSolver, Feature


class Scip(ContribSolver):
    """SCIP (Apache 2.0, ``pip install pyscipopt``: the wheel bundles SCIP)."""

    name = "scip"
    pyomo_name = "scip_direct"
    features = frozenset({Feature.WARM_START, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "pip install pyscipopt   (or: pip install 'optdist[solvers]')"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "limits/time",
        "mip_gap": "limits/gap",
        "seed": "randomization/randomseedshift",
    }

    def _nodes(self, opt: Any, res: Any) -> int | None:
        model = getattr(opt, "_solver_model", None)
        return None if model is None else int(model.getNNodes())
