"""MODEL.md sections 4-5 in one module, against values computed by hand.

The hand instance and assignment are tests/conftest.py's ``hand_doc`` and
tests/test_evaluator.py's ``hand_assignment``: LeNet on d0, d1, d2 (e = 1, 2, 4 Mmult/s,
rho = 1, 2, 4 kB/s) and the source s (node 3, e = 1 Mmult/s, rho = 1 kB/s). Output map sizes
(beta): conv1/ReLU1 2304 B, pool1 576, conv2/ReLU2 256, pool2 64, fc1 480, fc2 336.
"""

import numpy as np
import pytest

from optdist.profiles import Layer, available_cnns, load_profile
from optdist.transfers import (
    Edge,
    compute_time,
    counts,
    edges,
    incoming_wait,
    inputs,
    layer_usage,
    least_sent,
    receiver_bytes,
    stage_times,
    transfer_block,
    transfer_kind,
    transfer_list,
    transfer_matrix,
)
from tests.test_evaluator import STAGES, hand_assignment

D0, D1, D2, S = 0, 1, 2, 3
N = 4
E = np.array([1e6, 2e6, 4e6, 1e6])
RHO = np.array([1e3, 2e3, 4e3, 1e3])
LENET = load_profile("lenet")


def _conv(out_maps: int, beta: int) -> Layer:
    return Layer("c", "conv", 4, 10, 40, 4, out_maps, (out_maps, 4, 4), beta)


def _fc(n_in: int) -> Layer:
    return Layer("f", "fc", 1, n_in * 10, n_in * 40, n_in, 1, (10,), 40)


def test_lenet_edges_kinds_and_coefficients():
    got = [(e.u, e.k, e.kind, e.per_receiver_segment, e.per_sender_segment, e.per_pair) for (e,) in edges(LENET)[1:]]
    assert got == [
        (0, 1, "conv", 2304, 0, 0),   # conv1 on the source: partial sums, per map the receiver owns
        (1, 2, "flow", 0, 0, 0),      # ReLU1 -> pool1: maps move one by one
        (2, 3, "flow", 0, 0, 0),      # pool1 -> conv2 (input maps of conv2)
        (3, 4, "conv", 256, 0, 0),
        (4, 5, "flow", 0, 0, 0),
        (5, 6, "to_fc", 0, 64, 0),    # pool2 -> fc1: all of a sender's maps
        (6, 7, "fc", 0, 0, 480),      # fc1 -> fc2: the whole vector
        (7, 8, "fc", 0, 0, 336),      # fc2 -> fc3, the last layer, on the source
    ]
    assert edges(LENET)[0] == () and inputs(LENET, 0) == () and inputs(LENET, 5) == (4,)
    assert [len(into) for into in edges(LENET)] == [0] + [1] * 8 and edges(LENET)[6][0].kind == "to_fc"


def test_conv_into_fc_sends_every_map_once_per_pair():
    e = Edge.between(_conv(16, 64), _fc(16))
    assert (e.kind, e.per_receiver_segment, e.per_pair) == ("conv", 0.0, 1024.0)
    np.testing.assert_array_equal(e.bytes(np.array([0, 3, 1]), np.array([1, 1, 0])), [0, 1024, 0])
    assert e.whole_bytes == 1024
    assert e.least_bytes(2, receivers_own_u=False) == 2048  # both senders ship all 16 maps
    assert e.least_bytes(2, receivers_own_u=True) == 1024


def test_elementwise_map_count_mismatch_is_an_error():
    relu = LENET.layers[1]
    with pytest.raises(ValueError, match="ReLU1 -> x: 8 maps feed 3 segments"):
        transfer_kind(relu, Layer("x", "elementwise", 3, 0, 0, 3, 3, (3, 1, 1), 4))


HAND_O = {  # edge into layer k -> {(i, j): bytes}
    1: {(S, D0): 4 * 2304, (S, D1): 4 * 2304},
    2: {(D0, D1): 2 * 2304, (D1, D2): 2 * 2304},
    3: {(D1, D0): 576},
    4: {(D0, D1): 8 * 256, (D1, D0): 8 * 256, (D2, D0): 8 * 256, (D2, D1): 8 * 256},
    5: {(D0, D2): 8 * 256, (D1, D2): 8 * 256},
    6: {(D2, D0): 16 * 64},
    7: {(D0, D1): 480},
    8: {(D1, S): 336},
}


@pytest.mark.parametrize("k", sorted(HAND_O))
def test_hand_transfers_every_kind(k):
    own = hand_assignment().owners[0]
    want = np.zeros((N, N))
    for (i, j), b in HAND_O[k].items():
        want[i, j] = b
    edge = edges(LENET)[k][0]
    np.testing.assert_array_equal(transfer_matrix(edge, own[k - 1], own[k], N), want)
    i, j, b = transfer_list(edge, own[k - 1], own[k], N)
    sparse = np.zeros((N, N))
    np.add.at(sparse, (i, j), b)
    np.testing.assert_array_equal(sparse, want)


def test_hand_shared_bytes_total():
    own = hand_assignment().owners[0]
    total = sum(transfer_matrix(edges(LENET)[k][0], own[k - 1], own[k], N).sum() for k in range(1, 9))
    assert total == 42352


