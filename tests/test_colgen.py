"""Dantzig-Wolfe column generation (issue 11, item 3): the bound is never above a feasible
objective, is valid when pricing stops at a time limit, equals the optimum where the compact
model proves it, and the integer master's placements re-score feasible."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optdist
from optdist.generate import generate
from optdist.instance import parse
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.colgen import column_generation
from optdist.milp.decomposition.master import Column, Master, Row, lagrangian_bound
from optdist.milp.decomposition.pricing import PricingModel
from optdist.solvers import available

SMALL_COUPLED = ["instances/coupled/lenet-8x4-rpi3.json", "instances/coupled/lenet-9x5-nexus-rpi3.json"]
TINY = ["instances/tiny/lenet-2x4-tight.json", "instances/tiny/micro-2x3-tight.json",
        "instances/tiny/micro-3x2-admission.json"]
SOLVERS = ["highs", pytest.param("scip", marks=pytest.mark.skipif(
    "scip" not in available(), reason="SCIP not installed (conda install -c conda-forge scip)"))]
REL = 1e-7  # bounds vs objectives: the solvers' feasibility tolerance on stage times


@pytest.fixture(autouse=True)
def _highs_scheduler():
    """HiGHS fixes its thread count at the first solve of a process; a later solve asking for
    another count fails ('Not Set'). Reset the scheduler so these tests do not depend on which
    test ran HiGHS first (tests/conftest.py should do this for the whole suite)."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    yield


def coupled(requests: int = 3, bandwidth: float = 200):
    """Micro requests on 3 RPi3 whose radios can carry only part of their per-request optima."""
    doc = generate("coupled", {"micro": requests}, {"rpi3": 3}, 0.95, sources=1, privacy="synthetic")
    for d in doc["devices"]:
        d["bandwidth_capacity"] = bandwidth
    return parse(doc, "coupled")


def feasible_objectives(inst, res) -> list[float]:
    """Evaluator-scored objectives of feasible placements: greedy, the MILP's, column generation's."""
    out = []
    greedy = optdist.solve(inst, method="greedy")
    milp = optdist.solve(inst, method="milp", formulation="tight", time_limit=10, threads=1)
    for asg in (greedy.assignment, milp.assignment, res.assignment):
        if asg is not None:
            ev = optdist.evaluate(inst, asg)
            if ev.feasible:
                out.append(ev.objective)
    return out


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) for p in SMALL_COUPLED] + TINY)
def test_bound_never_above_a_feasible_objective(path, solver):
    inst = optdist.load_instance(path)
    res = column_generation(inst, solver=solver, time_limit=20, mip_gap=1e-4, threads=1, seed=0, tee=False,
                            solver_options=None, start=None, lower_bound=-math.inf)
    assert res.bound is not None and res.has_solution
    objs = feasible_objectives(inst, res)
    assert objs
    for v in objs:
        assert res.bound <= v * (1 + REL)
    for rnd in res.extra["rounds"]:  # every round's bound, not only the last
        if rnd["bound"] is not None:
            assert rnd["bound"] <= min(objs) * (1 + REL)
    search = res.extra.get("branching")
    if search and search["log"]:  # branch-and-price (per-device rows on lenet-9x5): its root and its bound
        assert search["log"][0]["bound"] <= min(objs) * (1 + REL)
        assert search["bound"] <= min(objs) * (1 + REL)


@pytest.mark.parametrize("path", [SMALL_COUPLED[0], pytest.param(SMALL_COUPLED[1], marks=pytest.mark.slow)])
def test_incumbent_rescores_feasible_where_per_request_optima_do_not_fit(path):
    inst = optdist.load_instance(path)
    res = column_generation(inst, solver="highs", time_limit=30, threads=1)
    ev = optdist.evaluate(inst, res.assignment)
    assert ev.feasible
    assert ev.objective == pytest.approx(res.objective, rel=1e-9)
    assert res.bound <= res.objective * (1 + REL)
    assert res.gap < 0.05
    rounds = res.extra["rounds"]
    assert [r["round"] for r in rounds] == list(range(len(rounds)))  # round 0: prices 0
    assert all(set(r) >= {"round", "elapsed_s", "incumbent", "bound", "gap", "columns"} for r in rounds)
    assert all(b["bound"] >= a["bound"] for a, b in zip(rounds, rounds[1:]) if a["bound"] is not None)
    assert rounds[0]["bound"] is not None  # L(0): the per-request optima


@pytest.mark.parametrize("path", ["instances/tiny/micro-2x3-tight.json", "instances/tiny/lenet-2x4-tight.json", None])
def test_bound_equals_the_proven_optimum(path):
    inst = coupled() if path is None else optdist.load_instance(path)
    opt = optdist.solve(inst, method="milp", formulation="compact", time_limit=60, threads=1)
    assert opt.termination == "optimal"
    res = column_generation(inst, solver="highs", time_limit=60, mip_gap=1e-6, threads=1)
    assert res.bound <= opt.objective * (1 + REL) <= res.objective * (1 + 2 * REL)
    assert res.objective == pytest.approx(opt.objective, rel=1e-6)
    # the LP master converged: the Lagrangian bound meets the LP value
    last = res.extra["rounds"][-1]
    if last["added"] == 0 and last["pricing_closed"]:
        assert res.bound == pytest.approx(max(last["lp"], res.bound), rel=1e-6)


def test_bound_stays_valid_when_pricing_stops_at_a_time_limit():
    inst = optdist.load_instance("instances/coupled/lenet-9x5-nexus-rpi3.json")
    res = column_generation(inst, solver="highs", time_limit=20, threads=1, pricing_time_limit=0.01, max_rounds=6)
    assert any(not r["pricing_closed"] for r in res.extra["rounds"])  # pricing was cut short
    objs = feasible_objectives(inst, res)
    assert objs and res.bound is not None
    for rnd in res.extra["rounds"]:
        if rnd["bound"] is not None:
            assert rnd["bound"] <= min(objs) * (1 + REL)


