"""break14: ``optdist pareto --points`` is bounded (100000 ran that many MILPs, and 0 said only
'points must be >= 1'), and equal shared-data levels are solved once."""

from __future__ import annotations

import pytest

from optdist.cli import main
from optdist.instance import load_instance
from optdist.milp.pareto import MAX_POINTS, pareto_sweep

from .conftest import ROOT

MICRO = ROOT / "instances/tiny/micro-1x3-tau0.6.json"  # one shared-data level: S_lo == S_hi == 672 B


@pytest.mark.parametrize("points", ["0", "-3", "100000", "2.5"])
def test_the_cli_names_the_flag_and_its_range(points, capsys, tmp_path):
    assert main(["pareto", str(MICRO), "--points", points, "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert f"--points {points} is" in err and "shared-data levels in [1, 1,000]" in err
    assert not list(tmp_path.iterdir())


def test_the_help_states_the_limit(capsys):
    with pytest.raises(SystemExit):
        main(["pareto", "--help"])
    assert f"at most {MAX_POINTS}" in " ".join(capsys.readouterr().out.split())


def test_the_api_refuses_too_many_points_naming_the_range():
    with pytest.raises(ValueError, match=rf"points 100000 is outside \[1, {MAX_POINTS}\]"):
        pareto_sweep(load_instance(MICRO), 100000)


def test_equal_levels_are_solved_once():
    front = pareto_sweep(load_instance(MICRO), 30, formulation="tight")
    assert len(front) == 1  # was 30 solves of one and the same MILP
    assert front[0].shared_bytes == front[0].eps_bytes == 672 and front[0].termination == "optimal"
