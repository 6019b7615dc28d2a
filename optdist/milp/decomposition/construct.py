"""Placements of every request feasible by construction where the capacities bind.

Primal heuristics (incumbents and seed columns, never bounds) for instances where the latency
greedy spreads each request over every device and runs out of radio, and which are too large
for the exact single-request model to place every request (e.g. the paper's full scenario, 250
requests on 70 devices). :func:`placement_by_construction` is the entry point: owner counts per
layer chosen by a priced dynamic programme (:mod:`optdist.milp.decomposition.patterns`, which
reuses :func:`choose_widths` and :func:`place_in_windows` below), equal shares of the devices
(:func:`window_placement`) and windows sized by a capacity price (:func:`fit_by_windows`,
below), the best of the three, or small teams of devices (:mod:`optdist.milp.decomposition.teams`).

Maths (MODEL.md sections 5-6). A request placed by the greedy on a *window* of width ``w``
(:func:`greedy_in_window`: each layer k on its source and ``max(w, floor_k)`` devices, ``floor_k``
the fewest its privacy cap allows, row 10f) has a latency
``l_c(w)`` that falls with ``w`` and a usage ``a_c(w)`` (bytes of weights, multiplications,
bytes sent) whose bytes sent grow with ``w`` (every device of a split layer sends its share of
the maps to the devices of the next layer). With ``n_c`` requests per class c (same CNN, source
fields equal: :func:`optdist.milp.decomposition.classes.request_classes`) and the devices'
total capacities ``K[res]``, the widths solve the aggregated problem

    min  sum_c n_c l_c(w_c)   s.t.  sum_c n_c a_c(w_c)[res] <= phi K[res]   (every resource)

approximately by one Lagrangian price ``lambda >= 0`` on the usage in shares of the totals:
``w_c(lambda) = argmin_w l_c(w) + lambda sum_res a_c(w)[res] / K[res]``; ``lambda`` is the
least (bisection) at which the widths fit. ``phi <= 1`` leaves room for the per-device
fragmentation the aggregation hides; it is lowered in steps until the placement succeeds.

The profile ``(l_c(w), a_c(w))`` is measured on the fastest devices, full capacities
(:func:`width_profile`). Then, heaviest classes first (usage in shares of the totals), each
request is placed by :func:`greedy_in_window` (the DistPrivacy greedy of
:class:`optdist.heuristics.incremental.RequestPlacer`, every capacity and privacy limit kept) in
the capacity the earlier ones left, on the devices least loaded so far (largest used share of
any resource; ties: the fastest, then the lowest index) at its class's width ``w_c``; where that
fails, at the narrower widths of the profile (less radio), then the wider ones. The evaluator
re-checks the whole placement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import Instance
from optdist.milp.decomposition.bounds import capacities, capacity_matrix
from optdist.milp.decomposition.classes import request_classes
from optdist.milp.decomposition.single import alone, greedy_alone
from optdist.milp.decomposition.teams import team_placement
from optdist.transfers import RESOURCES

#: shares of the devices' total capacities the chosen widths may use, tried in turn
FILLS = (0.97, 0.93, 0.88, 0.82, 0.75, 0.65)

#: one request's candidate windows: (width, or a pattern: (team, owner count) per layer,
#: :mod:`optdist.milp.decomposition.patterns`; cost s; device usage totals (3,))
Profile = list[tuple[int | tuple[tuple[int, int], ...], float, np.ndarray]]
#: places request r in ``capacity`` on the first devices of ``order`` for a window: owners or None
Placer = Callable[[Instance, int, dict[str, np.ndarray], np.ndarray, int | tuple[tuple[int, int], ...]],
                  list[np.ndarray] | None]


def _widths(n_devices: int) -> list[int]:
    """Window widths tried, widest first: ``n_devices``, the even widths below it, and every width up to 8."""
    return sorted({w for w in range(n_devices, 0, -1) if w <= 8 or w % 2 == 0 or w == n_devices}, reverse=True)


def least_loaded(inst: Instance, load: np.ndarray, w: int) -> np.ndarray:
    """The ``w`` devices least loaded (``load``: used shares (n_devices,)), ties to the fastest
    (most multiplications per second), then the lowest index."""
    D = inst.n_devices
    order = np.lexsort((np.arange(D), -np.asarray(inst.mults_per_s[:D], dtype=float), np.round(load, 12)))
    return order[:w]


def layer_floors(inst: Instance, r: int) -> np.ndarray:
    """(L,) the fewest devices each layer of request r can use under the privacy caps (MODEL.md
    section 6, row 10f: ``ceil(segments / device cap)``; 1 without a cap or on the source)."""
    lim, layers = inst.limit(r), inst.profile(r).layers
    out = np.ones(len(layers), dtype=np.int64)
    for k, la in enumerate(layers):
        dc = lim.device_cap[k]
        if dc and not lim.on_source[k]:
            out[k] = -(-la.segments // int(dc))
    return out


def greedy_in_window(inst: Instance, r: int, capacity: dict[str, np.ndarray], order: np.ndarray,
                     w: int | Sequence[int]) -> list[np.ndarray] | None:
    """The DistPrivacy greedy's placement of request r alone within ``capacity`` (per-node, keyed
    as :func:`bounds.capacities`), each layer k on its source and the first ``max(w_k, floor_k)``
    devices of ``order`` (:func:`layer_floors`): layers without a tight privacy cap stay on few
    devices, which is what keeps the bytes sent low. ``w``: one width for every layer, or one per
    layer (L,) (owner counts chosen per layer: :mod:`optdist.milp.decomposition.patterns`). None
    where the greedy fails."""
    from optdist.heuristics.incremental import RequestPlacer, Usage

    full = capacities(inst)
    used = {k: np.maximum(full[k] - np.asarray(capacity[k], dtype=float), 0.0) for k in RESOURCES}
    rp = RequestPlacer(inst, Usage(used["memory"], used["compute"], used["bandwidth"]), r)
    src = int(inst.request_source[r])
    floors = layer_floors(inst, r)
    per_layer = np.broadcast_to(np.asarray(w, dtype=np.int64), floors.shape)
    for floor, wk in zip(floors, per_layer):
        active = np.zeros(inst.n_nodes, dtype=bool)
        active[order[: max(int(wk), int(floor))]] = True
        active[src] = True
        rp.active = active  # the layer's window (read by next_layer)
        st = rp.next_layer()
        if not st.fill_greedy():
            return None
        rp.close(st)
    return rp.owners


def width_profile(inst: Instance, r: int, widths: Sequence[int]) -> Profile:
    """Request r alone on full capacities, placed by :func:`greedy_in_window` on the fastest
    devices for each width ``w`` in ``widths``: ``(w, cost s, device usage totals (3,))`` where
    the greedy succeeds."""
    out = []
    order = least_loaded(inst, np.zeros(inst.n_devices), inst.n_devices)
    for w in widths:
        own = greedy_in_window(inst, r, capacities(inst), order, w)
        if own is None:
            continue
        cost, use = alone(inst, r, own)
        out.append((w, cost, use[: inst.n_devices].sum(axis=0)))
    return out


def choose_widths(profiles: Sequence[Sequence[tuple[int, float, np.ndarray]]], sizes: Sequence[int],
                  total: np.ndarray, fill: float, iters: int = 60) -> list[int] | None:
    """Per class, the window width index (into its profile) at the least price that fits (module
    docstring). ``profiles[c]``: :func:`width_profile` of class c; ``sizes[c]``: its requests;
    ``total``: (3,) the devices' total capacities. None if even the least usage of every class
    exceeds ``fill * total``."""
    scale = np.maximum(np.asarray(total, dtype=float), 1e-300)

    def pick(lam: float) -> list[int]:
        return [int(np.argmin([c + lam * float((u / scale).sum()) for _w, c, u in prof])) for prof in profiles]

    def fits(idx: list[int]) -> bool:
        use = sum(n * profiles[c][i][2] for c, (n, i) in enumerate(zip(sizes, idx)))
        return bool((use <= fill * scale).all())

    if fits(pick(0.0)):
        return pick(0.0)
    hi = 1.0
    while not fits(pick(hi)):
        hi *= 4
        if hi > 1e12:
            return None
    lo = 0.0
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(pick(mid)) else (mid, hi)
    return pick(hi)


def place_in_windows(inst: Instance, classes: Sequence[Sequence[int]],
                     profiles: Sequence[Profile], chosen: Sequence[int],
                     deadline: float, place: Placer | None = None) -> list[list[np.ndarray]] | None:
    """Each request of each class on the least-loaded window of its class's chosen width
    (narrower, then wider ones where it fails), heaviest classes first (module docstring).
    ``place``: how one request is placed in a window (default :func:`greedy_in_window`).
    Returns the owners of every request, or None if one finds no window or the deadline
    (``time.perf_counter()``) passes."""
    place = greedy_in_window if place is None else place
    caps = capacity_matrix(inst)
    used = np.zeros_like(caps)
    D = inst.n_devices
    owners: list = [None] * inst.n_requests
    scale = np.maximum(caps[:D].sum(axis=0), 1e-300)
    heavy = sorted(range(len(classes)), key=lambda c: -float((profiles[c][chosen[c]][2] / scale).sum()))
    for c in heavy:
        for r in classes[c]:
            placed = None
            prof = list(profiles[c])
            # the chosen width, then the narrower ones (less radio), then the wider ones
            for _w, _cost, _u in prof[chosen[c]:] + prof[: chosen[c]][::-1]:
                if time.perf_counter() >= deadline:
                    return None
                load = (used[:D] / np.maximum(caps[:D], 1e-300)).max(axis=1)
                resid = np.maximum(caps - used, 0.0)
                placed = place(inst, r, {k: resid[:, i] for i, k in enumerate(RESOURCES)},
                                least_loaded(inst, load, D), _w)
                if placed is not None:
                    break
            if placed is None:
                return None
            owners[r] = placed
            used += alone(inst, r, placed)[1]
    return owners


def fit_by_windows(inst: Instance, *, deadline: float, fills: Sequence[float] = FILLS,
                   profile: Callable[[Instance, int], Profile] | None = None,
                   place: Placer | None = None, label: str = "windows by price") -> Assignment | None:
    """Every request placed on a window sized by a capacity price (module docstring), or None.

    ``deadline``: ``time.perf_counter()`` value to stop at; ``fills``: shares of the devices'
    total capacities tried in turn (the first placement the evaluator finds feasible is
    returned); ``profile``: request -> its candidate windows ``(width(s), cost s, device usage
    totals (3,))``, most usage first (default: :func:`width_profile` over :func:`_widths`; per
    layer owner counts: :mod:`optdist.milp.decomposition.patterns`); ``place``:
    one request in a window, as :func:`place_in_windows`; ``label``: the ``found_by`` prefix. Needs the parallel uplink (the greedy's stage times);
    returns None otherwise.
    """
    if inst.objective.uplink != "parallel" or inst.n_requests == 0 or inst.n_devices == 0:
        return None
    classes = request_classes(inst)
    if profile is None:
        widths = _widths(inst.n_devices)

        def profile(inst: Instance, r: int) -> Profile:
            return width_profile(inst, r, widths)
    profiles = []
    for reqs in classes:
        if time.perf_counter() >= deadline:
            return None
        prof = profile(inst, reqs[0])
        if not prof:
            return None  # no window fits the request alone on full capacities
        profiles.append(prof)
    caps = capacity_matrix(inst)
    total = caps[: inst.n_devices].sum(axis=0)
    sizes = [len(c) for c in classes]
    tried: set[tuple[int, ...]] = set()
    for fill in fills:
        chosen = choose_widths(profiles, sizes, total, fill)
        if chosen is None:
            break
        if tuple(chosen) in tried:
            continue
        tried.add(tuple(chosen))
        owners = place_in_windows(inst, classes, profiles, chosen, deadline, place)
        if owners is not None:
            widths_used = {inst.request_cnn[classes[c][0]]: profiles[c][i][0] for c, i in enumerate(chosen)}
            asg = Assignment(owners, {"method": "decomposed", "found_by": f"{label} (fill {fill:g}, "
                                                                          f"widths {widths_used})"})
            if evaluate(inst, asg).feasible:
                return asg
        if time.perf_counter() >= deadline:
            break
    return None


def window_placement(inst: Instance, *, deadline: float) -> Assignment | None:
    """A placement feasible by construction when requests compete (a primal heuristic, no bound).

    Each request r gets a window of ``w`` devices (consecutive indices from ``r D / R``, modulo
    the D devices) and its own source; a device in c windows gives each of them ``1/c`` of its
    memory, compute and bandwidth (MODEL.md section 6, rows 10b-10d), so the requests' shares
    add up to at most the capacities. Each request is placed alone in its share by the greedy
    (:func:`optdist.milp.decomposition.single.greedy_alone`). Window sizes are tried from D
    down to the least the privacy caps allow, until ``deadline`` (a ``time.perf_counter()``
    value); the first combination the evaluator finds feasible is returned (None: none).
    Larger windows give each request more parallelism (lower latency); smaller ones keep its
    transfers among few devices, which is what fits when the bandwidth binds (the latency
    greedy alone spreads every request over every device).
    """
    D, R = inst.n_devices, inst.n_requests
    if D == 0 or R == 0 or inst.objective.uplink != "parallel":
        return None
    cap = capacities(inst)
    per_source = np.bincount(inst.request_source, minlength=inst.n_nodes)  # requests sharing a source share it too
    least = 1
    for r in range(R):  # a layer of P segments with at most c per device needs ceil(P / c) devices
        lim, layers = inst.limit(r), inst.profile(r).layers
        for k, la in enumerate(layers):
            dc = lim.device_cap[k]
            if dc and not lim.on_source[k]:
                least = max(least, -(-la.segments // int(dc)))
    for w in range(D, min(least, D) - 1, -1):
        if time.perf_counter() >= deadline:
            break
        windows = [[(r * D // R + j) % D for j in range(w)] for r in range(R)]
        count = np.zeros(D)
        for win in windows:
            count[win] += 1
        owners: list = []
        for r, win in enumerate(windows):
            src = int(inst.request_source[r])
            share = {k: v.copy() for k, v in cap.items()}
            active = np.zeros(inst.n_nodes, dtype=bool)
            active[win] = True
            active[src] = True
            for k in RESOURCES:
                share[k][:D] = 0.0
                share[k][win] = cap[k][win] / count[win]
                share[k][src] = cap[k][src] / per_source[src]
            own = greedy_alone(inst, r, share, active)
            if own is None or time.perf_counter() >= deadline:
                owners = []
                break
            owners.append(own)
        if owners:
            asg = Assignment(owners, {"method": "decomposed", "found_by": f"windows of {w} devices"})
            ev = evaluate(inst, asg)
            if ev.feasible:
                return asg
    return None


def placement_by_construction(inst: Instance, *, deadline: float) -> Assignment | None:
    """A placement of every request feasible by construction, or None: the best (evaluator
    objective; on ties the later) of owner counts per layer chosen by a priced dynamic programme
    (:func:`optdist.milp.decomposition.patterns.fit_by_patterns`, half of the time to
    ``deadline`` on the counts of :data:`~optdist.milp.decomposition.patterns.COUNTS`, round
    robin, then half the rest on the finer counts of
    :data:`~optdist.milp.decomposition.patterns.FINE_COUNTS` with segments shared by speed);
    only where neither places every request (a network that is not a chain, the serial uplink,
    or the time ran out), windows sized by a capacity price (:func:`fit_by_windows`, half the
    rest) and equal shares of the devices (:func:`window_placement`, the rest), or where all
    give none (the greedy fits in no share: it spreads each layer over every device and the
    bandwidth binds), small teams of devices that move few bytes
    (:func:`optdist.milp.decomposition.teams.team_placement`). ``deadline``: a
    ``time.perf_counter()`` value.

    The order is the time's worth: the coarse grid is the cheaper (its tables hold about half
    the states per layer) and the one that wins at scale, so it runs first and a late finer grid
    cannot crowd it out; windows were worse than the patterns on every set measured (the eight
    coupled sets of at most 20 requests by 3-58 %; on ``hetero-250x70-tau0.8`` / ``-tau0.6``
    91.8 / 127.0 s at best against 69.2 / 86.8, in 23-35 s), and equal shares alone place
    nothing where the networks differ in size (``hetero-250x70-tau0.8`` and ``-tau0.6``: none, in
    7 s / 1 s; an older version gave 925.9 s on tau 0.8, ten times the windows'; the tau 0.8
    figures re-measured after the privacy rounding fix of 0b580f5; benchmarks/scale/README.md,
    "The incumbent is load-sensitive" and "The construction's time at scale"). A primal heuristic
    (incumbents and seed columns, never bounds); every candidate is re-scored by the evaluator."""
    from functools import partial

    from optdist.milp.decomposition.patterns import FINE_COUNTS, fit_by_patterns

    best, best_obj = None, float("inf")
    for make, share in ((fit_by_patterns, 1 / 2), (partial(fit_by_patterns, grid=FINE_COUNTS, weighted=True), 1 / 2),
                        (fit_by_windows, 1 / 2), (window_placement, 1.0)):
        if best is not None and make in (fit_by_windows, window_placement):
            break  # the patterns placed every request: windows are a coarser family (never better where measured)
        now = time.perf_counter()
        asg = make(inst, deadline=now + (deadline - now) * share)
        if asg is not None:
            obj = evaluate(inst, asg).objective
            if obj <= best_obj:  # the later on ties: the finer patterns' (a different placement, same objective)
                best, best_obj = asg, obj
    return best or team_placement(inst, deadline=deadline)
