"""Baselines on the paper's 250-request loads: greedy, per-layer and edge-cloud (Figs. 11-14 setting).

    .venv/bin/python benchmarks/online/baselines.py          # writes baselines.{csv,md}

For each 250-request instance of ``instances/paper`` (CIFAR, VGG16, VGG19, heterogeneous at
tau 0.8/0.6/0.4, 70 devices): the evaluator's total latency of the admitted requests, shared
data, rejections and violations (capacity / privacy / placement), and the method's wall time
on this machine (one process, the CPU shared with other work).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's optdist (run by path, the script's folder comes first, not the cwd)

import optdist  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.io import atomic_write_text  # noqa: E402

from _common import machine, row  # noqa: E402

METHODS = ("greedy", "per-layer", "edge-cloud")


def main(argv: list[str] | None = None) -> int:
    """Run every method on every 250-request load and write ``baselines.{csv,md}`` (no options)."""
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    rows = []
    for path in sorted((ROOT / "instances" / "paper").glob("*-250x70-tau*.json")):
        inst = load_instance(path)
        for method in METHODS:
            res = optdist.solve(inst, method=method)
            r = row(inst, method, res, None)
            rows.append({k: r[k] for k in ("instance", "method", "latency_ms", "shared_kB", "rejected", "capacity_viol", "privacy_viol", "placement_viol", "wall_s")})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["latency_per_admitted_ms"] = table.latency_ms / (250 - table.rejected).clip(lower=1)
    atomic_write_text(HERE / "baselines.csv", table.to_csv(index=False))
    md = [
        "# Baselines on the paper's 250-request loads",
        "",
        "Command: `python benchmarks/online/baselines.py`  ",
        f"Machine: {machine()}; load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}  ",
        "latency_ms: total over admitted requests (evaluator); wall_s: the method's own time.",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    atomic_write_text(HERE / "baselines.md", "\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
