"""What a pricing solve switches by its prices (``optdist.milp.decomposition.pricing``): the
kept-amount cuts only at non-zero prices, HiGHS's root restarts off only there; neither moves a
priced optimum, and the caller's raw options win."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optdist.instance import load_instance
from optdist.milp.decomposition.pricing import PRICED_HIGHS_OPTIONS, PricingModel

TINY = "instances/tiny/lenet-2x4-tight.json"


def _prices(inst, lam: float) -> dict[str, np.ndarray]:
    """``lam`` seconds per byte sent on every device, nothing else priced."""
    zero = np.zeros(inst.n_nodes)
    return {"memory": zero, "compute": zero, "bandwidth": np.where(np.arange(inst.n_nodes) < inst.n_devices, lam, 0.0)}


@pytest.mark.parametrize("lam", [0.0, 2e-8, 2e-7])
def test_switches_by_price_keep_the_priced_optimum(lam):
    """Request 0 of the tiny LeNet set priced at ``lam``: the model kept loaded (switches flipped
    between solves) proves the value that a model with the kept cuts always on and HiGHS's
    defaults (restarts allowed, options given by the caller) proves."""
    inst = load_instance(TINY)
    switched = PricingModel(inst, 0, solver="highs")
    fixed = PricingModel(inst, 0, solver="highs", solver_options={"mip_allow_restart": True})
    out = []
    for pm in (switched, fixed):
        pm.solve(_prices(inst, 1e-7 if lam == 0 else 0.0), time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        pr = pm.solve(_prices(inst, lam), time_limit=30, mip_gap=1e-9, threads=1, seed=0, steps=(math.inf,))
        assert pr.proven
        out.append(pr)
        if pm is switched:
            assert pm.b.model.kept_cuts.active == (lam > 0)
            assert pm.adapter.solver_options == (PRICED_HIGHS_OPTIONS if lam > 0 else {})
        else:
            assert pm.adapter.solver_options == {"mip_allow_restart": True}  # the caller's, at any price
    a, b = out
    assert a.value == pytest.approx(b.value, rel=1e-7)
    assert a.bound <= b.value * (1 + 1e-7) and b.bound <= a.value * (1 + 1e-7)


def test_kept_cuts_stay_valid_where_switched_back_on():
    """At prices 0 then 2e-8 then 0 again, each solve of the kept model equals a fresh model's."""
    inst = load_instance(TINY)
    kept = PricingModel(inst, 0, solver="highs")
    for lam in (0.0, 2e-8, 0.0):
        fresh = PricingModel(inst, 0, solver="highs", keep_loaded=False)
        a = kept.solve(_prices(inst, lam), time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        b = fresh.solve(_prices(inst, lam), time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        assert a.proven and b.proven
        assert a.value == pytest.approx(b.value, rel=1e-7)
