"""A spec may name every figure `optdist bench-figures --figure` draws (found: `figures =
["convergence"]`, issue 11's gap-vs-time curve, was refused as an unknown figure by the spec
while `bench-figures --figure convergence` draws it; the spec kept its own copy of the names)."""

from __future__ import annotations

from optdist.bench.figures import FIGURES as DRAWN
from optdist.bench.spec import FIGURES, parse_spec

from .conftest import ROOT


def test_the_spec_knows_every_figure():
    assert set(FIGURES) == set(DRAWN)


def test_a_spec_may_ask_for_the_convergence_figure():
    spec = parse_spec({"name": "t", "out": "o", "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")],
                       "methods": ["milp"], "figures": ["convergence"]})
    assert spec.figures == ("convergence",)
