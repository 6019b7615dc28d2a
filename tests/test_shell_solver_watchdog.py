"""A shell solver that does not honour its time limit is stopped by optdist's own clock.

Found at load ~5: ``optdist.solve('instances/paper/lenet-10x70-tight-tau0.8.json',
formulation='compact', solver='cbc', time_limit=15)`` ran 200 s and more: CBC reads the model's
63-MB LP file for minutes before its clock (``-seconds``) starts. Here a real ``cbc`` is started
late by a wrapper script (the stand-in for the slow read), so the test takes seconds.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from pyomo.common import Executable

from optdist.result import Termination
from optdist.solvers import base, get_solver
from tests.test_decomp_limits import _tiny

CBC = shutil.which("cbc")
pytestmark = pytest.mark.skipif(CBC is None, reason="cbc not installed: apt-get install coinor-cbc")


@pytest.fixture
def late_cbc(tmp_path: Path):
    """``cbc`` as Pyomo runs it is a script that, for a solve (``-solve`` on its command line),
    waits 60 s and then becomes the real CBC (one process, as CBC is); other calls (the version
    check) run CBC at once."""
    script = tmp_path / "cbc"
    script.write_text(f"#!{sys.executable}\nimport os, sys, time\nif '-solve' in sys.argv:\n    time.sleep(60)\n"
                      f"os.execv({CBC!r}, [{CBC!r}, *sys.argv[1:]])\n")
    script.chmod(0o755)
    exe = Executable("cbc")
    exe.set_path(str(script))
    try:
        yield script
    finally:
        exe.set_path(None)
        exe.rehash()


def test_a_shell_solver_past_its_limit_is_stopped(late_cbc: Path) -> None:
    """A 2-s limit: the solve returns within the limit + the grace (1 s) + CBC's stop grace (2 s)
    + slack for a loaded machine, without a solution, saying it was stopped (before: 60 s)."""
    cbc = get_solver("cbc")
    limit = 2.0
    t0 = time.perf_counter()
    out = cbc.solve(_tiny(), time_limit=limit, threads=1)
    wall = time.perf_counter() - t0
    assert wall < limit + base.GRACE_S + cbc.stop_grace + 8.0, wall
    assert out.termination is Termination.NO_SOLUTION and not out.has_solution
    assert "at its time limit" in out.extra["cancelled"]


def test_a_shell_solver_within_its_limit_is_not_stopped() -> None:
    """The real CBC on the same model with the same limit: optimal, nothing cancelled."""
    out = get_solver("cbc").solve(_tiny(), time_limit=2.0, threads=1)
    assert out.termination is Termination.OPTIMAL and out.incumbent == pytest.approx(3.0)
    assert "cancelled" not in out.extra
