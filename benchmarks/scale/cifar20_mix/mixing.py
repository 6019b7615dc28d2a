"""The column mix of this folder's scripts as functions of any instance (no constants of cifar-20x20):
device groups, cut-point hybrids, the priced pool, the selection and the counts MILP.

A *column* is the owners of request 0 (a list of node-index arrays, one per layer), scored alone
by the evaluator; its *group loads* are the bytes it makes each group of identical devices send,
in units of one device's bandwidth capacity. ``hybrids.py``, ``hyb2.py`` and ``countmilp.py``
are the same steps with cifar-20x20's constants (Nexus devices 0-5, RPi3 6-19, 17 layers, six
price vectors); ``from_scratch.py`` runs these functions.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog

from optdist.assignment import Assignment
from optdist.evaluate import capacity_limit, evaluate
from optdist.instance import Instance
from optdist.milp.decomposition.colgen import _rename
from optdist.solvers.highs import run_stoppable

#: the group bandwidth share of the pool LP (hyb2.py): 99.3 % of every group's capacity
SHARE = 0.993

Column = list[np.ndarray]
Score = tuple[float, ...]  # (latency s, one load per group in device capacities)


def device_groups(inst: Instance) -> list[list[int]]:
    """The devices (indices ``0..n_devices-1``) in groups of equal memory, speed, rate and
    capacities, in order of their first device."""
    keys: dict[tuple, list[int]] = {}
    for j in range(inst.n_devices):
        key = tuple(float(np.asarray(getattr(inst, f))[j]) for f in
                    ("memory", "mults_per_s", "rate", "compute_capacity", "bandwidth_capacity"))
        keys.setdefault(key, []).append(j)
    return list(keys.values())


def alone(inst: Instance, r: int, own: Column):
    """Request ``r`` alone with owners ``own``: the evaluator's :class:`~optdist.evaluate.Evaluation`."""
    owners: list = [None] * inst.n_requests
    owners[r] = [np.asarray(a) for a in own]
    return evaluate(inst, Assignment(owners))


def score(inst: Instance, groups: list[list[int]], own: Column) -> Score | None:
    """``own`` as request 0 alone: (latency s, per group the bytes its devices send / one device's
    capacity), or None where it breaks a rule other than admission."""
    ev = alone(inst, 0, own)
    if any(v.constraint != "admission" for v in ev.violations):
        return None
    bc = capacity_limit(np.asarray(inst.bandwidth_capacity, float))
    b = ev.bandwidth_used
    return (float(ev.latency[0]), *(float(b[g].sum() / bc[g[0]]) for g in groups))


def start_types(inst: Instance, asg: Assignment, groups: list[list[int]]) -> tuple[dict[str, Column], list[str | None]]:
    """The distinct request types of a placement as columns (owners of request 0): requests whose
    latency and per-device loads agree up to relabelling the devices of a group are one type;
    named ``A``, ``B``, ... in order of their first request. Returns (the types, each request's
    type name, None where it is not placed)."""
    src = np.asarray(inst.request_source)
    out: dict[str, Column] = {}
    seen: dict[tuple, str] = {}
    of: list[str | None] = []
    for r, own in enumerate(asg.owners):
        if own is None:
            of.append(None)
            continue
        col = _rename(own, int(src[r]), int(src[0]))
        ev = alone(inst, 0, col)
        key = (round(float(ev.latency[0]), 12),
               *(tuple(sorted(np.round(ev.bandwidth_used[g], 3))) for g in groups))
        if key not in seen:
            seen[key] = chr(ord("A") + len(out))
            out[seen[key]] = col
        of.append(seen[key])
    return out, of


def priced(s: Score, pi: np.ndarray) -> float:
    """Latency plus the group loads at prices ``pi``, summed left to right (as the scripts did: ties
    between columns break the same way)."""
    v = s[0]
    for p, x in zip(pi, s[1:]):
        v += float(p) * x
    return v


def _cut(x: Column, y: Column, k: int) -> Column:
    return [a.copy() for a in x[:k]] + [a.copy() for a in y[k:]]


def _cut_points(cols: dict[str, Column], names: list[str]):
    """Every cut-point hybrid ``X[:k] + Y[k:]`` of two distinct columns ``X``, ``Y`` of ``names``
    (``k`` from 1 to the number of layers - 1): ``(X, k, Y, owners)``."""
    n_layers = len(next(iter(cols.values())))
    for x in names:
        for y in names:
            if x != y:
                for k in range(1, n_layers):
                    yield x, k, y, _cut(cols[x], cols[y], k)


