"""lenet42: MaskablePPO places without building sb3-contrib's distribution objects
(:func:`optdist.rl.ppo._chooser`: the actor in float64 numpy where a float32 bound proves the choice,
else the same torch operations as ``get_distribution(...).get_actions(deterministic=True)``): the
same actions as SB3's, one forward per segment, with fewer forwards than segments on a
single-request LeNet set."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("sb3_contrib")
pytestmark = pytest.mark.learn

from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy  # noqa: E402

from optdist.instance import load_instance  # noqa: E402
from optdist.rl.decide import place_requests  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.ppo import _chooser, place_maskable_ppo, train_maskable_ppo  # noqa: E402
from optdist.rl.trajectory import DeviceRows  # noqa: E402

from tests.test_first35 import counted  # noqa: E402
from tests.test_rl_decide import assert_same_outcome  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"  # one request: no warm-up, 57 segments


def sb3_choose(net):
    """The actor's choice as sb3-contrib computes it (the chooser before lenet42): the reference."""

    def choose(glob, dev, allowed):
        obs = torch.from_numpy(np.concatenate([glob, dev.dense().reshape(len(glob), -1)], axis=1))
        with torch.no_grad():
            return net.get_distribution(obs, action_masks=allowed).get_actions(deterministic=True).numpy()

    return choose


def test_ppo_places_a_lenet_request_as_sb3_per_segment_without_its_distributions(monkeypatch):
    """Before: every forward (52 for this request) built sb3-contrib's masked distribution (three
    torch Categoricals with argument checks: about 0.2 ms a state, most of the 20-44 ms the gap table
    measured on the single-request LeNet sets)."""
    inst = load_instance(LENET)
    policy = train_maskable_ppo(inst, 64, 0, n_steps=64)[0]
    net = policy.net
    rng = np.random.default_rng(0)
    G, F, D = policy.config["obs_size"] - 11 * inst.n_devices, 11, inst.n_devices
    for K in (1, 3, 16):  # random states, some rows equal (equal logits: ties), some devices masked
        glob = rng.random((K, G), dtype=np.float32)
        dev = rng.random((K, F, D), dtype=np.float32)
        dev[:, :, 1] = dev[:, :, 0]
        allowed = rng.random((K, D)) < 0.6
        allowed[:, 3] = True
        rows = DeviceRows.of(dev)
        np.testing.assert_array_equal(_chooser(net)(glob, rows, allowed), sb3_choose(net)(glob, rows, allowed))
    tied = copy.deepcopy(net)  # devices 1 and 2 of equal output weights: exact ties, decided by torch as SB3 does
    with torch.no_grad():
        tied.action_net.weight[2] = tied.action_net.weight[1]
        tied.action_net.bias[2] = tied.action_net.bias[1]
    glob, dev = rng.random((8, G), dtype=np.float32), DeviceRows.of(rng.random((8, F, D), dtype=np.float32))
    allowed = np.zeros((8, D), dtype=bool)
    allowed[:, 1:3] = True
    allowed[::2, 5] = True
    allowed[7] = False  # a state with no device allowed (a masked request's rejection): torch's choice, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_chooser(tied)(glob, dev, allowed), sb3_choose(tied)(glob, dev, allowed))

    built = {"n": 0}
    get = MaskableActorCriticPolicy.get_distribution

    def get_distribution(self, *args, **kwargs):
        built["n"] += 1
        return get(self, *args, **kwargs)

    monkeypatch.setattr(MaskableActorCriticPolicy, "get_distribution", get_distribution)
    counts = counted(monkeypatch)
    out, _, segments = place_maskable_ppo(inst, policy)
    assert built["n"] == 0  # (was one per forward)
    assert out.warmup_s is None and segments == [57]
    assert counts["rounds"] > 0 and counts["rounds"] + counts["alone"] < segments[0], counts  # fewer forwards than segments
    cfg = policy.config
    ref, _, _ = place_requests(inst, Features(inst, cfg["cnns"], cfg["max_layers"]), sb3_choose(net), True,
                               batched=False)
    assert built["n"] == segments[0]  # the reference: one SB3 forward per segment
    assert_same_outcome(out, ref)
