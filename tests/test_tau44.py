"""The frontier bound of identical requests competing for one capacity row
(benchmarks/milp/frontier_bound.py, branch tau44): each query's bound at most the least latency of
every placement within its limit (brute force over every placement of a micro request), and the
dynamic programme's bound at most the brute-force optimum of the one-row relaxation, itself at most
the whole instance's proven optimum."""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys

import optdist
from optdist.generate import generate
from optdist.instance import parse
from optdist.milp.decomposition.colgen import MasterProblem
from optdist.milp.decomposition.single import alone
from optdist.transfers import RESOURCES
from tests.conftest import ROOT
from tests.test_pricing_floor import all_placements


def frontier_script():
    spec = importlib.util.spec_from_file_location("frontier_bound_tau44", ROOT / "benchmarks" / "milp" / "frontier_bound.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass resolves its annotations there
    spec.loader.exec_module(mod)
    return mod


def test_frontier_bound_below_the_one_row_optimum_and_the_proven_optimum():
    fb = frontier_script()
    # 3 micro requests on one source and 3 RPi3 whose radios carry only part of their optima alone
    doc = generate("coupled", {"micro": 3}, {"rpi3": 3}, 0.95, sources=1, privacy="synthetic")
    for d in doc["devices"]:
        d["bandwidth_capacity"] = 200
    inst = parse(doc, "coupled")
    P = MasterProblem(inst)
    row = next(q for q, r in enumerate(P.rows) if RESOURCES[r.resource] == "bandwidth")
    points = []  # (usage of the row, latency) of every placement of one request alone
    for owners in all_placements(inst):
        latency, use = alone(inst, 0, owners)
        points.append((float(P.usage(use)[row]), float(latency)))
    n, cap = P.sizes[0], float(P.rhs[row])
    one_row = min(sum(lat for _u, lat in trio) for trio in itertools.combinations_with_replacement(points, n)
                  if sum(u for u, _l in trio) <= cap * (1 + 1e-9))
    whole = optdist.solve(inst, method="milp", formulation="tight", time_limit=30, threads=1)
    assert whole.termination.value == "optimal"
    alone_best = min(lat for _u, lat in points)
    assert one_row <= whole.objective * (1 + 1e-9)
    assert one_row > n * alone_best * (1 + 1e-6)  # the row binds: the bound has work to do

    queries = fb.frontier(inst, row, incumbent=whole.objective, time_limit=20, log=lambda _s: None)
    assert len(queries) >= 2
    for q in queries:
        within = [lat for u, lat in points if u <= q.limit * (1 + 1e-9)]
        truth = min(within) if within else math.inf
        assert q.bound <= truth * (1 + 1e-9)
        if q.usage is not None:
            assert q.usage <= q.limit * (1 + 1e-9) and q.latency >= truth * (1 - 1e-9)
    bound = fb.dp_bound(queries, n, cap)
    assert bound <= one_row * (1 + 1e-9)
    if all(q.proven for q in queries):  # every query closed: the programme is the one-row optimum
        assert bound >= one_row * (1 - 1e-6)
    assert bound > n * alone_best * (1 + 1e-6)
