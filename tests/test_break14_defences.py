"""break14: the defences' settings are checked before any work: DP budgets nan / inf / 0 / < 0
(dp-effect printed a NaN row for nan and crashed with ZeroDivisionError for inf; dp-sweep trained
first), tau outside (0, 1], defq-eval's split 0 (read index -1) or 99 (IndexError), attack budgets."""

from __future__ import annotations

import math

import pytest

from optdist.cli import main
from optdist.defences import dp
from optdist.defences.defq_measure import DefQConfig
from optdist.defences.dp_effect import dp_effect
from optdist.defences.dp_measure import SweepConfig

BAD_EPS = [0.0, -1.0, math.nan, math.inf]


@pytest.mark.parametrize("eps", BAD_EPS)
def test_dp_effect_refuses_a_budget_that_is_no_budget(eps):
    with pytest.raises(ValueError, match=r"per-element Laplace budgets in \[1e-06, 1e\+06\]"):
        dp_effect("lenet", "ReLU1", eps, 0.3)


@pytest.mark.parametrize("tau", [0.0, 2.0, math.nan, -0.1])
def test_dp_effect_refuses_a_tau_outside_0_1(tau):
    with pytest.raises(ValueError, match=r"tolerated SSIM: give a number in \(0, 1\]"):
        dp_effect("lenet", "ReLU1", 10.0, tau)


@pytest.mark.parametrize("eps", ["inf", "nan", "0"])
def test_the_cli_exits_2_naming_the_budget(eps, capsys):
    assert main(["dp-effect", "lenet", "ReLU1", "--eps", "10", eps]) == 2  # inf was exit 3 (ZeroDivisionError)
    err = capsys.readouterr().err
    said = "is not a number" if eps == "nan" else "is out of range"  # nan: not a number (scip28)
    assert f"--eps {eps} {said} (fix: give per-element Laplace budgets in [1e-06, 1e+06], e.g. --eps 100)" in err  # msgs26
    assert "internal error" not in err


def test_laplace_scale_needs_finite_positive_numbers():
    assert dp.laplace_scale(2.0, 1.0) == 1.0
    for eps, bound in ((math.nan, 1.0), (math.inf, 1.0), (1.0, math.nan), (1.0, 0.0)):
        with pytest.raises(ValueError, match="finite numbers > 0"):
            dp.laplace_scale(eps, bound)


@pytest.mark.parametrize("eps", BAD_EPS)
def test_the_dp_sweep_refuses_its_grid_before_training(eps):
    with pytest.raises(ValueError, match=r"per-element Laplace budgets in \[1e-06, 1e\+06\]"):
        SweepConfig(eps=(1.0, eps))


@pytest.mark.parametrize("split", [0, -1, 7, 99])
def test_defq_refuses_a_split_outside_the_outputs(split):
    with pytest.raises(ValueError, match=r"split .*give a whole number in \[1, 6\]"):
        DefQConfig(split=split)


@pytest.mark.parametrize("eps", [0.0, -1.0, 1.5, math.nan])
def test_defq_refuses_attack_budgets_outside_0_1(eps):
    with pytest.raises(ValueError, match=r"attack_eps .* \(0, 1\]"):
        DefQConfig(attack_eps=(0.1, eps))


def test_the_defaults_and_the_ends_are_accepted():
    assert SweepConfig().eps and DefQConfig().split == 2
    assert DefQConfig(split=1).split == 1 and DefQConfig(split=6, attack_eps=(1.0,)).split == 6


@pytest.mark.parametrize("lo, his", [(0.0, (60.0,)), (math.nan, (60.0,)), (20.0, (10.0,)), (20.0, ()), (20.0, (math.inf,))])
def test_defq_refuses_step_ranges_it_cannot_use(lo, his):
    with pytest.raises(ValueError, match=r"lo .* his .*lo >= 1 and each hi >= lo"):
        DefQConfig(lo=lo, his=his)


def test_defq_refuses_a_table_with_nan_steps():
    import numpy as np

    from optdist.defences.defq import defq

    table = np.full((8, 8), 20.0)
    table[3, 3] = np.nan  # passed the 'positive steps' check (nan <= 0 is False) and gave nan images
    with pytest.raises(ValueError, match="finite positive steps"):
        defq(np.zeros((1, 8, 8)), table)
