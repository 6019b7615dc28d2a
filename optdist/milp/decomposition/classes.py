"""Request classes, identical device groups, and combining per-request optima (MODEL.md section 6).

Requests interact only through the shared node capacities. Requests with the same CNN (so the
same profile and privacy limits) and a source equal in every field have identical
subproblems up to renaming the source: one solve per **class**. Devices equal in every field
are interchangeable: each request may use its own permutation of them without changing its
latency, which :func:`combine` (least-loaded first) and :func:`spread_exact` (a small MIP)
use to spread requests over them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.milp.decomposition.bounds import capacities, capacity_matrix
from optdist.solvers.highs import run_stoppable
from optdist.transfers import edges, transfer_list


def identical_device_groups(inst: Instance, devices: Sequence[int] | None = None,
                            capacity: dict[str, np.ndarray] | None = None) -> list[list[int]]:
    """Groups of devices equal in every field (memory, e, rho, all capacities, measured times), in index order.

    ``capacity``: per-node capacities keyed as :func:`bounds.capacities` (default: the instance's).
    """
    cap = capacity or capacities(inst)
    devs = range(inst.n_devices) if devices is None else devices
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i in devs:
        key = (inst.memory[i], inst.mults_per_s[i], inst.rate[i], cap["memory"][i], cap["compute"][i], cap["bandwidth"][i],
               inst.timing_class(i))
        groups[key].append(int(i))
    return list(groups.values())


def request_classes(inst: Instance) -> list[list[int]]:
    """Requests whose subproblems are identical up to renaming the source (lists of indices).

    Same CNN and a source equal in every field. The devices are shared by all requests, so
    they never distinguish two requests.
    """
    cap = capacities(inst)
    classes: dict[tuple, list[int]] = defaultdict(list)
    for r in range(inst.n_requests):
        s = int(inst.request_source[r])
        key = (inst.request_cnn[r], inst.memory[s], inst.mults_per_s[s], inst.rate[s],
               cap["memory"][s], cap["compute"][s], cap["bandwidth"][s], inst.timing_class(s))
        classes[key].append(r)
    return list(classes.values())


def usage_of(inst: Instance, r: int, own: list[np.ndarray]) -> np.ndarray:
    """(N, 3) memory (bytes), compute (mults/period), bandwidth (bytes sent/period, over every
    edge into each layer: MODEL.md section 9) of request r alone."""
    N = inst.n_nodes
    use = np.zeros((N, 3))
    prof = inst.profile(r)
    for k, la in enumerate(prof.layers):
        cnt = np.bincount(own[k], minlength=N)
        use[:, 0] += cnt * la.weight_bytes_per_segment
        use[:, 1] += cnt * la.mults_per_segment
        for ed in edges(prof)[k]:  # every edge into k (MODEL.md section 9; a chain: k-1 -> k)
            i, _j, byt = transfer_list(ed, own[ed.u], own[k], N)
            np.add.at(use[:, 2], i, byt)
    return use


def combine(inst: Instance, classes: Sequence[tuple[Sequence[int], list[np.ndarray]]],
            spread: bool = True) -> Assignment:
    """Every request gets its class representative's owners (``classes``: (requests, owners of
    the first request)), the source renamed to its own.

    With ``spread``, each request's devices are permuted within each group of identical
    devices so that the most-used roles go to the least-loaded devices (every permutation
    keeps the request optimal; it only changes how the requests share capacity).
    """
    N = inst.n_nodes
    cap = capacity_matrix(inst)
    load = np.zeros((N, 3))
    owners: list[list[np.ndarray] | None] = [None] * inst.n_requests
    groups = [g for g in identical_device_groups(inst) if len(g) > 1]
    for reqs, base in classes:
        rep = reqs[0]
        base_use = usage_of(inst, rep, base)
        rep_src = int(inst.request_source[rep])
        for r in reqs:
            src = int(inst.request_source[r])
            mapping = {rep_src: src} if src != rep_src else {}
            if spread:
                for g in groups:
                    frac = base_use[g] / np.maximum(cap[g], 1e-300)
                    roles = sorted(g, key=lambda i: -frac[g.index(i)].max())
                    targets = sorted(g, key=lambda i: (load[i] / np.maximum(cap[i], 1e-300)).max())
                    mapping.update(dict(zip(roles, targets)))
            own = [np.array([mapping.get(int(i), int(i)) for i in a], dtype=np.int64) for a in base]
            owners[r] = own
            load += usage_of(inst, r, own)
    return Assignment(owners, {"method": "decomposed"})


def spread_exact(inst: Instance, owners: Sequence[list[np.ndarray] | None], *, time_limit: float,
                 threads: int | None = None) -> Assignment | None:
    """Relabel each request's devices within the groups of identical devices so that the
    requests fit the capacities together, by a small MIP (exact where :func:`combine`'s
    least-loaded rule is a heuristic); None if HiGHS finds no fit in ``time_limit`` seconds
    (or proves there is none).

    ``owners``: per request its owner arrays (None: rejected, left as it is). Maths: a *role*
    ``(r, d)`` is a device ``d`` of a group ``g`` (more than one device) that request r uses
    (owns a segment or has usage of it); binary ``z[r, d, j]`` maps it to device ``j`` of
    ``g``; each role takes one device (``sum_j z = 1``), each device at most one role of each
    request (``sum_d z[r, d, j] <= 1``: the map is injective, so it extends to a permutation
    of ``g``, which keeps every request's latency and privacy, MODEL.md section 6), and every
    device its capacity per resource (``sum_{r, d} use_r[d, res] z[r, d, j] <= cap[j, res]``,
    usage :func:`usage_of`; nodes outside the groups keep their usage). The first request
    keeps its labels (the devices of a group are interchangeable). Returns the relabelled
    placement, which the caller re-scores with the evaluator.
    """
    import highspy

    N = inst.n_nodes
    cap = capacity_matrix(inst)
    groups = [g for g in identical_device_groups(inst) if len(g) > 1]
    placed = [r for r, o in enumerate(owners) if o is not None]
    if not groups or not placed:
        return None
    use = {r: usage_of(inst, r, owners[r]) for r in placed}
    roles: list[tuple[int, int, list[int]]] = []  # (request, device, its group)
    for r in placed:
        owned = np.zeros(N, dtype=bool)
        for a in owners[r]:
            owned[a] = True
        for g in groups:
            roles += [(r, d, g) for d in g if owned[d] or use[r][d].any()]
    var: dict[tuple[int, int, int], int] = {}
    for r, d, g in roles:
        for j in g:
            if r == placed[0] and j != d:
                continue  # the first request keeps its labels
            var[r, d, j] = len(var)
    rows: list[tuple[list[int], list[float], float, float]] = []  # (columns, values, lower, upper)
    for r, d, g in roles:
        rows.append(([var[r, d, j] for j in g if (r, d, j) in var], [1.0] * sum((r, d, j) in var for j in g), 1.0, 1.0))
    for r in placed:
        for g in groups:
            for j in g:
                cols = [var[r, d, j] for d in g if (r, d, j) in var]
                if len(cols) > 1:
                    rows.append((cols, [1.0] * len(cols), 0.0, 1.0))
    in_group = sorted(i for g in groups for i in g)
    for j in in_group:
        for res in range(3):
            cols, vals = [], []
            for (r, d, jj), v in var.items():
                if jj == j and use[r][d, res] > 0:
                    cols.append(v)
                    vals.append(use[r][d, res] / max(cap[j, res], 1e-300))
            if cols and sum(vals) > 1 + 1e-9:
                rows.append((cols, vals, -highspy.kHighsInf, 1.0))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 0.05))
    if threads:
        h.setOptionValue("threads", int(threads))
    n = len(var)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))
    for cols, vals, lo, up in rows:
        h.addRow(lo, up, len(cols), np.asarray(cols, dtype=np.int32), np.asarray(vals, dtype=float))
    run_stoppable(h)
    if h.getInfo().primal_solution_status != 2:
        return None
    x = np.asarray(h.getSolution().col_value)
    out: list[list[np.ndarray] | None] = [None if o is None else [a.copy() for a in o] for o in owners]
    for r in placed:
        lab = np.arange(N)
        for (rr, d, j), v in var.items():
            if rr == r and x[v] > 0.5:
                lab[d] = j
        out[r] = [lab[a] for a in owners[r]]
    return Assignment(out, {"method": "decomposed", "spread": "exact"})
