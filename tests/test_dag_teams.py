"""Team placements (:mod:`optdist.milp.decomposition.teams`): few bytes by construction, privacy kept,
and a placement of the MobileNetV2 benchmark instance, where the greedy places 1 request of 10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.decomposition.teams import components, least_team, team_owners, team_placement
from optdist.transfers import edges
from tests.conftest import ROOT
from tests.test_dag_evaluator import dag_instance, table

MOBILENET = ROOT / "benchmarks" / "own_networks" / "mobilenetv2-10x20.json"


@pytest.mark.parametrize("cnn,least", [("dw", 2), ("res", 2), ("cat", 3)])  # cat: 3 maps, 1 per device
def test_team_keeps_privacy_and_moves_no_whole_map(tmp_path: Path, cnn: str, least: int) -> None:
    """Every device layer at most Nf maps per device (10f); along a whole-map edge inside a component
    every map stays on its node; a team smaller than the caps need gives None."""
    tensor = {"dw": "r1", "res": "r1", "cat": "a"}[cnn]
    inst = dag_instance(tmp_path, cnn, 2, 3, privacy=table(cnn, {tensor: (2, {1: 0.5, 2: 0.9})}), tau=0.7)
    assert least_team(inst, 0) == least
    assert team_owners(inst, 0, list(range(least - 1))) is None
    owners = [team_owners(inst, r, [(r + j) % 3 for j in range(least)]) for r in range(2)]
    ev = evaluate(inst, Assignment(owners))
    assert ev.feasible, [v.message for v in ev.violations]
    prof, lim, comp = inst.profile(0), inst.limit(0), components(inst, 0)
    for k in range(prof.n_layers):
        if lim.on_source[k]:
            assert (owners[0][k] == inst.request_source[0]).all()
            continue
        if lim.device_cap[k] is not None:
            assert np.bincount(owners[0][k], minlength=inst.n_nodes).max() <= lim.device_cap[k]
        for ed in edges(prof)[k]:
            if ed.kind == "flow" and not ed.sliced and comp[ed.u] == comp[k]:
                assert (owners[0][ed.u] == owners[0][k]).all()


def test_teams_place_mobilenetv2_where_the_greedy_cannot() -> None:
    """The benchmark instance (bandwidth binds): the latency greedy rejects requests, teams of the
    least size the privacy caps allow place all 10 (the evaluator says so) and move far fewer bytes."""
    from optdist import solve

    inst = load_instance(MOBILENET)
    greedy = solve(inst, "greedy")
    assert sum(o is None for o in greedy.assignment.owners) >= 1
    w = max(least_team(inst, r) for r in range(inst.n_requests))
    D, R = inst.n_devices, inst.n_requests
    asg = Assignment([team_owners(inst, r, [(r * D // R + j) % D for j in range(w)], 1) for r in range(R)])
    ev = evaluate(inst, asg)
    assert ev.feasible, [v.message for v in ev.violations[:3]]
    assert ev.bandwidth_used[:D].max() <= inst.bandwidth_capacity[:D].min()
    placed = [r for r, o in enumerate(greedy.assignment.owners) if o is not None]
    assert ev.shared_bytes[placed].max() < 0.5 * greedy.evaluation.shared_bytes[placed].min()


def test_team_placement_returns_the_best_feasible_candidate(tmp_path: Path) -> None:
    inst = dag_instance(tmp_path, "dw", 2, 3, privacy=table("dw", {"r1": (2, {1: 0.5, 2: 0.9})}), tau=0.7)
    import time

    asg = team_placement(inst, deadline=time.perf_counter() + 60)
    assert asg is not None and asg.meta["found_by"].startswith("teams of")
    best = evaluate(inst, asg)
    assert best.feasible
    for w in (2, 3):
        for spread in (1, 2, w):
            own = [team_owners(inst, r, [(r * 3 // 2 + j) % 3 for j in range(w)], spread) for r in range(2)]
            ev = evaluate(inst, Assignment(own))
            assert not ev.feasible or ev.objective >= best.objective - 1e-12
    late = team_placement(inst, deadline=time.perf_counter() - 1)  # no time left: the first candidate only
    assert late is not None and late.meta["found_by"] == "teams of 2 devices, spread 1"
