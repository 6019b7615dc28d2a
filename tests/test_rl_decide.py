"""Batched RL decisions: the states along a sequence equal Features' step by step, and placing
with one batched forward per round gives the actions of one forward per segment."""

from __future__ import annotations

import copy
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.heuristics.incremental import RequestPlacer, Usage  # noqa: E402
from optdist.instance import Instance, load_instance  # noqa: E402
from optdist.rl import decide  # noqa: E402
from optdist.rl.decide import Scorer, decide_layer, place_requests  # noqa: E402
from optdist.rl.dqn import DeviceQNet  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.policy import Policy, place_online  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import train  # noqa: E402
from optdist.rl.trajectory import DeviceRows, batchable, layer_states  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "instances" / "paper"


def first(path: Path, n: int) -> Instance:
    inst = load_instance(path)
    return inst.with_spec(requests=inst.spec.requests[:n])


def random_policy(inst: Instance, masked: bool, seed: int) -> Policy:
    """An untrained Q-network (seeded): arbitrary but deterministic decisions."""
    feats = Features(inst)
    torch.manual_seed(seed)
    net = DeviceQNet(feats.n_global, feats.n_device, inst.n_devices, (64, 64))
    return Policy.from_agent(net, {"masked": masked, "cnns": feats.cnns, "max_layers": feats.max_layers})


def assert_same_placements(inst: Instance, policy: Policy) -> None:
    out, _, segments = place_online(inst, policy)
    cfg = policy.config
    ref, _, _ = place_requests(inst, Features(inst, cfg["cnns"], cfg["max_layers"]), Scorer(policy.net).choose,
                               policy.masked, batched=False)
    assert_same_outcome(out, ref)
    assert sum(segments) > 0


def assert_same_outcome(out, ref) -> None:
    """Two OnlineOutcomes placed (or rejected) every request alike."""
    assert out.rejected == ref.rejected
    assert out.latency == ref.latency and out.shared == ref.shared
    for a, b in zip(out.owners, ref.owners, strict=True):
        assert (a is None) == (b is None)
        for x, y in zip(a or [], b or [], strict=True):
            np.testing.assert_array_equal(x, y)


def snapshot(st):
    """A copy of a LayerState that placing on the original leaves unchanged."""
    c = copy.copy(st)
    c.cnt, c.owners, c.usage = st.cnt.copy(), st.owners.copy(), st.usage.copy()
    if st.mode == "map":
        c.flow, c.wait = st.flow.copy(), st.wait.copy()
    return c


@pytest.mark.parametrize("path", [ROOT / "instances" / "tiny" / "lenet-2x4-tight.json", PAPER / "lenet-10x10-tau0.8.json",
                                  PAPER / "cifar-250x70-tau0.6.json", ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json",
                                  pytest.param(PAPER / "vgg16-250x70-tau0.6.json", marks=pytest.mark.slow)], ids=lambda p: p.stem)
def test_layer_states_equal_features_step_by_step(path):
    """Random placement sequences (mostly masked devices, some any device): bit-identical
    observations and masks, and placing the sequence at once leaves the same state."""
    inst = first(path, 2)
    feats, rng = Features(inst), np.random.default_rng(0)
    usage, checked = Usage.zeros(inst.n_nodes), 0
    for r in range(inst.n_requests):
        rp = RequestPlacer(inst, usage, r)
        while not rp.done:
            st = rp.next_layer()
            if st.on_source:
                st.commit(np.full(st.P, int(inst.request_source[r])))
            while not st.done:
                if not batchable(st):
                    st.place(int(np.argmax(feats(r, st)[1])))
                    continue
                before = snapshot(st)
                picks, ref_obs, ref_mask = [], [], []
                for _ in range(int(rng.integers(1, min(st.P - st.t, 40) + 1))):
                    obs, mask = feats(r, st)
                    ref_obs.append(obs)
                    ref_mask.append(mask)
                    picks.append(int(rng.choice(np.flatnonzero(mask))) if mask.any() and rng.random() < 0.9
                                 else int(rng.integers(inst.n_devices)))
                    st.place(picks[-1])
                ls = layer_states(feats, r, before, np.array(picks))
                np.testing.assert_array_equal(ls.obs(), np.array(ref_obs))
                np.testing.assert_array_equal(ls.mask, np.array(ref_mask))
                before.commit(np.array(picks))
                for name in ("memory", "compute", "bandwidth"):
                    np.testing.assert_array_equal(getattr(before.usage, name), getattr(st.usage, name))
                assert before.shared == st.shared and before.stage_time == st.stage_time
                np.testing.assert_array_equal(before.owners, st.owners)
                checked += 1
            rp.close(st)
    assert checked > 3


