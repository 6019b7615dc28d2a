"""Branch-and-price on the Dantzig-Wolfe master (optdist.milp.decomposition.branch): on small
masters whose columns are known, priced exactly by enumeration, the search proves the integer
optimum found by brute force, its bound is never above it, and the LP bound alone is not."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from optdist.milp.decomposition.branch import Limit, Part, branch_and_price
from optdist.milp.decomposition.master import Column, Master, Row


def _problem(patterns, sizes, rhs):
    """Rows with right-hand sides ``rhs``; ``patterns[c]``: (cost, usage) of class c's columns."""
    rows = [Row((q,), 2, float(b)) for q, b in enumerate(rhs)]
    cols = [[Column(c, "placement", cost, np.asarray(use, dtype=float)) for cost, use in pats]
            for c, pats in enumerate(patterns)]
    return rows, cols


def _brute_force(cols, sizes, rhs):
    best = math.inf
    per_class = [[counts for counts in itertools.product(range(n + 1), repeat=len(cs)) if sum(counts) == n]
                 for cs, n in zip(cols, sizes)]
    for choice in itertools.product(*per_class):
        use = sum(x * col.usage for cs, counts in zip(cols, choice) for col, x in zip(cs, counts))
        if np.all(use <= np.asarray(rhs) + 1e-12):
            best = min(best, sum(x * col.cost for cs, counts in zip(cols, choice) for col, x in zip(cs, counts)))
    return best


def _search(rows, cols, sizes, time_limit=30.0, mip_gap=1e-9, converged=False, priced=None, known=math.inf,
            count_cuts=False, max_nodes=10_000):
    """The search with exact pricing by enumeration. ``converged``: start from every column and
    the LP master's value as the root bound, the root not priced again (``root_converged``);
    ``priced``: a list that gets each priced part; ``known``: an incumbent value from the start;
    ``count_cuts``: the search separates count rows (the columns need ``node_use``); ``max_nodes``:
    the search's node limit."""
    every = [col for cs in cols for col in cs]
    inc = [known]

    def value(col: Column, pi: np.ndarray, counts) -> float:
        return col.cost + float(pi @ col.usage) + sum(sg * row.count(col.node_use) for row, sg in counts)

    def price(part: Part, pi: np.ndarray, counts, _left: float):
        if priced is not None:
            priced.append(part)
        ok = [col for col in cols[part.cls] if part.admits(col)]
        if not ok:
            return math.inf, [], None
        best = min(ok, key=lambda col: value(col, pi, counts))
        return value(best, pi, counts), [(best, (part.cls, id(best)))], None

    def integral(per_part):
        counts = {}
        for part, pairs in per_part:
            for col, n in pairs:
                counts[part.cls] = counts.get(part.cls, 0) + n
        assert all(counts.get(c, 0) == n for c, n in enumerate(sizes))
        use = sum(n * col.usage for _p, pairs in per_part for col, n in pairs)
        if np.any(use > np.array([r.rhs for r in rows]) + 1e-9):
            return None
        obj = sum(n * col.cost for _p, pairs in per_part for col, n in pairs)
        inc[0] = min(inc[0], obj)
        return obj

    if converged:
        pool = list(every)
        keys = {(col.cls, id(col)) for col in every}
    else:
        pool = [cols[0][0]] if cols[0] else []  # the search prices every other column itself
        keys = {(0, id(cols[0][0]))}
    out = branch_and_price(rows, pool, keys, sizes, 1.0, price=price, integral=integral,
                           incumbent=lambda: inc[0], root_bound=_lp_bound(rows, cols, sizes) if converged else -math.inf,
                           deadline=time.perf_counter() + time_limit, mip_gap=mip_gap, root_converged=converged,
                           count_cuts=count_cuts, max_nodes=max_nodes)
    return out, inc[0], every


def _lp_bound(rows, cols, sizes):
    m = Master(rows, sizes, 1.0)
    for cs in cols:
        for col in cs:
            m.add(col)
    return m.solve_lp()[0]


