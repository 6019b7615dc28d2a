"""bounds27: a bound read from a CBC or GLPK log that lies above the incumbent by more than
rounding is passed on as it is, for :func:`optdist.result.finalize` to cap and record (the run
then proves nothing); before, the adapter capped it at the incumbent, unseen, and the run said
``optimal`` on the false claim. A bound above it by rounding only is still the incumbent."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from optdist.result import within_rounding
from optdist.solvers.cbc import proven_bound
from optdist.solvers.glpk import Glpk

#: glpsol's node log at a stop within --mipgap, its last bound ``BOUND`` (the incumbent 1.0)
GLPK_LOG = (" A: min|aij| =  1.000e+00  max|aij| =  1.000e+00  ratio =  1.000e+00\n"
            "+    12: mip =   1.000000000e+00 >=   {bound}   0.0% (3; 0)\n"
            "RELATIVE MIP GAP TOLERANCE REACHED; SEARCH TERMINATED\n")


def test_within_rounding_keeps_a_false_claim():
    assert within_rounding(1.0 + 1e-9, 1.0) == 1.0  # rounding: the incumbent
    assert within_rounding(1.5, 1.0) == 1.5  # a false claim: as it is
    assert within_rounding(0.9, 1.0) == 0.9 and within_rounding(1.5, None) == 1.5


@pytest.mark.parametrize("bound, read", [("1.200000000e+00", 1.2), ("1.000000001e+00", 1.0), ("9.0e-01", 0.9)])
def test_glpk_passes_a_false_bound_on(bound, read):
    opt = SimpleNamespace(_log=GLPK_LOG.format(bound=bound))
    assert Glpk()._bound(opt, None, 1.0) == pytest.approx(read, rel=1e-12)


def test_cbc_passes_a_false_bound_on():
    log = "Cbc0010I After 100 nodes, 5 on tree, 1 best solution, best possible 1.5 (0.10 seconds)\n"
    assert proven_bound(log, 1.0) == pytest.approx(1.45)  # printed 1.5: half a unit of its last digit lower
    assert proven_bound(log, 1.4500000001) == pytest.approx(1.4500000001)  # above by rounding: the incumbent