@pytest.fixture(scope="module")
def lenet_policies() -> dict[str, Policy]:
    """Short-trained LeNet agents: the paper's (eq. 11, unmasked) and the masked double DQN."""
    inst = first(PAPER / "lenet-10x10-tau0.8.json", 3)
    out = {}
    for name, kw in {"paper": {}, "masked": dict(masked=True, double=True, reward="stage")}.items():
        res = train(inst, PRESETS["lenet"], episodes=20, progress=False, **kw)
        out[name] = Policy.from_agent(res.agent.q, res.config)
    return out


@pytest.mark.parametrize("variant", ["paper", "masked"])
@pytest.mark.parametrize("name", ["lenet-10x10-tau0.8", "lenet-10x10-tight-tau0.6"])
def test_batched_decisions_equal_per_segment_trained(lenet_policies, name, variant):
    assert_same_placements(load_instance(PAPER / f"{name}.json"), lenet_policies[variant])


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("path, n, seed", [(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json", 8, 0),
                                           (PAPER / "cifar-250x70-tau0.6.json", 1, 2),
                                           pytest.param(ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json", 8, 1, marks=pytest.mark.slow),
                                           pytest.param(PAPER / "vgg16-250x70-tau0.6.json", 1, 3, marks=pytest.mark.slow)],
                         ids=lambda v: getattr(v, "stem", None))
def test_batched_decisions_equal_per_segment_random_networks(path, n, seed, masked):
    assert_same_placements(first(path, n), random_policy(first(path, n), masked, seed))


@pytest.mark.parametrize("path, seed", [(ROOT / "instances" / "coupled" / "lenet-20x10-rpi3.json", 1),
                                        (ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json", 1)],
                         ids=lambda v: getattr(v, "stem", None))
def test_batched_rejections_mid_layer_equal_per_segment(monkeypatch, path, seed):
    """Where capacity binds, a masked policy runs out of allowed devices in the middle of a
    batched layer (a round whose states were built past that segment): the requests rejected
    and every placement stay those of deciding segment by segment."""
    stuck = []
    real = decide.decide_layer

    def spy(choose, feats, r, st, masked, hint=None, batched=True, rank=None, plan=None):
        ok = real(choose, feats, r, st, masked, hint=hint, batched=batched, rank=rank, plan=plan)
        if not ok and batched and hint is not None:
            stuck.append((st.t, st.P))
        return ok

    monkeypatch.setattr(decide, "decide_layer", spy)
    inst = load_instance(path)
    assert_same_placements(inst, random_policy(inst, True, seed))
    assert any(0 < t < P for t, P in stuck)


def test_a_wrong_guess_changes_nothing():
    inst = first(PAPER / "lenet-10x10-tau0.8.json", 1)
    policy = random_policy(inst, True, 5)
    feats, choose = Features(inst), Scorer(policy.net).choose
    owners = []
    for hint_kind in ("none", "random", "constant"):
        usage, rng = Usage.zeros(inst.n_nodes), np.random.default_rng(1)
        rp = RequestPlacer(inst, usage, 0)
        while not rp.done:
            st = rp.next_layer()
            if st.on_source:
                st.commit(np.full(st.P, int(inst.request_source[0])))
            else:
                hint = {"none": None, "random": rng.integers(0, inst.n_devices, st.P), "constant": np.zeros(st.P, int)}[hint_kind]
                assert decide_layer(choose, feats, 0, st, True, hint=hint)
            rp.close(st)
        owners.append(np.concatenate(rp.owners))
    np.testing.assert_array_equal(owners[0], owners[1])
    np.testing.assert_array_equal(owners[0], owners[2])


def test_ties_go_to_the_lowest_device():
    net = DeviceQNet(2, 3, 4, (8, 8))
    sc = Scorer(net)
    glob = np.array([[1.0, 0.5]], dtype=np.float32)
    row = np.array([0.2, 0.7, 0.1], dtype=np.float32)
    dev = np.repeat(row[:, None], 4, axis=1)[None]  # four devices with equal features
    allowed = np.array([[False, True, True, True]])
    assert sc.choose(glob, dev, allowed).tolist() == [1]
    dev[0, :, 3] = [0.9, 0.1, 0.5]
    q = sc.q_rows(glob, dev[0].T, np.zeros(4, dtype=np.int64))
    assert sc.choose(glob, dev, allowed).tolist() == [3 if q[3] > q[1] else 1]
    assert sc.choose(glob, dev, np.zeros((1, 4), dtype=bool)).tolist() == [0]


def walk(rng: np.random.Generator, K: int, F: int, D: int, n_kinds: int) -> np.ndarray:
    """(K, F, D) float32 device rows along a layer: few distinct rows (so devices tie), and each
    state changes a few devices of the state before (as a placement does)."""
    kinds = rng.random((n_kinds, F)).astype(np.float32)
    dev = np.empty((K, F, D), dtype=np.float32)
    dev[0] = kinds[rng.integers(0, n_kinds, D)].T
    for s in range(1, K):
        dev[s] = dev[s - 1]
        for j in rng.choice(D, int(rng.integers(0, 3)), replace=False):
            dev[s, :, j] = kinds[rng.integers(0, n_kinds)] if rng.random() < 0.7 else rng.random(F)
    return dev


def per_state_choice(sc: Scorer, glob: np.ndarray, dev: np.ndarray, allowed: np.ndarray) -> list[int]:
    """The reference: every allowed (state, device) row forwarded on its own, ties to the lowest device."""
    want = []
    for s in range(len(dev)):
        j = np.flatnonzero(allowed[s])
        if len(j) == 0:
            want.append(0)
            continue
        q = sc.q_rows(glob, dev[s][:, j].T, np.full(len(j), s))
        best = q.max()
        want.append(int(j[np.flatnonzero(q >= best - 1e-9 * (1 + abs(best)))[0]]))
    return want


@pytest.mark.parametrize("pairs", ["interpolated", "direct"])
@pytest.mark.parametrize("globs", ["segment-index", "segment-index-shuffled", "equal", "several-entries"])
@pytest.mark.parametrize("collide", [False, True], ids=["distinct-keys", "all-keys-equal"])
def test_choose_equals_one_forward_per_row(monkeypatch, collide, globs, pairs):
    """Grouping equal device rows across the states of a batch (and the fallback when different
    rows share a hash), forwarding each row at few segment indices and interpolating between
    them gives the choice of forwarding every allowed (state, device) row on its own, ties
    included; so does a batch whose global parts are equal, or differ in several entries
    (every pair forwarded), and forwarding every (row, segment index) pair (``direct``: what
    :data:`decide.DIRECT_PAIRS` does for a small round)."""
    monkeypatch.setattr(decide, "DIRECT_PAIRS", 10**9 if pairs == "direct" else 0)
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    K, G, F, D = 300, 6, 4, 12
    sc = Scorer(DeviceQNet(G, F, D, (64, 64)))
    glob = np.zeros((K, G), dtype=np.float32)
    glob[:, 1] = 1.0
    if globs.startswith("segment-index"):
        glob[:, 5] = (rng.permutation(K) if globs.endswith("shuffled") else np.arange(K)) / K
    elif globs == "several-entries":
        glob = rng.random((K, G)).astype(np.float32)
    dev = walk(rng, K, F, D, 3)
    allowed = rng.random((K, D)) < 0.7
    allowed[0] = False  # a state with no device allowed: 0
    if collide:
        sc.proj = np.zeros(F, dtype=np.uint64)
    assert sc.choose(glob, dev, allowed).tolist() == per_state_choice(sc, glob, dev, allowed)


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "interpolated"])
def test_small_rounds_equal_per_segment(monkeypatch, direct):
    """Rounds of at most 8 states (as after a missed guess) forward every (row, segment index)
    pair (:data:`decide.DIRECT_PAIRS`); with DIRECT_PAIRS 0 they interpolate: both place every
    request as one forward per segment does, unmasked and where the senders' bandwidth binds."""
    monkeypatch.setattr(decide, "FIRST_ROUND", 8)
    monkeypatch.setattr(decide, "MAX_ROUND", 8)
    if not direct:
        monkeypatch.setattr(decide, "DIRECT_PAIRS", 0)
    calls = {"q_pairs": 0, "signs": 0}
    q_pairs, signs = Scorer._q_pairs, Scorer._mlp_signs

    def counted(name, inner):
        def wrapper(*args):
            calls[name] += 1
            return inner(*args)
        return wrapper

    monkeypatch.setattr(Scorer, "_q_pairs", counted("q_pairs", q_pairs))
    monkeypatch.setattr(Scorer, "_mlp_signs", counted("signs", signs))
    inst = first(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json", 8)
    assert_same_placements(inst, random_policy(inst, False, 4))
    assert calls["q_pairs"] > 20  # rounds were scored (the reference decides alone, without _q_pairs)
    assert (calls["signs"] == 0) == direct  # direct: no interpolation; else the sign-tracking forwards


def test_interpolated_q_equals_forwarded_q():
    """Along the segment index, Q of a device row is interpolated on the pieces where no ReLU
    input changes sign: equal to the forwarded Q up to rounding, with far fewer rows forwarded
    than (row, segment index) pairs, and pieces cut where signs change."""
    rng = np.random.default_rng(7)
    torch.manual_seed(7)
    K, G, F, D = 512, 6, 11, 20
    sc = Scorer(DeviceQNet(G, F, D, (64, 64)))
    glob = np.zeros((K, G), dtype=np.float32)
    glob[:, 0] = 1.0
    glob[:, 5] = np.arange(K) / K
    dev = walk(rng, K, F, D, 4)
    allowed = np.ones((K, D), dtype=bool)
    forwarded = []
    mlp = sc._mlp_signs
    sc._mlp_signs = lambda x: forwarded.append(len(x)) or mlp(x)
    q = sc._q_batch(glob, dev, allowed)
    ref = np.array([sc.q_rows(glob, dev[s].T, np.full(D, s)) for s in range(K)])
    np.testing.assert_allclose(q, ref, rtol=1e-12, atol=1e-12)
    assert len(forwarded) > 1  # some piece had ReLU signs changing inside: cut
    assert sum(forwarded) < 0.5 * len(np.unique(ref))


ROUNDS = """
import resource, sys
import numpy as np
from optdist.rl.decide import keep_freed_heap
def round_():  # a round's temporaries: six 1 MiB arrays, written, then freed
    arrays = [np.ones(2**17) for _ in range(6)]
    del arrays
round_()  # the first round grows the heap (and, with the default thresholds, raises them to 1 MiB)
if sys.argv[1] == "keep":
    keep_freed_heap()
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc thresholds (Linux with glibc only)")
def test_kept_heap_is_not_faulted_in_again_each_round():
    """With glibc's default thresholds, rounds freeing 6 MiB at the top of the heap hand it back
    and page-fault it in again (about 1 500 faults a round); after :func:`keep_freed_heap` (which
    :func:`place_requests` calls) they reuse it. Fresh processes: the thresholds are per process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"):
        env.pop(name, None)
    faults = {how: int(subprocess.run([sys.executable, "-c", ROUNDS, how], env=env, capture_output=True, text=True,
                                      check=True).stdout) for how in ("default", "keep")}
    assert faults["default"] > 20 * 1000
    assert faults["keep"] < 20 * 50


def dag(tmp_path: Path, cnn: str, n: int) -> Instance:
    """tests/test_dag_evaluator.py's micro network ``cnn``: n requests on 3 devices."""
    from tests.test_dag_evaluator import dag_instance

    return dag_instance(tmp_path, cnn, n, 3)


@pytest.mark.parametrize("source", [ROOT / "instances" / "coupled" / "lenet-20x10-rpi3.json",
                                    ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json", "dag-res", "dag-cat",
                                    pytest.param(PAPER / "vgg16-250x70-tau0.6.json", marks=pytest.mark.slow)],
                         ids=lambda p: getattr(p, "stem", p))
def test_incremental_rows_equal_dense_states_where_capacity_binds(tmp_path, source):
    """layer_states looks up only the device rows that may change (DeviceRows): over whole
    layers placed mostly on the lowest-index allowed device (so privacy caps and, on the coupled
    sets, the senders' bandwidth bind in the middle of a sequence), the rows it holds give exactly
    Features' observations and masks step by step, and the network chooses from them as from the
    dense blocks (whose rows are found by comparing consecutive states)."""
    inst = dag(tmp_path, source.split("-")[1], 4) if isinstance(source, str) else load_instance(source)
    if "vgg16" in inst.name:
        inst = inst.with_spec(requests=inst.spec.requests[:2])
    feats, rng = Features(inst), np.random.default_rng(1)
    choose = Scorer(random_policy(inst, True, 2).net).choose
    usage, checked, binds, fills = Usage.zeros(inst.n_nodes), 0, 0, np.zeros(3, dtype=int)
    for r in range(inst.n_requests):
        rp = RequestPlacer(inst, usage, r)
        while not rp.done:
            st = rp.next_layer()
            if st.on_source:
                st.commit(np.full(st.P, int(inst.request_source[r])))
            while not st.done:
                if not batchable(st):
                    st.place(int(np.argmax(feats(r, st)[1])))
                    continue
                before = snapshot(st)
                picks, ref_obs, ref_mask = [], [], []
                for _ in range(min(st.P - st.t, 600)):
                    obs, mask = feats(r, st)
                    ref_obs.append(obs)
                    ref_mask.append(mask)
                    u = rng.random()
                    ok = np.flatnonzero(mask)
                    picks.append(int(ok[0]) if len(ok) and u < 0.8 else int(rng.choice(ok)) if len(ok) and u < 0.9
                                 else int(rng.integers(inst.n_devices)))
                    st.place(picks[-1])
                ls = layer_states(feats, r, before, np.array(picks))
                np.testing.assert_array_equal(ls.obs(), np.array(ref_obs))
                np.testing.assert_array_equal(ls.mask, np.array(ref_mask))
                assert len(ls.rows.rows) <= len(picks) * inst.n_devices
                dense = ls.rows.dense()
                np.testing.assert_array_equal(DeviceRows.of(dense).dense(), dense)
                for allowed in (ls.mask, np.broadcast_to(ls.cand, ls.mask.shape)):
                    np.testing.assert_array_equal(choose(ls.glob, ls.rows, allowed), choose(ls.glob, dense, allowed))
                binds += bool((ls.mask[0] & ~ls.mask[1:]).any())
                fills += (dense[:1, :3] > dense[1:, :3]).any(axis=(0, 2))  # memory, compute, bandwidth bits 1 -> 0
                checked += 1
            rp.close(st)
    assert checked > 3
    if not isinstance(source, str):  # (the micro DAGs' layers have 2 segments: nothing binds within them)
        assert binds > 0
    if "rpi3" in inst.name:
        assert fills.sum() > 0  # a capacity (on these sets the senders' bandwidth) binds within a sequence


def test_layer_states_need_one_to_the_segments_left():
    inst = first(PAPER / "lenet-10x10-tau0.8.json", 1)
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    st = rp.next_layer()
    while st.on_source or not batchable(st):
        st.commit(np.full(st.P, int(inst.request_source[0]) if st.on_source else 0))
        rp.close(st)
        st = rp.next_layer()
    for picks in (np.zeros(0, dtype=int), np.zeros(st.P + 1, dtype=int)):
        with pytest.raises(ValueError, match="segments left of layer"):
            layer_states(Features(inst), 0, st, picks)
    assert len(layer_states(Features(inst), 0, st, np.zeros(st.P, dtype=int)).glob) == st.P


def fewest_first(calls: list[int]):
    """A policy that places each segment on the allowed device holding the fewest of the layer's
    segments (feature 4, ``min(count / cap, 1)``), lowest index first: round-robin placements.
    Records the states of each call in ``calls``."""
    def choose(glob: np.ndarray, dev: DeviceRows, allowed: np.ndarray) -> np.ndarray:
        calls.append(len(glob))
        return np.where(allowed, -dev.dense()[:, 4, :], -np.inf).argmax(axis=1)
    return choose


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked"])
def test_missed_hints_cost_few_forwards(masked):
    """Where the previous request's decisions no longer hold (its sequence shifted by one or its
    devices relabeled, as when a device fills up and an unmasked policy's round-robin moves on),
    a layer takes few forwards, not one small round per segment (the Jacobi guesses alone miss
    at every step here: a 64-segment layer took 64 rounds before :func:`decide._guess`), and the
    decisions stay those of one forward per segment."""
    inst = first(PAPER / "cifar-250x70-tau0.6.json", 1)
    feats, D = Features(inst), inst.n_devices
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0)
    checked = 0
    while not rp.done:
        st = rp.next_layer()
        if st.on_source:
            st.commit(np.full(st.P, int(inst.request_source[0])))
        elif batchable(st) and st.P >= 64:
            ref, calls = snapshot(st), []
            assert decide_layer(fewest_first(calls), feats, 0, ref, masked, batched=False)
            want = ref.owners.copy()
            assert len(calls) == st.P and len(set(want.tolist())) > 8  # one forward per segment; a round-robin
            for hint in (np.roll(want[ref.order], 1), (want[ref.order] + 1) % D):
                run, calls = snapshot(st), []
                assert decide_layer(fewest_first(calls), feats, 0, run, masked, hint=hint)
                np.testing.assert_array_equal(run.owners, want)
                assert len(calls) <= st.P // 4, (st.P, len(calls))
                checked += 1
            st.commit(want[st.order])
        else:
            st.commit(np.full(st.P - st.t, int(np.argmax(feats(0, st)[1]))))
        rp.close(st)
    assert checked >= 2
