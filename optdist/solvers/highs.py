"""HiGHS in-process through ``pyomo.contrib.solver`` (the default solver).

Typical raw options (``solver_options`` in a profile): ``presolve = "on"``,
``mip_heuristic_effort = 0.05``, ``mip_feasibility_tolerance = 1e-6``, ``log_to_console``.
HiGHS's gap is ``|p - d| / |p|``; optdist reports its own (:func:`optdist.result.gap`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyomo.environ as pyo

from optdist.solvers.base import ContribSolver, Feature


class Highs(ContribSolver):
    """HiGHS (MIT licence, ``pip install highspy``)."""

    name = "highs"
    pyomo_name = "highs"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "pip install highspy"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "time_limit",
        "mip_gap": "mip_rel_gap",
        "threads": "threads",
        "seed": "random_seed",
    }

    def _warm_start(self, opt: Any, model: pyo.ConcreteModel, cfg: dict[str, Any]) -> None:
        """``Highs.setSolution`` with every Var that has a value (the new interface has no warm start).

        Uses the persistent solver's ``_solver_model`` / ``_pyomo_var_to_solver_var_map``
        (private in pyomo 6.10, pinned by pyproject).
        """
        opt.set_instance(model)
        cols, vals = [], []
        for v in model.component_data_objects(pyo.Var, descend_into=True):
            col = opt._pyomo_var_to_solver_var_map.get(id(v))
            if col is not None and v.value is not None:
                cols.append(col)
                vals.append(float(v.value))
        opt._solver_model.setSolution(len(cols), np.array(cols, dtype=np.int32), np.array(vals, dtype=float))
