"""DQN hyper-parameters of the paper (Tables 4-5, best reading in seed000-notes) as named presets.

Table 4 (all): gamma 0.95, epsilon from 1, buffer 50000, batch 64. Table 5 per network:

=======  ===========  =====  ======  =====  ====  ==========
preset   eps decay    G      lr      sigma  beta  train_freq
=======  ===========  =====  ======  =====  ====  ==========
lenet    0.995        100    1e-4    1      0.5   1
cifar    0.995        3000   1e-4    1      0.5   1
vgg      0.995        3000   1e-4    0      0     16
hetero   0.9995       3000   1e-5    0      0     4
=======  ===========  =====  ======  =====  ====  ==========

(``train_freq`` is ours, below.)

Not in the paper (ours): epsilon is multiplied by the decay once per episode down to
``eps_min`` = 0.01 (the paper keeps it above 0 to track changes); the Q-network is one 64-64
ReLU MLP shared by every device (:class:`optdist.rl.dqn.DeviceQNet`); ``latency_unit_s``
scales the paper reward's latency penalty (about the largest segment delay on that network,
so a valid step stays worth more than a broken one, 0); ``stage_unit_s`` scales the
stage-time reward (about a tenth of it); ``episodes`` is the default training length.
``train_freq`` is the default number of env steps per gradient step (``optdist train-rl
--train-freq``, :func:`optdist.rl.train.train`); the paper gives none, and 1 (one step per
segment) is our reading of it, kept where the preset's default episodes train within issue 14's
15 min on 2 cores (lenet, cifar). vgg: 16, the spec ``benchmarks/specs/paper-250-rl-vgg.toml``'s
(the VGG loads' thousands of segments per request; its 3000 episodes on ``train-mix-8x70-tau0.6`` in
471-994 s by the load: 471 s in ``benchmarks/online/README.md``, 743.5 s in ``train_time.md``,
994.5 s in ``models/policies/mix-70``'s policy.json). hetero: 4, SB3's
DQN default: at 1 its 10 000 episodes on ``mixed-8x6-nexus-rpi3`` took 1977 s (1312 s CPU),
at 4 they take about a third of that CPU (``benchmarks/online/train_time.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from optdist.instance import Instance


@dataclass(frozen=True)
class Preset:
    name: str
    eps_decay: float
    target_update: int
    lr: float
    sigma: float
    beta: float
    latency_unit_s: float
    stage_unit_s: float
    episodes: int
    train_freq: int
    gamma: float = 0.95
    eps_start: float = 1.0
    eps_min: float = 0.01
    buffer_size: int = 50_000
    batch_size: int = 64


PRESETS: dict[str, Preset] = {
    "lenet": Preset("lenet", eps_decay=0.995, target_update=100, lr=1e-4, sigma=1.0, beta=0.5,
                    latency_unit_s=1e-3, stage_unit_s=1e-4, episodes=3000, train_freq=1),
    "cifar": Preset("cifar", eps_decay=0.995, target_update=3000, lr=1e-4, sigma=1.0, beta=0.5,
                    latency_unit_s=1e-2, stage_unit_s=1e-3, episodes=3000, train_freq=1),
    "vgg": Preset("vgg", eps_decay=0.995, target_update=3000, lr=1e-4, sigma=0.0, beta=0.0,
                  latency_unit_s=1.0, stage_unit_s=0.1, episodes=3000, train_freq=16),
    "hetero": Preset("hetero", eps_decay=0.9995, target_update=3000, lr=1e-5, sigma=0.0, beta=0.0,
                     latency_unit_s=1.0, stage_unit_s=0.1, episodes=10000, train_freq=4),
}


def preset_for(inst: Instance) -> Preset:
    """The paper's preset for the instance's CNNs: one CNN picks its own ('lenet' for a CNN
    without one, e.g. micro), a mix 'hetero'."""
    cnns = {c.removesuffix("16").removesuffix("19") for c in inst.request_cnn}
    return PRESETS.get(cnns.pop(), PRESETS["lenet"]) if len(cnns) == 1 else PRESETS["hetero"]


def count_in_range(value: object) -> bool:
    """Whether ``value`` is a training length optdist takes: a whole number >= 1 of DQN
    episodes (``episodes``) or of MaskablePPO env steps (``timesteps``); a bool is none. The one
    home of that rule: :func:`optdist.rl.train.train`, :func:`optdist.rl.ppo.train_maskable_ppo`
    and the bench spec's check (:mod:`optdist.bench.spec`), which must not import torch, use it
    (0 or -1 trained nothing and placed with the network's initial weights)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
