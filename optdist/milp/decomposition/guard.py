"""The guard on reported bounds: no solver's claim may raise a bound above a known feasible point.

A lower bound on a minimisation is valid only if it is at most the objective of every feasible
point of that problem. A solver that claims a false optimum breaks this: GLPK 5 reports the
optimum 0.002858 s on saved pricing solve 0 of ``lenet-10x10-tight-tau0.8`` (no start) whose
optimum is 0.000756 s (HiGHS and SCIP agree; ``benchmarks/scale/pricing_probe.py time
benchmarks/scale/pricing_prices/lenet-10x10-tight-tau0.8.json --solver glpk --only 0``), and the
decomposition's Lagrangian bound sums the pricing bounds. So every bound a pricing solve reports
inside column generation, column generation's own bound (they steer its rounds), and the bound a
run reports (:func:`optdist.result.finalize`) pass :func:`cap_bound` with the objectives of the
feasible points known for that same problem (the columns known for the class at the current
prices, the warm start, the solve's own incumbent; for a run, its incumbent). A cap made inside
column generation is recorded in the run's ``extra['bound_capped']``, and finalize then leaves the
run unproven: its bound was built from the capped value. A per-class solve keeps its bound
uncapped (:func:`optdist.result.within_rounding` only), so the run's own cap sees the false
value. The cap is always valid (the optimum is at most any feasible objective); where it bites beyond
:data:`~optdist.result.AGREE_RTOL` (more than the solvers' tolerances) it is recorded and logged
once per record (a run) as a warning naming the solver.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

from optdist.result import AGREE_RTOL, gap

log = logging.getLogger("optdist")


def cap_bound(bound: float, known: Iterable[float | None], *, solver: str, what: str,
              record: list[dict] | None = None) -> float:
    """``bound`` (seconds) capped at the least objective in ``known`` (seconds; None and
    non-finite values are skipped: no point known).

    ``solver``: the adapter or profile whose claim ``bound`` is (named in the warning);
    ``what``: which solve or run (named in the record). Where the cap exceeds the solver
    tolerance (relative gap above :data:`~optdist.result.AGREE_RTOL`), appends
    ``{"what", "solver", "reported", "capped_to"}`` (``reported`` None: the solver claimed that no
    point exists, an infinite bound) to ``record`` and, if ``record`` held no
    entry before (or is None), logs a warning on the ``optdist`` logger (the claim just recorded,
    made again, is not recorded twice). Returns the capped bound.
    """
    least = min((float(v) for v in known if v is not None and math.isfinite(v)), default=math.inf)
    if not bound > least:
        return bound
    if not math.isfinite(bound) or (gap(least, bound) or 0.0) > AGREE_RTOL:  # inf: "no placement" claimed
        if not record:
            log.warning("solver %s reported a bound %.9g above a feasible point's objective %.9g (%s): the "
                        "bound is capped there (extra['bound_capped'] lists every cap)", solver, bound, least, what)
        entry = {"what": what, "solver": solver, "reported": float(bound) if math.isfinite(bound) else None,
                 "capped_to": least}
        if record is not None and (not record or record[-1] != entry):  # the same claim again: once
            record.append(entry)
    return least