KNAPSACK = ([[(1.0, [0.65]), (1.15, [0.47]), (1.3, [0.30])]], [8], [4.0])
TWO_ROWS = ([[(1.0, [0.6, 0.1]), (1.2, [0.2, 0.5]), (1.5, [0.1, 0.1])],
             [(2.0, [0.5, 0.5]), (2.1, [0.3, 0.3]), (2.6, [0.0, 0.2])]], [3, 2], [1.4, 1.5])


@pytest.mark.parametrize("case", [KNAPSACK, TWO_ROWS], ids=["one-row", "two-rows-two-classes"])
def test_search_proves_the_brute_force_optimum(case):
    patterns, sizes, rhs = case
    rows, cols = _problem(patterns, sizes, rhs)
    opt = _brute_force(cols, sizes, rhs)
    lp = _lp_bound(rows, cols, sizes)
    assert lp < opt - 1e-6  # the LP master alone leaves a gap: branching is what closes it
    out, inc, _ = _search(rows, cols, sizes)
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.ended in ("searched", "gap closed")
    assert out.bound <= opt * (1 + 1e-9)
    assert out.bound == pytest.approx(opt, rel=1e-9)
    assert out.log[0]["bound"] <= opt * (1 + 1e-9)  # the root's bound


def test_bound_is_valid_when_the_search_stops_early():
    patterns, sizes, rhs = KNAPSACK
    rows, cols = _problem(patterns, sizes, rhs)
    opt = _brute_force(cols, sizes, rhs)
    out, _inc, _ = _search(rows, cols, sizes, time_limit=0.0)
    assert out.bound <= opt * (1 + 1e-9)
    assert out.ended == "deadline" and out.open == 1  # the clock ended it: the root left open


def test_the_outcome_says_a_node_limit_ended_the_search():
    """``ended``: with one node allowed, the knapsack's root branches and its two children stay
    open; the node limit, not the clock, ended the search (``colgen`` says ``time_limit`` only
    for ``deadline``)."""
    rows, cols = _problem(*KNAPSACK)
    out, _inc, _ = _search(rows, cols, KNAPSACK[1], max_nodes=1)
    assert out.nodes == 1 and out.open == 2 and out.ended == "node limit", out.log


def test_limits_admit_columns_by_their_usage_on_a_row():
    col = Column(0, "placement", 1.0, np.array([5.0, 2.0]))
    assert Part(0, 1, (Limit(0, True, 5.0),)).admits(col)
    assert not Part(0, 1, (Limit(0, True, 4.9),)).admits(col)
    assert Part(0, 1, (Limit(1, False, 2.0),)).admits(col)
    assert not Part(0, 1, (Limit(1, False, 2.1),)).admits(col)
    assert not Part(1, 1).admits(col)
    assert not Part(0, 1).admits(Column(0, "reject", 1.0, np.zeros(2)))


@pytest.mark.parametrize("case", [KNAPSACK, TWO_ROWS], ids=["one-row", "two-rows-two-classes"])
def test_a_converged_root_is_branched_without_pricing_and_the_search_still_proves_the_optimum(case):
    """``root_converged``: the root's LP over every column is branched on at once (its bound the
    LP master's value); the children price as before and the search proves the brute-force
    optimum. On one class, no pricing call is the root's (a whole class without limits)."""
    patterns, sizes, rhs = case
    rows, cols = _problem(patterns, sizes, rhs)
    opt = _brute_force(cols, sizes, rhs)
    priced: list[Part] = []
    out, inc, _ = _search(rows, cols, sizes, converged=True, priced=priced)
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(opt, rel=1e-9)
    assert out.log[0]["bound"] == pytest.approx(_lp_bound(rows, cols, sizes), rel=1e-12) and "branch" in out.log[0]
    if len(sizes) == 1:
        assert priced and not any(p.size == sizes[0] and not p.limits for p in priced)


