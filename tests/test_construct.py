"""The placement on windows sized by a capacity price (optdist/milp/decomposition/construct.py)
and on owner counts per layer chosen by a priced DP (patterns.py): feasible under the
independent evaluator where the greedy rejects requests, never below a proven optimum, widths
chosen at the least price that fits, DP costs equal to the evaluator's, and column generation
seeded by it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.milp.decomposition.colgen import _seed_assignments
from optdist.assignment import Assignment
from optdist.milp.decomposition.bounds import capacities, capacity_matrix
from optdist.milp.decomposition.classes import identical_device_groups, request_classes
from optdist.milp.decomposition.construct import (choose_widths, fit_by_windows, greedy_in_window, layer_floors,
                                                  place_in_windows, placement_by_construction)
from optdist.milp.decomposition.patterns import (FINE_COUNTS, PatternTables, _owners, candidates, fit_by_patterns,
                                                 master_mix, mix, mix_windows, pattern_tables, place_pattern,
                                                 placer_by_renaming, rename_roles, spread_mix, teams)
from optdist.solve import solve

# greedy rejects requests on both; lenet-8x4-rpi3 is proven optimal at 0.0100013628809 s (instances/coupled.solu)
COUPLED = ["instances/coupled/lenet-8x4-rpi3.json", "instances/coupled/mixed-8x6-nexus-rpi3.json"]
OPT_LENET_8X4 = 0.0100013628809


@pytest.mark.parametrize("path", COUPLED)
def test_places_every_request_feasibly_where_the_greedy_rejects(path):
    inst = load_instance(path)
    assert solve(inst, method="greedy").extra["rejected"] > 0  # the case the construction is for
    asg = fit_by_windows(inst, deadline=time.perf_counter() + 30)
    assert asg is not None
    assert all(o is not None for o in asg.owners)
    ev = evaluate(inst, asg)
    assert ev.feasible, [v.message for v in ev.violations[:3]]
    assert asg.meta["found_by"].startswith("windows by price")
    if path.endswith("lenet-8x4-rpi3.json"):  # a heuristic: never below the proven optimum
        assert ev.objective >= OPT_LENET_8X4 * (1 - 1e-9)


def test_layer_windows_keep_the_privacy_floor_and_the_width():
    inst = load_instance(COUPLED[1])
    for r in range(inst.n_requests):
        floors = layer_floors(inst, r)
        order = np.arange(inst.n_devices)
        own = greedy_in_window(inst, r, capacities(inst), order, 1)
        assert own is not None
        src = int(inst.request_source[r])
        for k, a in enumerate(own):  # layer k only on its source and the first max(1, floor_k) devices
            devs = set(int(i) for i in a) - {src}
            assert devs <= set(range(max(1, int(floors[k])))), (r, k, devs)


def test_widths_at_the_least_price_that_fits():
    total = np.array([10.0, 10.0, 10.0])
    # one class, 2 requests: widths 4 (latency 1, usage 4 each), 2 (2, 2 each), 1 (4, 1 each)
    prof = [(4, 1.0, np.array([0.0, 0.0, 4.0])), (2, 2.0, np.array([0.0, 0.0, 2.0])),
            (1, 4.0, np.array([0.0, 0.0, 1.0]))]
    assert choose_widths([prof], [2], total, 1.0) == [0]  # 8 <= 10: the fastest fits at price 0
    assert choose_widths([prof], [2], total, 0.5) == [1]  # 8 > 5 >= 4: the next cheapest that fits
    assert choose_widths([prof], [2], total, 0.3) == [2]
    assert choose_widths([prof], [2], total, 0.1) is None  # even the least usage does not fit


def test_column_generation_is_seeded_by_a_complete_placement_where_greedy_rejects():
    inst = load_instance(COUPLED[0])
    seeds = _seed_assignments(inst, None, time.perf_counter() + 30)
    complete = [a for a in seeds if all(o is not None for o in a.owners)]
    assert complete and evaluate(inst, complete[0]).feasible


# ---- owner counts per layer by a priced DP (optdist/milp/decomposition/patterns.py) ----------------
@pytest.mark.parametrize("path", COUPLED)
def test_patterns_place_every_request_feasibly_where_the_greedy_rejects(path):
    inst = load_instance(path)
    asg = fit_by_patterns(inst, deadline=time.perf_counter() + 30)
    assert asg is not None and all(o is not None for o in asg.owners)
    ev = evaluate(inst, asg)
    assert ev.feasible, [v.message for v in ev.violations[:3]]
    assert asg.meta["found_by"].startswith("patterns by ")
    if path.endswith("lenet-8x4-rpi3.json"):
        assert ev.objective >= OPT_LENET_8X4 * (1 - 1e-9)
    best = placement_by_construction(inst, deadline=time.perf_counter() + 30)  # keeps the best it builds
    assert evaluate(inst, best).feasible and evaluate(inst, best).objective <= ev.objective * (1 + 1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_pattern_tables_are_the_evaluators_stage_times_and_usage(weighted):
    """The DP's costs are exact for the placement it names: sum of T_k(s_{k-1}, s_k) = the
    evaluator's latency, and the device usage totals agree (MODEL.md sections 4-6); with
    segments shared by speed too (the placement then names its owners by :func:`_owners`), and
    those keep every privacy cap (row 10f)."""
    inst = load_instance(COUPLED[1])
    D = inst.n_devices
    orders = teams(inst)
    speed = np.asarray(inst.mults_per_s, dtype=float)
    for r in {c[0] for c in request_classes(inst)}:
        tables = PatternTables(inst, r, orders, weighted=weighted)
        lim = inst.limit(r)
        scale = capacity_matrix(inst)[:D].sum(axis=0)
        # the DP's patterns, and one that switches teams at every layer (team 0's least count, the last team's most)
        mixed = tuple(st[0] if k % 2 else st[-1] for k, st in enumerate(tables.states))
        for price in (0.0, 1.0, 100.0, 1e4):
            for pattern in (tables.solve(price, scale, inst.objective.shared_weight), mixed):
                idx = [st.index(vn) for st, vn in zip(tables.states, pattern)]
                src = int(inst.request_source[r])
                if weighted:
                    own = [_owners(la.segments, n, orders[v], src, speed,
                                   None if lim.on_source[k] or not lim.device_cap[k] else int(lim.device_cap[k]))
                           for k, (la, (v, n)) in enumerate(zip(inst.profile(r).layers, pattern))]
                else:
                    own = [np.full(la.segments, src) if n == 0 else orders[v][np.arange(la.segments) % n]
                           for la, (v, n) in zip(inst.profile(r).layers, pattern)]
                owners = [None] * inst.n_requests
                owners[r] = own
                ev = evaluate(inst, Assignment(owners))
                assert not [v for v in ev.violations if v.constraint == "privacy"]
                dp_time = tables.first + sum(t[a, b] for t, a, b in zip(tables.time, idx, idx[1:]))
                assert dp_time == pytest.approx(float(ev.latency[r]), rel=1e-12)
                dp_use = sum(u[a, b] for u, a, b in zip(tables.use, idx, idx[1:]))
                ev_use = [ev.memory_used[:D].sum(), ev.compute_used[:D].sum(), ev.bandwidth_used[:D].sum()]
                assert np.allclose(dp_use, ev_use, rtol=1e-12)
                dp_group = sum(u[a, b] for u, a, b in zip(tables.group_use, idx, idx[1:]))
                ev_group = [[ev.memory_used[g].sum(), ev.compute_used[g].sum(), ev.bandwidth_used[g].sum()]
                            for g in identical_device_groups(inst)]
                assert np.allclose(dp_group, np.concatenate(ev_group), rtol=1e-12)


def test_patterns_narrow_as_the_price_rises():
    inst = load_instance(COUPLED[0])
    tables = PatternTables(inst, 0, teams(inst))
    scale = capacity_matrix(inst)[: inst.n_devices].sum(axis=0)
    use = []
    for price in (0.0, 1e-2, 1.0, 1e2, 1e4):
        s = tables.solve(price, scale, 0.0)
        idx = [st.index(vn) for st, vn in zip(tables.states, s)]
        use.append(float(sum((u[a, b] / scale).sum() for u, a, b in zip(tables.use, idx, idx[1:]))))
    assert all(b <= a * (1 + 1e-12) for a, b in zip(use, use[1:])), use  # priced usage never grows
    assert use[-1] < use[0]


def test_a_pattern_never_overflows_the_capacity_left():
    inst = load_instance(COUPLED[1])
    full = capacities(inst)
    r = 0
    pat = tuple(st[-1] for st in PatternTables(inst, r, teams(inst)).states)  # the widest counts, on the last team
    for share in (1.0, 0.5, 0.2, 0.05, 0.0):
        cap = {k: v.copy() for k, v in full.items()}
        for k in cap:
            cap[k][: inst.n_devices] *= share
        own = place_pattern(inst, r, cap, np.arange(inst.n_devices), pat)
        if own is None:
            continue
        owners = [None] * inst.n_requests
        owners[r] = own
        ev = evaluate(inst, Assignment(owners))
        used = np.stack([ev.memory_used, ev.compute_used, ev.bandwidth_used], axis=1)
        assert (used <= np.stack([cap[k] for k in ("memory", "compute", "bandwidth")], axis=1) * (1 + 1e-12)).all()
    assert place_pattern(inst, r, {k: np.where(np.arange(inst.n_nodes) < inst.n_devices, 0.0, v)
                                   for k, v in full.items()}, np.arange(inst.n_devices), pat) is None


def test_mix_fits_every_group_and_keeps_the_class_sizes():
    # one class of 4 requests, two groups: a fast pattern on group 0 (usage 3 there), a slow one on group 1
    prof = [((0, (1,)), 1.0, np.array([0.0, 0.0, 3.0])), ((1, (1,)), 2.0, np.array([0.0, 0.0, 3.0]))]
    gu = np.array([[0, 0, 3.0, 0, 0, 0], [0, 0, 0, 0, 0, 3.0]])
    total = np.array([1.0, 1.0, 6.0, 1.0, 1.0, 6.0])
    x = mix([prof], [gu], [4], total, 1.0)
    assert x is not None and x[0].tolist() == [2, 2]  # group 0 holds two, the rest go to group 1
    assert mix([prof], [gu], [5], total, 1.0) is None  # 15 > 12: no mix fits


def test_patterns_give_none_past_the_deadline_or_on_a_serial_uplink():
    inst = load_instance(COUPLED[0])
    assert fit_by_patterns(inst, deadline=time.perf_counter() - 1) is None
    serial = inst.with_spec(objective=inst.spec.objective.model_copy(update={"uplink": "serial"}))
    assert serial.objective.uplink == "serial"
    assert fit_by_patterns(serial, deadline=time.perf_counter() + 30) is None


# ---- the integer master over the patterns (patterns.master_mix) -------------------------------------
def _pattern_pool(inst):
    classes = request_classes(inst)
    tables = [pattern_tables(inst, c[0]) for c in classes]
    profiles, group_use = [], []
    for reqs, tab in zip(classes, tables):
        prof, gu = candidates(inst, reqs[0], tab)
        profiles.append(prof)
        group_use.append(gu)
    caps = capacity_matrix(inst)
    total = np.concatenate([caps[g].sum(axis=0) for g in identical_device_groups(inst)])
    return classes, tables, profiles, group_use, total


def _plan(profiles, x):
    return sum(float(np.dot([e[1] for e in p], xc)) for p, xc in zip(profiles, x))


@pytest.mark.parametrize("path", COUPLED)
def test_master_over_patterns_fits_every_group_and_never_plans_worse_than_the_price_mix(path):
    inst = load_instance(path)
    classes, tables, profiles, group_use, total = _pattern_pool(inst)
    sizes = [len(c) for c in classes]
    for fill in (1.0, 0.93):
        start = mix(profiles, group_use, sizes, total, fill)  # the construction the master starts from
        start_plan = None if start is None else _plan(profiles, start)
        x = master_mix(inst, classes, tables, profiles, group_use, total, fill, deadline=time.perf_counter() + 30)
        assert x is not None and [int(xc.sum()) for xc in x] == sizes
        used = sum(gu.T @ xc for gu, xc in zip(group_use, x))
        assert (used <= fill * total * (1 + 1e-9)).all()
        for prof, gu in zip(profiles, group_use):  # columns stay most usage first, aligned with their usage
            share = [float((e[2] / total.reshape(-1, 3).sum(axis=0)).sum()) for e in prof]
            assert share == sorted(share, reverse=True)
            assert np.allclose(gu.reshape(len(prof), -1, 3).sum(axis=1), [e[2] for e in prof], rtol=1e-12)
        if start is not None:  # mix's columns are among the master's: its integer optimum is no worse
            assert _plan(profiles, x) <= start_plan * (1 + 1e-6)


def test_master_plan_is_the_evaluators_objective_once_placed_by_renaming():
    """On lenet-8x4-rpi3 (greedy rejects requests; optimum 0.0100013628809 s) the master's plan at
    fill 0.97 is placed with every request renamed into the capacity left: the evaluator's
    objective is the plan's (identical devices keep each column's latency), feasible, and no
    better than the proven optimum."""
    inst = load_instance(COUPLED[0])
    classes, tables, profiles, group_use, total = _pattern_pool(inst)
    x = master_mix(inst, classes, tables, profiles, group_use, total, 0.97, deadline=time.perf_counter() + 30)
    owners = place_in_windows(inst, *mix_windows(classes, profiles, x), time.perf_counter() + 30,
                              placer_by_renaming(inst))
    ev = evaluate(inst, Assignment(owners))
    assert ev.feasible, [v.message for v in ev.violations[:3]]
    assert ev.objective == pytest.approx(_plan(profiles, x), rel=1e-12)
    assert ev.objective >= OPT_LENET_8X4 * (1 - 1e-9)


def test_renamed_roles_keep_the_groups_and_fill_the_least_used_devices():
    inst = load_instance(COUPLED[1])
    groups = identical_device_groups(inst)
    r = 0
    own = place_pattern(inst, r, capacities(inst), np.arange(inst.n_devices),
                        tuple(st[-1] for st in pattern_tables(inst, r).states))
    use = evaluate(inst, Assignment([own] + [None] * (inst.n_requests - 1)))
    use = np.stack([use.memory_used, use.compute_used, use.bandwidth_used], axis=1)
    caps = capacity_matrix(inst)
    heaviest = int(np.argmax((use[:inst.n_devices] / caps[:inst.n_devices]).max(axis=1)))
    assert len(next(g for g in groups if heaviest in g)) > 1
    used = np.zeros_like(use)
    used[heaviest] = caps[heaviest] * 0.9  # the heaviest role's own device nearly full
    lab = rename_roles(inst, use, used)
    for g in groups:  # a permutation within each group; sources keep their names
        assert sorted(lab[g].tolist()) == sorted(g)
    assert (lab[inst.n_devices:] == np.arange(inst.n_devices, inst.n_nodes)).all()
    assert lab[heaviest] != heaviest  # the busiest role moves to a device of its group with room


# ---- the mix's copies relabelled by an assignment MIP (patterns.spread_mix) ------------------------
def _micro(bandwidth: float):
    """Three identical micro requests, one source, on 3 RPi3 (one group of identical devices)
    whose radios carry ``bandwidth`` bytes per period (tests/test_colgen.py's ``coupled``)."""
    from optdist.generate import generate
    from optdist.instance import parse

    doc = generate("coupled", {"micro": 3}, {"rpi3": 3}, 0.95, sources=1, privacy="synthetic")
    for d in doc["devices"]:
        d["bandwidth_capacity"] = bandwidth
    return parse(doc, "coupled")


def test_spread_mix_fits_exactly_where_brute_force_finds_a_relabelling():
    """For every pattern of the micro class, all three requests on it: ``spread_mix`` returns a
    placement iff some relabelling of the copies within the group (brute force over the 6 x 6
    permutations of requests 1 and 2; request 0 keeps its labels) fits every capacity; where it
    does, the evaluator finds it feasible at the mix's plan (each copy keeps its latency). Both
    outcomes occur over the radios tried."""
    import itertools

    seen = set()
    for bandwidth in (200.0, 450.0):
        inst = _micro(bandwidth)
        classes = request_classes(inst)
        assert len(classes) == 1 and len(identical_device_groups(inst)) == 1
        prof, _gu = candidates(inst, classes[0][0], pattern_tables(inst, classes[0][0], FINE_COUNTS))
        D, N = inst.n_devices, inst.n_nodes
        fastest = np.argsort(-np.asarray(inst.mults_per_s[:D]), kind="stable")
        for j, (pattern, cost, _u) in enumerate(prof):
            x = [np.zeros(len(prof), dtype=np.int64)]
            x[0][j] = 3
            got = spread_mix(inst, classes, [prof], x, time_limit=10)
            base = [place_pattern(inst, r, capacities(inst), fastest, pattern) for r in range(3)]
            fits = False
            for p1, p2 in itertools.product(itertools.permutations(range(D)), repeat=2):
                l1, l2 = np.arange(N), np.arange(N)
                l1[:D], l2[:D] = p1, p2
                own = [base[0], [l1[a] for a in base[1]], [l2[a] for a in base[2]]]
                if evaluate(inst, Assignment(own)).feasible:
                    fits = True
                    break
            assert (got is not None) == fits, (bandwidth, j)
            seen.add(fits)
            if got is not None:
                ev = evaluate(inst, Assignment(got))
                assert ev.feasible
                assert ev.objective == pytest.approx(3 * cost, rel=1e-12)
    assert seen == {True, False}


def test_spread_mix_builds_no_mip_past_its_size(monkeypatch):
    """A mix whose relabelling fits (three micro requests on 3 RPi3, 450-B radios): found while
    requests x sum of group sizes squared (3 x 3^2 = 27) is within ``SPREAD_MAX_BINARIES``, None
    (no MIP built) one below it."""
    import optdist.milp.decomposition.patterns as patterns

    inst = _micro(450.0)
    classes = request_classes(inst)
    prof, _gu = candidates(inst, classes[0][0], pattern_tables(inst, classes[0][0], FINE_COUNTS))
    fits = []
    for j in range(len(prof)):
        x = [np.zeros(len(prof), dtype=np.int64)]
        x[0][j] = 3
        monkeypatch.setattr(patterns, "SPREAD_MAX_BINARIES", 27)
        got = spread_mix(inst, classes, [prof], x, time_limit=10)
        monkeypatch.setattr(patterns, "SPREAD_MAX_BINARIES", 26)
        assert spread_mix(inst, classes, [prof], x, time_limit=10) is None
        fits.append(got is not None and evaluate(inst, Assignment(got)).feasible)
    assert any(fits)


def test_construction_tries_windows_only_where_no_pattern_places(monkeypatch):
    """Where the patterns place every request (``mixed-8x6``) the windows and equal shares are not
    tried and the placement is the patterns'; on a serial uplink (no patterns) both are tried, and
    what the construction returns is feasible."""
    import optdist.milp.decomposition.construct as construct

    calls = []
    for name in ("fit_by_windows", "window_placement"):
        real = getattr(construct, name)
        monkeypatch.setattr(construct, name, lambda inst, *, deadline, _f=real, _n=name: calls.append(_n) or
                            _f(inst, deadline=deadline))
    inst = load_instance(COUPLED[1])
    asg = placement_by_construction(inst, deadline=time.perf_counter() + 30)
    assert calls == [] and asg.meta["found_by"].startswith("patterns by ") and evaluate(inst, asg).feasible
    serial = inst.with_spec(objective=inst.spec.objective.model_copy(update={"uplink": "serial"}))
    asg = placement_by_construction(serial, deadline=time.perf_counter() + 30)
    assert calls == ["fit_by_windows", "window_placement"]
    assert asg is None or evaluate(serial, asg).feasible


@pytest.mark.parametrize("bandwidth", [200.0, 300.0, 450.0])
def test_fine_patterns_reach_the_tight_optimum_on_micro_requests(bandwidth):
    """On three micro requests whose radios bind (200, 300 B) or not (450 B), the patterns on the
    fine grid, relabelled where renaming misses, reach the optimum the ``tight`` MILP proves, and
    return a feasible placement within their deadline."""
    inst = _micro(bandwidth)
    t0 = time.perf_counter()
    asg = fit_by_patterns(inst, deadline=t0 + 10, grid=FINE_COUNTS)
    assert time.perf_counter() - t0 <= 10 + 1.0
    ev = evaluate(inst, asg)
    assert ev.feasible
    opt = solve(inst, method="milp", formulation="tight", time_limit=20, threads=1)
    assert opt.termination == "optimal"
    assert ev.objective == pytest.approx(opt.objective, rel=1e-6)
    assert ev.objective >= opt.bound * (1 - 1e-6)


def test_construction_is_never_worse_than_the_coarse_patterns_and_keeps_its_deadline():
    """``placement_by_construction`` tries the patterns on both grids (and the windows): its
    placement is evaluator-feasible and no worse than the coarse grid's alone, within the deadline
    (+1 s for one evaluation past it)."""
    inst = load_instance(COUPLED[1])
    coarse = fit_by_patterns(inst, deadline=time.perf_counter() + 30)
    t0 = time.perf_counter()
    asg = placement_by_construction(inst, deadline=t0 + 30)
    assert time.perf_counter() - t0 <= 31
    ev = evaluate(inst, asg)
    assert ev.feasible
    assert ev.objective <= evaluate(inst, coarse).objective * (1 + 1e-12)


def test_segments_by_speed_follow_the_speeds_within_the_privacy_cap():
    """``_owners`` with speeds: equal speeds give round robin (``order[p mod s]``); speeds 2:1
    give counts 2:1; a cap holds every owner to it; the same P and s give the same sequence."""
    order = np.array([4, 2, 7])
    assert _owners(9, 3, order, 0, np.ones(8), None).tolist() == order[np.arange(9) % 3].tolist()
    speed = np.ones(8)
    speed[4] = 2.0  # device 4 twice as fast as 2 and 7
    own = _owners(12, 3, order, 0, speed, None)
    assert np.bincount(own, minlength=8)[[4, 2, 7]].tolist() == [6, 3, 3]
    capped = _owners(12, 3, order, 0, speed, 4)
    assert np.bincount(capped, minlength=8)[[4, 2, 7]].tolist() == [4, 4, 4]
    assert _owners(12, 3, order, 0, speed, None).tolist() == own.tolist()
    assert (_owners(5, 0, order, 9, speed, None) == 9).all()  # s = 0: the source


def test_pattern_variants_script_prints_each_variant_and_refuses_bad_input(capsys, monkeypatch, tmp_path):
    """benchmarks/scale/pattern_variants.py: one line per variant with the master's plans and the
    evaluator's objective of the placement (feasible) on lenet-8x4-rpi3, never below its proven
    optimum; no instance or a missing one: exit 2 with the problem named, no traceback."""
    import sys

    from tests.conftest import load_script

    mod = load_script("benchmarks/scale/pattern_variants.py")
    mod.main([COUPLED[0]])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("lenet-8x4-rpi3 |")]
    assert [ln.split(" | ")[1] for ln in lines] == [name for name, _g, _w in mod.VARIANTS]
    for ln in lines:
        assert "plan fill 1 " in ln and "(feasible True)" in ln
        placed = float(ln.split("placed ")[1].split()[0])
        assert placed >= OPT_LENET_8X4 * (1 - 1e-9)
    for argv, text in (([], "no instance given"), (["none.json"], "none.json: instance file not found")):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr("sys.argv", ["pattern_variants.py", *argv])
        with pytest.raises(SystemExit) as e:
            sys.modules["_scale_common"].run_on_instances(mod.main, "pattern_variants.py")
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err


