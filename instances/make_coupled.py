"""Instances whose requests compete for capacity: `python instances/make_coupled.py [NAME ...]`.

With the paper's 1 s (LeNet, CIFAR) or 60 s (VGG) periods the requests' single-request optima
fit side by side, so solving each request alone is already optimal (MODEL.md section 7). Here
capacities are counted over a shorter period, chosen per set so that they do not:

1. every request class is solved alone at a long period
   (``optdist.milp.decomposition.orchestrate.solve_classes``, exact) and the optima are combined,
   each request's identical devices permuted least-loaded first (``classes.combine``): per node
   the bytes sent ``U_i`` (and compute ``C_i``) of all requests;
2. the period is set so that the busiest device needs ``OVERRUN`` times its capacity:
   ``period = max_i U_i / (OVERRUN rho_i)`` (radios: the binding resource at short periods);
3. at that period the per-request optima are solved and combined again, and the independent
   evaluator measures how far the combination overruns each capacity (memory, compute,
   bandwidth: largest use / capacity, and the number of nodes over). That measurement, not
   the target, goes into the instance's ``description``.

A request alone must still fit (a source must be able to send its first layer's output within
the period), so the period never goes below what one request needs; and all requests must
still fit together: while column generation (``CHECK_S`` seconds) proves that they do not, the
period grows by 15 %. The description says what that check found.

Writes ``instances/coupled/<name>.json``; the small sets (5-9 requests) are test cases.
Reference values: ``instances/coupled.solu`` (see instances/coupled/README.md for the command).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from optdist.evaluate import evaluate
from optdist.generate import generate, write_instances
from optdist.instance import Instance, parse
from optdist.milp.decomposition.colgen import column_generation

HERE = Path(__file__).resolve().parent
OUT = HERE / "coupled"
HETERO = "nexus-rpi3"
OVERRUN = 1.3  # target: the per-request optima need 130 % of the busiest radio
CHECK_S = 60.0  # column generation run that checks the requests still fit together

# name: (requests per CNN, devices, sources, tau, seed)
SETS: dict[str, tuple[dict[str, int], dict[str, int], int, float, int]] = {
    # small: test cases (5-9 requests)
    "lenet-8x4-rpi3": ({"lenet": 8}, {"rpi3": 4}, 8, 0.6, 1),
    "lenet-9x5-nexus-rpi3": ({"lenet": 9}, {"nexus": 2, "rpi3": 3}, 9, 0.6, 2),
    "cifar-6x5-nexus-rpi3": ({"cifar": 6}, {"nexus": 2, "rpi3": 3}, 6, 0.8, 3),
    "mixed-8x6-nexus-rpi3": ({"lenet": 4, "cifar": 4}, {"nexus": 2, "rpi3": 4}, 4, 0.8, 4),
    # medium (<= 20 requests: the 60 s targets of issue 11)
    "lenet-20x10-rpi3": ({"lenet": 20}, {"rpi3": 10}, 10, 0.6, 5),
    "lenet-20x20-nexus-rpi3": ({"lenet": 20}, {"nexus": 6, "rpi3": 14}, 10, 0.8, 6),
    "cifar-12x10-rpi3": ({"cifar": 12}, {"rpi3": 10}, 6, 0.8, 7),
    "cifar-20x20-nexus-rpi3": ({"cifar": 20}, {"nexus": 6, "rpi3": 14}, 10, 0.6, 8),
    # VGG and large
    "vgg16-10x20-nexus-rpi3": ({"vgg16": 10}, {"nexus": 6, "rpi3": 14}, 5, 0.8, 9),
    "mixed-40x20-nexus-rpi3": ({"lenet": 10, "cifar": 10, "vgg16": 10, "vgg19": 10}, {"nexus": 6, "rpi3": 14}, 8, 0.8, 10),
    "lenet-250x70-nexus-rpi3": ({"lenet": 250}, {"nexus": 20, "rpi3": 50}, 10, 0.6, 11),
    "mixed-250x70-nexus-rpi3": ({"lenet": 63, "cifar": 63, "vgg16": 62, "vgg19": 62}, {"nexus": 20, "rpi3": 50}, 10, 0.8, 12),
}
LONG_PERIOD = {"lenet": 1.0, "cifar": 1.0, "vgg16": 60.0, "vgg19": 60.0}


def per_request_optima(inst: Instance, time_limit: float = 120.0):
    """The per-request optima combined (least-loaded permutation of identical devices) and
    whether every class was solved to optimality (``time_limit`` seconds per class)."""
    from optdist.milp.decomposition.classes import combine, request_classes
    from optdist.milp.decomposition.orchestrate import solve_classes

    solves = solve_classes(inst, time_limit=time_limit * len(request_classes(inst)), mip_gap=1e-6, threads=1)
    if any(not ss.has_solution for _reqs, ss in solves):
        raise RuntimeError(f"{inst.name}: a request class has no solution alone within {time_limit:g} s")
    proven = all(ss.termination == "optimal" for _reqs, ss in solves)
    return combine(inst, [(reqs, ss.owners) for reqs, ss in solves], spread=True), proven


def overrun(inst: Instance, asg) -> dict[str, tuple[float, int]]:
    """Per resource: (largest use / capacity over the nodes, number of nodes over capacity)."""
    ev = evaluate(inst, asg)
    out = {}
    for res, used, cap in (("memory", ev.memory_used, inst.memory), ("compute", ev.compute_used, inst.compute_capacity),
                           ("bandwidth", ev.bandwidth_used, inst.bandwidth_capacity)):
        ratio = np.asarray(used, dtype=float) / np.asarray(cap, dtype=float)
        out[res] = (float(ratio.max()), int((ratio > 1 + 1e-9).sum()))
    return out


def min_period(inst: Instance, period: float) -> float:
    """The shortest period at which one request alone can still leave its source: every
    source sends its first layer's output (bytes) within the period over its radio."""
    need = 0.0
    for r in range(inst.n_requests):
        s = int(inst.request_source[r])
        out_bytes = float(inst.profile(r).layers[0].out_bytes)
        need = max(need, out_bytes / (inst.bandwidth_capacity[s] / period))
    return need