def hybrids(inst: Instance, groups: list[list[int]], base: dict[str, Column]) -> dict[str, Column]:
    """``base`` and every cut-point hybrid ``X[:k] + Y[k:]`` of two of its columns (hybrids.py),
    less those dominated in (latency, group loads); names ``XkY``."""
    cands = [(t, own, score(inst, groups, own)) for t, own in base.items()]
    for x, k, y, own in _cut_points(base, list(base)):
        s = score(inst, groups, own)
        if s is not None:
            cands.append((f"{x}{k}{y}", own, s))
    keep = {}
    for i, (n1, o1, s1) in enumerate(cands):
        if s1 is None:
            continue
        if not any(j != i and s2 is not None and s2[0] <= s1[0] and all(b <= a + 1e-12 for a, b in zip(s1[1:], s2[1:]))
                   and (s2 != s1 or j < i) for j, (_, _, s2) in enumerate(cands)):
            keep[n1] = o1
    return keep


def pool_lp(scores: dict[str, Score], groups: list[list[int]], n_requests: int, share: float = SHARE):
    """The pool LP (poolbound.py): least total latency of ``n_requests`` requests over a fractional
    mix of the columns with every group's load ``<= share x`` its devices. Returns (value s,
    per group the dual price in seconds per device capacity, >= 0, the LP's weights by name)."""
    names = list(scores)
    res = linprog([scores[n][0] for n in names], A_ub=[[scores[n][1 + g] for n in names] for g in range(len(groups))],
                  b_ub=[len(g) * share for g in groups], A_eq=[[1] * len(names)], b_eq=[n_requests],
                  bounds=(0, n_requests), method="highs")
    if res.status != 0:
        raise ValueError(f"the pool LP has no optimum ({res.message}): no mix of the columns fits the group bandwidth")
    return float(res.fun), -np.asarray(res.ineqlin.marginals), {n: float(x) for n, x in zip(names, res.x) if x > 1e-6}


def priced_pool(inst: Instance, groups: list[list[int]], cols: dict[str, Column], rounds: int = 3, top: int = 12,
                log=print) -> tuple[dict[str, Column], dict[str, Score], list[np.ndarray]]:
    """``cols`` grown for ``rounds`` rounds (hyb2.py): the pool LP's duals price every column, and the
    hybrids of the ``top`` cheapest columns at those prices that are cheaper than the ``top``-th
    join (names ``(X)k(Y)``). Returns (columns, their scores, each round's duals and the final
    pool LP's)."""
    pool = dict(cols)
    sc = {n: score(inst, groups, c) for n, c in pool.items()}
    duals = []
    for rnd in range(rounds):
        val, pi, _ = pool_lp(sc, groups, inst.n_requests)
        duals.append(pi)

        def cost(s: Score, pi: np.ndarray = pi) -> float:
            return priced(s, pi)

        rc = {n: cost(sc[n]) for n in sc}
        best = sorted(sc, key=rc.get)[:top]
        seen = {tuple(np.concatenate(v)) for v in pool.values()}
        added = 0
        for x, k, y, own in _cut_points(pool, best):
            key = tuple(np.concatenate(own))
            if key in seen:
                continue
            seen.add(key)
            s = score(inst, groups, own)
            if s is not None and cost(s) < rc[best[-1]]:
                pool[f"({x}){k}({y})"], sc[f"({x}){k}({y})"] = own, s
                added += 1
        log(f"  pool round {rnd}: LP {val:.6f}, prices {np.round(pi, 5).tolist()}, {added} columns added")
    val, pi, _ = pool_lp(sc, groups, inst.n_requests)
    log(f"  final pool: LP {val:.6f} (share {SHARE}), {pool_lp(sc, groups, inst.n_requests, 1.0)[0]:.6f} (share 1)")
    return pool, sc, duals + [pi]


def _start_point(inst: Instance, groups: list[list[int]], cols: dict[str, Column], classes: dict, x: dict,
                 n: dict, nv: int, asg: Assignment, of: list[str | None]) -> list[float]:
    """The counts MILP's variables at placement ``asg`` (request r: column ``of[r]`` relabelled)."""
    val = np.zeros(nv)
    for r, t in enumerate(of):
        if t is None:
            continue
        val[x[t]] += 1
        b = alone(inst, r, asg.owners[r]).bandwidth_used
        for g, grp in enumerate(groups):
            vs = np.array([v for v, _ in classes[t, g]])
            for d in grp:
                val[n[t, g, int(np.argmin(np.abs(vs - b[d]))), d]] += 1
    return val.tolist()