def test_construction_steps_script_times_each_step_and_refuses_bad_input(capsys, monkeypatch, tmp_path):
    """benchmarks/scale/construction_steps.py on lenet-8x4-rpi3: one line per pattern grid (the
    coarse first; no windows: the patterns placed every request) and one for the whole
    construction, whose objective is the best step's and never below the proven optimum; the
    construction's own functions are back afterwards; bad input: exit 2, no traceback."""
    import sys

    import optdist.milp.decomposition.construct as construct
    import optdist.milp.decomposition.patterns as patterns
    from tests.conftest import load_script

    before = (patterns.fit_by_patterns, construct.fit_by_windows, construct.window_placement)
    mod = load_script("benchmarks/scale/construction_steps.py")
    mod.main([COUPLED[0]])
    assert (patterns.fit_by_patterns, construct.fit_by_windows, construct.window_placement) == before
    lines = [ln.split(" | ") for ln in capsys.readouterr().out.splitlines() if ln.startswith("lenet-8x4-rpi3 |")]
    assert [ln[1] for ln in lines] == ["fit_by_patterns", "fit_by_patterns (grid 30, weighted True)", "construction"]
    values = [float(ln[4].split()[0]) for ln in lines]
    assert values[2] == min(values[:2]) and values[2] >= OPT_LENET_8X4 * (1 - 1e-9)
    for argv, text in (([], "no instance given"), (["none.json"], "none.json: instance file not found")):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr("sys.argv", ["construction_steps.py", *argv])
        with pytest.raises(SystemExit) as e:
            sys.modules["_scale_common"].run_on_instances(mod.main, "construction_steps.py")
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err
