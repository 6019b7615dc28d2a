"""Request classes, identical device groups, and combining per-request optima (MODEL.md section 6).

Requests interact only through the shared node capacities. Requests with the same CNN (so the
same profile and privacy limits) and a source equal in every field have identical
subproblems up to renaming the source: one solve per **class**. Devices equal in every field
are interchangeable: each request may use its own permutation of them without changing its
latency, which :func:`combine` uses to spread requests over them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from optdist.assignment import Assignment
from optdist.instance import Instance
from optdist.milp.decomposition.bounds import capacities
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
    cap = np.stack([inst.memory, inst.compute_capacity, inst.bandwidth_capacity], axis=1)
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
