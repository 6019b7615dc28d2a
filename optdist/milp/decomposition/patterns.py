"""Owner counts (and teams) per layer chosen by dynamic programming at capacity prices, mixed by an
integer master: a placement of every request feasible by construction (a primal heuristic for
incumbents, never a bound).

Where :func:`optdist.milp.decomposition.construct.fit_by_windows` gives every layer of a request
the same window width ``w``, a *pattern* gives each layer k its own owner count ``s_k`` (0: the
source; the first and last layer and layers the privacy row 10h puts there), so a request can
spread its heavy convolutions and keep its cheap elementwise layers and the layers before a
fully-connected one on few devices, which is what saves radio.

Maths (MODEL.md sections 4-6; every transfer, stage time and usage from :mod:`optdist.transfers`).
Each layer k of request r takes a *state* ``(v, s_k)``: ``s_k`` owners on team v (:func:`teams`:
group v of identical devices first, then the others, fastest first), segment p on
``order_v[p mod s_k]`` (or, with segments by speed, to the owners in proportion to their speeds
within the privacy cap: :func:`_owners`), the source when ``s_k = 0``. For the states ``(x, y)`` of layers k-1 and
k, its stage time ``T_k(x, y)`` (section 5: compute of the busiest owner plus its wait on the
edge's bytes, :func:`optdist.transfers.transfer_block`, :func:`~optdist.transfers.incoming_wait`,
:func:`~optdist.transfers.stage_times`), bytes moved ``O_k(x, y)`` (section 4) and usage
``u_k(x, y)`` (G*3,) of each device group (memory, multiplications, bytes sent, section 6, rows
10b-10d) depend on the states only (:class:`PatternTables`). For prices ``pi >= 0`` (G*3,) on
the groups' usage

    s(pi) = argmin_s  sum_k T_k(s_{k-1}, s_k) + mu O_k + pi . u_k(s_{k-1}, s_k)

(``mu``: the shared-data weight) is a shortest path over the layers
(:meth:`PatternTables.solve_at`; a scalar price ``lambda`` on the usage in shares of the
devices' totals ``K`` is ``pi = lambda / K`` on every group). The distinct patterns over a grid
of scalar prices (:data:`PRICES`, :func:`pattern_dp`), each placed alone (:func:`place_pattern`)
and re-scored by the evaluator, are a class's first candidates (:func:`candidates`).

Two mixes spread each class's requests over its candidates so that every device group's usage
fits a share ``phi`` of the group's totals: the integer master over the candidates
(:func:`master_mix`: its LP's capacity duals price more patterns, ``s(pi)``, for a few rounds,
then HiGHS solves it in integers) and one scalar price with one-request moves (:func:`mix`).
Every request is then placed, heaviest class first, in the capacity the earlier ones left: its
pattern alone on the fastest devices with its device roles renamed within each group, busiest
role to the device that stays least full (:func:`rename_roles`: identical devices, so the same
latency), or where that overflows a device, on the least-loaded devices without the
overflowing ones (:func:`place_pattern`, the repair) (:func:`placer_by_renaming`,
:func:`construct.place_in_windows`); where that misses the mix's plan, the copies of each
pattern placed alone are relabelled within the groups by an assignment MIP so that they fit
every device together (:func:`spread_mix`). The evaluator re-scores the whole placement and the best
over both mixes and every ``phi`` is kept (:func:`fit_by_patterns`).

Not :class:`optdist.milp.decomposition.floor.PricingFloor`'s DP: its stage times and bytes are
lower bounds over every choice of devices (a relaxation), here they are the exact values of one
named placement. Chain networks only (a DAG has several inputs per layer): None otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.milp.decomposition.bounds import capacities, capacity_matrix
from optdist.milp.decomposition.classes import identical_device_groups, request_classes, spread_exact
from optdist.milp.decomposition.construct import (FILLS, Placer, Profile, choose_widths, greedy_in_window,
                                                   layer_floors, least_loaded, place_in_windows)
from optdist.milp.decomposition.single import alone
from optdist.transfers import (RESOURCES, bytes_sent, counts, edges, incoming_wait, layer_usage, stage_times,
                               transfer_block)

#: owner counts tried per layer (with the least the privacy cap allows and the most possible)
COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128)
#: the finer grid :func:`optdist.milp.decomposition.construct.placement_by_construction` also
#: tries (with segments by speed): every count up to 24 (one device more or less moves a
#: request's bytes by a few per cent of a radio, which is what packs where the bandwidth binds:
#: ``cifar-20x20-nexus-rpi3`` round robin, 0.469859 s against 0.474846 with :data:`COUNTS`;
#: ``benchmarks/scale/pattern_variants.py``, ``benchmarks/scale/README.md``), then coarser steps
FINE_COUNTS = (*range(1, 25), 32, 40, 48, 64, 96, 128)
#: prices (seconds per share of the devices' total capacities) whose patterns are candidates
PRICES = (0.0, *(10.0 ** (e / 4) for e in range(-8, 25)))
#: placements of one pattern tried by :func:`place_pattern` before the greedy
TRIES = 6
#: shares of each device group's totals the mixes of :func:`fit_by_patterns` may use, tried in
#: turn: the full totals first (the renamed placement packs them, :func:`placer_by_renaming`),
#: in steps of 0.01 down to 0.94 (whether a mix's copies fit the devices, :func:`spread_mix`,
#: changes from one fill to the next: ``mixed-8x6-nexus-rpi3`` by speed, 0.96 none, 0.955 and
#: 0.95 0.2750, 0.94 none; ``benchmarks/scale/README.md``), then coarser
PATTERN_FILLS = (1.0, 0.99, 0.98, 0.97, 0.96, 0.95, 0.94, *FILLS[1:])
#: pricing rounds of :func:`master_mix` (each: one LP, one shortest path per class and team)
ROUNDS = 8
#: share of the time left, and seconds at most, that :func:`spread_mix` (the relabelling MIP)
#: may take per mix (a fit it finds takes well under a second on the CIFAR sets; one it does not
#: find can take all the time it gets)
SPREAD_SHARE, SPREAD_MAX_S = 1 / 3, 1.0
#: the most binaries the relabelling MIP of :func:`spread_mix` may have, counted from above as
#: requests times the sum over groups of identical devices of the group's size squared (each
#: role of a request maps to one device of its group): the MIP's build is Python loops over
#: binaries and devices that :data:`SPREAD_MAX_S` does not cover (``hetero-250x70-tau0.8``:
#: 250 x (20^2 + 50^2) = 725,000, 72 s to build under load, no fit in its 1 s; ``cifar-20x20-nexus-rpi3``:
#: 20 x (6^2 + 14^2) = 4,640, fits in 0.3 s; benchmarks/scale/README.md)
SPREAD_MAX_BINARIES = 50_000


def count_choices(inst: Instance, r: int, grid: Sequence[int] = COUNTS) -> list[np.ndarray]:
    """Per layer k of request r, the owner counts tried: ``[0]`` on the source (first and last
    layer, row 10h), else ``grid`` (default :data:`COUNTS`) within ``[ceil(P_k / cap_k), min(P_k, D)]`` plus both
    ends (MODEL.md section 6, row 10f). An empty array: no count fits."""
    lim, layers, D = inst.limit(r), inst.profile(r).layers, inst.n_devices
    out = []
    for k, la in enumerate(layers):
        if k in (0, len(layers) - 1) or lim.on_source[k]:
            out.append(np.array([0]))
            continue
        cap = lim.device_cap[k]
        lo = 1 if cap is None else (math.ceil(la.segments / cap) if cap > 0 else D + 1)
        hi = min(la.segments, D)
        out.append(np.array(sorted({c for c in (lo, hi, *grid) if lo <= c <= hi}), dtype=np.int64))
    return out


def _owners(P: int, s: int, order: np.ndarray, src: int, speed: np.ndarray | None = None,
            cap: int | None = None) -> np.ndarray:
    """(P,) the owner of each segment: the source (``s = 0``); else, among the first ``s``
    devices of ``order``, ``order[p mod s]`` (``speed`` None), or by speed (``speed``:
    multiplications per second per node): segment p to the owner with the largest credit, where
    every owner earns its speed per segment and the one chosen pays the owners' total speed
    (smooth weighted round robin), skipping owners that hold ``cap`` segments already (the
    privacy cap of the layer, row 10f; None: none). Counts then follow the speeds, so the
    busiest owner's compute ``n_j c_k / e_j`` (MODEL.md section 5) is lower where a layer spans
    fast and slow devices; with equal speeds the sequence is ``order[p mod s]``, and layers of
    equal P and s get the same sequence (elementwise edges stay aligned, as with ``p mod s``)."""
    if s == 0:
        return np.full(P, src, dtype=np.int64)
    o = np.asarray(order)[:s]
    if speed is None:
        return o[np.arange(P) % s]
    return o[np.asarray(_by_speed(P, tuple(np.asarray(speed, dtype=float)[o].tolist()), cap))]


@lru_cache(maxsize=4096)
def _by_speed(P: int, w: tuple[float, ...], cap: int | None) -> tuple[int, ...]:
    """The owner position (into ``w``, the owners' speeds) of each of P segments by smooth
    weighted round robin with at most ``cap`` per owner (:func:`_owners`); cached: the same
    speeds recur for every state of a team."""
    wa = np.asarray(w)
    credit, held = np.zeros(len(w)), np.zeros(len(w), dtype=np.int64)
    out = []
    for _ in range(P):
        credit += wa
        j = int(np.argmax(credit if cap is None else np.where(held < cap, credit, -np.inf)))
        credit[j] -= wa.sum()
        held[j] += 1
        out.append(j)
    return tuple(out)


def _layer_caps(inst: Instance, r: int) -> list[int | None]:
    """Per layer of request r, the most segments one device may hold (row 10f; None: no cap)."""
    lim, layers = inst.limit(r), inst.profile(r).layers
    return [None if lim.on_source[k] or not lim.device_cap[k] else min(int(lim.device_cap[k]), la.segments)
            for k, la in enumerate(layers)]


#: a pattern: per layer (team, owner count); ``(0, 0)``: the source
Pattern = tuple[tuple[int, int], ...]


class PatternTables:
    """``T_k(a, b)``, ``O_k(a, b)`` and ``u_k(a, b)`` of request r for every pair of tried states
    of consecutive layers (module docstring), computed once; :meth:`solve_at` is then one
    shortest path per price. A state ``(v, s)`` is an owner count ``s`` on the team ``orders[v]``
    (``s = 0``: the source), so each layer chooses its team as well as its count; ``states[k]``
    lists layer k's, the counts of ``grid`` (default :data:`COUNTS`) within its limits
    (:func:`count_choices`) on every team. ``weighted``: segments shared by speed
    (:func:`_owners`), else round robin.

    Raises ValueError naming the layer when r's network is not a chain.
    """

    def __init__(self, inst: Instance, r: int, orders: Sequence[np.ndarray], grid: Sequence[int] = COUNTS,
                 weighted: bool = False) -> None:
        prof = inst.profile(r)
        for k in range(1, prof.n_layers):
            if len(edges(prof)[k]) != 1 or edges(prof)[k][0].u != k - 1:
                raise ValueError(f"{inst.name}: request {r} ({prof.layers[k].name}): patterns are built for chains")
        N, src = inst.n_nodes, int(inst.request_source[r])
        serial = inst.objective.uplink == "serial"
        sec = inst.segment_seconds(r)  # (L, N)
        self.weighted = weighted
        speed = np.asarray(inst.mults_per_s, dtype=float) if weighted else None
        caps = _layer_caps(inst, r)
        self.states: list[list[tuple[int, int]]] = [
            [(0, 0)] if c.tolist() == [0] else [(v, int(n)) for v in range(len(orders)) for n in c]
            for c in count_choices(inst, r, grid)]
        self.first = float(prof.layers[0].segments * sec[0, src])
        groups = identical_device_groups(inst)
        self.n_groups = len(groups)
        self.time: list[np.ndarray] = []  # per k >= 1: (|S_{k-1}|, |S_k|) seconds
        self.moved: list[np.ndarray] = []  # bytes moved over edge k-1 -> k
        self.use: list[np.ndarray] = []  # (|S_{k-1}|, |S_k|, 3) device usage of layer k and the edge
        self.group_use: list[np.ndarray] = []  # (|S_{k-1}|, |S_k|, G*3) the same per device group
        member = np.zeros((N, len(groups)))  # node -> its device group (one-hot; sources: none)
        for g, grp in enumerate(groups):
            member[grp, g] = 1.0
        for k in range(1, prof.n_layers):
            la, ed = prof.layers[k], edges(prof)[k][0]
            sa, sb = self.states[k - 1], self.states[k]
            # (|S_{k-1}|, P_u): the owners of layer k-1 in each of its states
            prev = np.stack([_owners(prof.layers[k - 1].segments, a, orders[va], src, speed, caps[k - 1])
                             for va, a in sa])
            gu = np.zeros((len(sa), len(sb), len(groups), 3))
            t, m = np.zeros((len(sa), len(sb))), np.zeros((len(sa), len(sb)))
            for j, (vb, b) in enumerate(sb):  # every previous state at once (rows of a transfer block)
                a_next = _owners(la.segments, b, orders[vb], src, speed, caps[k])
                n = counts(a_next[None, :], N)
                mem, comp = layer_usage(la, n[0])
                O = transfer_block(ed, prev, np.broadcast_to(a_next, (len(sa), la.segments)), N)  # (|S_{k-1}|, N, N)
                wait = incoming_wait(O, inst.rate, serial)
                rows = np.broadcast_to(n, (len(sa), N))
                t[:, j] = stage_times(rows, rows * sec[k], wait)[0]
                m[:, j] = O.sum(axis=(1, 2))
                gu[:, j, :, 0], gu[:, j, :, 1] = mem @ member, comp @ member
                gu[:, j, :, 2] = bytes_sent(O) @ member
            self.time.append(t)
            self.moved.append(m)
            self.group_use.append(gu.reshape(len(sa), len(sb), 3 * len(groups)))
            self.use.append(gu.sum(axis=2))

    def solve(self, price: float, scale: np.ndarray, shared_weight: float) -> Pattern | None:
        """The pattern minimising the priced cost at one scalar ``price`` on the usage in shares
        of the devices' totals (module docstring; ``scale``: those totals (3,)); None if a layer
        has no state."""
        best = self.solve_at(np.tile(price / np.asarray(scale, dtype=float), self.n_groups), shared_weight)
        return None if best is None else best[0]

    def solve_at(self, prices: np.ndarray, shared_weight: float) -> tuple[Pattern, float] | None:
        """The pattern minimising ``latency + shared_weight * bytes moved + prices . usage per
        group`` (``prices``: (G*3,) seconds per unit of memory, multiplications and bytes sent
        on each device group, :func:`identical_device_groups` order) and that priced cost (s);
        None if a layer has no state."""
        if any(not st for st in self.states):
            return None
        prices = np.asarray(prices, dtype=float)
        cost = np.array([self.first])
        back = []
        for t, m, u in zip(self.time, self.moved, self.group_use):
            step = cost[:, None] + t + shared_weight * m + u @ prices
            arg = step.argmin(axis=0)
            cost = step[arg, np.arange(step.shape[1])]
            back.append(arg)
        y = int(cost.argmin())
        value = float(cost[y])
        path = [y]
        for arg in back[::-1]:
            y = int(arg[y])
            path.append(y)
        return tuple(st[i] for st, i in zip(self.states, path[::-1])), value


def teams(inst: Instance) -> list[np.ndarray]:
    """One device order (D,) per group of identical devices
    (:func:`optdist.milp.decomposition.classes.identical_device_groups`): that group's devices,
    then the others, each part fastest first (ties: lowest index)."""
    D = inst.n_devices
    fastest = least_loaded(inst, np.zeros(D), D)
    return [_team_first(fastest, g) for g in identical_device_groups(inst)]


def _team_first(order: np.ndarray, group: Sequence[int]) -> np.ndarray:
    """``order`` with the devices of ``group`` moved to the front, each part in its order."""
    inside = np.isin(order, group)
    return np.concatenate([order[inside], order[~inside]])


def pattern_tables(inst: Instance, r: int, grid: Sequence[int] = COUNTS, weighted: bool = False
                   ) -> PatternTables | None:
    """Request r's :class:`PatternTables` on the teams of :func:`teams` with the owner counts of
    ``grid`` (segments shared by speed where ``weighted``), or None for a network that is not a chain."""
    try:
        return PatternTables(inst, r, teams(inst), grid, weighted)
    except ValueError:
        return None


def pattern_dp(inst: Instance, tables: PatternTables, prices: Sequence[float] = PRICES) -> list[Pattern]:
    """The distinct patterns of ``tables`` over the scalar ``prices`` (module docstring), in the
    order first found (low prices first: most usage first)."""
    scale = np.maximum(capacity_matrix(inst)[: inst.n_devices].sum(axis=0), 1e-300)
    out: list[Pattern] = []
    for p in prices:
        s = tables.solve(p, scale, inst.objective.shared_weight)
        if s is not None and s not in out:
            out.append(s)
    return out


def place_pattern(inst: Instance, r: int, capacity: dict[str, np.ndarray], order: np.ndarray,
                  pattern: Pattern, tries: int = TRIES, weighted: bool = False) -> list[np.ndarray] | None:
    """Request r with ``pattern`` (per layer ``(team v, owner count s_k)``) on the devices
    ``order`` with group v's moved first (:func:`teams`): segment p of layer k on
    ``order_v[p mod s_k]`` (the source where ``s_k = 0``; by speed where ``weighted``,
    :func:`_owners`), kept if its usage (evaluator, alone)
    fits ``capacity`` (per node, keyed as :func:`bounds.capacities`) on every node. Where
    devices overflow, they leave the order (counts capped at the devices left, never below the
    privacy floor, :func:`construct.layer_floors`) and it is tried again, at most ``tries``
    times; then the greedy with the counts as per-layer windows on the first layer's team
    (:func:`greedy_in_window`). None where all fail."""
    layers, src, D = inst.profile(r).layers, int(inst.request_source[r]), inst.n_devices
    team = np.array([v for v, _n in pattern], dtype=np.int64)
    want = np.array([n for _v, n in pattern], dtype=np.int64)
    floors = layer_floors(inst, r)
    cap = np.stack([np.asarray(capacity[k], dtype=float) for k in RESOURCES], axis=1)
    groups = identical_device_groups(inst)
    speed = np.asarray(inst.mults_per_s, dtype=float) if weighted else None
    lcaps = _layer_caps(inst, r)
    avail = np.asarray(order)
    for _ in range(tries):
        have = np.where(want > 0, np.minimum(want, len(avail)), 0)
        if ((want > 0) & (have < floors)).any():
            break
        firsts = [_team_first(avail, g) for g in groups]
        own = [_owners(la.segments, int(n), firsts[v], src, speed, c)
               for la, v, n, c in zip(layers, team, have, lcaps)]
        over = (alone(inst, r, own)[1] > cap).any(axis=1)
        if not over.any():
            return own
        if over[D:].any():
            break  # the source overflows: no choice of devices helps
        avail = avail[~over[avail]]
    lead = int(team[want > 0][0]) if (want > 0).any() else 0
    return greedy_in_window(inst, r, capacity, _team_first(np.asarray(order), groups[lead]), np.maximum(want, 1))


def rename_roles(inst: Instance, use: np.ndarray, used: np.ndarray) -> np.ndarray:
    """A renaming (n_nodes,) of the devices within each group of identical devices
    (:func:`identical_device_groups`) that packs a request of per-node usage ``use`` (n_nodes, 3)
    into nodes already using ``used`` (n_nodes, 3): its busiest role first (largest share of a
    capacity), each to the free device of its group whose fullest resource stays lowest with the
    role added. Identical devices have the same speed, radio and capacities, so a renamed
    placement keeps its latency and usage per group (MODEL.md sections 5-6); only how it shares
    the devices with the other requests changes. Sources keep their names."""
    caps = np.maximum(capacity_matrix(inst), 1e-300)
    rename = np.arange(inst.n_nodes)
    need = (use / caps).max(axis=1)
    for grp in identical_device_groups(inst):
        free = np.array(grp)
        for role in sorted(grp, key=lambda i: -need[i]):
            pick = int(np.argmin(((used[free] + use[role]) / caps[free]).max(axis=1)))
            rename[role] = free[pick]
            free = np.delete(free, pick)
    return rename


def placer_by_renaming(inst: Instance, weighted: bool = False) -> Placer:
    """A :data:`construct.Placer` for patterns: request r's pattern placed alone on the fastest
    devices (:func:`place_pattern`, full capacities), its device roles renamed into the capacity
    left (:func:`rename_roles`) and kept where it fits every node; otherwise (a device would
    overflow) :func:`place_pattern` in the capacity left, which drops the overflowing devices
    (the repair). The base placements are cached per (pattern, source). ``weighted``: as
    :func:`place_pattern`."""
    D = inst.n_devices
    caps = capacity_matrix(inst)
    fastest = least_loaded(inst, np.zeros(D), D)
    base: dict[tuple, tuple[list[np.ndarray], np.ndarray] | None] = {}

    def place(_inst: Instance, r: int, capacity: dict[str, np.ndarray], order: np.ndarray,
              pattern: Pattern) -> list[np.ndarray] | None:  # _inst: inst (the Placer signature)
        key = (pattern, int(inst.request_source[r]))
        if key not in base:
            own = place_pattern(inst, r, capacities(inst), fastest, pattern, weighted=weighted)
            base[key] = None if own is None else (own, alone(inst, r, own)[1])
        if base[key] is not None:
            own, use = base[key]
            resid = np.stack([np.asarray(capacity[k], dtype=float) for k in RESOURCES], axis=1)
            lab = rename_roles(inst, use, np.maximum(caps - resid, 0.0))
            moved = np.zeros_like(use)
            np.add.at(moved, lab, use)
            if (moved <= resid * (1 + 1e-12) + 1e-9).all():
                return [lab[o] for o in own]
        return place_pattern(inst, r, capacity, order, pattern, weighted=weighted)

    return place


def placed_alone(inst: Instance, r: int, pattern: Pattern, weighted: bool = False
                 ) -> tuple[tuple[Pattern, float, np.ndarray], np.ndarray] | None:
    """``pattern`` of request r placed alone on full capacities by
    :func:`place_pattern` (fastest devices first) and scored by the evaluator: its profile entry
    ``(pattern, cost s, device usage totals (3,))`` and its usage per device group (G*3,), or
    None where it does not fit. ``weighted``: as :func:`place_pattern`."""
    D = inst.n_devices
    own = place_pattern(inst, r, capacities(inst), least_loaded(inst, np.zeros(D), D), pattern, weighted=weighted)
    if own is None:
        return None
    cost, use = alone(inst, r, own)
    per_group = np.concatenate([use[g].sum(axis=0) for g in identical_device_groups(inst)])
    return (pattern, cost, use[:D].sum(axis=0)), per_group


def by_usage(inst: Instance, profile: Profile, group_use: np.ndarray) -> np.ndarray:
    """The order (n,) of a class's candidates by usage, most first (shares of the devices' totals;
    :func:`construct.place_in_windows` tries the narrower ones after the chosen one)."""
    scale = np.maximum(capacity_matrix(inst)[: inst.n_devices].sum(axis=0), 1e-300)
    return np.argsort([-float((e[2] / scale).sum()) for e in profile], kind="stable")


def candidates(inst: Instance, r: int, tables: PatternTables) -> tuple[Profile, np.ndarray]:
    """Request r's patterns (``tables``: :func:`pattern_tables`; :func:`pattern_dp`),
    each placed alone where it fits (:func:`placed_alone`): the profile ``(pattern, cost s,
    device usage totals (3,))`` most usage first (:func:`by_usage`), and the usage per device
    group (n, G*3), the same order."""
    G = len(identical_device_groups(inst))
    out = [e for s in pattern_dp(inst, tables) if (e := placed_alone(inst, r, s, tables.weighted)) is not None]
    prof, gu = [e[0] for e in out], np.array([e[1] for e in out]).reshape(len(out), 3 * G)
    order = by_usage(inst, prof, gu)
    return [prof[i] for i in order], gu[order]


def master_mix(inst: Instance, classes: Sequence[Sequence[int]], tables: Sequence[PatternTables],
               profiles: list[Profile], group_use: list[np.ndarray], total: np.ndarray, fill: float, *,
               deadline: float, rounds: int = ROUNDS) -> list[np.ndarray] | None:
    """Requests per candidate (one array per class, summing to its size) chosen by an integer
    master over the patterns, with patterns priced at its duals (issue 11 item 3's master on the
    pattern columns; a primal heuristic, its value is no bound: the patterns are a restriction).

    The LP ``min sum_{c,j} cost_cj x_cj`` s.t. ``sum_j x_cj = n_c`` and, per device group g and
    resource, ``sum_{c,j} use_cj[g, res] x_cj <= fill * total[g, res]``
    (:class:`optdist.milp.decomposition.master.Master`, one row per group and resource) is
    solved; at its prices ``pi`` (seconds per unit, >= 0) and class duals ``mu_c`` each class's
    table gives the pattern of least ``latency + pi . usage``
    (:meth:`PatternTables.solve_at`); where that is below ``mu_c`` the pattern is placed alone
    (:func:`placed_alone`) and added as a column, up to ``rounds`` rounds or until none is
    added. Then HiGHS solves the integer master over all columns. The new columns are added to
    ``profiles`` / ``group_use`` in place (each class re-sorted by :func:`by_usage`), and the
    counts returned follow that order. None where the integer master has no solution (the
    rows cannot hold the classes) or ``deadline`` (``time.perf_counter()``) passes.
    """
    from optdist.milp.decomposition.master import Column, Master, Row

    groups = identical_device_groups(inst)
    sizes = [len(c) for c in classes]
    rows = [Row(tuple(grp), res, fill * float(total[3 * g + res])) for g, grp in enumerate(groups) for res in range(3)]
    cost_unit = float(np.mean([e[1] for prof in profiles for e in prof])) or 1.0
    master = Master(rows, sizes, cost_unit, threads=1)
    where = [None] * len(classes)  # master column -> (class, index in its profile); artificial columns first
    for c, (prof, gu) in enumerate(zip(profiles, group_use)):
        for j, e in enumerate(prof):
            if master.add(Column(c, "placement", e[1], gu[j]), key=(c, e[0])):
                where.append((c, j))
    sw = inst.objective.shared_weight
    for _ in range(rounds):
        if time.perf_counter() >= deadline:
            break
        _value, pi, mu = master.solve_lp()
        added = 0
        for c, reqs in enumerate(classes):
            best = tables[c].solve_at(pi, sw)
            if best is None or best[1] >= mu[c] - 1e-9 * max(abs(mu[c]), 1.0) or (c, best[0]) in master.keys:
                continue
            col = placed_alone(inst, reqs[0], best[0], tables[c].weighted)
            if col is not None and master.add(Column(c, "placement", col[0][1], col[1]), key=(c, best[0])):
                profiles[c].append(col[0])
                group_use[c] = np.vstack([group_use[c], col[1]])
                where.append((c, len(profiles[c]) - 1))
                added += 1
        if not added:
            break
    left = deadline - time.perf_counter()
    x_all = None if left <= 0 else master.solve_integer(time_limit=min(10.0, left), mip_gap=1e-6)
    x = [np.zeros(len(p), dtype=np.int64) for p in profiles]
    if x_all is not None:
        for q, cj in enumerate(where):
            if cj is not None and x_all[q] > 0:
                x[cj[0]][cj[1]] += int(x_all[q])
    for c in range(len(classes)):  # most usage first again, the counts with them
        order = by_usage(inst, profiles[c], group_use[c])
        profiles[c][:] = [profiles[c][i] for i in order]
        group_use[c] = group_use[c][order]
        x[c] = x[c][order]
    if x_all is None or any(int(xc.sum()) != n for xc, n in zip(x, sizes)):
        return None
    return x


def mix(profiles: Sequence[Profile], group_use: Sequence[np.ndarray], sizes: Sequence[int], total: np.ndarray,
        fill: float) -> list[np.ndarray] | None:
    """Requests per candidate (one array per class, summing to its size) whose usage per device
    group fits ``fill * total`` (G*3,, the groups' totals): per class the candidate a scalar price
    picks on the devices' totals (:func:`construct.choose_widths`), then moves of one request at
    a time to another candidate of its class: while the usage does not fit, the move that cuts
    the overflow most (ties: the cheapest); then, while it fits, the move saving the most seconds
    per share of capacity added. None if no price fits the totals or the overflow stays."""
    G = len(total) // 3
    scale = np.maximum(np.asarray(total, dtype=float), 1e-300)
    chosen = choose_widths(profiles, sizes, scale.reshape(G, 3).sum(axis=0), fill)
    if chosen is None:
        return None
    x = [np.eye(len(p), dtype=np.int64)[i] * n for p, i, n in zip(profiles, chosen, sizes)]
    cost = [np.array([e[1] for e in p]) for p in profiles]
    used = sum(gu.T @ xc for gu, xc in zip(group_use, x))
    limit = fill * scale

    def over(u: np.ndarray) -> np.ndarray:  # overflow in shares of the groups' totals, summed over the last axis
        return (np.maximum(u - limit, 0.0) / scale).sum(axis=-1)

    while True:
        now, best = float(over(used)), None
        for c, (gu, cc) in enumerate(zip(group_use, cost)):
            src = np.flatnonzero(x[c] > 0)
            saved = cc[src][:, None] - cc[None, :]  # (from, to) seconds saved per request moved
            delta = gu[None, :, :] - gu[src][:, None, :]  # (from, to, G*3)
            if now > 0:  # the overflow cut first, then the seconds lost (a tie-break far below it)
                score = (now - over(used + delta)) * 1e6 + np.minimum(saved, 0.0) * 1e-6
                ok = over(used + delta) < now - 1e-12
            else:
                ok = ((used + delta) <= limit).all(axis=2) & (saved > 1e-12)
                score = saved / np.maximum(np.maximum(delta / scale, 0.0).sum(axis=2), 1e-12)
            if not ok.any():
                continue
            score = np.where(ok, score, -np.inf)
            i, j = np.unravel_index(int(score.argmax()), score.shape)
            if best is None or score[i, j] > best[0]:
                best = (score[i, j], c, int(src[i]), int(j))
        if best is None:
            return x if now <= 0 else None
        _s, c, i, j = best
        x[c][i] -= 1
        x[c][j] += 1
        used = used + group_use[c][j] - group_use[c][i]



def mix_windows(classes: list[list[int]], profiles: list, x: list[np.ndarray]) -> tuple[list[list[int]], list, list[int]]:
    """The requests of each class split by the mix ``x`` (per class, requests per pattern):
    ``(subs, sub_profiles, sub_index)``, one entry per pattern in use (its requests, the class's
    profiles, the pattern's index), the arguments :func:`construct.place_in_windows` takes."""
    subs, sub_prof, sub_idx = [], [], []
    for reqs, prof, xc in zip(classes, profiles, x):
        at = 0
        for j in np.flatnonzero(xc):
            subs.append(reqs[at:at + int(xc[j])])
            sub_prof.append(prof)
            sub_idx.append(int(j))
            at += int(xc[j])
    return subs, sub_prof, sub_idx

def spread_mix(inst: Instance, classes: Sequence[Sequence[int]], profiles: Sequence[Profile],
               x: Sequence[np.ndarray], *, time_limit: float, weighted: bool = False) -> list[list[np.ndarray]] | None:
    """Every request of the mix ``x`` (per class, requests per pattern, :func:`mix_windows`
    order) on its pattern placed alone on the fastest devices (:func:`place_pattern`, full
    capacities), the copies then relabelled within the groups of identical devices by the
    assignment MIP of :func:`optdist.milp.decomposition.classes.spread_exact` so that they fit
    every node together, in ``time_limit`` seconds at most: the owners of every request, or None
    (a pattern that does not fit alone, no relabelling found, or a MIP of more than
    :data:`SPREAD_MAX_BINARIES` binaries, not built). ``weighted``: as
    :func:`place_pattern` (the profiles' own).

    Why: the mix fits each device group's totals (:func:`master_mix`), and a relabelling keeps
    each request's latency and usage per group (identical devices, MODEL.md sections 5-6), so
    where a fit exists the placement's objective is the master's plan. The greedy renaming of
    :func:`placer_by_renaming` (busiest role to the least full device, request by request)
    misses tight fits: ``cifar-20x20-nexus-rpi3`` at fill 0.99, plan 0.469859 s, placed
    0.488175 by renaming (the requests it could not fit fall back to narrower placements),
    0.469859 by this MIP in 0.3 s (``benchmarks/scale/README.md``)."""
    if inst.n_requests * sum(len(g) ** 2 for g in identical_device_groups(inst) if len(g) > 1) > SPREAD_MAX_BINARIES:
        return None  # too large to build, let alone solve, in the time it gets (SPREAD_MAX_BINARIES)
    D = inst.n_devices
    fastest = least_loaded(inst, np.zeros(D), D)
    owners: list = [None] * inst.n_requests
    base: dict[tuple, list[np.ndarray] | None] = {}
    for reqs, prof, j in zip(*mix_windows(list(map(list, classes)), list(profiles), list(x))):
        for r in reqs:
            key = (prof[j][0], int(inst.request_source[r]))
            if key not in base:
                base[key] = place_pattern(inst, r, capacities(inst), fastest, prof[j][0], weighted=weighted)
            if base[key] is None:
                return None
            owners[r] = [a.copy() for a in base[key]]
    if any(o is None for o in owners):
        return None
    fit = spread_exact(inst, owners, time_limit=max(time_limit, 0.05), threads=1)
    return None if fit is None else fit.owners


def fit_by_patterns(inst: Instance, *, deadline: float, fills: Sequence[float] = PATTERN_FILLS,
                    grid: Sequence[int] = COUNTS, weighted: bool = False) -> Assignment | None:
    """Every request placed with an owner-count pattern of its class (module docstring) in the
    capacity the earlier ones left, or None.

    Per fill in ``fills`` (shares of each device group's totals, tried in turn until no mix fits
    or the master's plan, the sum of its columns' costs, is no better than the best placement
    found): the requests per pattern chosen by the integer master over the patterns, with
    pricing rounds (:func:`master_mix`), and by the scalar price with one-request moves
    (:func:`mix`); each mix then placed request by request, heaviest class first
    (:func:`placer_by_renaming`, :func:`construct.place_in_windows`), and where that placement
    misses the plan, the mix's copies relabelled by an assignment MIP (:func:`spread_mix`, at
    most :data:`SPREAD_SHARE` of the time left, :data:`SPREAD_MAX_S` s); the best placement the
    evaluator finds feasible (objective; the first on ties) is returned, so it is never worse
    than the one-request moves alone at the fills tried. ``deadline``: a ``time.perf_counter()``
    value; ``grid``: the owner counts tried per layer (:func:`count_choices`); ``weighted``:
    segments shared by speed (:func:`_owners`). Needs the parallel uplink (as
    :func:`construct.fit_by_windows`).
    """
    if inst.objective.uplink != "parallel" or inst.n_requests == 0 or inst.n_devices == 0:
        return None
    classes = request_classes(inst)
    tables, profiles, group_use = [], [], []
    for reqs in classes:
        if time.perf_counter() >= deadline:
            return None
        tabs = pattern_tables(inst, reqs[0], grid, weighted)
        if tabs is None:
            return None
        prof, gu = candidates(inst, reqs[0], tabs)
        if not prof:
            return None
        tables.append(tabs)
        profiles.append(prof)
        group_use.append(gu)
    caps = capacity_matrix(inst)
    total = np.concatenate([caps[grp].sum(axis=0) for grp in identical_device_groups(inst)])
    sizes = [len(c) for c in classes]
    place = placer_by_renaming(inst, weighted)
    how = ", segments by speed" if weighted else ""
    tried: set[tuple] = set()
    best, best_obj = None, math.inf
    for fill in fills:
        found, worse = False, False
        for label, make in (("master", lambda: master_mix(inst, classes, tables, profiles, group_use, total, fill,
                                                            deadline=deadline)),
                            ("price", lambda: mix(profiles, group_use, sizes, total, fill))):
            if time.perf_counter() >= deadline:
                return best
            x = make()
            if x is None:
                continue
            found = True
            plan = sum(float(np.dot([e[1] for e in p], xc)) for p, xc in zip(profiles, x))
            if plan >= best_obj * (1 - 1e-12):
                worse = worse or label == "master"
                continue  # its plan (the sum of its columns' costs) is no better than the best placement
            key = tuple((p[j][0], int(xc[j])) for p, xc in zip(profiles, x) for j in np.flatnonzero(xc))
            if key in tried:
                continue
            tried.add(key)
            owners = place_in_windows(inst, *mix_windows(classes, profiles, x), deadline, place)
            got = math.inf
            if owners is not None:
                asg = Assignment(owners, {"method": "decomposed",
                                          "found_by": f"patterns by {label}{how} (fill {fill:g})"})
                ev = evaluate(inst, asg)
                got = ev.objective if ev.feasible else math.inf
                if ev.feasible and ev.objective < best_obj:
                    best, best_obj = asg, ev.objective
            left = deadline - time.perf_counter()
            if got > plan * (1 + 1e-9) and left > 0.1:  # the placement misses the plan: the relabelling MIP
                owners = spread_mix(inst, classes, profiles, x, time_limit=min(SPREAD_SHARE * left, SPREAD_MAX_S),
                                    weighted=weighted)
                if owners is not None:
                    asg = Assignment(owners, {"method": "decomposed",
                                              "found_by": f"patterns by {label}{how}, relabelled (fill {fill:g})"})
                    ev = evaluate(inst, asg)
                    if ev.feasible and ev.objective < best_obj:
                        best, best_obj = asg, ev.objective
        if not found or worse:
            break  # a lower fill only raises the master's plan
    return best
