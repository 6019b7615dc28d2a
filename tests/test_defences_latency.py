"""Exit statistics and the edge/cloud latency model (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from optdist.defences import latency as lat

PROFILE = lat.ExitProfile(macs=(1e6, 3e6, 6e6, 10e6), feat_bytes=(4000, 2000, 1000, 40))
LINK = lat.Link(edge_macs_per_s=1e9, cloud_macs_per_s=1e11, uplink_bps=8e6, rtt_s=0.01, t_pre_s=0.001)


def test_efficacy_trapezoid_identity():
    rng = np.random.default_rng(0)
    c = PROFILE.ctilde
    m = (np.concatenate([[0.0], c[:-1]]) + c) / 2
    for _ in range(5):
        p = rng.dirichlet(np.ones(4))
        assert lat.efficacy(p, c) == pytest.approx(1 - p @ m)
    assert lat.efficacy([1, 0, 0, 0], c) == pytest.approx(1 - 0.05)
    assert lat.efficacy([0, 0, 0, 1], c) == pytest.approx(0.2)


def test_output_latency_closed_form():
    t = lat.output_latency(PROFILE, 2, LINK)
    off = 3e-3 + 0.01 + 8 * 2000 / 8e6
    np.testing.assert_allclose(t, [1e-3, 3e-3, off + 3e6 / 1e11, off + 7e6 / 1e11])
    np.testing.assert_allclose(lat.output_latency(PROFILE, 4, LINK), np.array(PROFILE.macs) / 1e9)


def test_expected_cost_and_mixing_is_linear():
    pc, pa = np.array([0.5, 0.3, 0.1, 0.1]), np.array([0.0, 0.0, 0.1, 0.9])
    c = lat.expected_cost(pc, PROFILE, 2, LINK)
    assert c["offload_rate"] == pytest.approx(0.2) and c["uplink_bytes"] == pytest.approx(400)
    assert c["edge_macs"] == pytest.approx(0.5e6 + 0.3 * 3e6 + 0.2 * 3e6)
    assert c["latency_s"] == pytest.approx(0.001 + pc @ lat.output_latency(PROFILE, 2, LINK))
    a = lat.expected_cost(pa, PROFILE, 2, LINK)["latency_s"]
    mixed = lat.expected_cost(lat.mix(pc, pa, 0.3), PROFILE, 2, LINK)["latency_s"]
    assert mixed == pytest.approx(0.7 * c["latency_s"] + 0.3 * a)
    assert lat.edge_exit_ratio(pc, 2) == pytest.approx(0.8)


def test_best_split_thins_the_edge_under_attack():
    heavy = lat.ExitProfile(macs=(1e6, 3e6, 30e6, 100e6), feat_bytes=(2000, 2000, 1000, 40))
    pc, pa = np.array([0.7, 0.2, 0.05, 0.05]), np.array([0.0, 0.0, 0.0, 1.0])
    assert lat.best_split(pc, heavy, LINK)[0] == 2
    s, t = lat.best_split(pa, heavy, LINK)  # edge exits are pure overhead: offload after exit 1
    assert s == 1 and t == pytest.approx(0.001 + 1e-3 + 0.01 + 2e-3 + 99e6 / 1e11)
    assert lat.best_split(pc, PROFILE, LINK) == (4, pytest.approx(0.001 + pc @ np.array(PROFILE.macs) / 1e9))


def test_break_even_alpha():
    assert lat.break_even_alpha(0.01, 0.26) == pytest.approx(0.01 / 0.27)
    assert lat.break_even_alpha(-0.01, 0.2) == 0.0 and lat.break_even_alpha(0.01, 0.0) == 1.0


def test_exit_distribution():
    np.testing.assert_allclose(lat.exit_distribution(np.array([0, 0, 3, 1]), 4), [0.5, 0.25, 0, 0.25])


@pytest.mark.parametrize(
    ("model", "want_ms"),
    [
        ("VGG16", (41.5, 42.3, 84.4, 64.1)),
        ("ResNet56", (39.4, 38.9, 48.9, 45.5)),
        ("MobileNet", (35.7, 32.7, 74.5, 54.7)),
    ],
)
def test_paper_worked_example(model, want_ms):
    # reference notes section 5.5: RAD 5 %, two-tier estimate, 5 GMAC/s edge, 1 TMAC/s cloud, 20 Mbit/s, 20 ms
    got = [
        1000 * lat.paper_latency(model, "5", s, d)["latency_s"]
        for s, d in (("Clean", False), ("Clean", True), ("Linf", False), ("Linf", True))
    ]
    np.testing.assert_allclose(got, want_ms, atol=0.051)


def test_paper_offload_rates_and_break_even():
    t = lat.paper_tables()
    assert 1 - t["T3ER"]["5"]["Linf"]["VGG16"][1] == pytest.approx(0.74)
    clean, adv = t["T3ER"]["5"]["Clean"]["VGG16"], t["T3ER"]["5"]["Linf"]["VGG16"]
    # reference: alpha* on T3-ER (Linf) for VGG RAD 5 % = 0.037
    assert lat.break_even_alpha(clean[0] - clean[1], adv[1] - adv[0]) == pytest.approx(0.037, abs=5e-4)
