"""benchmarks/scale/trajectory_bound.py: the per-device trajectory relaxation of the pricing
problem is a lower bound (each term never above the placement's priced latency; the split bound
never above the exact pricing optimum), and its points map to real placements."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from optdist.instance import load_instance

from .conftest import ROOT, refused

PRICES = ROOT / "benchmarks" / "scale" / "pricing_prices" / "cifar-20x20-nexus-rpi3.json"


@pytest.fixture(scope="module")
def tb():
    """The script as a module, registered under its name (its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location("trajectory_bound", ROOT / "benchmarks" / "scale" / "trajectory_bound.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["trajectory_bound"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One CIFAR request on 3 RPi3 + 1 Nexus at tau 0.6 (caps of 32 maps on layers 1-13)."""
    doc = json.loads((ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json").read_text())
    doc["tau"] = 0.6
    path = tmp_path_factory.mktemp("dual34") / "cifar-1x4-tau0.6.json"
    path.write_text(json.dumps(doc))
    return load_instance(str(path))


def bandwidth_prices(inst, per_byte: float) -> dict[str, np.ndarray]:
    N, D = inst.n_nodes, inst.n_devices
    return {"memory": np.zeros(N), "compute": np.zeros(N),
            "bandwidth": np.r_[np.full(D, per_byte), np.zeros(N - D)]}


def random_placement(inst, rng) -> list[np.ndarray]:
    """Owners per segment within the privacy caps; the source's layers on the source."""
    prof, lim = inst.profile(0), inst.limit(0)
    s, D = int(inst.request_source[0]), inst.n_devices
    own = []
    for k, la in enumerate(prof.layers):
        if lim.on_source[k]:
            own.append(np.full(la.segments, s))
            continue
        cap = la.segments if lim.device_cap[k] is None else int(lim.device_cap[k])
        while True:
            a = rng.integers(0, rng.integers(1, D + 1), la.segments) if rng.random() < 0.5 else rng.integers(0, D, la.segments)
            if np.bincount(a, minlength=D).max() <= cap:
                break
        own.append(a)
    return own


def test_priced_value_reproduces_the_engines_column(tb):
    data = json.loads(PRICES.read_text())
    inst = load_instance(str(ROOT / data["instance"]))
    sv = data["solves"][0]
    prices = {k: np.asarray(v) for k, v in sv["prices"].items()}
    own = [np.asarray(a) for a in sv["start"]]
    assert tb.priced_value(inst, sv["r"], own, prices) == pytest.approx(sv["start_value"], rel=1e-9)
    counts = np.array([np.bincount(a, minlength=inst.n_nodes) for a in own])
    tm = tb.Terms.of(inst, sv["r"], prices)
    assert tm.value(counts) <= sv["start_value"]


@pytest.mark.parametrize("per_byte", [0.0, 2e-9])
def test_relaxed_value_never_above_the_priced_latency(tb, tiny, per_byte):
    rng = np.random.default_rng(34)
    prices = bandwidth_prices(tiny, per_byte)
    tm = tb.Terms.of(tiny, 0, prices)
    for _ in range(12):
        own = random_placement(tiny, rng)
        counts = np.array([np.bincount(a, minlength=tiny.n_nodes) for a in own])
        assert tm.value(counts) <= tb.priced_value(tiny, 0, own, prices) + 1e-12


def test_a_placement_is_a_point_of_the_model_and_back(tb, tiny):
    prices = bandwidth_prices(tiny, 2e-9)
    m, tm = tb.build(tiny, 0, prices), tb.Terms.of(tiny, 0, prices)
    own = random_placement(tiny, np.random.default_rng(3))
    counts = np.array([np.bincount(a, minlength=tiny.n_nodes) for a in own])[: tm.K + 1]
    x = tb.point(m, tm, counts)
    ax = m.a @ x
    assert np.all(ax >= m.row_lo - 1e-9) and np.all(ax <= m.row_hi + 1e-9) and np.all(x <= m.col_hi)
    assert m.cost @ x + m.constant == pytest.approx(tm.value(counts), rel=1e-12)
    paths = tb.trajectories(m, tm, x)
    for g in tm.groups:  # the same counts, up to the order of identical devices
        assert sorted(map(tuple, paths[1:, g].T)) == sorted(map(tuple, counts[1:, g].T))
    real = tb.placement(tm, paths, 0)
    assert all(np.array_equal(np.bincount(real[k], minlength=tiny.n_nodes)[: tiny.n_devices], paths[k, : tiny.n_devices])
               for k in range(1, tm.K + 1))
    assert tb.priced_value(tiny, 0, real, prices) >= tm.value(paths) - 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("per_byte", [0.0, 2e-9])
def test_split_bound_is_under_the_exact_pricing_optimum(tb, tiny, per_byte):
    from optdist.milp.decomposition.pricing import PricingModel

    prices = bandwidth_prices(tiny, per_byte)
    exact = PricingModel(tiny, 0, solver="highs").solve(prices, time_limit=60, mip_gap=1e-7, threads=1, seed=0,
                                                          steps=(float("inf"),))
    assert exact.proven
    out = tb.split_bound(tiny, 0, prices, exact.value, time_limit=60)
    assert out["near"]["status"] == "Optimal"
    assert exact.value * (1 - 0.01) <= out["bound"] <= exact.value + 1e-9


def test_bad_prices_file_is_refused(tb, capsys, tmp_path):
    err = refused(tb.main, capsys, str(tmp_path / "none.json"))
    assert "none.json" in err and "fix:" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"instance": str(ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json")}))
    err = refused(tb.main, capsys, str(bad))
    assert "bad.json" in err and "solves" in err
