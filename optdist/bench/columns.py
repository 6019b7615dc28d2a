"""Incumbents for instances whose requests couple through capacities (benchmarks/scale).

Column generation over priced patterns. A *pattern* places one request:
each layer k is split evenly (map p to team member ``p mod m_k``) over the first ``m_k``
members of a team (one team per group of identical devices: that group first, then the others
fastest first); team and ``m_k`` (at least what the privacy cap ``Nf`` forces) are chosen by
dynamic programming over the layers to minimise the request's latency plus priced resource use
(stage times and transfers computed as the evaluator does). A master LP mixes the patterns of
each request class under every group's aggregate memory, compute and bandwidth; its capacity
duals price the next patterns. The integer master is then placed request by request (within a
group the busiest roles go to the least-loaded devices) and scored by the evaluator, planning
on a shrinking share of each group's capacity until the placement is feasible.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate, transfers
from optdist.instance import Instance
from optdist.profiles import Layer

M_CANDIDATES = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256, 384, 512)


def device_groups(inst: Instance) -> list[list[int]]:
    """Groups of identical devices (every field equal), fastest ``mults_per_s`` first."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in range(inst.n_devices):
        groups[(-inst.mults_per_s[i], -inst.rate[i], inst.memory[i], inst.compute_capacity[i], inst.bandwidth_capacity[i])].append(i)
    return [groups[k] for k in sorted(groups)]


class Prices:
    """Seconds charged per weight byte held (``mem``), multiplication (``cmp``) and byte sent (``bw``), per node."""

    def __init__(self, n_nodes: int) -> None:
        self.mem = np.zeros(n_nodes)
        self.cmp = np.zeros(n_nodes)
        self.bw = np.zeros(n_nodes)

    def cost(self, inst: Instance, prev: Layer, la: Layer, own_prev: np.ndarray, own: np.ndarray) -> float:
        """Stage time of ``la`` after ``prev`` (MODEL.md section 5, parallel uplink) plus priced use."""
        i, j, byt = transfers(prev, la, own_prev, own, inst.n_nodes)
        cnt = np.bincount(own, minlength=inst.n_nodes)
        nodes = np.flatnonzero(cnt)
        tr = np.zeros(inst.n_nodes)
        np.maximum.at(tr, j, byt / inst.rate[i])
        stage = float((cnt[nodes] * la.mults_per_segment / inst.mults_per_s[nodes] + tr[nodes]).max())
        held = float(self.mem[nodes] @ cnt[nodes]) * la.weight_bytes_per_segment + float(self.cmp[nodes] @ cnt[nodes]) * la.mults_per_segment
        return stage + float(self.bw[i] @ byt) + held


def teams(inst: Instance) -> list[np.ndarray]:
    """One team per group of identical devices: that group first, then the others fastest first."""
    groups = device_groups(inst)
    return [np.concatenate([np.array(g) for g in [groups[v], *groups[:v], *groups[v + 1:]]]) for v in range(len(groups))]


Choice = tuple[int, int]  # (team, m); (-1, 0) = the request's source


def pattern(inst: Instance, r: int, team_list: list[np.ndarray], prices: Prices) -> list[Choice]:
    """Owners per layer (the source, or the first m of a team) minimising the priced latency by DP."""
    lim, src = inst.limit(r), int(inst.request_source[r])
    layers = inst.profile(r).layers

    def owners(k: int, c: Choice) -> np.ndarray:
        return np.full(layers[k].segments, src) if c[0] < 0 else team_list[c[0]][np.arange(layers[k].segments) % c[1]]

    def choices(k: int) -> list[Choice]:
        la, cap = layers[k], lim.device_cap[k]
        if k == 0 or lim.on_source[k]:
            return [(-1, 0)]
        low, top = (math.ceil(la.segments / cap) if cap else 1), min(la.segments, inst.n_devices)
        if low > top:
            raise ValueError(f"request {inst.request_ids[r]}: layer {la.name} needs {low} devices (Nf = {cap}), there are {inst.n_devices}")
        ms = [1] if la.kind == "fc" else sorted({low, top} | {m for m in M_CANDIDATES if low <= m <= top})
        return [(v, m) for v in range(len(team_list)) for m in ms]

    cost: dict[Choice, float] = {(-1, 0): 0.0}
    back: list[dict[Choice, Choice]] = [{(-1, 0): (-1, 0)}]
    for k in range(1, len(layers)):
        new, arg = {}, {}
        prev = {c: owners(k - 1, c) for c in cost}
        for c in choices(k):
            own = owners(k, c)
            new[c], arg[c] = min((v + prices.cost(inst, layers[k - 1], layers[k], prev[p], own), p) for p, v in cost.items())
        cost = new
        back.append(arg)
    c = min(cost, key=cost.get)
    out = [c]
    for k in range(len(layers) - 1, 0, -1):
        c = back[k][c]
        out.append(c)
    return out[::-1]