@pytest.mark.parametrize("case", [KNAPSACK, TWO_ROWS], ids=["one-row", "two-rows-two-classes"])
def test_a_node_stops_pricing_once_its_bound_reaches_the_incumbent(case):
    """With the optimum known as incumbent from the start, a node's column generation stops as
    soon as its Lagrangian bound reaches it (logged "bound, early"); the search still proves the
    brute-force optimum."""
    patterns, sizes, rhs = case
    rows, cols = _problem(patterns, sizes, rhs)
    opt = _brute_force(cols, sizes, rhs)
    out, _inc, _ = _search(rows, cols, sizes, known=opt)
    assert out.open == 0 and out.bound == pytest.approx(opt, rel=1e-9) and out.bound <= opt * (1 + 1e-9)
    assert any(e.get("closed") == "bound, early" for e in out.log)


def _per_device_case():
    """Three identical devices with one row each for a bound resource (capacity 1) and a slack
    one (capacity 10, e.g. memory): each pattern's loads under every relabelling of the
    devices, so that the cheapest placements fit the rows summed over the devices but not
    each device (the LP sits at the per-request optima with every price 0)."""
    base = [(1.0, [0.6, 0.0, 0.0], [0.3, 0.0, 0.0]), (1.2, [0.35, 0.0, 0.0], [0.1, 0.0, 0.0]),
            (1.1, [0.3, 0.3, 0.0], [0.2, 0.1, 0.0]), (1.45, [0.2, 0.1, 0.1], [0.1, 0.1, 0.1]),
            (1.7, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])]
    pats = []
    for cost, load, mem in base:
        seen = set()
        for perm in itertools.permutations(range(3)):
            use = tuple(load[i] for i in perm) + tuple(mem[i] for i in perm)
            if use not in seen:
                seen.add(use)
                pats.append((cost, list(use)))
    return pats, [1.0, 1.0, 1.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize("n", [4, 5, 6])
def test_per_device_rows_search_proves_the_brute_force_optimum(n):
    """Per-device rows (as the search uses where the aggregated rows are slack; the root LP sits
    at the per-request optima with every price 0): the search proves the optimum of a brute
    force over every multiset of placements, and its bound and its root's are never above it."""
    pats, rhs = _per_device_case()
    rows, cols = _problem([pats], [n], rhs)
    opt = min(sum(c.cost for c in pick) for pick in itertools.combinations_with_replacement(cols[0], n)
              if np.all(sum(c.usage for c in pick) <= np.asarray(rhs) + 1e-12))
    assert _lp_bound(rows, cols, [n]) < opt - 1e-6  # the per-device packing leaves a gap to branch on
    out, inc, _ = _search(rows, cols, [n])
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.bound <= opt * (1 + 1e-9) and out.bound == pytest.approx(opt, rel=1e-9)
    assert out.log[0]["bound"] <= opt * (1 + 1e-9)



def _with_node_use(cols, n_nodes):
    """The columns of :func:`_problem` with ``node_use``: row q is node q's resource 2."""
    for cs in cols:
        for col in cs:
            use = np.zeros((n_nodes, 3))
            use[:len(col.usage), 2] = col.usage
            col.node_use = use
    return cols


def _packing_case():
    """Three identical radios of capacity 1 (one row each). A (cost 1.0) loads two radios with
    0.34 each, B (1.3) one radio with 0.3, C (1.2) every radio with 0.2; four requests. Four A
    fit the radios on average (2.72 of 3) but not one by one: a radio takes at most two loads
    above 1/3. Optimum 3 A + C = 4.2; the LP master without count rows: 4.0."""
    base = [(1.0, [0.34, 0.34, 0.0]), (1.3, [0.3, 0.0, 0.0]), (1.2, [0.2, 0.2, 0.2])]
    pats = sorted({(cost, tuple(load[i] for i in perm)) for cost, load in base
                   for perm in itertools.permutations(range(3))})
    return [(cost, list(use)) for cost, use in pats], [1.0, 1.0, 1.0]


def test_count_rows_hold_for_every_integer_packing_and_raise_the_lp_to_the_optimum():
    """Every multiset of placements that fits the radios one by one meets every count row (at
    most k loads above cap / (k + 1) per radio); the rows the LP solution violates lift the LP
    master from 4.0 to the optimum 4.2 (brute force)."""
    from optdist.milp.decomposition.master import CountRow, separate_counts

    pats, rhs = _packing_case()
    rows, cols = _problem([pats], [4], rhs)
    _with_node_use(cols, 3)
    fits = [pick for pick in itertools.combinations_with_replacement(cols[0], 4)
            if np.all(sum(c.usage for c in pick) <= np.asarray(rhs) + 1e-12)]
    opt = min(sum(c.cost for c in pick) for pick in fits)
    assert opt == pytest.approx(4.2)
    every = [CountRow(row.nodes, row.resource, k, row.rhs) for row in rows for k in range(1, 9)]
    for pick in fits:
        for cr in every:
            assert sum(cr.count(c.node_use) for c in pick) <= cr.rhs
    m = Master(rows, [4], 1.0)
    for col in cols[0]:
        m.add(col)
    z0 = m.solve_lp()[0]
    assert z0 == pytest.approx(4.0)
    found = separate_counts(rows, m.columns, m.lp_values, [])
    assert any(cr.level == 2 for cr in found)  # at most two loads above 1/3 per radio
    while found:  # as the search does: separate again at each new LP solution
        for cr in found:
            m.add_count_row(cr)
        z, pi, mu = m.solve_lp()
        found = separate_counts(rows, m.columns, m.lp_values, m.count_rows)
    assert z == pytest.approx(opt, rel=1e-9)
    assert np.any(m.sigma > 0)  # the count rows bind: their prices are what pricing must see
    best = min(m.reduced_cost(col, pi, mu) for col in m.columns if col.kind == "placement")
    assert best == pytest.approx(0.0, abs=1e-9)  # LP optimal: no column prices out with sigma


@pytest.mark.parametrize("converged", [False, True])
def test_search_with_count_rows_proves_the_optimum_at_the_root(converged):
    """The search separates the count rows: its root bound is the optimum (without them, 4.0)
    and it proves the brute-force optimum; the root's bound is not above it."""
    pats, rhs = _packing_case()
    rows, cols = _problem([pats], [4], rhs)
    _with_node_use(cols, 3)
    out, inc, _ = _search(rows, cols, [4], converged=converged, count_cuts=True)
    assert inc == pytest.approx(4.2, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(4.2, rel=1e-9)
    assert out.log[0]["bound"] <= 4.2 * (1 + 1e-9)
    priced_root = next(e for e in out.log if e["node"] == (2 if converged and "branch" in out.log[0] else 1))
    assert priced_root["count_rows"] >= 1
    plain, _inc, _ = _search(rows, cols, [4], converged=converged)
    assert plain.log[0]["bound"] < 4.2 - 1e-6  # without the rows the root stays below


@pytest.mark.parametrize("n", [4, 5, 6])
def test_per_device_search_with_count_rows_proves_the_brute_force_optimum(n):
    """The per-device case above with count rows separated: the same optimum; the root's bound
    (and so the certified bound before the search ends) is at most it."""
    pats, rhs = _per_device_case()
    rows, cols = _problem([pats], [n], rhs)
    _with_node_use(cols, len(rhs))
    opt = min(sum(c.cost for c in pick) for pick in itertools.combinations_with_replacement(cols[0], n)
              if np.all(sum(c.usage for c in pick) <= np.asarray(rhs) + 1e-12))
    out, inc, _ = _search(rows, cols, [n], count_cuts=True)
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(opt, rel=1e-9)
    assert out.log[0]["bound"] <= opt * (1 + 1e-9)


def test_load_weights_of_a_node_never_exceed_the_level():
    """``g_k(u) = ceil((k + 1) u / C) - 1`` summed over loads that fit a node of capacity C is at
    most k (random loads that fit, exact multiples of C / (k + 1) included), and a load just
    above C / (k + 1) weighs 1."""
    from optdist.milp.decomposition.master import weights

    rng = np.random.default_rng(0)
    cap = 24809.725
    for k in range(1, 13):
        t = cap / (k + 1)
        assert weights(np.array([t, t * 1.001, 2 * t * 1.001]), t).tolist() == [0.0, 1.0, 2.0]
        assert weights(np.full(k + 1, t), t).sum() == 0 and weights(np.full(k, t * 1.01), t).sum() == k
        for _ in range(200):
            loads = rng.dirichlet(np.ones(rng.integers(1, 12))) * cap * rng.uniform(0.5, 1.0)
            assert weights(loads, t).sum() <= k


def _radio_case():
    """Two identical radios of capacity 1 on one aggregated row (rhs 2), ten requests of one
    class: ``big`` (cost 1.0) sends 0.31 from one radio, ``small`` (1.2) 0.04, ``none`` (3.0)
    nothing. A radio takes three big loads and then one small (0.97), not two (1.01); count rows
    up to level 16 weigh a small load 0, so they do not see it. Optimum 5 big + 5 small = 11.0
    (brute force below); the LP master: 10.81."""
    pats = [(1.0, [0.31, 0.0]), (1.0, [0.0, 0.31]), (1.2, [0.04, 0.0]), (1.2, [0.0, 0.04]), (3.0, [0.0, 0.0])]
    rows = [Row((0, 1), 2, 2.0)]
    cols = [[Column(0, "placement", cost, np.array([sum(use)]), node_use=np.array([[0, 0, u] for u in use]))
             for cost, use in pats]]
    return rows, cols


def _fits_per_radio(pick) -> bool:
    return bool(np.all(sum(c.node_use for c in pick)[:, 2] <= 1.0 + 1e-12))


def test_packing_rows_hold_for_every_integer_packing_and_lift_the_lp_where_count_rows_cannot():
    """Every multiset of placements that fits the radios one by one meets the packing rows the
    LP solutions violate; the count rows see nothing there, the packing rows lift the LP master
    from 10.81 to 10.86 (the brute-force optimum: 11.0), never above it."""
    from optdist.milp.decomposition.master import separate_counts, separate_packing

    rows, cols = _radio_case()
    fits = [pick for pick in itertools.combinations_with_replacement(cols[0], 10) if _fits_per_radio(pick)]
    opt = min(sum(c.cost for c in pick) for pick in fits)
    assert opt == pytest.approx(11.0)
    m = Master(rows, [10], 1.0)
    for col in cols[0]:
        m.add(col)
    z0 = m.solve_lp()[0]
    assert z0 < opt - 0.1
    assert separate_counts(rows, m.columns, m.lp_values, []) == []
    found, z = separate_packing(rows, m.columns, m.lp_values, []), z0
    assert found
    while found:
        for pr in found:
            for pick in fits:
                assert sum(pr.count(c.node_use) for c in pick) <= pr.rhs * (1 + 1e-12)
            m.add_count_row(pr)
        z, pi, mu = m.solve_lp()
        found = separate_packing(rows, m.columns, m.lp_values, m.count_rows)
    assert z0 + 0.04 < z <= opt * (1 + 1e-9)  # 10.81 -> 10.86
    assert np.any(m.sigma > 0)  # the rows bind: pricing must see their prices
    best = min(m.reduced_cost(col, pi, mu) for col in m.columns if col.kind == "placement")
    assert best == pytest.approx(0.0, abs=1e-9)


def test_packing_rows_never_cut_loads_that_fit_one_node():
    """Random LP demands over random sizes: every packing row found weighs the loads of any
    random set that fits one node (exact fits and sizes just above a threshold included) at
    most ``per_node``."""
    from optdist.milp.decomposition.master import Column as Col, separate_packing

    rng = np.random.default_rng(1)
    cap = 27075.0
    found_any = 0
    for _ in range(40):
        k = int(rng.integers(2, 6))
        sizes = np.sort(rng.uniform(0.01, 0.45, size=k)) * cap
        m = 3
        cols, x = [], []
        for s in sizes:
            use = np.zeros((m, 3))
            use[0, 2] = s
            cols.append(Col(0, "placement", 1.0, np.array([s]), node_use=use))
            x.append(rng.uniform(0.5, 1.2) * m * cap / s / k)
        for pr in separate_packing([Row(tuple(range(m)), 2, m * cap)], cols, np.array(x), [], min_violation=1e-3):
            found_any += 1
            assert pr.rhs == pytest.approx(pr.per_node * m)
            for _t in range(300):
                loads, left = [], cap
                while True:
                    fit = [s for s in sizes if s <= left]
                    if not fit or rng.random() < 0.1:
                        break
                    loads.append(float(rng.choice(fit)))
                    left -= loads[-1]
                if left > 0 and rng.random() < 0.5:
                    loads.append(left)  # fill the node to the byte
                use = np.zeros((m, 3))
                node = np.zeros((len(loads), m, 3))
                node[:, 0, 2] = loads
                total = sum(pr.count(n) for n in node)
                assert total <= pr.per_node * (1 + 1e-9)
                use[0, 2] = sum(loads)
    assert found_any >= 5


def test_search_with_rows_closes_the_radio_case_at_the_root():
    """On the radio case (count rows see nothing) the search's priced root separates a row, goes
    back into the queue and closes at the brute-force optimum when solved again; the bound of
    every solve of the root is at most the optimum; without the rows the search branches."""
    rows, cols = _radio_case()
    out, inc, _ = _search(rows, cols, [10], count_cuts=True)
    assert inc == pytest.approx(11.0, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(11.0, rel=1e-9)
    assert out.log[0].get("cuts") == "requeued" and out.log[0]["count_rows"] >= 1
    assert all(e["bound"] <= 11.0 * (1 + 1e-9) for e in out.log if e["parts"] == 1)
    plain, _inc, _ = _search(rows, cols, [10])
    assert "branch" in plain.log[0] and out.nodes < plain.nodes


def test_rounding_rows_hold_for_every_integer_solution():
    """Random knapsacks (one capacity row, ``n`` requests, columns of random usage, one of usage
    0): every rounding row separated from random fractional solutions, and every row over random
    steps and offsets, is met by every integer solution (brute force; solutions that fill the row
    to the unit included)."""
    from optdist.milp.decomposition.master import RoundRow, separate_rounding

    rng = np.random.default_rng(2)
    separated = 0
    for _ in range(30):
        n = int(rng.integers(2, 6))
        use = np.concatenate([[0.0], rng.integers(1, 40, size=int(rng.integers(2, 5))).astype(float)])
        cap = float(np.sort(use)[-2] * n)  # some integer solutions fill it exactly
        cols = [Column(0, "placement", 1.0, np.array([u]), node_use=np.array([[0, 0, u / 2], [0, 0, u / 2]]))
                for u in use]
        sols = [pick for pick in itertools.combinations_with_replacement(range(len(use)), n)
                if use[list(pick)].sum() <= cap]
        rows = [Row((0, 1), 2, cap)]
        cands = [RoundRow((0, 1), 2, float(d), float(-c), math.floor((cap + c * n) / d + 1e-6 * n))
                 for d in rng.uniform(1, 40, size=5) for c in rng.uniform(0, d * 0.99, size=3)]
        for _t in range(5):
            x = rng.dirichlet(np.ones(len(use))) * n
            cands += separate_rounding(rows, cols, x, n, [])
        separated += len(cands) - 15
        for rr in cands:
            w = np.array([rr.count(c.node_use) for c in cols])
            assert w[0] == 0
            for pick in sols:
                assert w[list(pick)].sum() <= rr.rhs
    assert separated >= 10


def test_search_with_rounding_rows_proves_the_knapsack_optimum_at_the_root():
    """On the one-row knapsack (no per-node structure for count or packing rows to see) the
    priced root separates a rounding row and closes at the brute-force optimum when solved again
    (2 solves; 15 nodes without the rows); no solve of the root has a bound above it."""
    patterns, sizes, rhs = KNAPSACK
    rows, cols = _problem(patterns, sizes, rhs)
    _with_node_use(cols, 1)
    opt = _brute_force(cols, sizes, rhs)
    out, inc, _ = _search(rows, cols, sizes, count_cuts=True)
    plain, _inc, _ = _search(rows, cols, sizes)
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(opt, rel=1e-9)
    assert out.log[0].get("cuts") == "requeued" and out.log[0]["count_rows"] >= 1
    assert all(e["bound"] <= opt * (1 + 1e-9) for e in out.log if e["parts"] == 1)
    assert out.nodes == 2 < plain.nodes


#: the placements of ``lenet-10x10-tight-tau0.6`` at its 7.731928-ms nodes (benchmarks/milp/README.md,
#: branch tight11h): (latency in ms, bytes its RPi3 radios send per period), 10 requests on
#: 270,750 B; B, C, D lie on one line of latency against bytes, E next to it
PLATEAU = ([[(0.742406, [30032.0]), (0.851943, [18000.0]), (0.943372, [11984.0]), (0.897657, [14992.0]),
             (0.8874, [16976.0])]], [10], [270750.0])


def test_divided_steps_cut_the_plateau_mix_that_differences_alone_do_not_and_hold_for_every_integer_solution():
    """At the LP solution of a 7.731928-ms node (8 x 30,032 B, 1.7429 x 14,992 B, 0.2571 x
    16,976 B: the row full to the byte) no rounding row whose step is a usage or a difference of
    two is violated, while steps divided by up to :data:`ROUND_DIVISORS` give one; every row
    separated, and every row of a divided step and any offset, holds for every integer solution
    (brute force over the 3,003 choices of 10 columns, a column of usage 0 among them)."""
    from optdist.milp.decomposition.master import ROUND_DIVISORS, RoundRow, separate_rounding

    patterns, sizes, rhs = PLATEAU
    patterns = [[(1.5, [0.0])] + patterns[0]]
    rows, cols = _problem(patterns, sizes, rhs)
    _with_node_use(cols, 1)
    cols = cols[0]
    x = np.array([0.0, 8.0, 0.0, 0.0, 1.742855, 0.257145])
    use = np.array([c.usage[0] for c in cols])
    assert float(x @ use) == pytest.approx(rhs[0], abs=1.0)
    assert separate_rounding(rows, cols, x, 10, [], divisors=1) == []
    found = separate_rounding(rows, cols, x, 10, [])
    assert found and ROUND_DIVISORS > 1
    rr = found[0]
    w = np.array([rr.count(c.node_use) for c in cols])
    assert float(x @ w) > rr.rhs + 0.1  # violated by more than a tenth of a request
    rng = np.random.default_rng(3)
    cands = list(found) + [RoundRow((0,), 2, float(d), float(-o), math.floor((rhs[0] + o * 10) / d + 1e-3 * 10))
                           for d in [3008.0 / k for k in range(1, 17)] + list(rng.uniform(100, 8000, size=8))
                           for o in rng.uniform(0, d * 0.99, size=4)]
    picks = np.array([pick for pick in itertools.combinations_with_replacement(range(len(cols)), 10)
                      if use[list(pick)].sum() <= rhs[0]])
    for rr in cands:
        w = np.array([rr.count(c.node_use) for c in cols])
        assert w[0] == 0 and w[picks].sum(axis=1).max() <= rr.rhs


def test_search_with_divided_steps_proves_the_plateau_optimum():
    """The search with rows over the plateau's columns (priced by enumeration) proves the
    brute-force optimum (8 x 30,032 B + 14,992 B x 2 or 18,000 + 11,984 B: 7.734562 ms); no node
    of the whole problem has a bound above it."""
    patterns, sizes, rhs = PLATEAU
    rows, cols = _problem(patterns, sizes, rhs)
    _with_node_use(cols, 1)
    opt = _brute_force(cols, sizes, rhs)
    assert opt == pytest.approx(8 * 0.742406 + 2 * 0.897657, abs=2e-6)
    out, inc, _ = _search(rows, cols, sizes, count_cuts=True)
    assert inc == pytest.approx(opt, rel=1e-9)
    assert out.open == 0 and out.bound == pytest.approx(opt, rel=1e-9)
    assert all(e["bound"] <= opt * (1 + 1e-9) for e in out.log if e["parts"] == 1)
