"""The independent evaluator against values computed by hand (MODEL.md sections 4-6).

The hand instance (tests/conftest.py) runs LeNet on d0, d1, d2 with e = 1, 2, 4 Mmult/s and
rho = 1, 2, 4 kB/s, source s with e = 1 Mmult/s, rho = 1 kB/s. Output map sizes (beta):
conv1/ReLU1 2304 B, pool1 576, conv2/ReLU2 256, pool2 64, fc1 480, fc2 336.
"""

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import dense_transfers, evaluate, transfers
from optdist.instance import parse
from optdist.profiles import load_profile
from tests.conftest import hand_doc

D0, D1, D2, S = 0, 1, 2, 3


def hand_assignment() -> Assignment:
    seq = lambda *runs: np.concatenate([np.full(n, node) for node, n in runs])  # noqa: E731
    return Assignment([[
        seq((S, 1)),                   # conv1 on the source
        seq((D0, 4), (D1, 4)),         # ReLU1
        seq((D0, 2), (D1, 4), (D2, 2)),  # pool1: maps 2,3 move d0->d1; 6,7 move d1->d2
        seq((D0, 3), (D1, 3), (D2, 2)),  # conv2 split over 3 devices; map 2 moves d1->d0
        seq((D0, 8), (D1, 8)),         # ReLU2: every conv2 owner sends partial sums
        seq((D2, 16)),                 # pool2: disjoint from ReLU2's owners
        seq((D0, 1)), seq((D1, 1)), seq((S, 1)),  # fc1, fc2, fc3 (last layer on the source)
    ]])


STAGES = [
    115200 / 1e6,             # conv1 on the source
    4 * 2304 / 1e3,           # ReLU1: source sends 4 maps to each of d0, d1 in parallel
    2 * 2304 / 1e3,           # pool1: 2 maps d0 -> d1 (slowest), 2 maps d1 -> d2 at 2 kB/s
    3 * 25600 / 1e6 + 576 / 2e3,  # conv2: d0 computes 3 segments after 1 map from d1
    8 * 256 / 1e3,            # ReLU2: d1 waits for d0's partial sums of its 8 maps
    8 * 256 / 1e3,            # pool2: d2 gets 8 maps from d0 (1 kB/s)
    30720 / 1e6 + 16 * 64 / 4e3,  # fc1 on d0: all 16 maps from d2
    10080 / 2e6 + 480 / 1e3,  # fc2 on d1
    840 / 1e6 + 336 / 2e3,    # fc3 on the source
]
SHARED = 2 * 9216 + 2 * 4608 + 576 + 4 * 2048 + 2 * 2048 + 1024 + 480 + 336


def test_hand_computed_latency_and_breakdown(hand_instance):
    ev = evaluate(hand_instance, hand_assignment())
    assert ev.feasible, ev.violations
    np.testing.assert_allclose(ev.stage_time[0], STAGES, rtol=1e-12)
    assert ev.latency[0] == pytest.approx(19.3406, rel=1e-12)
    assert ev.objective == pytest.approx(sum(STAGES))
    assert ev.stage_compute[0][3] == pytest.approx(0.0768) and ev.stage_transfer[0][3] == pytest.approx(0.288)
    assert ev.shared_bytes[0] == SHARED == 42352


def test_hand_computed_node_use(hand_instance):
    ev = evaluate(hand_instance, hand_assignment())
    np.testing.assert_allclose(ev.bandwidth_used, [9184, 9616, 5120, 18432])
    np.testing.assert_allclose(ev.memory_used, [3 * 1600 + 122880, 3 * 1600 + 40320, 2 * 1600, 800 + 3360])
    np.testing.assert_allclose(ev.compute_used, [3 * 25600 + 30720, 3 * 25600 + 10080, 2 * 25600, 115200 + 840])


def test_serial_uplink_serialises_a_senders_transfers():
    inst = parse(hand_doc(uplink="serial"), "hand")
    ev = evaluate(inst, hand_assignment())
    # only ReLU1 changes: the source sends 18432 B one transfer after the other
    assert ev.stage_time[0][1] == pytest.approx(18432 / 1e3)
    assert ev.latency[0] == pytest.approx(19.3406 + 9.216)


def test_capacity_violation_reports_node_and_amount():
    inst = parse(hand_doc(bandwidth_capacity=10000), "hand")
    ev = evaluate(inst, hand_assignment())
    (v,) = ev.violations
    assert (v.constraint, v.node, v.amount, v.limit) == ("bandwidth", "s", 8432, 10000)


def test_privacy_violation_per_device_and_layer():
    inst = parse(hand_doc(privacy="paper", tau=0.8), "hand")  # Nf = 4 up to ReLU2, pool2 past SP
    ev = evaluate(inst, hand_assignment())
    got = sorted((v.constraint, v.node, v.layer, v.amount) for v in ev.violations)
    assert got == [("privacy", "d0", "ReLU2", 4.0), ("privacy", "d1", "ReLU2", 4.0)]


def test_placement_violations_sources_and_first_layer(hand_instance):
    asg = hand_assignment()
    asg.owners[0][0] = np.array([D0])  # first layer off the source
    asg.owners[0][5] = np.full(16, S)  # a source computing an intermediate layer
    kinds = sorted((v.constraint, v.node, v.layer) for v in evaluate(hand_instance, asg).violations)
    assert kinds == [("placement", "d0", "conv1"), ("placement", "s", "pool2")]


def test_rejection_needs_admission_control(hand_instance):
    ev = evaluate(hand_instance, Assignment([None]))
    assert [v.constraint for v in ev.violations] == ["admission"]
    doc = hand_doc()
    doc["objective"] = {"admission": True, "rejection_penalty": 50.0}
    ev = evaluate(parse(doc, "hand"), Assignment([None]))
    assert ev.feasible and ev.objective == 50.0 and ev.n_rejected == 1


def test_shape_errors_are_clear(hand_instance):
    asg = hand_assignment()
    asg.owners[0][1] = np.zeros(3, dtype=int)
    with pytest.raises(ValueError, match='the Assignment does not fit instance "hand": .*layer "ReLU1": 3 owners for 8 segments here.*fix:'):
        evaluate(hand_instance, asg)


def test_sparse_and_dense_transfers_agree():
    rng = np.random.default_rng(0)
    prof = load_profile("lenet")
    N = 5
    for k in range(1, prof.n_layers):
        prev, nxt = prof.layers[k - 1], prof.layers[k]
        a_prev = rng.integers(0, N, size=(4, prev.segments))
        a_next = rng.integers(0, N, size=(4, nxt.segments))
        dense = dense_transfers(prev, nxt, a_prev, a_next, N)
        for r in range(4):
            i, j, b = transfers(prev, nxt, a_prev[r], a_next[r], N)
            sparse = np.zeros((N, N))
            np.add.at(sparse, (i, j), b)
            np.testing.assert_allclose(dense[r], sparse)


def test_assignment_json_round_trip(hand_instance, tmp_path):
    asg = hand_assignment()
    back = Assignment.load(hand_instance, asg.save(hand_instance, tmp_path / "a.json"))
    assert all((x == y).all() for x, y in zip(asg.owners[0], back.owners[0]))
    assert evaluate(hand_instance, back).objective == evaluate(hand_instance, asg).objective


def test_evaluator_is_independent_of_pyomo_and_the_formulations():
    import subprocess
    import sys

    code = ("import sys, optdist.evaluate; "
            "bad = [m for m in sys.modules if m.startswith(('pyomo', 'highspy', 'optdist.milp'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
