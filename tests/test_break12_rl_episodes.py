"""`optdist solve --method rl --episodes N` takes the range `optdist train-rl --episodes` does
(found: `--episodes 0` and `--episodes -1` trained nothing and placed with the untrained policy,
exit 0, where train-rl refuses both)."""

from __future__ import annotations

import pytest

from optdist.cli import main
from tests.conftest import ROOT

TINY = str(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json")


@pytest.mark.parametrize("n", ["0", "-1"])
def test_solve_rl_refuses_no_episodes(n, capsys):
    assert main(["solve", TINY, "--method", "rl", "--episodes", n]) == 2
    assert (f"--episodes {n} is out of range (fix: give a whole number of layer episodes in [1, 10,000,000], "
            "e.g. --episodes 2000)") in capsys.readouterr().err


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_the_library_refuses_no_episodes(n):
    import optdist

    inst = optdist.load_instance(TINY)
    with pytest.raises(ValueError, match=rf"episodes = {n!r}: give a whole number >= 1"):
        optdist.solve(inst, method="rl", episodes=n)
