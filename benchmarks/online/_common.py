"""Helpers shared by the online-placement benchmarks: exact reference, violation families, rows."""

from __future__ import annotations

import platform
import time
from collections import Counter

import numpy as np

import optdist
from optdist.evaluate import Evaluation
from optdist.instance import Instance
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


def reference(inst: Instance, time_limit: float) -> SolveResult:
    """The exact reference: the MILP decomposed by request (HiGHS, 1 thread, greedy start), which
    proves the optimum when the per-request optima fit together and otherwise solves the coupled
    model, keeping a certified bound (and the greedy placement if it finds nothing better)."""
    return optdist.solve(inst, method="milp", formulation="decomposed", time_limit=time_limit, threads=1,
                         warm_start="greedy")


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
