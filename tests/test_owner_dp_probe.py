"""benchmarks/scale/owner_dp_probe.py: its bound is a lower bound (under every saved column's priced value)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optdist.instance import load_instance

from .conftest import ROOT, load_script

PRICES = ROOT / "benchmarks" / "scale" / "pricing_prices"


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/scale/owner_dp_probe.py")


def test_bound_is_under_every_saved_column(probe):
    data = json.loads((PRICES / "cifar-6x5-nexus-rpi3.json").read_text())
    inst = load_instance(ROOT / data["instance"])
    for s in data["solves"]:
        prices = {k: np.asarray(v, dtype=float) for k, v in s["prices"].items()}
        b = probe.bound(inst, s["r"], prices)
        assert 0 < b <= s["value"] + 1e-12  # a feasible column's priced value
        assert b <= s["start_value"] + 1e-12


def test_bound_at_prices_zero_is_the_stage_bound(probe):
    from optdist.milp.decomposition.pricing import PricingModel

    inst = load_instance(ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json")
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    pm = PricingModel(inst, 0, solver="highs")
    assert probe.bound(inst, 0, zero) == pytest.approx(pm.stage_bound, rel=1e-9)


def test_refuses_a_network_it_does_not_model(probe):
    inst = load_instance(ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json")
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    with pytest.raises(ValueError, match="fix: a CIFAR set"):
        probe.bound(inst, 0, zero)
