"""Issue 13's Targets on users' own DAG networks: ResNet-18 and MobileNetV2 (torchvision, no weights) at
3x128x128, 10 requests on 20 devices (10 Nexus + 10 RPi3, 10 RPi3 cameras), tau 0.8, a synthetic privacy table.

Targets (benchmark, not timed tests): evaluator < 50 ms per placement; greedy placement < 1 s;
exact engine (``optdist solve``'s default, 5 min limit): a certified gap reported.

Run (from the repository root; writes RESULTS.md and the generated files next to this script):

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/own_networks/bench_own_networks.py [--no-exact]
        [--time-limit S] [--results FILE]   (e.g. --time-limit 60 --results RESULTS_60s.md)

Steps, per network: profile it with :func:`optdist.profile_module` (profile file ``NET.profile.json``),
write the synthetic privacy table ``NET-privacy.json`` (below) and the instance ``NET-10x20.json``
(:func:`optdist.generate.generate`, seed 0); time :func:`optdist.evaluate.evaluate` on a placement
(the median of ``--repeats`` calls; greedy's placement when it places every request, else every
layer spread round-robin over the devices, privacy caps ignored: the evaluator scores any
placement); time ``solve(inst, "greedy")`` through the method registry (its objective, and how many
requests it rejects, as the evaluator scores it); run ``optdist solve NET-10x20.json
--time-limit 300 --threads 1`` (``--time-limit``: another limit) once as a subprocess and record
termination, objective, bound, gap and its wall time from the start of the subprocess to its exit
(the CLI counts its limit from the process start, model building and the final evaluation
included; the subprocess gets at most 8 GiB of address space and 3 times the limit of wall time).

Synthetic privacy table (no attack has been run on these networks): one row per ReLU/ReLU6 output
tensor; with ``d = k / (L - 1)`` the layer's relative depth and ``P`` its maps, the cell of ``m`` maps
(``m`` = 1, 2, 4, ... and ``P``) is ``SSIM(m) = (0.99 - 0.5 d) * sqrt(m / P)``, rounded to 3
decimals: deeper tensors and fewer maps leak less, as in the paper's Table 2. At tau 0.8 the
tensors with ``0.99 - 0.5 d <= 0.8`` (``d >= 0.38``) are after the split point.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NETWORKS = {"resnet18": "resnet18", "mobilenetv2": "mobilenet_v2"}  # name -> torchvision.models builder
SHAPE = (3, 128, 128)
TAU = 0.8
EXACT_LIMIT_S = 300  # default --time-limit
EXACT_WALL_FACTOR = 3  # give up on a solve after this many times its limit
EXACT_MEMORY = 8 * 2**30  # bytes of address space for the solve subprocess


def privacy_table(prof) -> dict:
    """The synthetic table of the module docstring for profile ``prof``."""
    rows = []
    L = prof.n_layers
    for k, la in enumerate(prof.layers):
        if la.op not in ("relu", "relu6"):
            continue
        full = 0.99 - 0.5 * k / (L - 1)
        cols = sorted({2**i for i in range(int(math.log2(la.out_maps)) + 1)} | {la.out_maps})
        rows.append({"tensor": la.name, "maps": la.out_maps,
                     "cells": {str(m): round(full * math.sqrt(m / la.out_maps), 3) for m in cols}})
    return {"format": "optdist-privacy-table/1", "cnn": prof.cnn, "name": "synthetic", "metric": "ssim",
            "ssim_decimals": None,
            "provenance": {"source": "synthetic (benchmarks/own_networks/bench_own_networks.py): SSIM(m) = "
                                     "(0.99 - 0.5 k/(L-1)) sqrt(m/P) per ReLU output; no attack was run"},
            "rows": rows}


def spread(inst):
    from optdist.assignment import Assignment

    owners = []
    for r in range(inst.n_requests):
        prof, lim, src = inst.profile(r), inst.limit(r), int(inst.request_source[r])
        owners.append([np.full(la.segments, src) if lim.on_source[k] else (np.arange(la.segments) + 7 * r) % inst.n_devices
                       for k, la in enumerate(prof.layers)])
    return Assignment(owners)


def build(name: str) -> Path:
    """Profile file, privacy table and instance of network ``name``; returns the instance path."""
    import torch
    import torchvision.models as tvm

    from optdist import profile_module
    from optdist.generate import generate
    from optdist.io import atomic_write_json
    from optdist.profiles import write_profile_file

    torch.manual_seed(0)
    prof = profile_module(getattr(tvm, NETWORKS[name])(weights=None), SHAPE, name)
    write_profile_file(prof, HERE / f"{name}.profile.json")
    atomic_write_json(HERE / f"{name}-privacy.json", privacy_table(prof))
    doc = generate(f"{name}-10x20", {name: 10}, {"nexus": 10, "rpi3": 10}, TAU, sources=10, source_type="rpi3",
                   privacy={name: f"{name}-privacy.json"}, networks={name: f"{name}.profile.json"}, base=HERE,
                   description=f"{name} 3x128x128, 10 requests, 10 Nexus + 10 RPi3, synthetic privacy table")
    path = HERE / f"{name}-10x20.json"
    atomic_write_json(path, doc)
    return path


def _limit_memory() -> None:  # the machine is shared: the solve may not take more than EXACT_MEMORY bytes
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (EXACT_MEMORY, EXACT_MEMORY))


def exact(path: Path, limit: float) -> dict:
    cmd = [sys.executable, "-m", "optdist", "solve", str(path.relative_to(ROOT)), "--time-limit", f"{limit:g}",
           "--threads", "1"]
    t0 = time.perf_counter()
    try:
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=EXACT_WALL_FACTOR * limit,
                             preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return {"rc": None, "wall_s": time.perf_counter() - t0,
                "error": f"no result within {EXACT_WALL_FACTOR * limit:g} s wall (--time-limit {limit:g})"}
    wall = time.perf_counter() - t0
    out = run.stdout
    field = lambda key: (m.group(1) if (m := re.search(rf"^{key}\s+(.+?)\s*$", out, re.M)) else None)  # noqa: E731
    nums = re.search(r"^objective\s+(\S+)\s+bound\s+(\S+)\s+gap\s+(\S+)", out, re.M)
    objective, bound, gap = nums.groups() if nums else (None, None, None)
    return {"rc": run.returncode, "wall_s": wall, "termination": field("termination"), "objective": objective,
            "bound": bound, "gap": gap, "method": field("method"),
            "error": run.stderr.strip().splitlines()[-1:] if run.returncode else [],
            "stopped": "had not returned" in run.stderr}  # the CLI stopped at the deadline: a solver call hung


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-exact", action="store_true", help="skip the 5-minute exact solves")
    ap.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    ap.add_argument("--time-limit", type=float, default=EXACT_LIMIT_S, help="--time-limit of the exact solves (s)")
    ap.add_argument("--results", default="RESULTS.md", help="file name of the table, next to this script")
    args = ap.parse_args()

    from optdist import solve
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance

    rows = []
    for name in args.networks:
        path = build(name)
        inst = load_instance(path)
        prof = inst.profiles[name]
        row = {"network": name, "layers": prof.n_layers, "segments": prof.n_segments,
               "split point": prof.layers[inst.limits[name].split_point].name
               if inst.limits[name].split_point < prof.n_layers else "none"}
        t0, c0 = time.perf_counter(), time.process_time()
        res = solve(inst, "greedy")
        row["greedy s (wall / CPU)"] = f"{time.perf_counter() - t0:.3f} / {time.process_time() - c0:.3f}"
        rejected = sum(own is None for own in res.assignment.owners)
        row["greedy objective s"] = f"{res.objective:.6g}" + (
            "" if res.evaluation.feasible else f" (infeasible: {rejected} of {inst.n_requests} requests rejected)")
        asg, placed_by = (res.assignment, "greedy") if rejected == 0 else (spread(inst), "spread")
        times, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            evaluate(inst, asg)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        row["evaluator ms (wall / CPU)"] = f"{1e3 * statistics.median(times):.1f} / {1e3 * statistics.median(cpu):.1f} ({placed_by})"
        if not args.no_exact:
            ex = exact(path, args.time_limit)
            row[f"exact (optdist solve, {args.time_limit:g} s limit)"] = (
                f"{ex['termination']} ({ex['method']}), objective {ex['objective']}, bound {ex['bound']}, gap {ex['gap']}, "
                f"{ex['wall_s']:.1f} s wall (process start to exit)"
                + ("; a solver call had not returned: the best so far reported at the deadline"
                   if ex.get("stopped") else "")
                + (f"; rc {ex['rc']}: {ex['error']}" if ex["rc"] != 0 else ""))
        rows.append(row)
        print(row, flush=True)

    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    cmd = "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/own_networks/bench_own_networks.py " + " ".join(sys.argv[1:])
    text = (f"# Own networks: issue 13 Targets\n\nMade by `{cmd.strip()}` on {platform.node()} ({platform.machine()}, "
            f"{os.cpu_count()} CPUs shared with other jobs: timings under contention), "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Targets: evaluator < 50 ms per placement, "
            f"greedy < 1 s, exact engine: certified gap within the limit ({args.time_limit:g} s; the issue's: 300 s). "
            "Setup: see the script's docstring.\n\n"
            + "\n".join(lines) + "\n")
    from optdist.io import atomic_write_text

    atomic_write_text(HERE / args.results, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
