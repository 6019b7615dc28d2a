"""A shell solver's outcome says where its time went (fixes16, for the time-limit overruns of
benchmarks/milp/README.md): writing the model file, the solver process, reading the solution back."""

from __future__ import annotations

import pytest

from optdist.instance import load_instance
from optdist.milp.model import build
from optdist.solvers import get_solver
from tests.conftest import ROOT, requires_solver


@pytest.mark.parametrize("solver", [pytest.param(s, marks=requires_solver(s)) for s in ("cbc", "glpk")])
def test_the_phases_of_a_shell_solve_add_up_to_its_wall_time(solver):
    b = build(load_instance(ROOT / "instances" / "tiny" / "micro-2x3-tight.json"), "tight")
    out = get_solver(solver).solve(b.model, time_limit=30)
    phases = out.extra["phases_s"]
    assert list(phases) == ["write", "solver", "read"] and all(v >= 0 for v in phases.values())
    assert sum(phases.values()) == pytest.approx(out.wall_time, abs=0.05)
    assert out.termination == "optimal"
