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

import statistics
import sys
import time
from pathlib import Path

from bench_evaluator import _load, _same, cli, spread, write_results

from optdist import solve
from optdist.evaluate import evaluate
from optdist.instance import load_instance

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
    write_results("bench_dag.py", "Evaluator speed on DAG networks (issue 13 target: < 50 ms per placement)",
                  repeats, reference, "\n".join(rows) + "\n\n(CPU = process time)\n", HERE / "RESULTS_dag.md")
    return 0


if __name__ == "__main__":
    sys.exit(cli(main, __doc__, 20))
