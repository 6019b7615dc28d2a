"""The evaluator's batched path (every request of a CNN scored together, the counts of every layer
taken at once) against the straightforward readings: the naive per-map scorer of MODEL.md section 9
(tests/test_dag_evaluator.py) and the same evaluator on one request at a time, on random placements
of the micro DAG networks and of a traced MobileNetV2 inverted-residual network."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from optdist import transfers as tr
from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from tests.test_dag_evaluator import NETWORKS, dag_instance, naive_scores

R, D = 5, 3  # requests (one source) and devices


def network_instance(folder, cnn: str, **objective) -> Instance:
    """R requests of micro network ``cnn`` on D devices, or of a traced inverted residual (``cnn = "irn"``)."""
    if cnn != "irn":
        return dag_instance(folder, cnn, R, D, **objective)
    torch = pytest.importorskip("torch", reason="install torch: pip install torch")
    from optdist import profile_module
    from tests.test_dag_profiles import InvertedResidualNet

    torch.manual_seed(0)
    prof = profile_module(InvertedResidualNet(), (3, 8, 8), "irn")
    return dag_instance(folder, "dw", R, D, profile=prof, **objective)


def random_assignment(inst: Instance, rng: np.random.Generator, anywhere: bool = False) -> Assignment:
    """Random owners: source layers on the request's source, the others on random devices, and half the
    time a layer's maps stay on their owners along a flow edge into it (nothing moves on that edge);
    ``anywhere``: every segment on any node (placement and privacy violations included)."""
    owners = []
    for r in range(inst.n_requests):
        prof, lim, src = inst.profile(r), inst.limit(r), int(inst.request_source[r])
        own = []
        for k, la in enumerate(prof.layers):
            a = (rng.integers(0, inst.n_nodes, la.segments) if anywhere else np.full(la.segments, src)
                 if lim.on_source[k] else rng.integers(0, inst.n_devices, la.segments))
            for ed in tr.edges(prof)[k]:
                if ed.kind == "flow" and (anywhere or not lim.on_source[k]) and rng.random() < 0.5:
                    a[ed.offset : ed.offset + ed.span] = own[ed.u]
            own.append(a)
        owners.append(own)
    return Assignment(owners)


CASES = sorted(NETWORKS) + ["irn"]


@pytest.mark.parametrize("cnn", CASES)
def test_batched_requests_equal_the_naive_scorer(tmp_path, cnn):
    """Latency and shared bytes of every request, bytes sent per node summed over requests: section 9 per map."""
    inst = network_instance(tmp_path, cnn)
    rng = np.random.default_rng(13)
    for _ in range(4):
        asg = random_assignment(inst, rng)
        ev = evaluate(inst, asg)
        sent = np.zeros(inst.n_nodes)
        for r in range(R):
            lat, shared, s = naive_scores(inst, r, asg.owners[r])
            assert ev.latency[r] == pytest.approx(lat, rel=1e-12)
            assert ev.shared_bytes[r] == pytest.approx(shared, rel=1e-12)
            sent += s
        np.testing.assert_allclose(ev.bandwidth_used, sent, rtol=1e-12)


@pytest.mark.parametrize("uplink", ["parallel", "serial"])
@pytest.mark.parametrize("cnn", CASES)
def test_batched_requests_equal_one_request_at_a_time(tmp_path, cnn, uplink):
    """Scoring all requests together gives each request's stage times, latency, shared bytes and violations
    bit for bit as scoring it alone (the others rejected), and node use = the sum of the single ones."""
    inst = network_instance(tmp_path, cnn, admission=True, uplink=uplink)
    rng = np.random.default_rng(7)
    for anywhere in (False, True):
        asg = random_assignment(inst, rng, anywhere)
        ev = evaluate(inst, asg)
        used = np.zeros((3, inst.n_nodes))
        for r in range(R):
            one = evaluate(inst, Assignment([o if q == r else None for q, o in enumerate(asg.owners)]))
            assert one.latency[r] == ev.latency[r] and one.shared_bytes[r] == ev.shared_bytes[r]
            for f in ("stage_time", "stage_compute", "stage_transfer"):
                np.testing.assert_array_equal(getattr(one, f)[r], getattr(ev, f)[r])
            rid = inst.request_ids[r]
            assert [v for v in one.violations if v.request == rid] == [v for v in ev.violations if v.request == rid]
            used += [one.memory_used, one.compute_used, one.bandwidth_used]
        np.testing.assert_array_equal(used, [ev.memory_used, ev.compute_used, ev.bandwidth_used])
        if anywhere:
            assert any(v.constraint == "placement" for v in ev.violations)


def test_out_of_range_owner_names_the_layer(tmp_path):
    inst = network_instance(tmp_path, "res")
    asg = random_assignment(inst, np.random.default_rng(0))
    asg.owners[2][3] = np.array([0, inst.n_nodes])
    with pytest.raises(ValueError, match=r"fit instance \"dag-res\": .*it puts layer add of request \"r2\" on node index 4, and this one has nodes 0\.\.3.*fix:"):
        evaluate(inst, asg)


def test_request_blocks_do_not_change_scores(tmp_path, monkeypatch):
    """Blocks of one request (a tiny cell budget) score bit for bit as one block of all requests (the same
    violations, listed block by block)."""
    ev_module = importlib.import_module("optdist.evaluate")  # the module (optdist.evaluate is also the function)
    inst = network_instance(tmp_path, "dw", uplink="serial")
    asg = random_assignment(inst, np.random.default_rng(5), anywhere=True)
    whole = evaluate(inst, asg)
    monkeypatch.setattr(ev_module, "_BLOCK_CELLS", 1)
    split = evaluate(inst, asg)
    assert split.objective == whole.objective
    assert sorted(map(repr, split.violations)) == sorted(map(repr, whole.violations))  # listed block by block
    for f in ("latency", "shared_bytes", "memory_used", "compute_used", "bandwidth_used"):
        np.testing.assert_array_equal(getattr(split, f), getattr(whole, f))
    for f in ("stage_time", "stage_compute", "stage_transfer"):
        for a, b in zip(getattr(split, f), getattr(whole, f)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cnn", CASES)
def test_moves_nothing_only_where_every_transfer_is_zero(tmp_path, cnn):
    """transfers.moves_nothing (the evaluator skips those edges) is True exactly for the flow edges whose
    maps all stay on their owners, and transfer_block is all zero there."""
    inst = network_instance(tmp_path, cnn)
    prof, N, rng = inst.profile(0), inst.n_nodes, np.random.default_rng(3)
    seen = set()
    for _ in range(6):
        asg = random_assignment(inst, rng)
        for ed, rows in itertools.product(tr.all_edges(prof), [range(R), *([r] for r in range(R))]):
            a_prev = np.stack([asg.owners[r][ed.u] for r in rows])  # every request at once, and each alone
            a_next = np.stack([asg.owners[r][ed.k] for r in rows])
            O = tr.transfer_block(ed, a_prev, a_next, N)
            skip = tr.moves_nothing(ed, a_prev, a_next)
            assert skip == (ed.kind == "flow" and bool((a_prev == ed.receiving(a_next)).all()))
            if skip:
                assert not O.any()
            seen.add((ed.kind, skip))
    if any(ed.kind == "flow" for ed in tr.all_edges(prof)):
        assert ("flow", True) in seen and ("flow", False) in seen
