"""RL-DistPrivacy (paper section 3.4): Gymnasium environment, hand-written DQN, training and online policy.

Needs the ``learn`` extra (torch, gymnasium, matplotlib); nothing outside this package imports
torch. Importing this package registers the environment with Gymnasium as :data:`ENV_ID`:
``gymnasium.make("optdist/DistPrivacy-v0", instance="instances/paper/lenet-1x10-tau0.6.json")``
(or, without importing it first, ``gymnasium.make("optdist.rl:optdist/DistPrivacy-v0", ...)``);
keyword arguments are those of :class:`optdist.rl.env.DistPrivacyEnv`.
"""

ENV_ID = "optdist/DistPrivacy-v0"

try:
    import gymnasium
except ImportError:  # without the learn extra only the torch-free modules (presets) are usable
    pass
else:
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="optdist.rl.env:DistPrivacyEnv")