def make(name: str, spec: tuple[dict[str, int], dict[str, int], int, float, int] | None = None) -> dict:
    """The instance document of set ``name``: ``spec`` (requests per CNN, devices, sources, tau,
    seed; default ``SETS[name]``) with its period and description made as the module docstring says."""
    reqs, devices, sources, tau, seed = SETS[name] if spec is None else spec
    long = max(LONG_PERIOD[c] for c in reqs)
    doc = generate(name, reqs, devices, tau, sources=sources, period_s=long, seed=seed)
    inst = parse(doc, name)
    asg, _ = per_request_optima(inst)
    ev = evaluate(inst, asg)
    D = inst.n_devices  # the devices' radios: what requests share (a source serves its own requests)
    need = np.asarray(ev.bandwidth_used[:D], dtype=float) / (np.asarray(inst.bandwidth_capacity[:D], dtype=float) / long)
    period = float(need.max()) / OVERRUN  # seconds of radio time the busiest device needs / OVERRUN
    period = max(period, 1.05 * min_period(inst, long))
    while True:  # the requests must still fit together: lengthen the period while they provably do not
        period = float(f"{period:.4g}")
        doc = generate(name, reqs, devices, tau, sources=sources, period_s=period, seed=seed)
        inst = parse(doc, name)
        check = column_generation(inst, solver="highs", time_limit=CHECK_S, threads=1)
        if check.termination != "infeasible":
            break
        period *= 1.15
    asg, proven = per_request_optima(inst)
    over = overrun(inst, asg)
    parts = [f"{res} {100 * m:.1f} % of the busiest node ({n} node{'s' if n != 1 else ''} over)"
             for res, (m, n) in over.items() if m > 0.5]
    n_req = sum(reqs.values())
    n_dev = sum(devices.values())
    net = " + ".join(f"{v} {k}" for k, v in devices.items())
    doc["description"] = (
        f"{n_req} requests ({', '.join(f'{v} {k}' for k, v in reqs.items())}) from {sources} cameras on {n_dev} "
        f"devices ({net}), tau {tau}, capacities counted over a {period * 1e3:.4g} ms period "
        f"(instances/make_coupled.py, target overrun {OVERRUN:g}). The per-request optima"
        f"{'' if proven else ' (best found within the time limit)'} combined, identical devices permuted "
        f"least-loaded first, need (evaluator): {'; '.join(parts)}. "
        + (f"Column generation ({CHECK_S:g} s) places all requests together at objective {check.objective:.6g} s."
           if check.objective is not None else
           f"Column generation ({CHECK_S:g} s) found no placement of all requests, nor proved that none exists.")
    )
    if not any(n for _m, n in over.values()):
        raise RuntimeError(f"{name}: the per-request optima fit together at {period} s; raise OVERRUN")
    return doc


def main(argv: list[str]) -> int:
    names = argv or list(SETS)
    unknown = [n for n in names if n not in SETS]
    if unknown:
        print(f"unknown set(s) {unknown}; known: {list(SETS)}", file=sys.stderr)
        return 2
    for name in names:
        doc = make(name)
        write_instances({name: doc}, OUT)
        print(f"wrote instances/coupled/{name}.json: {doc['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
