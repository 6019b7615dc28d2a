"""Are a reference placement's columns among those a time-limited run generates? (issue 11, README "LP-mean columns")

Usage (from the repository root)::

    nice -n 10 python benchmarks/scale/column_pool_probe.py instances/coupled/cifar-6x5-nexus-rpi3.json \
        benchmarks/scale/coupled/best/cifar-6x5-nexus-rpi3.json --time-limit 60

Runs ``optdist.solve`` (the default engine, threads 1) for ``--time-limit`` seconds, keeps column
generation's master, and prints: the run's result; its placement columns' costs; for each request
of the reference placement whether its column (cost and per-node usage, up to a relabelling of
identical devices) is in that pool; the LP master over the pool and the per-device integer master
over it (``--integer-s`` seconds); then both again with the reference's columns added. Every
placement printed is re-scored by the evaluator. Bad input (a missing or broken instance or
reference file, a time out of range) is checked before the run: a message naming the file, the
field and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import optdist
from optdist.assignment import Assignment
from optdist.instance import load_instance
from optdist.jsonfile import DocumentError
from optdist.milp.decomposition import colgen
from optdist.milp.decomposition.master import Master
from optdist.solvers.base import check_options


def main(argv: list[str] | None = None) -> int:
    """Run the probe on ``argv`` (default: the command line); 0 when done, 1 when column
    generation did not run, 2 on bad input (the message names the file, the field and the fix)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("reference", help="an optdist-assignment/1 file of the instance")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--integer-s", type=float, default=30.0, help="seconds for each per-device integer master")
    args = ap.parse_args(argv)
    try:  # every input checked before the run, which takes --time-limit seconds
        check_options({"time_limit": args.time_limit}, "--time-limit: ")
        check_options({"time_limit": args.integer_s}, "--integer-s: ")
        inst = load_instance(args.instance)
        ref = Assignment.load(inst, args.reference)
    except (FileNotFoundError, DocumentError, ValueError) as e:  # InstanceError, AssignmentError: DocumentError
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    kept: dict = {}

    class Kept(Master):  # column generation's master (the first one it builds)
        def __init__(self, *a, **k) -> None:
            super().__init__(*a, **k)
            kept.setdefault("master", self)

    colgen.Master = Kept
    try:
        res = optdist.solve(inst, method="milp", time_limit=args.time_limit, threads=1)
    finally:
        colgen.Master = Master
    print(f"run: incumbent {res.objective} bound {res.bound} ({args.time_limit:g} s)")
    if "master" not in kept:
        print("column generation did not run (the per-request optima fit together, or --time-limit "
              "ran out before it started: give more seconds)", file=sys.stderr)
        return 1
    master, P = kept["master"], colgen.MasterProblem(inst)
    pool = [c for c in master.columns if c.kind == "placement"]
    print(f"pool: {len(pool)} placement columns, costs (ms) {sorted(round(c.cost * 1e3, 2) for c in pool)}")
    rng = np.random.default_rng(0)
    added = []
    for r in range(inst.n_requests):
        c = next(q for q, m in enumerate(P.members) if r in m)
        col, key = P.column(c, colgen._rename(ref.owners[r], int(inst.request_source[r]), P.source[c]))
        found = False
        for p in pool:
            if p.cls != c or abs(p.cost - col.cost) > 1e-9 * col.cost:
                continue
            for lab in P.relabellings(p, rng, limit=10_000):
                use = np.zeros_like(p.node_use)
                np.add.at(use, lab, p.node_use)
                found |= bool(np.allclose(use, col.node_use, rtol=1e-9, atol=1e-9))
        print(f"reference {inst.request_ids[r]}: {col.cost * 1e3:.3f} ms, in the pool: {found}")
        added.append((col, key))

    def integer(m: Master, label: str) -> None:
        z, _, _ = m.solve_lp()
        t = time.perf_counter()
        asg = colgen._on_devices(inst, P, m, args.integer_s, 1e-6, 1, 0)
        ev = None if asg is None else optdist.evaluate(inst, asg)
        found = "none" if ev is None else f"{ev.objective:.6f} (feasible {ev.feasible})"
        print(f"{label}: LP {z:.6f}, per-device integer master {found} in {time.perf_counter() - t:.1f} s")

    only = Master(P.rows, P.sizes, master.cost_unit, threads=1)
    for col in pool:
        only.add(col)
    integer(only, "pool")
    for col, key in added:
        only.add(col, key)
    integer(only, "pool + reference columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