def _usage(inst: Instance, r: int, own: list[np.ndarray]) -> np.ndarray:
    """(nodes, 3): weight bytes held, multiplications and bytes sent by request r under ``own``."""
    use = np.zeros((inst.n_nodes, 3))
    layers = inst.profile(r).layers
    for k, la in enumerate(layers):
        cnt = np.bincount(own[k], minlength=inst.n_nodes)
        use[:, 0] += cnt * la.weight_bytes_per_segment
        use[:, 1] += cnt * la.mults_per_segment
        if k:
            i, _, byt = transfers(layers[k - 1], la, own[k - 1], own[k], inst.n_nodes)
            np.add.at(use[:, 2], i, byt)
    return use


@dataclass
class Column:
    """A pattern for one request class: its owners (on the representative), latency, group use."""

    cls: int
    base: list[np.ndarray]
    latency: float
    use: np.ndarray  # (nodes, 3) as :func:`_usage`
    group_use: np.ndarray  # (groups, 3)


def _column(inst: Instance, cls: int, r: int, team_list: list[np.ndarray], prices: Prices, groups: list[list[int]]) -> Column:
    """The DP pattern of request r (class ``cls``) under ``prices``, with its latency and use."""
    layers, src = inst.profile(r).layers, int(inst.request_source[r])
    base = [np.full(la.segments, src) if v < 0 else team_list[v][np.arange(la.segments) % m]
            for la, (v, m) in zip(layers, pattern(inst, r, team_list, prices))]
    free = Prices(inst.n_nodes)
    lat = layers[0].total_mults / inst.mults_per_s[src] + sum(free.cost(inst, layers[k - 1], layers[k], base[k - 1], base[k]) for k in range(1, len(layers)))
    use = _usage(inst, r, base)
    return Column(cls, base, float(lat), use, np.array([use[g].sum(axis=0) for g in groups]))


def _master(cols: list[Column], counts: list[int], cap: np.ndarray, integer: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """min sum lat x s.t. sum_p x[c,p] = n_c, sum x * group use <= cap (+ slack at a prohibitive price).

    Returns x, the prices (groups, 3) = minus the capacity rows' duals (zeros when ``integer``)
    and the largest slack used, as a share of its capacity (> 0: the columns cannot fit).
    """
    import highspy

    G = cap.shape[0]
    n, n_cap = len(cols), cap.size
    big = 1e6 * max(c.latency for c in cols)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    lo = [float(k) for k in counts] + [-inf] * n_cap
    hi = [float(k) for k in counts] + cap.ravel().tolist()
    h.addRows(len(lo), np.array(lo), np.array(hi), 0, np.array([], dtype=np.int32), np.array([], dtype=np.int32), np.array([]))
    for c in cols:
        idx = np.array([c.cls, *range(len(counts), len(counts) + n_cap)], dtype=np.int32)
        val = np.array([1.0, *c.group_use.ravel()])
        h.addCol(c.latency, 0.0, inf, len(idx), idx, val)
    for q in range(n_cap):  # slack: capacity bought at a high price keeps the master feasible
        h.addCol(big / max(cap.ravel()[q], 1e-300), 0.0, inf, 1, np.array([len(counts) + q], dtype=np.int32), np.array([-1.0]))
    if integer:
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    h.run()
    sol = h.getSolution()
    x = np.array(sol.col_value[:n])
    slack = float(np.max(np.array(sol.col_value[n:]) / np.maximum(cap.ravel(), 1e-300)))
    duals = np.zeros((G, 3)) if integer else -np.array(sol.row_dual[len(counts):]).reshape(G, 3)
    return x, np.maximum(duals, 0.0), slack


def _rename(col: Column, load: np.ndarray, caps: np.ndarray, groups: list[list[int]], n_nodes: int) -> np.ndarray:
    """Map the column's device roles to devices of the same group: busiest role first, each to
    the device whose fullest resource stays lowest with the role's use added."""
    rename = np.arange(n_nodes)
    need = (col.use / caps).max(axis=1)
    for g in groups:
        free = list(g)
        for role in sorted(g, key=lambda i: -need[i]):
            cand = np.array(free)
            pick = int(cand[np.argmin(((load[cand] + col.use[role]) / caps[cand]).max(axis=1))])
            rename[role] = pick
            free.remove(pick)
    return rename


def placement(inst: Instance, cols: list[Column], x: np.ndarray, classes: list[list[int]]) -> Assignment:
    """Requests take the columns in proportion to ``x`` (heaviest class first, columns
    interleaved); :func:`_rename` puts each on devices of the right groups (a renaming that keeps
    the request's latency and only changes how requests share capacity)."""
    groups = device_groups(inst)
    caps = np.maximum(np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1), 1e-300)
    load = np.zeros_like(caps)
    owners: list[list[np.ndarray] | None] = [None] * inst.n_requests
    weight = [max(((cols[q].use / caps).sum() for q in range(len(cols)) if cols[q].cls == c), default=0.0) for c in range(len(classes))]
    for c in sorted(range(len(classes)), key=lambda c: -weight[c]):
        reqs = classes[c]
        left = {q: round(x[q]) for q, col in enumerate(cols) if col.cls == c and x[q] > 0.5}
        rep_src = int(inst.request_source[reqs[0]])
        for r in reqs:
            q = max(left, key=lambda p: left[p])  # the column furthest from its share
            left[q] -= 1
            rename = _rename(cols[q], load, caps, groups, inst.n_nodes)
            rename[rep_src] = int(inst.request_source[r])
            owners[r] = [rename[a] for a in cols[q].base]
            load += _usage(inst, r, owners[r])
    return Assignment(owners, {"method": "priced-columns"})


