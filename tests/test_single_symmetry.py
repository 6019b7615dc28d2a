"""The per-request solves (``optdist.milp.decomposition.single.solve_single``) order identical
devices lexicographically (``optdist.milp.tight.lexicographic_symmetry``): the optimum of every
tiny one-request set stays the compact formulation's."""

from __future__ import annotations

import pytest

from optdist.milp import build
from optdist.milp.decomposition.single import solve_single
from optdist.milp.tight import device_groups
from optdist.result import Termination
from tests.test_decompose import compact_optimum, tiny

ONE_REQUEST = ["cifar-1x4-tau0.8", "lenet-1x4-tau0.6", "lenet-1x4-tau0.8", "micro-1x3-tau0.6"]


@pytest.mark.parametrize("name", ONE_REQUEST)
def test_single_solve_keeps_the_compact_optimum(name):
    inst = tiny(name)
    assert device_groups(build(inst, "tight", requests=[0])), "a set with identical devices: the rows act"
    ss = solve_single(inst, 0, time_limit=60, mip_gap=1e-9, threads=1)
    assert ss.termination is Termination.OPTIMAL
    assert ss.objective == pytest.approx(compact_optimum(name), rel=1e-7)
