"""The greedy's batched merge layers (``LayerState._general_batch``) against the segment-by-segment reference.

A layer of a DAG with several input edges or a concat slice (MODEL.md section 9) is placed by
the greedy in runs that :meth:`LayerState._general_batch` proves equal to stepping every segment
(:meth:`LayerState._general_step`, ``_fill_general(batched=False)``). Here both run in lockstep
from the same usage on the micro DAGs of tests/test_dag_evaluator.py, the traced ResNet block of
tests/test_dag_online.py and a wider traced network (an identity and a projection shortcut, a
concat of a relu and a conv), with ample and with tight memory, compute and bandwidth (requests
get rejected): every pick, the usage, the transfers, the waits and the stage times must be equal
bit for bit, and the batched path must actually book runs of several segments.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest

from optdist.heuristics.greedy import solve_greedy
from optdist.heuristics.incremental import LayerState, RequestPlacer, Usage
from optdist.instance import Instance
from tests.test_dag_evaluator import NETWORKS, dag_instance
from tests.test_dag_online import resnet_block


@functools.cache
def wide_net():
    """Stem, a basic block with an identity shortcut (conv + flow add), one with a 1x1 projection
    shortcut (conv + conv add), a concat of a relu and a conv (sliced edges), pooling, fc; 6 maps
    wide on 3x6x6 inputs, traced to section 9's graph."""
    torch = pytest.importorskip("torch", reason="tracing needs torch: pip install 'optdist[learn]'")
    from torch import nn

    from optdist.tracing import profile_module

    class Net(nn.Module):
        def __init__(self, w: int = 6):
            super().__init__()
            self.stem = nn.Conv2d(3, w, 3, padding=1)
            self.c1, self.c2 = nn.Conv2d(w, w, 3, padding=1), nn.Conv2d(w, w, 3, padding=1)
            self.c3, self.c4 = nn.Conv2d(w, 2 * w, 3, padding=1), nn.Conv2d(2 * w, 2 * w, 3, padding=1)
            self.proj = nn.Conv2d(w, 2 * w, 1)
            self.c5 = nn.Conv2d(2 * w, w, 3, padding=1)
            self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(3 * w, 2)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            x = torch.relu(self.c2(torch.relu(self.c1(x))) + x)
            x = torch.relu(self.c4(torch.relu(self.c3(x))) + self.proj(x))
            x = torch.cat([x, self.c5(x)], dim=1)
            return self.fc(torch.flatten(self.pool(x), 1))

    return profile_module(Net(), (3, 6, 6), name="wide")


def instance(folder: Path, cnn: str, tight: float | None, seed: int) -> Instance:
    """4 requests of ``cnn`` on 3 devices; ``tight``: each device gets a random share (0.2 .. 1) of
    ``tight`` x one request's total memory, multiplications and bytes (so some requests are rejected)."""
    profile = {"block": resnet_block, "wide": wide_net}.get(cnn)
    inst = dag_instance(folder, cnn, 4, 3, profile=profile() if profile else None)
    if tight is None:
        return inst
    prof, D = inst.profile(0), inst.n_devices
    rng = np.random.default_rng(seed)
    need = {"memory": sum(la.total_weight_bytes for la in prof.layers),
            "compute_capacity": sum(la.total_mults for la in prof.layers),
            "bandwidth_capacity": sum(la.out_bytes for la in prof.layers)}
    caps = {}
    for name, total in need.items():
        cap = getattr(inst, name).copy()
        cap[:D] = np.floor(tight * total * rng.uniform(0.2, 1.0, D))
        caps[name] = cap
    return dataclasses.replace(inst, **caps)


def lockstep(inst: Instance) -> tuple[int, int, int]:
    """The greedy with batched merge layers, each layer also filled by the reference from the same
    state; asserts equal state after every layer. Returns (merge layers, segments booked in runs of
    2 or more, rejected requests)."""
    usage, merges, rejected = Usage.zeros(inst.n_nodes), 0, 0
    runs: list[int] = []
    real = LayerState._general_batch

    def spy(self, plan, room):
        n = real(self, plan, room)
        runs.append(n)
        return n

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LayerState, "_general_batch", spy)
        for r in range(inst.n_requests):
            rp = RequestPlacer(inst, usage, r)
            while not rp.done:
                ref = LayerState(inst, usage.copy(), r, len(rp.owners), rp.owners, rp.active)
                st = rp.next_layer()
                ok = st.fill_greedy()
                ok_ref = ref._fill_general(batched=False) if ref.mode == "general" else ref.fill_greedy()
                merges += st.mode == "general"
                assert ok == ok_ref
                np.testing.assert_array_equal(st.owners, ref.owners)
                for name in ("memory", "compute", "bandwidth"):
                    np.testing.assert_array_equal(getattr(st.usage, name), getattr(ref.usage, name))
                np.testing.assert_array_equal(st.cnt, ref.cnt)
                assert st.shared == ref.shared and st.stage_time == ref.stage_time
                if st.mode == "general":
                    np.testing.assert_array_equal(st.wait, ref.wait)
                    np.testing.assert_array_equal(st.O, ref.O)
                if not ok:
                    rp.rollback()
                    rejected += 1
                    break
                rp.close(st)
    return merges, sum(n for n in runs if n > 1), rejected


@pytest.mark.parametrize("cnn", sorted(NETWORKS) + ["block", "wide"])
@pytest.mark.parametrize("tight", [None, 1.5, 0.8])
def test_batched_merge_layers_equal_segment_by_segment(tmp_path, cnn, tight):
    seeds = range(3 if tight else 1)
    done = [lockstep(instance(tmp_path / f"{cnn}-{seed}", cnn, tight, seed)) for seed in seeds]
    merges, batched, rejected = np.sum(done, axis=0)
    assert merges > 0
    if tight is None:
        assert rejected == 0
    if cnn == "wide":
        assert batched > 0  # runs were booked at once, not stepped


@pytest.mark.parametrize("cnn", ["block", "wide"])
def test_tight_capacities_reject_requests(tmp_path, cnn):
    """The tight traced instances above do reach the rejection paths (else they would test little)."""
    rejected = sum(lockstep(instance(tmp_path / f"{seed}", cnn, 0.8, seed))[2] for seed in range(3))
    assert rejected > 0


@pytest.mark.parametrize("cnn", ["block", "wide"])
def test_greedy_result_same_without_batching(tmp_path, cnn):
    """The whole greedy (its request skipping included) decides the same with the batched path off."""
    for seed, tight in ((0, None), (1, 1.5), (2, 0.8)):
        inst = instance(tmp_path / f"{seed}", cnn, tight, seed)
        fast = solve_greedy(inst)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(LayerState, "_general_plan", lambda self: None)
            ref = solve_greedy(inst)
        assert fast.objective == ref.objective and fast.extra["rejected"] == ref.extra["rejected"]
        for a, b in zip(fast.assignment.owners, ref.assignment.owners):
            assert (a is None) == (b is None)
            if a is not None:
                for x, y in zip(a, b):
                    np.testing.assert_array_equal(x, y)


def test_grouped_edges_step_segment_by_segment(tmp_path):
    """A grouped-conv edge is neither uniform nor single-sender: its layer has no batch plan."""
    inst = instance(tmp_path, "grp", None, 0)
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    plans = []
    while not rp.done:
        st = rp.next_layer()
        if st.mode == "general":
            plans.append(st._general_plan())
        assert st.fill_greedy()
        rp.close(st)
    assert plans and all(p is None for p in plans)
