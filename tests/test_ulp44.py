"""A run's bound is never above its reported objective, not even by a float step (ulp44):
``micro-3x2-admission`` with HiGHS reported objective 0.08999166592797783 and bound
0.08999166592797785 (the evaluator's score, to which finalize capped it), one ulp above (verify44)."""

from __future__ import annotations

from pathlib import Path

import optdist
from optdist.result import Termination

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def test_the_bound_is_at_most_the_reported_objective():
    for name in ("micro-3x2-admission", "micro-2x3-tight", "micro-1x3-tau0.6"):
        res = optdist.solve(str(TINY / f"{name}.json"), time_limit=30, threads=1)
        assert res.termination is Termination.OPTIMAL, (name, res.termination)
        assert res.bound <= res.objective, (name, res.bound, res.objective)
        assert res.bound <= res.evaluation.objective, (name, res.bound, res.evaluation.objective)
