"""``python -m optdist.cli``, ``python -m optdist`` and the ``optdist`` script behave the same.

``python -m optdist.cli`` once reported user errors as internal errors (exit 3): the file ran as
``__main__``, a second copy of the module, whose CliError is not the one the commands raise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"
SCRIPT = Path(sys.executable).parent / "optdist"

ENTRY_POINTS = [
    pytest.param([sys.executable, "-m", "optdist.cli"], id="python -m optdist.cli"),
    pytest.param([sys.executable, "-m", "optdist"], id="python -m optdist"),
    pytest.param([str(SCRIPT)], id="optdist script",
                 marks=pytest.mark.skipif(not SCRIPT.exists(), reason="optdist is not installed in this environment")),
]


def run(cmd: list[str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("cmd", ENTRY_POINTS)
def test_user_errors_exit_2_from_every_entry_point(cmd):
    res = run(cmd, "solve", str(MICRO), "--solver-option", "foo")
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith('optdist solve: error: --solver-option "foo" is not KEY=VALUE')
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("cmd", ENTRY_POINTS)
def test_a_solve_exits_0_from_every_entry_point(cmd):
    res = run(cmd, "-q", "solve", str(MICRO), "--method", "greedy")
    assert res.returncode == 0, res.stderr
    assert res.stdout and not res.stderr
