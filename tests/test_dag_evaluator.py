"""The evaluator on DAG networks (MODEL.md section 9) against a naive per-map scorer written
from section 9's text, on micro networks: a residual block, a grouped + depthwise block, a
concat, a depthwise residual block and two adds of whole maps (two branches; a loop), and a
brute-force enumerator of their placements (used
by tests/test_dag_formulations.py and tests/test_dag_decomposition.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from optdist import transfers as tr
from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance, load_instance
from optdist.privacy import PrivacyTable, privacy_limits
from optdist.profiles import Layer, Profile, write_profile_file

B = 4  # bytes per value


def conv(name, c_in, c_out, hw, k=3, g=1):
    per = c_out // g
    return Layer(name, "conv", c_in, k * k * per * hw * hw, k * k * per * B, c_in, c_out, (hw, hw), hw * hw * B,
                 (name,), "conv2d", g, (k, k))


def dwconv(name, c, hw, k=3):
    return Layer(name, "elementwise", c, k * k * hw * hw, k * k * B, c, c, (hw, hw), hw * hw * B, (name,), "conv2d",
                 c, (k, k))


def ew(name, c, hw, op="relu"):
    return Layer(name, "elementwise", c, 0, 0, c, c, (hw, hw), hw * hw * B, (name,), op)


def merge(name, kind, c, hw):
    return Layer(name, kind, c, 0, 0, c, c, (hw, hw), hw * hw * B, (name,), "add" if kind == "add" else "cat")


def fc(name, n_in_maps, values_per_map, n_out):
    n = n_in_maps * values_per_map * n_out
    return Layer(name, "fc", 1, n, n * B, n_in_maps, 1, (n_out,), n_out * B, (name,), "linear")


def residual() -> Profile:
    """c1 (source) -> r1 -> c2 -> add(c2, r1) -> fc (source): a ResNet basic block in miniature."""
    return Profile("res", (1, 4, 4), (conv("c1", 1, 2, 4), ew("r1", 2, 4), conv("c2", 2, 2, 4),
                                      merge("add", "add", 2, 4), fc("fc", 2, 16, 3)),
                   ((), (0,), (1,), (2, 1), (3,)))


def grouped() -> Profile:
    """c1 1->4 (source) -> g conv 4->4 groups 2 -> depthwise 4 maps -> fc (source)."""
    return Profile("grp", (1, 4, 4), (conv("c1", 1, 4, 4), conv("g", 4, 4, 4, g=2), dwconv("dw", 4, 2), fc("fc", 4, 4, 2)))


def concat() -> Profile:
    """c1 1->2 (source) branches into relu a (2 maps) and conv b 2->1; cat(a, b) 3 maps -> fc (source)."""
    return Profile("cat", (1, 4, 4), (conv("c1", 1, 2, 4), ew("a", 2, 4), conv("b", 2, 1, 4, k=1),
                                      merge("cat", "concat", 3, 4), fc("fc", 3, 16, 2)),
                   ((), (0,), (0,), (1, 2), (3,)))


def depthwise() -> Profile:
    """c1 1->2 (source) -> r1 -> depthwise dw -> pointwise pw 2->2 -> add(pw, r1) -> fc (source): an
    inverted-residual (MobileNetV2) block in miniature."""
    return Profile("dw", (1, 4, 4), (conv("c1", 1, 2, 4), ew("r1", 2, 4), dwconv("dw", 2, 4), conv("pw", 2, 2, 4, k=1),
                                     merge("add", "add", 2, 4), fc("fc", 2, 16, 2)),
                   ((), (0,), (1,), (2,), (3, 1), (4,)))


def merge_two() -> Profile:
    """c1 1->2 (source) branches into relu a and depthwise b; add(a, b) -> fc (source): an add of two
    whole-map inputs (map p of add reads map p of a and of b)."""
    return Profile("mrg", (1, 4, 4), (conv("c1", 1, 2, 4), ew("a", 2, 4), dwconv("b", 2, 4),
                                      merge("add", "add", 2, 4), fc("fc", 2, 16, 2)),
                   ((), (0,), (0,), (1, 2), (3,)))


def merge_loop() -> Profile:
    """c1 1->2 (source) -> r1 -> depthwise dw -> add(dw, r1) -> fc (source): whole maps of r1 reach the
    add directly and through dw (a cycle of whole-map edges)."""
    return Profile("loop", (1, 4, 4), (conv("c1", 1, 2, 4), ew("r1", 2, 4), dwconv("dw", 2, 4),
                                       merge("add", "add", 2, 4), fc("fc", 2, 16, 2)),
                   ((), (0,), (1,), (2, 1), (3,)))


NETWORKS = {"res": residual, "grp": grouped, "cat": concat, "dw": depthwise, "mrg": merge_two, "loop": merge_loop}


def dag_instance(folder: Path, cnn: str, n_requests: int = 1, n_devices: int = 2, privacy: dict | None = None,
                 tau: float = 0.8, profile: Profile | None = None, **objective) -> Instance:
    """``n_requests`` of micro network ``cnn`` on slow-compute devices with slow radios (every choice matters);
    ``profile``: another network to place under the name ``cnn`` (e.g. a traced module)."""
    folder.mkdir(parents=True, exist_ok=True)  # write_profile_file creates no folder (break38)
    write_profile_file(NETWORKS[cnn]() if profile is None else profile, folder / f"{cnn}.profile.json")
    ref = None
    if privacy is not None:
        (folder / f"{cnn}-table.json").write_text(json.dumps(privacy))
        ref = f"{cnn}-table.json"
    big = 1e12
    speeds = [(30e3, 2e3), (60e3, 500.0), (45e3, 1e3)][:n_devices]
    doc = {
        "format": "optdist-instance/1", "name": f"dag-{cnn}", "tau": tau,
        "networks": {cnn: f"{cnn}.profile.json"}, "privacy": {cnn: ref},
        "devices": [{"id": f"d{i}", "memory": big, "mults_per_s": e, "rate": rho, "compute_capacity": big,
                     "bandwidth_capacity": big} for i, (e, rho) in enumerate(speeds)],
        "sources": [{"id": "s", "memory": big, "mults_per_s": 20e3, "rate": 800.0, "compute_capacity": big,
                     "bandwidth_capacity": big}],
        "requests": [{"id": f"r{q}", "source": "s", "cnn": cnn} for q in range(n_requests)],
        "objective": objective,
    }
    path = folder / f"dag-{cnn}-{n_requests}x{n_devices}.json"
    path.write_text(json.dumps(doc))
    return load_instance(path)


# --------------------------------------------------------------------------- section 9, written out per map
def naive_scores(inst: Instance, r: int, owners: list[np.ndarray]) -> tuple[float, float, np.ndarray]:
    """(latency, shared bytes, bytes sent per node) of request r, loop by loop from MODEL.md section 9."""
    prof = inst.profile(r)
    N, e, rho = inst.n_nodes, inst.mults_per_s, inst.rate
    sent = np.zeros(N)
    latency = 0.0
    for k, la in enumerate(prof.layers):
        own = owners[k]
        recv_wait = np.zeros(N)
        offset = 0
        for u in prof.inputs(k):
            src = prof.layers[u]
            span = src.out_maps if la.kind == "concat" else la.segments
            off = offset if la.kind == "concat" else 0
            offset += src.out_maps
            for i in range(N):
                for j in range(N):
                    if i == j or not (owners[u] == i).any() or not (own == j).any():
                        continue
                    if src.kind == "fc":
                        O = src.beta
                    elif src.kind in ("elementwise", "add", "concat"):
                        if la.kind == "fc":
                            O = src.beta * int((owners[u] == i).sum())
                        else:
                            O = src.beta * sum(1 for p in range(span) if owners[u][p] == i and own[off + p] == j)
                    else:  # conv, groups g: i holds partial sums of the maps of the groups it owns an input of
                        g = src.groups
                        groups_i = {p // (src.segments // g) for p in range(src.segments) if owners[u][p] == i}
                        per = src.out_maps // g
                        if la.kind == "fc":
                            O = src.beta * per * len(groups_i)
                        else:
                            O = src.beta * sum(1 for q in range(span) if own[off + q] == j and q // per in groups_i)
                    sent[i] += O
                    recv_wait[j] = max(recv_wait[j], O / rho[i])
        T = max(int((own == j).sum()) * la.mults_per_segment / e[j] + recv_wait[j] for j in set(own.tolist()))
        latency += T
    return latency, float(sent.sum()), sent


def placements(inst: Instance, r: int) -> list[list[np.ndarray]]:
    """Every per-map assignment of request r respecting placement (eqs. 8, 9, 10h)."""
    lim, src = inst.limit(r), int(inst.request_source[r])
    per_layer = [[np.array(c) for c in itertools.product([src] if lim.on_source[k] else range(inst.n_devices),
                                                          repeat=la.segments)]
                 for k, la in enumerate(inst.profile(r).layers)]
    return [list(c) for c in itertools.product(*per_layer)]


def brute_force(inst: Instance) -> tuple[float, Assignment]:
    """Feasible minimum of the evaluator's objective over every placement-respecting assignment."""
    best, arg = np.inf, None
    for combo in itertools.product(*(placements(inst, r) for r in range(inst.n_requests))):
        asg = Assignment(list(combo))
        ev = evaluate(inst, asg)
        if ev.feasible and ev.objective < best:
            best, arg = ev.objective, asg
    return best, arg


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("cnn", sorted(NETWORKS))
def test_evaluator_equals_the_naive_scorer_on_every_placement(tmp_path, cnn):
    inst = dag_instance(tmp_path, cnn)
    for owners in placements(inst, 0):
        ev = evaluate(inst, Assignment([owners]))
        lat, shared, sent = naive_scores(inst, 0, owners)
        assert ev.latency[0] == pytest.approx(lat, rel=1e-12)
        assert ev.shared_bytes[0] == pytest.approx(shared, rel=1e-12)
        assert np.allclose(ev.bandwidth_used, sent, rtol=1e-12)


