"""A model HiGHS refuses to load is an error naming the cause, never an empty model solved
(found fuzzing instances in the schema's ranges: a coefficient of 8.6e16 made HiGHS drop every
row, `MIP has 0 rows`, and call the empty model optimal at 0; optdist then failed reading the
placement back: `internal error: RuntimeError: request 0 layer conv1: solution owns 0 of 1
segments`)."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from optdist.solvers import get_solver
from optdist.solvers.base import SolverRefused


def _model(big: float) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(domain=pyo.NonNegativeReals)
    m.y = pyo.Var(domain=pyo.Binary)
    m.c = pyo.Constraint(expr=m.x + big * m.y >= 1)
    m.obj = pyo.Objective(expr=m.x + m.y)
    return m


def test_a_refused_model_is_an_error_naming_the_cause():
    with pytest.raises(SolverRefused, match=r"HiGHS refused .*holds 0 of 1 rows.*1e\+15"):
        get_solver("highs").solve(_model(1e16), time_limit=5)


def test_a_model_within_its_limits_solves():
    out = get_solver("highs").solve(_model(1e6), time_limit=5)
    assert out.has_solution and out.incumbent == pytest.approx(1.0)