def test_block_list_and_matrix_agree_on_random_owners():
    rng = np.random.default_rng(1)
    for cnn in ("lenet", "cifar"):
        prof = load_profile(cnn)
        for k in range(1, prof.n_layers):
            edge = edges(prof)[k][0]
            a_prev = rng.integers(0, 5, size=(3, prof.layers[k - 1].segments))
            a_next = rng.integers(0, 5, size=(3, prof.layers[k].segments))
            block = transfer_block(edge, a_prev, a_next, 5)
            for r in range(3):
                np.testing.assert_array_equal(block[r], transfer_matrix(edge, a_prev[r], a_next[r], 5))
                i, j, b = transfer_list(edge, a_prev[r], a_next[r], 5)
                sparse = np.zeros((5, 5))
                np.add.at(sparse, (i, j), b)
                np.testing.assert_array_equal(sparse, block[r])


def test_stage_time_parallel_and_serial_uplink():
    own = hand_assignment().owners[0]
    # ReLU1: the source sends 4 maps to each of d0, d1
    O = transfer_matrix(edges(LENET)[1][0], own[0], own[1], N)
    np.testing.assert_allclose(incoming_wait(O, RHO), [9.216, 9.216, 0, 0])
    np.testing.assert_allclose(incoming_wait(O, RHO, serial=True), [18.432, 18.432, 0, 0])
    # conv2: d0 computes 3 segments after one map from d1 (2 kB/s): the critical owner
    k = 3
    n = counts(own[k][None, :], N)
    O = transfer_block(edges(LENET)[k][0], own[k - 1][None, :], own[k][None, :], N)
    tc = compute_time(n, LENET.layers[k], E)
    np.testing.assert_allclose(tc[0], [0.0768, 0.0384, 0.0128, 0])
    T, crit = stage_times(n, tc, incoming_wait(O, RHO))
    assert T[0] == pytest.approx(STAGES[3]) and crit[0] == D0


def test_stage_time_of_every_hand_layer_matches_the_evaluator_figures():
    own = hand_assignment().owners[0]
    got = []
    for k, la in enumerate(LENET.layers):
        n = counts(own[k][None, :], N)
        edge = edges(LENET)[k][0] if k else None
        wait = np.zeros((1, N)) if edge is None else incoming_wait(transfer_block(edge, own[k - 1][None, :], own[k][None, :], N), RHO)
        got.append(stage_times(n, compute_time(n, la, E), wait)[0][0])
    np.testing.assert_allclose(got, STAGES, rtol=1e-12)


def test_layer_usage_memory_and_multiplications():
    mem, mults = layer_usage(LENET.layers[3], np.array([3, 3, 2, 0]))
    np.testing.assert_array_equal(mem, [4800, 4800, 3200, 0])
    np.testing.assert_array_equal(mults, [76800, 76800, 51200, 0])


def test_least_bytes_per_kind():
    conv1, flow, conv2, to_fc, fc = (edges(LENET)[k][0] for k in (1, 2, 4, 6, 7))
    assert conv1.least_bytes(1, receivers_own_u=False) == 8 * 2304  # the source sends every partial sum
    assert flow.least_bytes(3, receivers_own_u=False) == 8 * 2304 and flow.least_bytes(3, receivers_own_u=True) == 0
    assert conv2.least_bytes(2, receivers_own_u=True) == 16 * 256  # one sender's partial sums move
    assert conv2.least_bytes(1, receivers_own_u=True) == 0
    assert to_fc.least_bytes(4, receivers_own_u=False) == 16 * 64
    assert fc.least_bytes(1, receivers_own_u=False) == 480


def test_least_sent_of_a_lenet_request():
    on_source = [True] + [False] * 7 + [True]
    min_owners = [1, 1, 1, 2, 1, 1, 1, 1, 1]
    src, dev = least_sent(LENET, on_source, min_owners)
    assert src == 8 * 2304  # conv1's partial sums to the device layer ReLU1
    assert dev == 16 * 256 + 336  # conv2 on >= 2 devices, and fc2 into the source's fc3


@pytest.mark.parametrize("cnn", available_cnns())
def test_whole_layer_transfer_is_the_output_size(cnn):
    prof = load_profile(cnn)
    for k in range(1, prof.n_layers):
        assert edges(prof)[k][0].whole_bytes == prof.layers[k - 1].out_bytes


@pytest.mark.parametrize("rows", ["all", "one"])
@pytest.mark.parametrize("cnn", ["lenet", "res", "grp", "cat"])
def test_receiver_bytes_sum_to_the_transfer_matrix(cnn, rows, monkeypatch):
    """``O[i,j] = sum_{q owned by j} d[q,i]`` (i != j) on random owners, chain and section 9 DAGs
    (residual add, grouped conv, concat slices); all rows in one block or one row per block."""
    from optdist import transfers
    from tests.test_dag_evaluator import NETWORKS

    if rows == "one":
        monkeypatch.setattr(transfers, "_RECEIVER_CELLS", 1)

    prof = LENET if cnn == "lenet" else NETWORKS[cnn]()
    rng, N = np.random.default_rng(3), 4
    for _ in range(5):
        own = [rng.integers(0, N, la.segments) for la in prof.layers]
        for k in range(1, prof.n_layers):
            for ed in edges(prof)[k]:
                d = receiver_bytes(ed, own[ed.u], N)
                O = np.zeros((N, N))
                np.add.at(O.T, own[k], d)
                np.fill_diagonal(O, 0.0)
                np.testing.assert_array_equal(O, transfer_matrix(ed, own[ed.u], own[k], N))
