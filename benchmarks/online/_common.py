"""Helpers shared by the online-placement benchmarks: exact reference, violation families, rows."""

from __future__ import annotations

import platform
import time
from collections import Counter

import numpy as np

import optdist
from optdist.evaluate import Evaluation
from optdist.instance import Instance, resolve
from optdist.result import SolveResult


def violation_families(inst: Instance, ev: Evaluation) -> dict[str, int]:
    """Count violations as capacity (10b-d), privacy ((10f) and (10h) pins), placement, admission."""
    out = Counter(capacity=0, privacy=0, placement=0, admission=0)
    cnn_of = dict(zip(inst.request_ids, inst.request_cnn))
    for v in ev.violations:
        if v.constraint in ("memory", "compute", "bandwidth"):
            out["capacity"] += 1
        elif v.constraint == "placement" and v.request is not None:
            cnn = cnn_of[v.request]
            k = inst.profiles[cnn].index(v.layer)
            pinned_by_privacy = inst.limits[cnn].on_source[k] and 0 < k < inst.profiles[cnn].n_layers - 1
            out["privacy" if pinned_by_privacy else "placement"] += 1
        else:
            out[v.constraint] += 1
    return dict(out)


def request_bound(inst: Instance, time_limit: float) -> float:
    """Sum over requests of each request's optimum alone (full capacities): a lower bound on the
    latency objective, since sharing capacities only removes options. Requests with the same CNN
    and the same source fields share one single-request MILP (its bound if not proven)."""
    obj = inst.objective
    if obj.kind != "latency" or obj.shared_weight or obj.admission:
        raise ValueError("the per-request bound is for the plain latency objective")
    alone: dict[tuple, float] = {}
    total = 0.0
    for r in range(inst.n_requests):
        src = int(inst.request_source[r])
        key = (inst.request_cnn[r], inst.memory[src], inst.compute_capacity[src], inst.bandwidth_capacity[src], inst.mults_per_s[src], inst.rate[src])
        if key not in alone:
            spec = inst.spec.model_copy(update={"requests": [inst.spec.requests[r]], "name": f"{inst.name}-r{r}"})
            one = optdist.solve(resolve(spec), method="milp", time_limit=time_limit, threads=1, warm_start="greedy")
            alone[key] = one.bound if one.bound is not None else 0.0
        total += alone[key]
    return total


def reference(inst: Instance, time_limit: float) -> tuple[SolveResult, float]:
    """The compact MILP (HiGHS, 1 thread, greedy start) and the best bound: max(MILP bound, per-request bound)."""
    res = optdist.solve(inst, method="milp", formulation="compact", time_limit=time_limit, threads=1, warm_start="greedy")
    return res, max(res.bound or 0.0, request_bound(inst, time_limit))


def row(inst: Instance, label: str, res: SolveResult, ref: float | None) -> dict:
    """One table row, every number from the evaluator (decision times from the method)."""
    ev = res.evaluation
    fam = violation_families(inst, ev)
    lat = ev.total_latency
    dec = res.extra.get("decision_ms_mean", res.extra.get("decision_ms_per_request"))
    return {
        "instance": inst.name,
        "method": label,
        "latency_ms": 1e3 * lat,
        "gap_%": None if ref is None else 100 * (lat - ref) / ref,
        "of_optimal_%": None if ref is None else 100 * ref / lat,
        "shared_kB": ev.total_shared_bytes / 1e3,
        "rejected": ev.n_rejected,
        "capacity_viol": fam["capacity"],
        "privacy_viol": fam["privacy"],
        "placement_viol": fam["placement"],
        "feasible": ev.feasible,
        "decision_ms_per_request": dec if isinstance(dec, float) else None,
        "wall_s": res.wall_time,
    }


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}"