def test_hand_residual_transfers(tmp_path):
    """res with r1 = [d0, d1], c2 = [d0, d1], add = [d1, d0] (d0 = node 0, d1 = node 1, source = node 2)."""
    inst = dag_instance(tmp_path, "res")
    owners = [np.array([2]), np.array([0, 1]), np.array([0, 1]), np.array([1, 0]), np.array([2])]
    ev = evaluate(inst, Assignment([owners]))
    beta = 64.0
    # c1 -> r1: the source sends both maps' partial sums (one to each device): 2 * 64
    # r1 -> c2: identity, maps stay: 0;   c2 -> add: each device needs the partial sums of its add map
    # from the other: d0 -> d1 64, d1 -> d0 64;   r1 -> add (identity): map 0 d0 -> d1, map 1 d1 -> d0: 2 * 64
    # add -> fc: each device sends its whole map to the source: 2 * 64
    assert ev.shared_bytes[0] == beta * (2 + 2 + 2 + 2)
    assert ev.bandwidth_used.tolist() == [3 * beta, 3 * beta, 2 * beta]
    # stage add: c = 0; d1 waits for 64 B from d0 twice over two edges (rho 2 kB/s): 0.032 s;
    # d0 waits for 64 B from d1 (500 B/s): 0.128 s
    assert ev.stage_time[0][3] == pytest.approx(64 / 500)