def _solution(values: list[float]):
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    return sol


def _rounded_counts(inst: Instance, groups: list[list[int]], cols: dict[str, Column], share: float) -> dict[str, int]:
    """The pool LP's mix of ``cols`` at ``share`` rounded to whole counts summing to the requests
    (floors, then the largest remainders)."""
    mix = pool_lp({t: score(inst, groups, c) for t, c in cols.items()}, groups, inst.n_requests, share)[2]
    out = {t: int(np.floor(v + 1e-9)) for t, v in mix.items()}
    for t in sorted(mix, key=lambda t: out[t] - mix[t])[: inst.n_requests - sum(out.values())]:
        out[t] += 1
    return out


def price_vectors(duals: list[np.ndarray], tilts: tuple[float, ...] = (0.2, 0.45)) -> list[np.ndarray]:
    """The price vectors the selection ranks columns at (``duals``: :func:`priced_pool`'s): the final
    pool LP's duals, the first round's (the hybrids' LP), and the final ones tilted: one group's
    price x (1 + t), the others' x (1 - t), for each group and ``t`` in ``tilts``. On cifar-20x20
    these are six vectors close to countmilp.py's sel:K constants ((0.0209, 0.0140), (0.0209,
    0.0162), then ~(0.025, 0.012), (0.016, 0.019), (0.03, 0.01), (0.012, 0.022))."""
    pi = duals[-1]
    out = [pi, duals[0]]
    groups = range(len(pi))
    for t in tilts:
        for g in range(len(groups)):
            out.append(np.where(np.arange(len(pi)) == g, pi * (1 + t), pi * (1 - t)))
    return out


def select(sc: dict[str, Score], base: list[str], prices: list[np.ndarray], k: int) -> list[str]:
    """``base`` and, per price vector, the ``k`` cheapest pool columns at it whose (latency, loads)
    were not taken yet (countmilp.py sel:K)."""
    names, seen = list(base), set()
    for pi in prices:
        got = 0
        for n in sorted(sc, key=lambda n: priced(sc[n], pi)):
            key = (round(sc[n][0], 9), *(round(x, 5) for x in sc[n][1:]))
            if key in seen:
                continue
            seen.add(key)
            if n not in names:
                names.append(n)
            got += 1
            if got >= k:
                break
    return names


