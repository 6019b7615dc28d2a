"""Evaluator speed on DAG networks: issue 13's target, < 50 ms per placement of 10 MobileNetV2 (or ResNet-18)
requests at 128x128 on 20 devices (10 Nexus + 10 RPi3), tau 0.8, synthetic privacy table.

Run: `.venv/bin/python benchmarks/evaluator/bench_dag.py [--reference REV:optdist/evaluate.py]` -> prints and
writes RESULTS_dag.md. Uses the instances benchmarks/own_networks/bench_own_networks.py made and committed
(``mobilenetv2-10x20.json``, ``resnet18-10x20.json``). Two placements each: every layer spread round-robin
over the devices (:func:`bench_evaluator.spread`, the placement of bench_own_networks.py) and greedy's
(``optdist.solve(inst, method="greedy")``). Reports wall-clock and process (CPU) time, median and minimum
of ``--repeats`` calls: the machine is shared, so the CPU time is the steadier figure. ``--reference``: as
in bench_evaluator.py, another evaluator timed interleaved on the same placements, and its scores compared
bit for bit.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

from bench_evaluator import _load, _same, spread

from optdist import solve
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.io import atomic_write_text

HERE = Path(__file__).resolve().parent
INSTANCES = ["mobilenetv2-10x20", "resnet18-10x20"]


def _timed(fn, inst, asg) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(inst, asg)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _ms(xs: list[float]) -> str:
    return f"{1e3 * statistics.median(xs):.1f} / {1e3 * min(xs):.1f}"


def main(repeats: int = 20, reference: str | None = None) -> int:
    ref = _load(reference) if reference else None
    head = "| instance | placement | violations | wall ms (median / min) | CPU ms (median / min) |"
    if ref is not None:
        head += " reference wall ms | reference CPU ms | identical scores |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name in INSTANCES:
        inst = load_instance(HERE.parent / "own_networks" / f"{name}.json")
        for placed_by, asg in (("spread", spread(inst)), ("greedy", solve(inst, "greedy").assignment)):
            wall, cpu, rwall, rcpu = [], [], [], []
            for _ in range(repeats):
                if ref is not None:
                    w, c, ref_ev = _timed(ref.evaluate, inst, asg)
                    rwall.append(w)
                    rcpu.append(c)
                w, c, ev = _timed(evaluate, inst, asg)
                wall.append(w)
                cpu.append(c)
            row = f"| {name} | {placed_by} | {len(ev.violations)} | {_ms(wall)} | {_ms(cpu)} |"
            if ref is not None:
                row += f" {_ms(rwall)} | {_ms(rcpu)} | {'yes' if _same(ref_ev, ev) else 'NO'} |"
            rows.append(row)
            print(row, flush=True)
    cmd = "benchmarks/evaluator/bench_dag.py" + (f" --reference {reference}" if reference else "")
    text = (
        "# Evaluator speed on DAG networks (issue 13 target: < 50 ms per placement)\n\n"
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python {cmd}` ({repeats} repeats"
        + (", the reference timed interleaved with the current evaluator" if ref is not None else "") + "), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, 2 cores shared with other work while "
        "measured (wall times under contention; CPU = process time)\n\n" + "\n".join(rows) + "\n"
    )
    print(text)
    atomic_write_text(HERE / "RESULTS_dag.md", text)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--reference", help="another optdist/evaluate.py to time side by side: a file or REV:optdist/evaluate.py")
    args = ap.parse_args()
    sys.exit(main(args.repeats, args.reference))
