"""HiGHS's thread pool is reset in one place (fixes16): seven call sites repeated
``highspy.Highs.resetGlobalScheduler(True)``; they call :func:`optdist.solvers.highs.fresh_thread_pool`."""

from __future__ import annotations

import pytest

from optdist.solvers.highs import fresh_thread_pool
from tests.conftest import ROOT


def test_only_the_helper_resets_the_pool():
    """No other module names the reset at all (an alias or ``h.resetGlobalScheduler`` counts too)."""
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "optdist").rglob("*.py") if "resetGlobalScheduler" in p.read_text()}
    assert files == {"optdist/solvers/highs.py"}


def test_runs_with_different_threads_both_solve_after_a_fresh_pool():
    """The reason for the helper: a run whose threads differ from the pool's is refused unless the pool is fresh."""
    highspy = pytest.importorskip("highspy")

    def run(threads: int):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", threads)
        inf = highspy.kHighsInf
        h.addVar(0.0, 10.0)
        h.changeColCost(0, 1.0)
        h.changeColIntegrality(0, highspy.HighsVarType.kInteger)
        h.addRow(2.5, inf, 1, [0], [1.0])
        fresh_thread_pool()
        h.run()
        return h.getModelStatus(), h.getInfo().objective_function_value

    for threads in (1, 2, 1):
        status, value = run(threads)
        assert status == highspy.HighsModelStatus.kOptimal and value == pytest.approx(3.0)
