"""Placements that move few bytes: each request on a small team of devices (a primal heuristic).

When the bandwidth (MODEL.md section 6, row 10d) binds, the latency greedy alone (which spreads
every layer over every device) and the placement by shares
(:func:`optdist.milp.decomposition.construct.window_placement`, the greedy inside a share) may
find no placement of all requests, although one exists. This module builds one that keeps
transfers few by construction (MODEL.md sections 4 and 9):

* layers joined by whole-map edges (``flow``: elementwise, depthwise, add, pooling, the edge
  into a conv's input maps) form a *component*; map ``p`` of every layer of a component goes
  to the same team member, so nothing moves along those edges;
* a component uses as few owners as its privacy caps allow, ``n = max_k ceil(P_k / Nf_k)``
  (10f: each member holds at most ``ceil(P_k / n) <= Nf_k`` maps); a component after the split
  point (no cap) uses ``spread`` owners;
* the components start at rotating team members, so the partial sums each conv sends (its
  owners to the next layer's other owners) are spread over the team's radios.

Request r's team is ``w`` consecutive devices from ``r D / R`` (as the windows of
:func:`~optdist.milp.decomposition.construct.window_placement`); layers that must run on the source
(eqs. 8, 9, 10h) run there. Memory and compute are not planned: the independent evaluator
checks every candidate, and :func:`team_placement` returns the best feasible one (lowest
objective) over team sizes and spreads. A heuristic: incumbents, never bounds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.transfers import edges


def components(inst: Instance, r: int) -> list[int]:
    """``comp[k]``: the component of layer k of request r (its smallest member): layers on devices
    joined by an un-sliced ``flow`` edge share one; a layer on the source is its own."""
    prof, on_source = inst.profile(r), inst.limit(r).on_source
    parent = list(range(prof.n_layers))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in range(prof.n_layers):
        for ed in edges(prof)[k]:
            if ed.kind == "flow" and not ed.sliced and not on_source[k] and not on_source[ed.u]:
                a, b = find(k), find(ed.u)
                parent[max(a, b)] = min(a, b)
    return [find(k) for k in range(prof.n_layers)]


def least_team(inst: Instance, r: int) -> int:
    """The fewest devices request r's device layers need by privacy alone (10f): ``max_k ceil(P_k / Nf_k)``."""
    lim, layers = inst.limit(r), inst.profile(r).layers
    return max([1] + [math.ceil(la.segments / min(int(lim.device_cap[k]), la.segments))
                      for k, la in enumerate(layers) if not lim.on_source[k] and lim.device_cap[k]])


def team_owners(inst: Instance, r: int, team: list[int], spread: int = 1) -> list[np.ndarray] | None:
    """Owner arrays (per layer, ``(P_k,)`` node indices) of request r on ``team`` (device indices,
    in order; module docstring); ``spread``: owners of a component with no privacy cap. None
    when the team is smaller than a component's privacy caps need (:func:`least_team`)."""
    prof, lim = inst.profile(r), inst.limit(r)
    comp = components(inst, r)
    need: dict[int, int] = {}
    for k, la in enumerate(prof.layers):
        if lim.on_source[k]:
            continue
        cap = lim.device_cap[k]
        n = spread if cap is None else math.ceil(la.segments / min(int(cap), la.segments))
        need[comp[k]] = max(need.get(comp[k], 1), n)
    if any(n > len(team) for n in need.values()):
        return None
    start = {c: q for q, c in enumerate(sorted(need))}  # rotating first member per component
    members = np.asarray(team, dtype=np.int64)
    src = int(inst.request_source[r])
    out = []
    for k, la in enumerate(prof.layers):
        if lim.on_source[k]:
            out.append(np.full(la.segments, src, dtype=np.int64))
            continue
        n = min(need[comp[k]], la.segments)
        p = np.arange(la.segments)
        out.append(members[(p * n // la.segments + start[comp[k]]) % len(team)])
    return out


def team_placement(inst: Instance, *, deadline: float) -> Assignment | None:
    """The best placement (evaluator-feasible, lowest objective) of every request on its team,
    over team sizes ``w`` from the least the privacy caps allow up to D and spreads 1, 2 and
    ``w`` (module docstring); None if none is feasible by ``deadline`` (a ``time.perf_counter()``
    value) or the uplink is serial. The first candidate (the least team, spread 1: the fewest
    bytes) is tried even when the deadline has passed: it costs one evaluation, and a placement
    with a certified gap is worth that much past the limit."""
    D, R = inst.n_devices, inst.n_requests
    if D == 0 or R == 0 or inst.objective.uplink != "parallel":
        return None
    least = max(least_team(inst, r) for r in range(R))
    best: tuple[float, Assignment] | None = None
    tried = 0  # the first candidate (fewest devices, fewest bytes) is tried even past the deadline
    for w in range(min(least, D), D + 1):
        for spread in sorted({1, 2, w}):
            if tried and time.perf_counter() >= deadline:
                return None if best is None else best[1]
            tried += 1
            owners = [team_owners(inst, r, [(r * D // R + j) % D for j in range(w)], spread) for r in range(R)]
            if any(o is None for o in owners):
                continue
            asg = Assignment(owners, {"method": "decomposed", "found_by": f"teams of {w} devices, spread {spread}"})
            ev = evaluate(inst, asg)
            if ev.feasible and (best is None or ev.objective < best[0]):
                best = (ev.objective, asg)
    return None if best is None else best[1]
