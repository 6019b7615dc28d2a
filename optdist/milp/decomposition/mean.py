"""LP-mean columns: one request placed within the mean usage of its class's LP mix (a primal heuristic).

Where requests compete for capacity and column generation has not converged (the CIFAR and
mixed coupled sets in 60 s, ``benchmarks/scale/README.md``, "LP-mean columns"), the restricted
LP master mixes a class's columns fractionally: cheap columns that use much of a binding row
and dear ones that use little. No integer choice among those columns is near the LP value
(``cifar-6x5-nexus-rpi3``: LP 0.4384 s over the 17 columns of a 60-s run, the per-device
integer master over them 0.4482 s, while the 4 distinct columns of the best known placement,
0.4267 s, are none of them); what packs is a column *between* them.

Maths (MODEL.md section 6, rows 10b-10d: requests meet only in the node capacities; a request's
usage ``a_p`` per master row and its cost ``c_p`` do not depend on the others). Let ``x_p``
(``sum_{p in c} x_p = n_c``) be the LP master's values over class c's columns. The *mean usage*
of the mix is ``abar_c = sum_p x_p a_p / n_c`` (:func:`mean_usage`); the LP's rows hold
``sum_c n_c abar_c <= cap``. The LP-mean column of class c is request c alone at its cheapest
(latency plus the shared-data weight times its bytes moved; prices 0) subject to
``a_p[row] <= abar_c[row]`` on the rows that bind (price > 0), a pricing model with branching
limits (:meth:`PricingModel.set_limits`, whose limits hold in truth, checked by the caller's
evaluator). ``n_c`` copies of it fit every such aggregated row together with the others' means,
so the per-device integer master over every column (relabelled within groups of identical
devices) can spread them; the copies differ only in their devices, which is how the best known
placements of the CIFAR sets are built (each request light on one device, another each).

A heuristic: columns and incumbents (re-scored by the independent evaluator), never bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from optdist.milp.decomposition.master import Column
from optdist.milp.decomposition.pricing import Priced, PricingModel
from optdist.transfers import RESOURCES


def mean_usage(mix: Sequence[tuple[float, Column]]) -> np.ndarray:
    """``sum_p x_p a_p / sum_p x_p`` (n_rows,) over an LP mix ``(x_p, column)`` of one class
    (``x_p > 0``; raises ValueError when empty or all zero)."""
    total = float(sum(x for x, _ in mix))
    if not mix or total <= 0:
        raise ValueError("mean_usage needs an LP mix with positive values")
    return sum(x * col.usage for x, col in mix) / total


def within(pm: PricingModel, limits: Sequence[tuple[Sequence[int], int, float]], *, time_limit: float,
           mip_gap: float, threads: int | None, seed: int | None, tee: bool = False,
           start: list[np.ndarray] | None = None, start_value: float | None = None) -> Priced:
    """``pm``'s request alone at its cheapest (all prices 0) with ``sum_{i in nodes} usage(i,
    res) <= value`` for each ``(nodes, res, value)`` of ``limits`` (``res``: index into
    :data:`~optdist.transfers.RESOURCES`; node indices on ``pm``'s own source), within
    ``time_limit`` seconds; ``start``: a placement meeting the limits (its cost
    ``start_value``), the MIP start, so the result is never dearer than it. One solve of the
    whole model, no rising latency cutoffs (the limits keep the optimum well above the stage
    bound, where each cutoff step would only prove a bound). The limits are lifted before it
    returns."""
    zero = {res: np.zeros(pm.inst.n_nodes) for res in RESOURCES}
    try:
        pm.set_limits([(tuple(nodes), RESOURCES[res], True, float(v)) for nodes, res, v in limits])
        return pm.solve(zero, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, tee=tee,
                        start=start, start_value=start_value, steps=(math.inf,))
    finally:
        pm.set_limits([])