def test_grouped_conv_sends_only_its_groups(tmp_path):
    """g conv 4->4 groups 2: d0 owns input maps 0, 1 (group 0), d1 maps 2, 3 (group 1); the depthwise
    layer puts map q on d1 for q < 2 and on d0 otherwise: each device ships its group's 2 maps."""
    inst = dag_instance(tmp_path, "grp")
    owners = [np.array([2]), np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), np.array([2])]
    ev = evaluate(inst, Assignment([owners]))
    beta_g = 64.0
    into_g = 4 * 64.0  # the source's c1 partial sums of the 4 maps the devices own
    into_fc = 4 * 16.0  # 4 depthwise maps of 2x2
    assert ev.shared_bytes[0] == into_g + 2 * 2 * beta_g + into_fc
    one_group = [np.array([2]), np.array([0, 0, 0, 0]), np.array([1, 1, 1, 1]), np.array([2])]
    ev1 = evaluate(inst, Assignment([one_group]))  # one owner of both groups: all 4 maps move
    assert ev1.shared_bytes[0] == into_g + 4 * beta_g + into_fc


def test_concat_offsets(tmp_path):
    """cat = [a0, a1, b0]: map 2 comes from conv b's partial sums, maps 0, 1 from a, by offset."""
    inst = dag_instance(tmp_path, "cat")
    owners = [np.array([2]), np.array([0, 1]), np.array([0, 0]), np.array([0, 1, 1]), np.array([2])]
    ev = evaluate(inst, Assignment([owners]))
    beta = 64.0
    # c1 -> a: 2 maps; c1 -> b: d0 owns both b segments: 2 maps (the source is no owner of b);
    # a -> cat: map 0 stays on d0, map 1 on d1: 0; b -> cat: cat map 2 on d1 needs b's partial sums from d0: 64
    # cat -> fc: d0 1 map, d1 2 maps
    assert ev.shared_bytes[0] == beta * (2 + 2 + 0 + 1 + 3)
    edges = tr.edges(inst.profile(0))[3]
    assert [(e.u, e.kind, e.offset, e.span) for e in edges] == [(1, "flow", 0, 2), (2, "conv", 2, 1)]


