"""CBC (COIN-OR) through Pyomo's legacy ``cbc`` shell interface (LP file + solution file).

Typical raw options: ``cuts = "off"``, ``heur = "on"``, ``presolve = "more"``,
``allowableGap = 1e-9`` (absolute gap).
"""

from __future__ import annotations

from typing import ClassVar

from optdist.solvers.base import Feature, LegacySolver


class Cbc(LegacySolver):
    """CBC (EPL licence; Debian ``apt-get install coinor-cbc``, conda ``coin-or-cbc``)."""

    name = "cbc"
    pyomo_name = "cbc"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "apt-get install coinor-cbc   (or conda install -c conda-forge coin-or-cbc); needs `cbc` on PATH"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "sec",
        "mip_gap": "ratio",
        "threads": "threads",
        "seed": "randomCbcSeed",
    }
