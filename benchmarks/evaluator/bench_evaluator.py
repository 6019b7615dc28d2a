"""Evaluator speed: one assignment of 250 VGG16 requests on 70 devices (target: well under 1 s).

Run: `.venv/bin/python benchmarks/evaluator/bench_evaluator.py` -> prints and writes RESULTS.md.
The assignment spreads each layer round-robin over the devices (privacy caps respected), so
every transfer pattern of the model is exercised (conv partial sums, elementwise overlaps, fc).
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.io import atomic_write_text

HERE = Path(__file__).resolve().parent
INSTANCES = ["vgg16-250x70-tau0.4", "hetero-250x70-tau0.4", "cifar-250x70-tau0.4"]


def spread(inst) -> Assignment:
    owners = []
    for r in range(inst.n_requests):
        prof, lim, src = inst.profile(r), inst.limit(r), int(inst.request_source[r])
        per = []
        for k, la in enumerate(prof.layers):
            per.append(np.full(la.segments, src) if lim.on_source[k] else (np.arange(la.segments) + 7 * r) % inst.n_devices)
        owners.append(per)
    return Assignment(owners)


def main(repeats: int = 5) -> int:
    rows = []
    for name in INSTANCES:
        inst = load_instance(HERE.parents[1] / "instances" / "paper" / f"{name}.json")
        asg = spread(inst)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            ev = evaluate(inst, asg)
            times.append(time.perf_counter() - t)
        segs = sum(inst.profile(r).n_segments for r in range(inst.n_requests))
        rows.append(f"| {name} | {inst.n_requests} | {inst.n_nodes} | {segs:,} | {statistics.median(times):.3f} | {min(times):.3f} | {len(ev.violations)} |")
    table = "\n".join(["| instance | requests | nodes | segments | median s | min s | violations |", "|---|---|---|---|---|---|---|", *rows])
    text = (
        "# Evaluator speed\n\n"
        f"Command: `.venv/bin/python benchmarks/evaluator/bench_evaluator.py` ({repeats} repeats)\n\n"
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        "2 cores (shared with other work while measured)\n\n"
        f"{table}\n\n(violations: capacity overloads of this round-robin spread; they do not change the work done)\n"
    )
    print(text)
    atomic_write_text(HERE / "RESULTS.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