def table(cnn: str, rows: dict[str, tuple[int, dict[int, float]]]) -> dict:
    return {"format": "optdist-privacy-table/1", "cnn": cnn, "name": "t", "metric": "ssim",
            "provenance": {"source": "synthetic, for tests"},
            "rows": [{"tensor": t, "maps": m, "cells": {str(c): v for c, v in cells.items()}} for t, (m, cells) in rows.items()]}


def test_privacy_of_a_merge_takes_the_strictest_input():
    """add reads c2 and r1: r1's row allows 1 map, c2's row 2 (and is past its split); Nf(add) = min = 1, and
    add (and fc, whose input holds r1's maps summed in) is before the split point while r1's row is."""
    prof = residual()
    t = PrivacyTable.model_validate(table("res", {"r1": (2, {1: 0.5, 2: 0.9}), "c2": (2, {1: 0.3, 2: 0.6})}))
    lim = privacy_limits(prof, t, 0.7)
    # c2 reads r1 (r1's row); add reads c2 (c2's row) and r1 (r1's row); fc reads add: the rows of both paths
    assert lim.governing == (None, "r1", "r1", "r1, c2", "r1, c2")
    assert lim.nf[1:4] == (1, 1, 1) and lim.split_point == 5
    assert lim.device_cap == (None, 1, 1, 1, None)
    past = privacy_limits(prof, t, 0.95)  # every row's all-maps SSIM <= 0.95: no limit from layer 1 on
    assert past.split_point == 1 and past.device_cap == (None,) * 5


def test_privacy_of_a_branch_follows_its_own_ancestors():
    """In cat, layer b reads c1 (unmeasured, so the first row after it, a's, though a is another branch);
    cat and fc read a's and b's maps, so both rows govern them (not only the latest, b's)."""
    prof = concat()
    t = PrivacyTable.model_validate(table("cat", {"a": (2, {1: 0.5, 2: 0.9}), "b": (1, {1: 0.2})}))
    lim = privacy_limits(prof, t, 0.6)
    assert lim.governing == (None, "a", "a", "a, b", "a, b")
    assert lim.nf[1:4] == (1, 1, 1) and lim.split_point == 5


@pytest.mark.parametrize("cnn", sorted(NETWORKS))
def test_least_sent_bounds_every_placement(tmp_path, cnn):
    """diagnose's byte bounds (transfers.least_sent over every edge) hold for every placement."""
    inst = dag_instance(tmp_path, cnn)
    lim, D = inst.limit(0), inst.n_devices
    src, dev = tr.least_sent(inst.profile(0), lim.on_source, [1] * inst.profile(0).n_layers)
    assert src > 0 and dev > 0
    for owners in placements(inst, 0):
        ev = evaluate(inst, Assignment([owners]))
        assert ev.bandwidth_used[D:].sum() >= src - 1e-9 and ev.bandwidth_used[:D].sum() >= dev - 1e-9


@pytest.mark.parametrize("cnn", sorted(NETWORKS))
def test_sparse_dense_and_matrix_transfers_agree_on_dag_edges(cnn):
    """transfer_list, transfer_block and transfer_matrix give the same O on every edge (slices, groups)."""
    prof, N = NETWORKS[cnn](), 4
    rng = np.random.default_rng(11)
    for ed in tr.all_edges(prof):
        P_u, P_k = prof.layers[ed.u].segments, prof.layers[ed.k].segments
        a_prev, a_next = rng.integers(0, N, (6, P_u)), rng.integers(0, N, (6, P_k))
        block = tr.transfer_block(ed, a_prev, a_next, N, tr.counts(a_prev, N), tr.counts(a_next, N))
        for r in range(6):
            dense = tr.transfer_matrix(ed, a_prev[r], a_next[r], N)
            np.testing.assert_array_equal(block[r], dense)
            i, j, byt = tr.transfer_list(ed, a_prev[r], a_next[r], N)
            sparse = np.zeros((N, N))
            np.add.at(sparse, (i, j), byt)
            np.testing.assert_array_equal(sparse, dense)
        whole = tr.transfer_matrix(ed, np.zeros(P_u, dtype=np.int64), np.ones(P_k, dtype=np.int64), N)
        assert whole[0, 1] == ed.whole_bytes  # one owner of u, another of k: the edge's whole_bytes
