"""Model-inversion attack suite (needs the ``learn`` extra: torch, scikit-image, scikit-learn).

:mod:`~optdist.attacks.datasets` loads offline image sets, :mod:`~optdist.attacks.targets`
trains the target CNNs, :mod:`~optdist.attacks.inversion` is He et al.'s black-box inverse
network and :mod:`~optdist.attacks.calibrate` turns attack sweeps into privacy tables.
"""
