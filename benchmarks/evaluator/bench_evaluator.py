"""Evaluator speed: one assignment of 250 VGG16 requests on 70 devices (target: well under 1 s).

Run: `.venv/bin/python benchmarks/evaluator/bench_evaluator.py` -> prints and writes RESULTS.md.
The assignment spreads each layer round-robin over the devices (privacy caps respected), so
every transfer pattern of the model is exercised (conv partial sums, elementwise overlaps, fc).

Before/after a change, under the same load: `--reference OLD` loads another version of
``optdist/evaluate.py`` (a file, or ``REV:optdist/evaluate.py`` from git), times it
interleaved with the current one on the same assignment and checks that both give identical
scores (objective, latencies, stage times, node use, violations).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import tempfile
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


def _load(ref: str):
    """Another version of optdist/evaluate.py, imported as a standalone module from a file
    or from git (``REV:optdist/evaluate.py``)."""
    path = Path(ref)
    if not path.exists() and ":" in ref:
        text = subprocess.run(["git", "show", ref], cwd=HERE, check=True, capture_output=True, text=True).stdout
        tmp = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False)
        tmp.write(text)
        tmp.close()
        path = Path(tmp.name)
    spec = importlib.util.spec_from_file_location("evaluate_reference", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _same(a, b) -> bool:
    """Identical scores (bit for bit) from two evaluator versions."""
    arrays = ("latency", "shared_bytes", "memory_used", "compute_used", "bandwidth_used", "admitted")
    stages = ("stage_time", "stage_compute", "stage_transfer")
    return (a.objective == b.objective
            and all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=f != "admitted") for f in arrays)
            and all(all(np.array_equal(x, y) for x, y in zip(getattr(a, f), getattr(b, f))) for f in stages)
            and [tuple(vars(v).values()) for v in a.violations] == [tuple(vars(v).values()) for v in b.violations])


def cli(main, doc: str, repeats: int) -> int:
    """The scripts' command line: ``--repeats N`` and ``--reference FILE|REV:optdist/evaluate.py``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=repeats)
    ap.add_argument("--reference", help="another optdist/evaluate.py to time side by side: a file or REV:optdist/evaluate.py")
    args = ap.parse_args()
    return main(args.repeats, args.reference)


def write_results(script: str, title: str, repeats: int, reference: str | None, body: str, path: Path) -> None:
    """Print and write (atomically) a results page: title, the command, the machine, then ``body``."""
    cmd = f"benchmarks/evaluator/{script}" + (f" --reference {reference}" if reference else "")
    text = (
        f"# {title}\n\n"
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python {cmd}` ({repeats} repeats"
        + (", the reference timed interleaved with the current evaluator" if reference else "") + "), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        "2 cores shared with other work while measured (wall times under contention)\n\n" + body
    )
    print(text)
    atomic_write_text(path, text)


def main(repeats: int = 5, reference: str | None = None) -> int:
    ref = _load(reference) if reference else None
    rows = []
    for name in INSTANCES:
        inst = load_instance(HERE.parents[1] / "instances" / "paper" / f"{name}.json")
        asg = spread(inst)
        times, ref_times = [], []
        for _ in range(repeats):
            if ref is not None:
                t = time.perf_counter()
                ref_ev = ref.evaluate(inst, asg)
                ref_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            ev = evaluate(inst, asg)
            times.append(time.perf_counter() - t)
        segs = sum(inst.profile(r).n_segments for r in range(inst.n_requests))
        row = f"| {name} | {inst.n_requests} | {inst.n_nodes} | {segs:,} | {statistics.median(times):.3f} | {min(times):.3f} | {len(ev.violations)} |"
        if ref is not None:
            row += f" {statistics.median(ref_times):.3f} | {min(ref_times):.3f} | {'yes' if _same(ref_ev, ev) else 'NO'} |"
        rows.append(row)
    head = "| instance | requests | nodes | segments | median s | min s | violations |"
    rule = "|---|---|---|---|---|---|---|"
    if ref is not None:
        head += " reference median s | reference min s | identical scores |"
        rule += "---|---|---|"
    table = "\n".join([head, rule, *rows])
    write_results("bench_evaluator.py", "Evaluator speed", repeats, reference,
                  f"{table}\n\n(violations: capacity overloads of this round-robin spread; they do not change the work done)\n",
                  HERE / "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(cli(main, __doc__, 5))