def request_classes(inst: Instance) -> list[list[int]]:
    """Requests with the same CNN and an identical source share every column."""
    out: dict[tuple, list[int]] = defaultdict(list)
    for r in range(inst.n_requests):
        s = int(inst.request_source[r])
        out[(inst.request_cnn[r], inst.mults_per_s[s], inst.rate[s], inst.memory[s], inst.compute_capacity[s], inst.bandwidth_capacity[s])].append(r)
    return list(out.values())


def incumbent(inst: Instance, *, rounds: int = 12, start: Sequence[float] = (0.0, 1e-9, 1e-8, 1e-7),
              fill: Sequence[float] = tuple(np.arange(1.0, 0.695, -0.01))) -> tuple[Assignment | None, list[dict]]:
    """Column generation over DP patterns, then integer masters at shrinking capacity ``fill``.

    Columns start from uniform byte prices ``start``; each round prices every class's DP with
    the master's capacity duals (per group and resource). The integer master is placed and
    scored by the evaluator at each ``fill`` (share of a group's capacity the master may plan)
    until one is feasible.
    """
    groups, team_list, classes = device_groups(inst), teams(inst), request_classes(inst)
    counts = [len(c) for c in classes]
    cap = np.array([[inst.memory[g].sum(), inst.compute_capacity[g].sum(), inst.bandwidth_capacity[g].sum()] for g in groups])
    cols: list[Column] = []
    log: list[dict] = []
    for lam in start:
        prices = Prices(inst.n_nodes)
        prices.bw[: inst.n_devices] = lam
        cols += [_column(inst, c, reqs[0], team_list, prices, groups) for c, reqs in enumerate(classes)]
    for rnd in range(rounds):
        x, duals, slack = _master(cols, counts, cap, integer=False)
        prices = Prices(inst.n_nodes)
        for g, d in zip(groups, duals):
            prices.mem[g], prices.cmp[g], prices.bw[g] = d
        new = [_column(inst, c, reqs[0], team_list, prices, groups) for c, reqs in enumerate(classes)]
        fresh = [n for n in new if not any(n.cls == o.cls and all(np.array_equal(a, b) for a, b in zip(n.base, o.base)) for o in cols)]
        log.append({"round": rnd, "master_lp": float(sum(c.latency * v for c, v in zip(cols, x))), "slack": slack,
                    "columns": len(cols), "new": len(fresh), "prices": duals.tolist()})
        if not fresh:
            break
        cols += fresh
    for f in fill:
        x, _, slack = _master(cols, counts, cap * f, integer=True)
        if slack > 1e-9:  # the columns do not fit in this share of the capacity: less will not either
            log.append({"fill": float(f), "slack": slack})
            break
        asg = placement(inst, cols, x, classes)
        ev = evaluate(inst, asg)
        log.append({"fill": float(f), "objective": ev.objective, "feasible": ev.feasible, "violations": len(ev.violations)})
        if ev.feasible:
            return asg, log
    return None, log
