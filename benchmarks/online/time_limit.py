"""How far past ``time_limit`` plan-guided and plan-rollout end (the overrun their docstring states).

    .venv/bin/python benchmarks/online/time_limit.py                      # the default sets and limits
    .venv/bin/python benchmarks/online/time_limit.py --limits 0.1 1 --instances coupled/lenet-8x4-rpi3

Runs ``optdist.solve(INSTANCE, method=M, time_limit=T, threads=1, seed=0)`` in this process (after
one run that imports Pyomo and HiGHS, which a first call pays once: about 1 s) for each instance
(``instances/<name>.json``), method and limit, and prints one line each: the wall seconds of the
call, the overrun (wall - T), the plan's seconds and who found it, the requests decided past the
deadline (no exact solve), the rejections and the 1-minute load. Nothing is written.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import optdist
import optdist.heuristics.plan_guided  # noqa: F401  (the import is not timed)
from optdist.instance import load_instance

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ["coupled/lenet-8x4-rpi3", "coupled/mixed-8x6-nexus-rpi3", "coupled/lenet-20x10-rpi3",
             "coupled/cifar-12x10-rpi3", "coupled/lenet-250x70-nexus-rpi3"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", nargs="+", default=INSTANCES, metavar="NAME", help="under instances/, without .json")
    ap.add_argument("--methods", nargs="+", default=["plan-guided", "plan-rollout"])
    ap.add_argument("--limits", nargs="+", type=float, default=[0.1, 1.0, 5.0], metavar="S")
    args = ap.parse_args()
    optdist.solve(load_instance(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json"), method="plan-guided",
                  time_limit=0.05)
    worst = 0.0
    for name in args.instances:
        inst = load_instance(ROOT / "instances" / f"{name}.json")
        for method in args.methods:
            for limit in args.limits:
                t0 = time.perf_counter()
                res = optdist.solve(inst, method=method, time_limit=limit, threads=1, seed=0)
                took = time.perf_counter() - t0
                worst = max(worst, took - limit)
                ex = res.extra
                print(f"{name} {method} T={limit:g}: {took:.2f} s, overrun {took - limit:+.2f} s; "
                      f"plan {ex['plan_s']:.2f} s ({ex['plan_found_by']}); past the deadline {ex['past_deadline']}/{inst.n_requests}; rejected "
                      f"{res.evaluation.n_rejected}; load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"largest overrun {worst:+.2f} s")


if __name__ == "__main__":
    main()
