"""A calibrated privacy table plugs into an instance and changes the exact optimum as expected.

The measured LeNet table (models/privacy/lenet-calibrated.json) leaks more than the paper's
Table 2: at tau 0.6 no device may hold any map of ReLU1..ReLU2 (they run on the camera) and
pool2 is capped at 2 maps per device (paper: 4). Its feasible set is a subset of the paper's,
so its optimum can only be higher.
"""

import json

import numpy as np
import pytest

import optdist
from optdist.instance import parse
from tests.conftest import ROOT


def lenet_with(table: str, tau: float):
    doc = json.loads((ROOT / "instances/paper/lenet-1x10-tau0.6.json").read_text())
    doc.update(privacy={"lenet": table}, tau=tau, name=f"lenet-1x10-{table}-{tau}")
    return parse(doc)


def test_calibrated_table_changes_the_optimum():
    tau = 0.6
    paper = optdist.solve(lenet_with("paper", tau), formulation="decomposed", time_limit=120)
    inst = lenet_with("calibrated", tau)
    cal = optdist.solve(inst, formulation="decomposed", time_limit=120)
    for res in (paper, cal):
        assert res.termination == "optimal" and res.evaluation.feasible
        assert res.evaluation.objective == pytest.approx(res.objective, rel=1e-6)
    assert cal.objective > paper.objective * (1 + 1e-3)
    prof, src = inst.profile(0), int(inst.request_source[0])
    owners = cal.assignment.owners[0]
    for layer in ("ReLU1", "pool1", "conv2", "ReLU2", "fc1"):
        assert (owners[prof.index(layer)] == src).all(), layer
    assert np.bincount(owners[prof.index("pool2")]).max() <= 2
    # the paper's table lets devices hold 4 maps of these layers
    p_owners = paper.assignment.owners[0]
    assert not (p_owners[prof.index("ReLU1")] == src).all()


def test_calibrated_table_at_tau_04_is_infeasible_on_10_devices_and_says_why():
    from optdist.diagnose import diagnose

    inst = lenet_with("calibrated", 0.4)  # pool2: Nf = 1, 16 maps, 10 devices
    assert optdist.solve(lenet_with("paper", 0.4), formulation="decomposed").termination == "optimal"
    assert optdist.solve(inst, formulation="decomposed").termination == "infeasible"
    d = diagnose(inst, solve=False)
    assert not d.feasible_by_checks
    assert any(f.family == "privacy" and f.layer == "pool2" for f in d.findings)
