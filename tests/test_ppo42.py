"""ppo42: MaskablePPO decides a lone segment from its observation vector (:meth:`optdist.rl.ppo._Chooser.one`),
a request whose guessed rounds keep too few segments decides its next layers one by one
(:meth:`optdist.rl.decide.Plan.guesses_pay`), and a segment is booked with scalar updates
(:meth:`optdist.heuristics.incremental.LayerState.place`); the actions stay those of one SB3 forward per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("sb3_contrib")
pytestmark = pytest.mark.learn

from optdist.heuristics.incremental import LayerState, RequestPlacer, Usage  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl.decide import place_requests  # noqa: E402
from optdist.rl.env import N_DEVICE_FEATURES, Features  # noqa: E402
from optdist.rl.ppo import _build, _chooser, place_maskable_ppo, train_maskable_ppo  # noqa: E402
from optdist.rl.trajectory import DeviceRows  # noqa: E402

from tests.test_first35 import counted  # noqa: E402
from tests.test_lenet42 import sb3_choose  # noqa: E402
from tests.test_rl_decide import assert_same_outcome, snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"  # one request, 57 segments, no warm-up


@pytest.fixture(scope="module")
def lenet_policy():
    inst = load_instance(LENET)
    return inst, train_maskable_ppo(inst, 2048, 0, n_steps=256)[0]


def test_one_state_is_chosen_from_its_observation_as_sb3_chooses(lenet_policy):
    """Random observations (some device rows equal: ties; some devices masked; one with none allowed,
    one with an exact tie of output weights): ``one`` gives SB3's deterministic action."""
    inst, policy = lenet_policy
    D, n = inst.n_devices, policy.config["obs_size"]
    G = n - N_DEVICE_FEATURES * D
    rng = np.random.default_rng(1)
    cfg = policy.config
    tied = _build(cfg["obs_size"], cfg["n_actions"], cfg["net_arch"])
    tied.load_state_dict(policy.net.state_dict())
    tied.eval()
    with torch.no_grad():
        tied.action_net.weight[2] = tied.action_net.weight[1]
        tied.action_net.bias[2] = tied.action_net.bias[1]
    for net in (policy.net, tied):
        choose, ref = _chooser(net), sb3_choose(net)
        for s in range(40):
            obs = rng.random(n, dtype=np.float32)
            dev = obs[G:].reshape(N_DEVICE_FEATURES, D)
            dev[:, 2] = dev[:, 1] if s % 2 else dev[:, 2]
            allowed = rng.random(D) < 0.6
            allowed[1:3] = s % 3 != 2 or allowed[1:3]
            if s == 7:
                allowed[:] = False
            want = ref(obs[None, :G], DeviceRows.of(dev[None]), allowed[None])[0]
            assert choose.one(obs, allowed) == want == choose(obs[None, :G], DeviceRows.of(dev[None]), allowed[None])[0]


def test_lenet_request_decides_its_layers_alone_once_guessed_rounds_keep_little(monkeypatch, lenet_policy):
    """Before: layers guessed from their input maps' owners or the previous layer went in rounds that
    kept about one segment each (this policy: 12 rounds and 25 lone segments for the 57, MaskablePPO of 20 000 steps
    15 rounds, each costing about 3 lone decisions; now 3 and 51); the request stops guessing after the first layer whose
    rounds keep too little: few rounds, every other segment one observation and one ``one`` call."""
    inst, policy = lenet_policy
    counts = counted(monkeypatch)
    chooser = _chooser(policy.net)
    calls = {"one": 0, "batch": 0}
    one, batch = chooser.one, chooser.__call__

    class Spy:
        def one(self, *a):
            calls["one"] += 1
            return one(*a)

        def __call__(self, *a):
            calls["batch"] += 1
            return batch(*a)

    monkeypatch.setattr("optdist.rl.ppo._chooser", lambda net: Spy())
    out, _, segments = place_maskable_ppo(inst, policy)
    assert segments == [57] and out.warmup_s is None
    assert counts["rounds"] <= 4 and calls["batch"] == counts["rounds"], (counts, calls)
    assert calls["one"] == counts["alone"] >= segments[0] - 4 * 8, (counts, calls)  # (rounds keep <= 8 each: layers of 8)
    cfg = policy.config
    ref, _, _ = place_requests(inst, Features(inst, cfg["cnns"], cfg["max_layers"]), sb3_choose(policy.net), True,
                               batched=False)
    assert_same_outcome(out, ref)


@pytest.mark.parametrize("seed", [1, 2])
def test_placing_one_segment_books_what_committing_it_books_without_commit(monkeypatch, seed):
    """``place(j)`` on a layer with no input edge, a conv edge (per segment) or an elementwise one (map):
    the numbers of ``commit([j])``, bit for bit, along a random sequence, without calling ``commit``."""
    inst = load_instance(LENET)
    rng = np.random.default_rng(seed)
    rp = RequestPlacer(inst, Usage.zeros(inst.n_nodes), 0, np.ones(inst.n_nodes, dtype=bool))
    seen = set()
    commits = {"n": 0}
    real = LayerState.commit
    while not rp.done:
        st = rp.next_layer()
        if st.on_source or st.mode not in ("none", "per_segment", "map"):
            st.commit(np.full(st.P, int(inst.request_source[0])) if st.on_source else rng.integers(0, inst.n_devices, st.P))
            rp.close(st)
            continue
        seen.add(st.mode)
        ref = snapshot(st)
        monkeypatch.setattr(LayerState, "commit", lambda self, nodes: (commits.__setitem__("n", commits["n"] + 1),
                                                                        real(self, nodes))[1])
        for j in rng.integers(0, inst.n_devices, st.P).tolist():
            st.place(j)
        assert commits["n"] == 0
        monkeypatch.setattr(LayerState, "commit", real)
        for j in st.owners[st.order].tolist():
            ref.commit(np.array([j]))
        for name in ("cnt", "owners", "t", "shared") + (("flow", "wait") if st.mode == "map" else ()):
            np.testing.assert_array_equal(getattr(st, name), getattr(ref, name), err_msg=name)
        for name in ("memory", "compute", "bandwidth"):
            np.testing.assert_array_equal(getattr(st.usage, name), getattr(ref.usage, name), err_msg=name)
        rp.close(st)
    assert seen == {"per_segment", "map"}