def test_radios_too_small_for_one_request_prove_infeasibility():
    inst = coupled(bandwidth=40)
    assert optdist.solve(inst, method="milp", time_limit=60, threads=1).termination == "infeasible"
    res = column_generation(inst, solver="highs", time_limit=30, threads=1)
    assert res.termination == "infeasible" and res.assignment is None and res.bound == math.inf  # a proof (engine31)


def test_makespan_objective_is_refused_with_the_field_named():
    inst = optdist.load_instance("instances/tiny/micro-2x3-makespan.json")
    with pytest.raises(ValueError, match="objective.kind"):
        column_generation(inst, solver="highs", time_limit=5)


def test_pricing_prices_usage_and_bounds_the_priced_optimum():
    """Pricing at positive prices: the column's priced value matches its evaluator-scored cost plus
    priced usage, and the proven bound is below it; higher bandwidth prices never raise the
    bytes the cheapest column sends."""
    inst = optdist.load_instance("instances/tiny/lenet-1x4-tau0.6.json")
    pm = PricingModel(inst, 0, solver="highs")
    sent = []
    for p in (0.0, 1e-9, 1e-7):
        prices = {"memory": np.zeros(inst.n_nodes), "compute": np.zeros(inst.n_nodes),
                  "bandwidth": np.full(inst.n_nodes, p)}
        out = pm.solve(prices, time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        ev = optdist.evaluate(inst, optdist.Assignment([out.owners]))
        priced = ev.latency[0] + p * ev.bandwidth_used.sum()
        assert out.value == pytest.approx(priced, rel=1e-6)
        assert out.bound <= out.value * (1 + 1e-9)
        sent.append(ev.bandwidth_used.sum())
    assert sent[0] >= sent[1] >= sent[2]


def test_master_grows_by_columns_and_its_lagrangian_bound_is_weak_duality():
    rows = [Row((0,), 0, 10.0)]
    m = Master(rows, [2], cost_unit=1.0)
    m.add(Column(0, "placement", 1.0, np.array([8.0])))  # cheap but big: only one fits
    z0, pi0, mu0 = m.solve_lp()
    assert z0 > 100  # the artificial column carries the rest
    m.add(Column(0, "placement", 3.0, np.array([2.0])))
    z, pi, mu = m.solve_lp()
    assert z == pytest.approx(1.0 + 3.0)
    assert pi[0] >= 0
    # L(pi) with the exact pricing minimum over these two columns is at most the optimum (4)
    best = min(1.0 + pi[0] * 8, 3.0 + pi[0] * 2)
    assert lagrangian_bound(pi, np.array([10.0]), [2], [best]) <= 4.0 + 1e-9
    x = m.solve_integer(time_limit=5, mip_gap=0)
    assert list(x[1:]) == [1, 1]


@pytest.mark.slow
def test_convergence_figure_from_recorded_rounds(tmp_path):
    """``optdist bench`` keeps ``extra`` in each record; the convergence figure draws its rounds."""
    from optdist.bench.figures import load_rounds, write_figures
    from optdist.bench.worker import jsonable

    from .test_bench_tables import record, write

    inst = optdist.load_instance("instances/coupled/lenet-8x4-rpi3.json")
    res = column_generation(inst, solver="highs", time_limit=20, threads=1)
    rec = record(inst.name, "highs", str(res.termination), res.objective, res.bound, method="colgen", limit=20.0)
    rec["extra"] = jsonable(res.extra)
    write(tmp_path, [rec])
    rounds = load_rounds(tmp_path)
    assert len(rounds) == len(res.extra["rounds"]) and rounds["bound"].notna().all()
    files = write_figures(tmp_path, ["convergence"], tmp_path / "fig")
    assert (tmp_path / "fig" / "convergence.png").read_bytes()[:4] == b"\x89PNG"
    assert {f.name for f in files} == {"convergence.png", "convergence.csv"}


def test_rising_cutoffs_price_as_the_whole_model():
    """Pricing by rising latency cutoffs finds the whole model's priced optimum, and its bound is
    below it, at zero and at positive prices."""
    from optdist.milp.decomposition.bounds import INF

    inst = optdist.load_instance("instances/tiny/lenet-1x4-tau0.6.json")
    pm = PricingModel(inst, 0, solver="highs")
    for p in (0.0, 1e-8, 1e-6):
        prices = {"memory": np.zeros(inst.n_nodes), "compute": np.full(inst.n_nodes, p * 1e-3),
                  "bandwidth": np.full(inst.n_nodes, p)}
        stepped = pm.solve(prices, time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        whole = pm.solve(prices, time_limit=30, mip_gap=1e-9, threads=1, seed=0, steps=(INF,))
        assert stepped.proven and whole.proven
        assert stepped.value == pytest.approx(whole.value, rel=1e-7)
        assert stepped.bound <= whole.value * (1 + 1e-9) and whole.bound <= stepped.value * (1 + 1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.8])
def test_smoothed_prices_keep_every_round_bound_valid(smoothing):
    """Wentges smoothing prices between the best bound's prices and the LP duals: every round's
    bound stays below the compact model's optimum, with and without it, and the run still ends
    at the optimum."""
    inst = coupled()
    opt = optdist.solve(inst, method="milp", formulation="compact", time_limit=60, threads=1)
    assert opt.termination == "optimal"
    res = column_generation(inst, solver="highs", time_limit=60, mip_gap=1e-6, threads=1, smoothing=smoothing)
    assert res.objective == pytest.approx(opt.objective, rel=1e-6)
    assert all(r["bound"] <= opt.objective * (1 + REL) for r in res.extra["rounds"] if r["bound"] is not None)
    used = [r["smoothing"] for r in res.extra["rounds"][1:]]
    assert all(0 <= a < 1 for a in used) and (smoothing > 0 or not any(used))


@pytest.mark.slow
def test_lp_duals_cut_short_are_priced_again_at_once_and_every_bound_stays_valid():
    """Where the LP has not moved since a pass at its own duals was cut short, the round prices
    at those duals directly (smoothing 0, one pass per pricing group; the smoothed pass found
    nothing for the LP on tau0.8), at once after a smoothed round, which the
    smoothing rule alone never does (it halves alpha at most, to 0 only below 0.1). Every
    round's bound stays below every feasible placement's objective."""
    inst = optdist.load_instance("instances/paper/lenet-10x10-tight-tau0.8.json")  # its LP optimal from round 1
    res = column_generation(inst, solver="highs", time_limit=15, threads=1, pricing_time_limit=0.5, max_rounds=4,
                            branching=False)
    rounds = res.extra["rounds"][1:]
    again = [cur for prev, cur in zip(rounds, rounds[1:])
             if prev["smoothing"] >= 0.2 and cur["smoothing"] == 0 and cur["lp"] == pytest.approx(prev["lp"])]
    assert again
    for r in again:
        assert len(r["pricing"]) == len({p["class"] for p in r["pricing"]})  # no second pass
    objs = feasible_objectives(inst, res)
    assert objs and res.bound is not None
    assert all(r["bound"] <= min(objs) * (1 + REL) for r in res.extra["rounds"] if r["bound"] is not None)


@pytest.mark.slow
@pytest.mark.skipif("scip" not in available(), reason="SCIP not installed (conda install -c conda-forge scip)")
def test_a_class_whose_highs_pricing_stops_at_the_cap_prices_with_scip_on_unless_the_user_chose():
    """With no pricing solver chosen and HiGHS the run's solver, a request class whose HiGHS
    pricing solve stops at the full pricing cap more than STALL_GAP short of proving its column
    prices with SCIP from then on (STALL_PRICING_SOLVER; tau0.8's stop 7.7 % short even at 2.7 s):
    each class's solves are HiGHS's, then SCIP's, never HiGHS's again, and
    the first SCIP solve follows a HiGHS solve of that class cut short; a pricing solver the user
    names is never replaced. Every round's bound stays below every feasible placement's objective."""
    inst = optdist.load_instance("instances/paper/lenet-10x10-tight-tau0.8.json")  # its pricing is cut short at 0.5 s
    res = column_generation(inst, solver="highs", time_limit=15, threads=1, pricing_time_limit=0.5, max_rounds=3,
                            branching=False)
    solves = [p for r in res.extra["rounds"][1:] for p in r["pricing"]]
    moved = {p["class"] for p in solves if p["solver"] == "scip"}
    assert moved  # the test needs a class moved to SCIP
    assert solves[0]["solver"] == "highs"  # every class starts on the run's solver
    for c in moved:
        mine = [p for p in solves if p["class"] == c]
        first = next(i for i, p in enumerate(mine) if p["solver"] == "scip")
        assert first > 0 and all(p["solver"] == "highs" for p in mine[:first])
        assert not mine[first - 1]["closed"] and all(p["solver"] == "scip" for p in mine[first:])
    objs = feasible_objectives(inst, res)
    assert objs and all(r["bound"] <= min(objs) * (1 + REL) for r in res.extra["rounds"] if r["bound"] is not None)
    chosen = column_generation(inst, solver="highs", pricing_solver="highs", time_limit=8, threads=1,
                               pricing_time_limit=0.5, max_rounds=2, branching=False)
    assert {p["solver"] for r in chosen.extra["rounds"][1:] for p in r["pricing"]} == {"highs"}


def test_mispricing_prices_at_the_lp_duals_and_every_pricing_bound_is_proven():
    """A smoothed round whose columns do not price out at the LP duals prices again at the LP
    duals in the same round (the LP moves even while smoothed pricing is cut short; closing
    there with nothing to add proves the LP optimal). Every recorded pricing solve's proven
    bound is at most its value and every round's Lagrangian bound at most the optimum."""
    inst = coupled()
    opt = optdist.solve(inst, method="milp", formulation="compact", time_limit=60, threads=1)
    assert opt.termination == "optimal"
    res = column_generation(inst, solver="highs", time_limit=60, mip_gap=1e-6, threads=1, smoothing=0.8,
                            branching=False)
    rounds = res.extra["rounds"][1:]
    assert any(r["smoothing"] > 0 and len(r["pricing"]) > len({p["class"] for p in r["pricing"]}) for r in rounds)
    for r in rounds:
        assert r["lagrangian"] is None or r["lagrangian"] <= opt.objective * (1 + REL)
        for p in r["pricing"]:
            assert p["value"] is None or p["bound"] <= p["value"] * (1 + 1e-9)
    assert res.bound <= opt.objective * (1 + REL)
    assert res.objective == pytest.approx(opt.objective, rel=1e-6)


def test_seeds_add_a_placement_by_shares_where_greedy_is_not_feasible():
    """Where greedy rejects requests (the per-request optima do not fit), the seeds include a
    placement by shares of the devices that the evaluator finds feasible; with a feasible start
    none is added."""
    import time

    from optdist.milp.decomposition.colgen import _seed_assignments

    inst = coupled()
    greedy = optdist.solve(inst, method="greedy")
    assert not optdist.evaluate(inst, greedy.assignment).feasible
    seeds = _seed_assignments(inst, None, time.perf_counter() + 30)
    feasible = [a for a in seeds if optdist.evaluate(inst, a).feasible]
    assert feasible and feasible[0].meta["found_by"].startswith(("windows of", "windows by price", "patterns by "))
    again = _seed_assignments(inst, feasible[0], time.perf_counter() + 30)
    assert len(again) == len(seeds)  # the start, greedy's: no second placement by shares


def test_default_solve_closes_a_coupled_set_by_column_generation():
    """``optdist solve FILE`` (formulation auto) on a set whose per-request optima do not fit:
    the decomposition's coupled step is the column generation, its bound valid."""
    inst = optdist.load_instance(SMALL_COUPLED[0])
    res = optdist.solve(inst, time_limit=30, threads=1)
    assert res.extra["combination_feasible"] is False
    assert res.extra["coupled_solve"]["method"] == "column generation"
    assert res.evaluation.feasible
    assert res.bound <= res.objective * (1 + REL)
    assert res.gap < 0.01  # 2.2 % before smoothing and the improvement heuristic


def test_repair_places_a_dropped_request_and_improvement_never_worsens():
    """The primal heuristic (:mod:`optdist.milp.decomposition.repair`): a request without a
    placement is placed in the capacity the others leave (its old placement fits there, so one
    exists), every request is re-solved in what the others leave, the evaluator finds the result
    feasible, and the objective never rises above the start's."""
    import time

    from optdist.milp.decomposition.repair import fill_and_improve

    inst = optdist.load_instance(SMALL_COUPLED[0])
    start = optdist.solve(inst, method="milp", formulation="tight", time_limit=10, threads=1).assignment
    ev0 = optdist.evaluate(inst, start)
    assert ev0.feasible
    dropped = list(start.owners)
    dropped[3] = None
    found = []
    asg = fill_and_improve(inst, dropped, deadline=time.perf_counter() + 30, threads=1,
                           on_column=lambda r, o: found.append(r))
    assert asg is not None and 3 in found
    ev = optdist.evaluate(inst, asg)
    assert ev.feasible and all(o is not None for o in asg.owners)
    better = fill_and_improve(inst, start.owners, deadline=time.perf_counter() + 30, threads=1)
    assert optdist.evaluate(inst, better).objective <= ev0.objective * (1 + 1e-12)


def test_improvement_skips_requests_at_their_optimum_alone_and_ends_where_it_would():
    """``least`` (a proven bound per request alone, column generation's round 0): a request
    already at it is not solved again (no residual capacity can do better), and the repair and
    improvement end at the same objective as without the bounds, with fewer solves; brute force
    on micro requests: the bound is the least cost over every placement of a request alone."""
    import itertools
    import time

    from optdist.milp.decomposition.repair import alone, fill_and_improve

    inst = coupled(requests=3, bandwidth=450)  # identical requests, one source: one brute force serves all
    shape = optdist.solve(inst, method="milp", formulation="tight", time_limit=10, threads=1).assignment.owners[0]
    placements = []  # every owner choice of request 0 alone, one owner per segment: (cost, owners)
    for choice in itertools.product(*[itertools.product(range(inst.n_nodes), repeat=len(a)) for a in shape]):
        own = [np.array(c, dtype=shape[k].dtype) for k, c in enumerate(choice)]
        ev = optdist.evaluate(inst, optdist.Assignment([own] + [None] * (inst.n_requests - 1)))
        if all(v.constraint == "admission" for v in ev.violations):  # feasible alone (the others unplaced)
            placements.append((alone(inst, 0, own)[0], own))
    best, own0 = min(placements, key=lambda t: t[0])
    least = [best] * inst.n_requests
    start = [own0] + [None] * (inst.n_requests - 1)  # request 0 at its optimum alone, the others to place
    runs = {}
    for name, bounds in (("with", least), ("without", None)):
        solved: list[int] = []
        asg = fill_and_improve(inst, start, deadline=time.perf_counter() + 30, threads=1, least=bounds,
                               on_column=lambda r, o: solved.append(r))
        assert asg is not None and optdist.evaluate(inst, asg).feasible
        runs[name] = (optdist.evaluate(inst, asg).objective, solved)
    assert 0 not in runs["with"][1] and 0 in runs["without"][1]
    assert len(runs["with"][1]) < len(runs["without"][1])
    assert runs["with"][0] == pytest.approx(runs["without"][0], rel=1e-9)


def test_round_zero_takes_the_decompositions_per_class_solves():
    """``alone`` (the decomposition's per-class solves, as ``optdist solve`` passes them): round 0
    uses their bounds and placements instead of solving the classes again; same bound L(0)."""
    from optdist.milp.decomposition.orchestrate import solve_classes

    inst = optdist.load_instance(SMALL_COUPLED[0])
    solves = solve_classes(inst, time_limit=30, mip_gap=1e-6, threads=1)
    alone = {s.r: (s.bound, s.owners) for _, s in solves}
    given = column_generation(inst, solver="highs", time_limit=10, threads=1, alone=alone, max_rounds=1)
    own = column_generation(inst, solver="highs", time_limit=10, threads=1, max_rounds=1)
    assert given.extra["rounds"][0]["bound"] == pytest.approx(own.extra["rounds"][0]["bound"], rel=1e-6)
    per_request = sum(len(reqs) * s.bound for reqs, s in solves)  # L(0) = sum_c n_c v_c(0)
    assert given.extra["rounds"][0]["bound"] == pytest.approx(per_request, rel=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_branch_and_price_closes_the_integer_masters_gap(solver):
    """The LP master of three micro requests on radios that carry only part of their optima is
    fractional: price-and-branch stops at its integrality gap, branch-and-price (branching on how
    many requests use a row above a threshold, count rows) proves the compact model's optimum."""
    inst = coupled()
    opt = optdist.solve(inst, method="milp", formulation="compact", time_limit=60, threads=1)
    assert opt.termination == "optimal"
    plain = column_generation(inst, solver=solver, time_limit=30, mip_gap=1e-6, threads=1, branching=False)
    assert plain.gap > 1e-3  # the integrality gap of the LP master
    res = column_generation(inst, solver=solver, time_limit=30, mip_gap=1e-6, threads=1)
    assert res.termination == "optimal"
    assert res.bound <= opt.objective * (1 + REL)
    assert res.objective == pytest.approx(opt.objective, rel=1e-6)
    assert res.bound == pytest.approx(opt.objective, rel=1e-6)
    search = res.extra["branching"]
    # it branched, or count rows (a radio carries at most k loads above cap / (k + 1)) closed the root
    assert search["nodes"] >= 1 and any("branch" in e or e.get("count_rows") for e in search["log"])
    assert res.nodes == search["nodes"]  # the result's node count is the search's (was 0)
    assert optdist.evaluate(inst, res.assignment).feasible


def test_requests_on_identical_unshared_sources_form_one_master_class():
    """lenet-8x4: eight LeNet requests, each from its own RPi3 camera: one master class of 8 and
    no source rows (a source serving one request carries only that request's usage)."""
    from optdist.milp.decomposition.colgen import MasterProblem

    inst = optdist.load_instance(SMALL_COUPLED[0])
    P = MasterProblem(inst)
    assert P.sizes == [8]
    assert all(len(row.nodes) > 1 or row.nodes[0] < inst.n_devices for row in P.rows)
    assert len(P.rows) == 3 * len(P.device_groups)
    shared = MasterProblem(coupled())  # three requests from one camera: one class, the camera's rows
    src = int(shared.inst.request_source[0])
    assert shared.sizes == [3] and sum(row.nodes == (src,) for row in shared.rows) == 3


def _priced_free():
    """The first small coupled set's request 0 priced at zero prices, no limits: (instance, all
    its devices, the pricing model, the zero prices, the solve, the bytes its devices send)."""
    from optdist.milp.decomposition.repair import alone

    inst = optdist.load_instance(SMALL_COUPLED[0])
    group = tuple(range(inst.n_devices))
    pm = PricingModel(inst, 0, solver="highs")
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    free = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    return inst, group, pm, zero, free, alone(inst, 0, free.owners)[1][list(group), 2].sum()


def test_pricing_limits_hold_in_truth_and_only_raise_the_bound():
    """Branching limits on a request's usage of a row: a placement priced under a ``>=`` limit
    on the bytes sent (where the tight model's bytes are only a lower McCormick expression)
    sends at least that many bytes by the evaluator; an ``<=`` limit holds too; and a limit
    never lowers the proven bound; lifting the limits restores the model."""
    from optdist.milp.decomposition.repair import alone

    inst, group, pm, zero, free, sent = _priced_free()
    for upper, value in ((False, sent * 1.15), (True, sent * 0.8)):
        assert pm.set_limits([(group, "bandwidth", upper, value)])
        pr = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
        assert pr.owners is not None and pr.proven
        true_sent = alone(inst, 0, pr.owners)[1][list(group), 2].sum()
        assert (true_sent <= value * (1 + 1e-9)) if upper else (true_sent >= value * (1 - 1e-9))
        assert pr.bound >= free.bound * (1 - 1e-9)
        pm.set_limits([])
    again = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    assert again.value == pytest.approx(free.value, rel=1e-6)


def test_pricing_lower_byte_limit_without_exact_halves_is_a_relaxation():
    """A ``>=`` limit on the bytes sent without the exact McCormick halves
    (``set_limits(..., exact_bytes=False)``, what the search prices first): its proven bound
    never exceeds the priced value of a placement that meets the limit in truth (the exact
    model's optimum), at zero and positive bandwidth prices and at limits around the free
    optimum's bytes; where its own placement meets the limit in truth it is that optimum."""
    from optdist.milp.decomposition.repair import alone

    inst, group, pm, zero, free, sent = _priced_free()
    checked = 0
    for lam in (0.0, 2e-9):
        prices = {**zero, "bandwidth": np.full(inst.n_nodes, lam)}
        for share in (0.9, 1.15, 1.5):
            limit = [(group, "bandwidth", False, sent * share)]
            out = {}
            for exact in (True, False):
                assert pm.set_limits(limit, exact_bytes=exact)
                out[exact] = pm.solve(prices, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
                pm.set_limits([])
            tight, loose = out[True], out[False]
            if tight.owners is None:  # no placement sends that much: the relaxation may still find one
                continue
            assert tight.proven and loose.proven
            assert alone(inst, 0, tight.owners)[1][list(group), 2].sum() >= sent * share * (1 - 1e-9)
            assert loose.bound <= tight.value * (1 + 1e-6)
            if alone(inst, 0, loose.owners)[1][list(group), 2].sum() >= sent * share * (1 - 1e-9):
                assert loose.value == pytest.approx(tight.value, rel=1e-5)
            checked += 1
    assert checked >= 4


def test_pricing_upper_byte_limit_with_exact_halves_keeps_the_optimum():
    """A ``<=`` limit on the bytes sent with the exact McCormick halves (``set_limits(...,
    exact_bytes=True)``, what the search prices a ``<=`` part with): the halves change no integer
    point there, so it proves the same optimum as the model without them (exact for a ``<=``
    limit: its bytes are at least the true ones), each proven bound at most the other's value,
    and both placements meet the limit in truth, at zero and positive bandwidth prices and at
    limits below the free optimum's bytes."""
    from optdist.milp.decomposition.repair import alone

    inst, group, pm, zero, free, sent = _priced_free()
    checked = 0
    for lam in (0.0, 2e-9):
        prices = {**zero, "bandwidth": np.full(inst.n_nodes, lam)}
        for share in (0.5, 0.8, 0.95):
            limit = [(group, "bandwidth", True, sent * share)]
            out = {}
            for exact in (True, None):
                assert pm.set_limits(limit, exact_bytes=exact)
                out[exact] = pm.solve(prices, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
                pm.set_limits([])
            halves, plain = out[True], out[None]
            assert (halves.owners is None) == (plain.owners is None)
            if plain.owners is None:
                continue
            assert halves.proven and plain.proven
            for pr in (halves, plain):
                assert alone(inst, 0, pr.owners)[1][list(group), 2].sum() <= sent * share * (1 + 1e-9)
            assert halves.value == pytest.approx(plain.value, rel=1e-5)
            assert halves.bound <= plain.value * (1 + 1e-6) and plain.bound <= halves.value * (1 + 1e-6)
            checked += 1
    assert checked >= 4


def test_per_device_rows_for_the_search_where_aggregated_rows_are_slack():
    """lenet-9x5: its LP master converges with every price 0 (the per-request optima fit the rows
    summed over identical devices, not the devices): the search then runs on one row per device
    and resource, and its bound stays valid."""
    from optdist.milp.decomposition.colgen import MasterProblem

    inst = optdist.load_instance(SMALL_COUPLED[1])
    P, V = MasterProblem(inst), MasterProblem(inst, per_device=True)
    assert len(P.rows) == 3 * 2 and len(V.rows) == 3 * inst.n_devices  # 2 Nexus + 3 RPi3
    assert P.sizes == V.sizes == [9]
    use = np.zeros((inst.n_nodes, 3))
    use[0, 2], use[1, 2] = 5.0, 7.0  # bytes sent by the two Nexus
    assert P.usage(use).sum() == V.usage(use).sum() == 12.0
    assert sorted(V.usage(use)[V.usage(use) > 0]) == [5.0, 7.0]


def test_pricing_kept_loaded_proves_what_a_fresh_load_proves():
    """The pricing model kept loaded in HiGHS between solves (only objective, bounds and branching
    rows sent) proves the same priced values as the model loaded anew at every solve, through
    price changes and branching limits added and lifted; and it loads the model once."""
    from optdist.milp.decomposition.repair import alone

    inst = optdist.load_instance(SMALL_COUPLED[0])
    group = tuple(range(inst.n_devices))
    kept = PricingModel(inst, 0, solver="highs")
    anew = PricingModel(inst, 0, solver="highs", keep_loaded=False)
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    free = anew.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    sent = alone(inst, 0, free.owners)[1][list(group), 2].sum()
    solver = None
    for lam, limits in ((0.0, []), (2e-9, []), (2e-9, [(group, "bandwidth", False, sent * 1.15)]),
                        (1e-8, [(group, "bandwidth", True, sent * 0.8)]), (1e-8, [])):
        prices = {**zero, "bandwidth": np.full(inst.n_nodes, lam)}
        out = []
        for pm in (kept, anew):
            assert pm.set_limits(limits)
            out.append(pm.solve(prices, time_limit=30, mip_gap=1e-6, threads=1, seed=0))
            pm.set_limits([])
        a, b = out
        assert a.proven and b.proven
        assert a.value == pytest.approx(b.value, rel=1e-6)
        assert a.bound <= b.value * (1 + 1e-6) and b.bound <= a.value * (1 + 1e-6)
        assert kept.adapter._kept is not None and anew.adapter._kept is None
        solver = solver or kept.adapter._kept[1]
        assert kept.adapter._kept[1] is solver  # one load, re-solved


def test_lexicographic_device_order_keeps_every_priced_optimum():
    """The pricing model's lexicographic symmetry rows among identical devices
    (:func:`optdist.milp.tight.lexicographic_symmetry`) cut off no priced optimum: on one micro
    request over 3 identical RPi3, at group-equal prices (as the master sets them), the pricing
    optimum equals the brute-force minimum of latency + priced usage over every placement that
    the evaluator finds feasible; and the warm-start relabelling (:func:`canonical`) puts every
    such placement in the rows' order."""
    import itertools

    from optdist.milp.decomposition.repair import alone
    from optdist.milp.tight import canonical, device_groups

    inst = coupled(1, bandwidth=1e9)
    pm = PricingModel(inst, 0, solver="highs")
    weights = pm.b.model.symmetry.key_weights
    assert len(weights) > 1 and [g for g in device_groups(pm.b)] == [[0, 1, 2]]  # lexicographic, one group
    lim, src = inst.limit(0), int(inst.request_source[0])
    choices = [[np.array(c) for c in itertools.product([src] if lim.on_source[k] else range(inst.n_devices),
                                                        repeat=la.segments)]
               for k, la in enumerate(inst.profile(0).layers)]
    placements = []
    for owners in itertools.product(*choices):
        owners = list(owners)
        if optdist.evaluate(inst, optdist.Assignment([owners])).feasible:
            placements.append((owners, *alone(inst, 0, owners)))
            key = np.zeros(inst.n_nodes)
            for k, a in enumerate(canonical(pm.b, optdist.Assignment([owners])).owners[0]):
                key += weights.get((0, k), 0) * np.bincount(a, minlength=inst.n_nodes)
            assert all(key[i] >= key[i + 1] for i in range(inst.n_devices - 1))
    assert len(placements) > 20
    rng = np.random.default_rng(0)
    for _ in range(6):
        prices = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
        for q, res in enumerate(prices):
            prices[res][: inst.n_devices] = rng.choice([0.0, 1.0]) * rng.uniform(0, 2e-4) / max(
                max(p[2][:, q].max() for p in placements), 1.0)
        brute = min(cost + sum(float(prices[res] @ use[:, q]) for q, res in enumerate(prices))
                    for _owners, cost, use in placements)
        out = pm.solve(prices, time_limit=30, mip_gap=1e-9, threads=1, seed=0)
        assert out.proven
        assert out.value == pytest.approx(brute, rel=1e-7)
        assert out.bound <= brute * (1 + 1e-7)


def _tight_mix(n_a: int):
    """lenet-10x10-tight-tau0.6 with ``n_a`` requests on pattern A (0.742406 ms, 30,032 B sent
    from the RPi3) and the rest on pattern B (0.851943 ms, 18,000 B), every request on the same
    device labels (placements found by column generation on this instance)."""
    from pathlib import Path

    from optdist.instance import load_instance

    inst = load_instance(Path(__file__).resolve().parents[1] / "instances/paper/lenet-10x10-tight-tau0.6.json")
    a = [[-1], list(range(8)), list(range(8)), list(range(8)), [i for i in range(8) for _ in (0, 1)],
         [i for i in range(8) for _ in (0, 1)], [-1], [0], [-1]]
    conv = [7, 8, 9, 0, 1, 2, 3, 4]
    b = [[-1], conv, conv, [7, 8, 9, 0, 9, 7, 0, 8], [i for i in (7, 8, 9, 0, 1, 2, 5, 6) for _ in (0, 1)],
         [i for i in (7, 8, 9, 0, 1, 2, 5, 6) for _ in (0, 1)], [-1], [7], [-1]]
    owners = []
    for r in range(inst.n_requests):
        src = int(inst.request_source[r])
        owners.append([np.array([src if i < 0 else i for i in layer], dtype=np.int64) for layer in (a if r < n_a else b)])
    return inst, owners


def test_exact_spreading_fits_a_mix_the_least_loaded_rule_cannot_and_refuses_one_that_does_not_fit():
    from optdist.assignment import Assignment
    from optdist.evaluate import evaluate
    from optdist.milp.decomposition.classes import combine, spread_exact

    inst, owners = _tight_mix(7)  # 7 A + 3 B: 264,224 B of 270,750 B, the best mix of these two patterns
    assert not evaluate(inst, Assignment(owners)).feasible  # every request on the same labels
    assert not evaluate(inst, combine(inst, [([r], o) for r, o in enumerate(owners)])).feasible
    fit = spread_exact(inst, owners, time_limit=30)
    ev = evaluate(inst, fit)
    assert ev.feasible
    assert ev.objective == pytest.approx(7 * 0.000742406212901 + 3 * 0.000851943, rel=1e-6)
    assert ev.objective == pytest.approx(0.00775267313019, rel=1e-9)
    inst, owners = _tight_mix(8)  # 8 A + 2 B send 276,256 B: more than the group's 270,750 B
    assert spread_exact(inst, owners, time_limit=30) is None


@pytest.mark.parametrize("keep_loaded", [True, False])
def test_pricing_start_column_reaches_the_solver(keep_loaded):
    """The start column of a pricing solve is HiGHS's first incumbent, on a fresh load and on the
    model kept loaded: stopped at the root with no heuristics, HiGHS returns a solution only
    through the start. (A fresh load used to be followed by an update of its mutable latency
    cutoff, which made HiGHS drop the start it had just been given.)"""
    from optdist.milp.decomposition.single import alone

    inst = optdist.load_instance("instances/paper/lenet-1x10-tau0.8.json")
    start = optdist.solve(inst, method="greedy").assignment.owners[0]
    value = alone(inst, 0, start)[0]
    root_only = {"mip_max_nodes": 0, "mip_heuristic_effort": 0.0, "presolve": "off"}
    pm = PricingModel(inst, 0, solver="highs", solver_options=root_only, keep_loaded=keep_loaded)
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    for _ in range(2):  # the second solve of a kept model goes through its update path
        out = pm.solve(zero, time_limit=30, mip_gap=1e-9, threads=1, seed=0, start=start, start_value=value,
                       steps=(math.inf,))
        step = out.log["steps"][-1]
        assert step["status"].endswith("/feasible"), step  # the solver holds a solution: the start
        assert out.value <= value * (1 + 1e-9) and out.bound <= out.value * (1 + 1e-9)


def test_pricing_prices_loads_above_a_count_rows_threshold_in_truth():
    """A count row's price in pricing (``PricingModel.set_count_prices``): the priced value of the
    placement it returns is its cost plus ``sigma`` times the weight of the loads the evaluator
    finds on the devices, it is at most the value so priced of the placement at zero prices (so
    the model never weighs a placement's loads more than they weigh: its bound stays valid),
    its bound is at most its value, and lifting the prices restores the model."""
    from optdist.milp.decomposition.master import CountRow
    from optdist.milp.decomposition.repair import alone

    inst = optdist.load_instance(SMALL_COUPLED[0])
    devices = tuple(range(inst.n_devices))
    cap = float(capacity_matrix(inst)[0, 2])
    pm = PricingModel(inst, 0, solver="highs")
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    free = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    cost0, use0 = alone(inst, 0, free.owners)
    level = next(k for k in range(1, 64) if CountRow(devices, 2, k, cap).count(use0) >= 1)
    row = CountRow(devices, 2, level, cap)
    sigma = 0.5 * cost0 / row.count(use0)  # large enough to move the optimum where it can
    pm.set_count_prices([(devices, "bandwidth", row.threshold, sigma)])
    pr = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    assert pr.owners is not None and pr.proven
    cost, use = alone(inst, 0, pr.owners)
    assert pr.value == pytest.approx(cost + sigma * row.count(use), rel=1e-6)
    assert pr.value <= (cost0 + sigma * row.count(use0)) * (1 + 1e-6)
    assert pr.bound <= pr.value * (1 + 1e-9) and pr.bound >= free.bound * (1 - 1e-9)
    pm.set_count_prices([])
    again = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    assert again.value == pytest.approx(free.value, rel=1e-6)


@pytest.mark.parametrize("kind", ["round", "round-divided", "pack"])
def test_pricing_prices_rounding_and_packing_rows_in_truth(kind):
    """A rounding row's (``PricingModel.set_round_prices``) or a packing row's
    (``set_pack_prices``) price in pricing: the priced value of the placement it returns is its
    cost plus ``sigma`` times the row's weight of the usage the evaluator finds, at most the value
    so priced of the placement at zero prices (the model never weighs a placement more than the
    row does: its bound stays valid), its bound at most its value; lifting the prices restores
    the model. ``round-divided``: a step as the separator divides one (``ROUND_DIVISORS``), a
    weight of 40 at zero prices."""
    from optdist.milp.decomposition.master import PackRow, RoundRow
    from optdist.milp.decomposition.repair import alone

    inst = optdist.load_instance(SMALL_COUPLED[0])
    devices = tuple(range(inst.n_devices))
    cap = float(capacity_matrix(inst)[0, 2])
    pm = PricingModel(inst, 0, solver="highs")
    zero = {res: np.zeros(inst.n_nodes) for res in ("memory", "compute", "bandwidth")}
    free = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    cost0, use0 = alone(inst, 0, free.owners)
    loads = use0[list(devices), 2]
    if kind == "round":
        total = float(loads.sum())
        row = RoundRow(devices, 2, total / 2.5, -0.1 * total, 100.0)  # weight 2 at zero prices
        setter, args = pm.set_round_prices, (devices, "bandwidth", row.step, row.offset)
    elif kind == "round-divided":
        total = float(loads.sum())
        row = RoundRow(devices, 2, total / 40.5, -total / 160, 1000.0)  # weight 40 at zero prices
        assert row.count(use0) == 40
        setter, args = pm.set_round_prices, (devices, "bandwidth", row.step, row.offset)
    else:
        top = float(loads.max())
        row = PackRow(devices, 2, cap, (0.5 * top, top * (1 - 1e-6)), (0.4, 0.6), 1.0)  # as separated
        setter, args = pm.set_pack_prices, (devices, "bandwidth", cap, row.thresholds, row.steps)
    assert row.count(use0) >= 1
    sigma = 0.5 * cost0 / row.count(use0)
    setter([(*args, sigma)])
    pr = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    assert pr.owners is not None and pr.proven
    cost, use = alone(inst, 0, pr.owners)
    assert pr.value == pytest.approx(cost + sigma * row.count(use), rel=1e-6)
    assert pr.value <= (cost0 + sigma * row.count(use0)) * (1 + 1e-6)
    assert pr.bound <= pr.value * (1 + 1e-9) and pr.bound >= free.bound * (1 - 1e-9)
    setter([])
    again = pm.solve(zero, time_limit=30, mip_gap=1e-6, threads=1, seed=0)
    assert again.value == pytest.approx(free.value, rel=1e-6)


@pytest.mark.slow
def test_count_rows_on_lenet_9x5_keep_every_bound_below_the_best_placement_known():
    """lenet-9x5: the search separates count rows (its LP master sits at the per-request optima,
    whose loads do not pack onto the radios one by one); its root's and its certified bound stay
    at most the best placement known (``instances/coupled.solu``), and the
    incumbent re-scores feasible."""
    from optdist.bench.solu import read_solu

    inst = optdist.load_instance(SMALL_COUPLED[1])
    best_value = read_solu("instances/coupled.solu")[inst.name].best
    assert best_value is not None
    res = column_generation(inst, solver="highs", time_limit=40, threads=1, seed=0)
    search = res.extra["branching"]
    assert search and search["log"] and max(e.get("count_rows", 0) for e in search["log"]) >= 1
    assert search["log"][0]["bound"] <= best_value * (1 + REL)
    assert res.bound <= best_value * (1 + REL) and res.bound <= res.objective * (1 + REL)
    assert optdist.evaluate(inst, res.assignment).feasible


def test_progress_lines_count_from_the_callers_start(caplog, monkeypatch):
    """Column generation inside a decomposition reports elapsed seconds of the whole solve, not
    of its own call (the per-class solves before it took 438 s of a 900-s run on cifar-20x20 and
    the rounds' lines went back to 147 s)."""
    import logging
    import time
    monkeypatch.setattr("optdist.milp.run.PROGRESS_AFTER_S", 0.0)
    inst = optdist.load_instance(SMALL_COUPLED[0])
    with caplog.at_level(logging.INFO, logger="optdist.progress"):
        column_generation(inst, solver="highs", time_limit=5, threads=1, max_rounds=1, branching=False,
                          progress_origin=time.perf_counter() - 1000.0)
    shown = [float(r.getMessage().split("s", 1)[0]) for r in caplog.records
             if r.name == "optdist.progress" and "column generation round" in r.getMessage()]
    assert shown and all(s >= 1000.0 for s in shown)


@pytest.mark.slow
def test_no_empty_rounds_and_the_run_deadline_holds():
    """Inside a run deadline of 8 s (the CLI's ``--time-limit``) shorter than column generation's
    own limit: the call returns within it (+ slack), and no round runs whose pricing solves were
    all refused (the solver starts none within its stop lag of the deadline; before, such rounds
    ran every ~20 ms until the own limit: 20 of them in the last half-second of a 60-s run)."""
    import time

    from optdist.instance import load_instance
    from optdist.solvers.base import run_deadline

    inst = load_instance("instances/coupled/cifar-6x5-nexus-rpi3.json")
    t0 = time.perf_counter()
    with run_deadline(t0 + 8.0):
        res = column_generation(inst, time_limit=40, threads=1, seed=0)
    assert time.perf_counter() - t0 <= 8.0 + 2.0
    assert res.assignment is not None and optdist.evaluate(inst, res.assignment).feasible
    priced = [r for r in res.extra["rounds"][1:] if r.get("pricing")]
    assert not [r["round"] for r in priced
                if all(p["seconds"] < 0.05 and not p["closed"] for p in r["pricing"])]


def test_a_bound_above_every_placement_after_branching_proves_infeasibility():
    """3 micro requests from one camera on radios of 160-320 B per period: no placement fits (the
    compact model proves it), the rounds do not see it, branch-and-price's root (stuck in phase 1)
    raises the bound above what any placement can cost. That proves infeasibility: the run must
    say so, not end as 'no_solution' with a bound above every placement's latency."""
    doc = generate("coupled", {"micro": 3}, {"rpi3": 6}, 0.95, sources=1, privacy="synthetic", seed=7)
    for d, bw in zip(doc["devices"], (320, 160, 320, 160, 160, 160)):
        d["bandwidth_capacity"] = bw
    inst = parse(doc, "coupled")
    compact = optdist.solve(inst, method="milp", formulation="compact", time_limit=30, threads=1)
    assert compact.termination == "infeasible"
    res = optdist.solve(inst, method="milp", time_limit=30, threads=1)
    assert res.termination == "infeasible" and res.bound == math.inf and res.objective is None  # a proof: +inf
