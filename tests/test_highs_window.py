"""The HiGHS adapter's watchdog firing in the window after HiGHS's ``run()`` returned and before
the solve ends (``_Cancel.end``): the solve finished on its own, so the outcome is HiGHS's own
(no ``cancelled``, the termination HiGHS gave, the model kept loaded). The recorded watchdog
timer (:func:`tests.conftest.record_watchdog_timers`) is fired by hand at that moment: as Pyomo
reads the results back (``_postsolve``, which its ``_solve`` calls right after ``run()``)."""

from __future__ import annotations

from typing import Any

import pytest

from optdist.result import Termination
from optdist.solvers import base, get_solver
from tests.conftest import record_watchdog_timers
from tests.test_decomp_limits import _hard, _tiny


def _fire_after_run(monkeypatch: pytest.MonkeyPatch) -> list:
    """Make the HiGHS solves fire their recorded watchdog timer's action once ``run()`` has returned:
    returns the recorded timers."""
    from pyomo.contrib.solver.solvers.highs import Highs as PyomoHighs

    from optdist.solvers import highs

    timers = record_watchdog_timers(monkeypatch, highs)
    postsolve = PyomoHighs._postsolve

    def fire_then_read(self: Any, stream: Any) -> Any:
        timers[-1].function()  # the watchdog's stop, as if its timer fired now
        return postsolve(self, stream)

    monkeypatch.setattr(PyomoHighs, "_postsolve", fire_then_read)
    return timers


def test_a_timer_firing_after_run_returned_leaves_an_optimal_solve_and_its_kept_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An optimal solve whose watchdog fires after ``run()`` returned: optimal, not ``cancelled``,
    the stop lag unlearnt, and its model kept loaded for the next solve, which re-solves it (before:
    ``cancelled`` and the kept model dropped, the next solve loading it anew)."""
    timers = _fire_after_run(monkeypatch)
    adapter = get_solver("highs")
    adapter.require()
    model = _tiny()
    lag = base.Solver.stop_lag, type(adapter).stop_lag
    out = adapter.solve(model, time_limit=60.0, threads=1, keep=True)
    assert len(timers) == 1
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0)
    assert "cancelled" not in out.extra, out.extra
    assert (base.Solver.stop_lag, type(adapter).stop_lag) == lag
    assert adapter._kept is not None and adapter._kept[0] is model
    kept = adapter._kept[1]
    again = adapter.solve(model, time_limit=60.0, threads=1, keep=True)  # the timer fires again: nothing
    assert again.termination is Termination.OPTIMAL and "cancelled" not in again.extra
    assert adapter._kept is not None and adapter._kept[1] is kept  # re-solved in the same HiGHS


def test_a_timer_firing_after_run_returned_keeps_highs_own_termination(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solve HiGHS ended at its own limit on improving solutions (``mip_max_improving_sols = 1``:
    ``kSolutionLimit``, ``iteration_limit`` here), whose watchdog fires after ``run()`` returned:
    ``iteration_limit`` with the solution, not ``cancelled`` (before: ``time_limit``, as if the
    watchdog had stopped it)."""
    _fire_after_run(monkeypatch)
    adapter = get_solver("highs")
    adapter.require()
    out = adapter.solve(_hard(80, 40), time_limit=60.0, threads=1, solver_options={"mip_max_improving_sols": 1})
    assert out.termination is Termination.ITERATION_LIMIT and out.has_solution, out
    assert "cancelled" not in out.extra, out.extra
