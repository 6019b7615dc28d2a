"""Time the shipped LeNet calibration (issue 5 budget: <= 15 min on 2 CPU cores).

Runs the exact ``optdist calibrate`` command below (``--force``: it replaces the committed table and
results; training the target first if
``models/weights/lenet.pt`` is missing) and writes ``bench_lenet_calibration.json`` beside
this file: wall and CPU seconds, the machine's load average before and after (other jobs
share the cores), and whether the budget held.

    .venv/bin/python benchmarks/attacks/bench_lenet_calibration.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from optdist.io import atomic_write_json

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUDGET_S = 15 * 60
ARGS = [
    "calibrate", "lenet", "--layers", "conv1,ReLU2", "--subsets", "3", "--seeds", "1", "--epochs", "6",
    "--samples", "5000", "--test-samples", "500", "--jobs", "2", "--threads", "1",
    "--out", "benchmarks/attacks", "--table", "models/privacy/lenet-calibrated.json", "--force",
]  # fmt: skip


def main() -> int:
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "optdist.cli", *ARGS], cwd=ROOT)
    wall = time.perf_counter() - t0
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "command": "optdist " + " ".join(ARGS),
        "returncode": rc,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(child.ru_utime + child.ru_stime, 1),
        "cpu_cores": os.cpu_count(),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "budget_seconds": BUDGET_S,
        "within_budget": rc == 0 and wall <= BUDGET_S,
    }
    atomic_write_json(HERE / "bench_lenet_calibration.json", result)
    print(result)
    return rc


if __name__ == "__main__":
    sys.exit(main())
