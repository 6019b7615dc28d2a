"""Baselines: greedy, per-layer, edge-cloud, scored by the independent evaluator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import optdist
from optdist.heuristics.edge_cloud import cloud_starts
from optdist.heuristics.incremental import RequestPlacer, Usage
from optdist.instance import load_instance, parse

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
PAPER = ROOT / "instances" / "paper"
PARALLEL = [p for p in sorted(TINY.glob("*.json")) if "serial" not in p.name] + [
    PAPER / f"lenet-{n}x10-tau{t}.json" for n in (1, 3, 10) for t in (0.8, 0.6)
]


def families(res) -> Counter:
    return Counter(v.constraint for v in res.evaluation.violations)


@pytest.mark.parametrize("path", PARALLEL, ids=lambda p: p.stem)
def test_greedy_feasible_and_exact(path):
    res = optdist.solve(path, method="greedy")
    assert res.extra["objective_mismatch"] < 1e-9  # its incremental stage times are the evaluator's
    inst = load_instance(path)
    admitted = res.evaluation.n_rejected == 0 or inst.objective.admission
    assert admitted and res.evaluation.feasible, families(res)


def test_greedy_rejects_when_capacity_runs_out():
    res = optdist.solve(TINY / "micro-3x2-admission.json", method="greedy")
    assert res.extra["rejected"] == res.evaluation.n_rejected >= 1
    assert res.evaluation.feasible  # admission control is on there


def _starved_instance():
    """lenet-1x4 with two devices short of bandwidth: the merge must skip their remote steps."""
    doc = json.loads((TINY / "lenet-1x4-tau0.8.json").read_text())
    doc["devices"][0]["bandwidth_capacity"] = 300
    doc["devices"][1]["bandwidth_capacity"] = 900
    return parse(doc)


def test_greedy_matches_the_per_segment_definition():
    """The batched merge equals placing one segment at a time on the least new finish time."""
    cases = [
        load_instance(TINY / "lenet-2x4-tight.json"),
        load_instance(TINY / "cifar-1x4-tau0.8.json").with_spec(period_s=0.004),  # bandwidth binds
        load_instance(PAPER / "lenet-3x10-tau0.6.json").with_spec(period_s=0.0006),
        _starved_instance(),
    ]
    for inst in cases:
        fast, slow = Usage.zeros(inst.n_nodes), Usage.zeros(inst.n_nodes)
        for r in range(inst.n_requests):
            a, b = RequestPlacer(inst, fast, r), RequestPlacer(inst, slow, r)
            while not a.done:
                sa, sb = a.next_layer(), b.next_layer()
                ok = sa.fill_greedy()
                while not sb.done:
                    g = np.where(sb.feasible(), sb.steps(sb.sender(), 1)[:, 0], np.inf)
                    if not np.isfinite(g.min()):
                        break
                    rank = np.argsort(sb.tie_order)
                    sb.place(int(np.lexsort((rank, g))[0]))  # least finish time, then the tie order
                assert ok == sb.done
                if not ok:
                    a.rollback()
                    b.rollback()
                    break
                np.testing.assert_array_equal(sa.owners, sb.owners)
                a.close(sa)
                b.close(sb)
        np.testing.assert_allclose(fast.bandwidth, slow.bandwidth)


def test_greedy_refuses_serial_uplink():
    with pytest.raises(ValueError, match="parallel uplink"):
        optdist.solve(TINY / "micro-2x3-serial.json", method="greedy")


@pytest.mark.parametrize("name", ["lenet-10x10-tau0.8", "lenet-10x10-tau0.6", "lenet-1x4-tau0.6", "cifar-1x4-tau0.8"])
def test_per_layer_whole_layers_privacy_blind(name):
    inst = load_instance((PAPER if "10x10" in name else TINY) / f"{name}.json")
    res = optdist.solve(inst, method="per-layer")
    assert res.extra["objective_mismatch"] < 1e-9
    for own in res.assignment.owners:
        assert all(len(set(a.tolist())) == 1 for a in own)  # one owner per layer
    fam = families(res)
    assert fam["privacy"] > 0  # whole layers break (10f): the point of the comparison
    assert not fam.keys() & {"memory", "compute", "bandwidth", "admission"}


def test_edge_cloud_split_respects_privacy_table():
    inst = load_instance(PAPER / "lenet-10x10-tau0.8.json")
    starts = cloud_starts(inst, 0)
    names = [inst.profile(0).layers[s].name for s in starts]
    assert names[0] == "pool2" and starts[-1] == inst.profile(0).n_layers - 1  # from SP on, or source only
    res = optdist.solve(inst, method="edge-cloud")
    assert res.extra["objective_mismatch"] < 1e-9
    fam = families(res)
    assert set(fam) <= {"placement"}  # only the head on the trusted source, by design


def test_edge_cloud_uses_a_device_when_transfers_are_cheap():
    inst = load_instance(TINY / "cifar-1x4-tau0.8.json").with_spec(tau=1.0)  # whole layers allowed from layer 2
    res = optdist.solve(inst, method="edge-cloud")
    assert res.extra["cloud_starts_at"] != ["source only"]
    assert not families(res).keys() - {"placement"}


def test_incremental_state_gives_the_hand_stage_times_and_bytes(hand_instance):
    """Every edge kind of LeNet (conv from the source, flows, conv, elementwise -> fc, fc, fc into
    the source) through the greedy/RL layer state: tests/test_evaluator.py's hand figures."""
    from tests.test_evaluator import SHARED, STAGES, hand_assignment

    own = hand_assignment().owners[0]
    rp = RequestPlacer(hand_instance, Usage.zeros(hand_instance.n_nodes), 0)
    while not rp.done:
        st = rp.next_layer()
        st.commit(own[st.k][st.order])
        np.testing.assert_array_equal(st.owners, own[st.k])
        assert st.stage_time == pytest.approx(STAGES[st.k], rel=1e-12)
        rp.close(st)
    assert rp.shared == SHARED
    np.testing.assert_allclose(rp.usage.bandwidth, [9184, 9616, 5120, 18432])  # the evaluator's bytes sent
