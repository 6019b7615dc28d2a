"""FICO Xpress through its Python API and Pyomo's legacy ``xpress_direct`` interface.

The pip wheel carries a community licence (5000 rows + columns). ``timelimit`` is passed
as a raw control: Pyomo's own ``timelimit`` keyword is ignored by this plugin.
"""

from __future__ import annotations

from typing import ClassVar

from optdist.solvers.base import Feature, LegacySolver


class Xpress(LegacySolver):
    """FICO Xpress (commercial; ``pip install xpress`` = community licence)."""

    name = "xpress"
    pyomo_name = "xpress_direct"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND})
    install_hint = "pip install xpress   (community licence, size-limited; full: fico.com)"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "timelimit",
        "mip_gap": "miprelstop",
        "threads": "threads",
        "seed": "randomseed",
    }
