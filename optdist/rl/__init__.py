"""RL-DistPrivacy (paper section 3.4): Gymnasium environment, hand-written DQN, training and online policy.

Needs the ``learn`` extra (torch, gymnasium, matplotlib); nothing outside this package imports
torch.
"""