def count_milp(inst: Instance, groups: list[list[int]], cols: dict[str, Column], time_limit: float,
               margin: float = 0.0, start: tuple[Assignment, list[str | None]] | None = None,
               rounded: tuple[float, ...] = (), log=print) -> tuple[Assignment, dict]:
    """How many requests use each column and how many of each load value every device takes (a
    MILP, HiGHS 1 thread, ``time_limit`` s; per-device bandwidth <= its evaluator limit
    :func:`~optdist.evaluate.capacity_limit` x ``(1 - margin)``), split into one
    relabelling per request by bipartite matchings (countmilp.py). ``start``: a placement whose
    every request is one of ``cols`` relabelled within the groups, with each request's column name
    (:func:`start_types`), given to the MILP as its first point; ``rounded``: pool LP shares at
    which the LP's mix of ``cols`` is rounded to whole counts (largest remainders) and the MILP
    solved with those counts fixed (at most 10 % of ``time_limit`` in all), the first that has a
    point, the MILP's first point where better than ``start``'s. Returns (the placement, its
    info: counts per column, the MILP's status, value and bound). Raises ``ValueError`` where
    the MILP found no point."""
    import highspy

    n_dev = inst.n_devices
    bc = capacity_limit(np.asarray(inst.bandwidth_capacity, float)) * (1 - margin)
    info = {}
    for t, own in cols.items():
        b = alone(inst, 0, own)
        info[t] = (float(b.latency[0]), b.bandwidth_used[:n_dev].copy())
    lo, hi, cost, rows = [], [], [], []

    def var(c: float) -> int:
        lo.append(0.0); hi.append(float(inst.n_requests)); cost.append(c)
        return len(cost) - 1

    x = {t: var(info[t][0]) for t in cols}
    rows.append(([(x[t], 1.0) for t in cols], inst.n_requests, inst.n_requests))
    classes, n, load = {}, {}, {d: [] for d in range(n_dev)}
    for t in cols:
        b = info[t][1]
        for g, grp in enumerate(groups):
            vals: dict[float, list[int]] = {}
            for s in grp:
                vals.setdefault(float(b[s]), []).append(s)
            classes[t, g] = sorted(vals.items())
            for ci, (v, ss) in enumerate(classes[t, g]):
                for d in grp:
                    n[t, g, ci, d] = var(0.0)
                    if v > 0:
                        load[d].append((n[t, g, ci, d], v))
                rows.append(([(n[t, g, ci, d], 1.0) for d in grp] + [(x[t], -float(len(ss)))], 0, 0))
            for d in grp:
                rows.append(([(n[t, g, ci, d], 1.0) for ci in range(len(classes[t, g]))] + [(x[t], -1.0)], 0, 0))
    for d in range(n_dev):
        rows.append((load[d], -highspy.kHighsInf, float(bc[d])))
    h = highspy.Highs()
    for k, v in (("output_flag", False), ("threads", 1), ("time_limit", float(time_limit)), ("random_seed", 0)):
        h.setOptionValue(k, v)
    nv = len(cost)
    h.addVars(nv, np.array(lo), np.array(hi))
    h.changeColsCost(nv, np.arange(nv, dtype=np.int32), np.array(cost))
    h.changeColsIntegrality(nv, np.arange(nv, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * nv))
    st, ix, va, rlo, rhi = [], [], [], [], []
    for e, a, b in rows:
        st.append(len(ix)); ix += [i for i, _ in e]; va += [v for _, v in e]; rlo.append(a); rhi.append(b)
    h.addRows(len(rows), np.array(rlo, float), np.array(rhi, float), len(ix), np.array(st, dtype=np.int32),
              np.array(ix, dtype=np.int32), np.array(va, float))
    t0 = time.perf_counter()
    points = [] if start is None else [_start_point(inst, groups, cols, classes, x, n, nv, *start)]
    for share in rounded:
        left = 0.1 * time_limit - (time.perf_counter() - t0)
        if left <= 0:
            break
        fixed = _rounded_counts(inst, groups, cols, share)
        h.changeColsBounds(len(x), np.array(list(x.values()), dtype=np.int32), *(np.array([float(fixed.get(t, 0))
                           for t in x]),) * 2)
        h.setOptionValue("time_limit", left)
        run_stoppable(h)  # Ctrl-C (from_scratch.py) cancels it
        ok = h.getInfo().primal_solution_status == 2
        log(f"  counts fixed at the pool LP's rounded mix (share {share}): "
            + (f"{h.getInfo().objective_function_value:.9f}" if ok else "no point") + f", {fixed}")
        if ok:
            points.append(list(h.getSolution().col_value))
            break
    if rounded:  # the counts free again, the time left
        h.changeColsBounds(len(x), np.array(list(x.values()), dtype=np.int32), np.zeros(len(x)),
                           np.full(len(x), float(inst.n_requests)))
        h.setOptionValue("time_limit", max(time_limit - (time.perf_counter() - t0), 1.0))
    if points:
        h.setSolution(_solution(min(points, key=lambda v: float(np.dot(cost, v)))))
    run_stoppable(h)
    status = h.modelStatusToString(h.getModelStatus())
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        raise ValueError(f"the counts MILP found no point in {time_limit:g} s ({status}) (fix: a longer --count-time-limit)")
    sol = np.round(np.array(h.getSolution().col_value)).astype(int)
    counts = {t: int(sol[x[t]]) for t in cols if sol[x[t]] > 0}
    out = {"status": status, "value": h.getInfo().objective_function_value, "bound": h.getInfo().mip_dual_bound,
           "counts": counts}
    log(f"  counts MILP {status}: {out['value']:.9f}, bound {out['bound']:.9f}, counts {counts}")
    left = {k: int(sol[v]) for k, v in n.items()}
    src = np.asarray(inst.request_source)
    owners = []
    for r, t in enumerate(t for t, c in counts.items() for _ in range(c)):
        own = _rename(cols[t], int(src[0]), int(src[r]))
        perm = np.arange(inst.n_nodes)
        for g, grp in enumerate(groups):
            cls = {s: ci for ci, (_, ss) in enumerate(classes[t, g]) for s in ss}
            c = np.array([[0.0 if left[t, g, cls[s], d] > 0 else 1.0 for d in grp] for s in grp])
            ri, cj = linear_sum_assignment(c)
            if c[ri, cj].sum() != 0:
                raise AssertionError("the MILP's counts have no matching")  # its rows make one
            for a, b in zip(ri, cj):
                perm[grp[a]] = grp[b]
                left[t, g, cls[grp[a]], grp[b]] -= 1
        owners.append([perm[a] for a in own])
    return Assignment(owners), out
