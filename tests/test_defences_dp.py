"""DP mechanism closed forms, accounting and the paper-table predictors (numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optdist.defences import dp, dp_tables


def test_laplace_scale_and_variance_match_monte_carlo():
    # reference notes: B = 100, eps = 10 -> variance 8 B^2 / eps^2 = 800
    st = dp.noise_stats(10.0, 100.0, (16, 16))
    assert st["b"] == 20.0 and st["variance"] == pytest.approx(800.0)
    assert st["energy_per_map"] == pytest.approx(256 * 800.0)
    assert st["l1_per_map"] == pytest.approx(256 * 20.0)
    x = np.zeros((200, 4, 16, 16))
    n = dp.privatize(x, 100.0, 10.0, np.random.default_rng(1))
    assert n.var() == pytest.approx(800.0, rel=0.02)
    assert np.abs(n).reshape(200, 4, -1).sum(-1).mean() == pytest.approx(256 * 20.0, rel=0.02)
    assert (np.abs(n) > 100.0).mean() == pytest.approx(math.exp(-5.0), rel=0.1)


@pytest.mark.parametrize(
    ("eps", "sigma_over_b", "peak_db", "p_exceed"),
    [(1, 2.828, -9.03, 0.607), (2, 1.414, -3.01, 0.368), (10, 0.283, 10.97, 0.0067), (200, 0.0141, 36.99, 0.0)],
)
def test_b_free_table(eps, sigma_over_b, peak_db, p_exceed):
    st = dp.noise_stats(eps, 7.0, (1, 1))
    assert st["sigma_over_B"] == pytest.approx(sigma_over_b, abs=6e-4)
    assert st["peak_snr_db"] == pytest.approx(peak_db, abs=0.01)
    assert st["peak_snr_db"] == pytest.approx(20 * math.log10(eps) - 9.031, abs=1e-3)
    assert st["p_exceed_B"] == pytest.approx(p_exceed, abs=6e-4)


def test_per_map_snr_closed_form():
    q = np.array([25.0, 100.0])
    st = dp.noise_stats(20.0, 10.0, (8, 8), mean_square=q)
    np.testing.assert_allclose(st["snr"], q * 20.0**2 / (8 * 10.0**2))


def test_paper_noise_std_for_case1_bounds():
    # reference notes: case 1 sigma 65.1-70.7 at eps=10 and 3.26-3.54 at eps=200 (Table 1 bounds)
    lo, hi = dp_tables.bound("CIFAR10", 1), dp_tables.bound("SVHN", 1)
    assert dp.noise_stats(10, lo, (1, 1))["sigma"] == pytest.approx(65.1, abs=0.05)
    assert dp.noise_stats(10, hi, (1, 1))["sigma"] == pytest.approx(70.7, abs=0.05)
    assert dp.noise_stats(200, hi, (1, 1))["sigma"] == pytest.approx(3.54, abs=0.005)


def test_clip_is_a_global_rescale_not_a_clamp():
    x = np.array([[[4.0, -2.0], [1.0, 0.5]], [[0.5, 0.1], [0.0, -0.2]]])
    y = dp.clip_rescale(x, 1.0)
    np.testing.assert_allclose(y[0], x[0] / 4.0)  # ratios kept, sup norm = B
    np.testing.assert_allclose(y[1], x[1])  # already inside the bound
    assert np.abs(y).max() == pytest.approx(1.0)


def test_calibrate_bound_is_median_sup_norm():
    x = np.arange(1, 301, dtype=float)[:, None, None] * np.array([[1.0, -1.0]])
    assert dp.calibrate_bound(x, n=300) == pytest.approx(150.5)
    b = dp.calibrate_bound(x, rng=np.random.default_rng(3))  # 100 random samples
    assert 100 < b < 200


def test_device_accounting():
    # reference example: 8 maps of 16x16 at eps = 200 -> 409,600
    acc = dp.accounting(200.0, 8, 16, 16)
    assert acc["eps_device"] == 409_600 and acc["coordinates"] == 2048
    assert dp.eps_element_for_device(409_600, 8, 16, 16) == pytest.approx(200.0)


def test_recomputed_losses_reproduce_text_values():
    g = dp_tables.grid()
    checks = {  # (dataset, eps): normalised losses C1/C2/C3 quoted in the paper's text
        ("SVHN", 10): (0.020, 3.476, 2.750),
        ("GTSRB", 100): (1.499, 2.475, 5.216),
        ("STL10", 1000): (5.345, 4.684, 6.998),
        ("CIFAR10", 200): (8.473, 14.551, 17.450),
    }
    for (ds, eps), want in checks.items():
        got = [dp_tables.norm_loss(ds, c)[g == eps][0] for c in (1, 2, 3)]
        np.testing.assert_allclose(got, want, atol=1.5e-3)


def test_headline_losses_recomputed():
    got = dp_tables.headline_losses()
    want = {"SVHN": 0.915, "GTSRB": 2.951, "STL10": 5.487, "CIFAR10": 14.009}
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-3)


def test_psnr_from_mse_fixes_the_printed_column():
    assert dp_tables.psnr_from_mse(12071.39) == pytest.approx(7.31, abs=0.01)
    assert dp_tables.psnr_from_mse(548.52) == pytest.approx(20.74, abs=0.01)


def test_prediction_interpolates_and_uses_running_max():
    p = dp_tables.predict("SVHN", 3, 200.0)  # printed SSIM 0.22, running max 0.24 (eps = 50)
    assert p.ssim == pytest.approx(0.24) and p.acc_pct == pytest.approx(92.097)
    mid = dp_tables.predict("GTSRB", 1, math.sqrt(200 * 500))  # halfway in log eps
    assert mid.ssim == pytest.approx((0.18 + 0.36) / 2)
    assert dp_tables.predict("CIFAR10", 1, 1e5).extrapolated
    nat = dp_tables.predict("natural", 2, 1000.0)
    assert nat.ssim == pytest.approx(0.34) and nat.acc_pct is None


@pytest.mark.parametrize(
    ("depth", "stars"), [(1, (72, 196, 368, 621)), (2, (84, 335, 780, 1524)), (3, (105, 514, 1211, 2336))]
)
def test_hill_inverse_matches_reference(depth, stars):
    got = [dp_tables.hill_eps_star(depth, t) for t in (0.1, 0.2, 0.3, 0.4)]
    np.testing.assert_allclose(got, stars, rtol=0.01)
    for tau, e in zip((0.1, 0.2, 0.3, 0.4), got, strict=True):
        assert dp_tables.hill_ssim(depth, e) == pytest.approx(tau)


def test_feasible_intervals_match_reference():
    assert [dp_tables.feasible_eps("SVHN", c, 5, 0.2) for c in (1, 2, 3)] == [(2, 200), (10, 100), (5, 10)]
    assert [dp_tables.feasible_eps("GTSRB", c, 5, 0.2) for c in (1, 2, 3)] == [(10, 200), (20, 200), (200, 500)]
    assert dp_tables.feasible_eps("CIFAR10", 1, 5, 0.2) is None
    assert [dp_tables.feasible_eps("STL10", c, 10, 0.3) for c in (1, 2, 3)] == [(10, 200), (100, 500), (50, 1000)]
    assert dp_tables.feasible_eps("CIFAR10", 2, 10, 0.3) is None
