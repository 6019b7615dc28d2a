"""How far each solver adapter's solve runs past its time limit (loading the model included).

Builds one formulation of one instance once, then solves it with each solver at ``--time-limit``
and prints the solve's wall time (:attr:`optdist.solvers.base.SolverOutcome.wall_time`, from
:meth:`Solver.solve`'s call to its return: loading the model, the solver's run, reading the
solution back) and its overrun past the limit; for the shell solvers (CBC, GLPK) also its phases
(``SolverOutcome.extra["phases_s"]``: writing the model file, the solver process, reading the
solution back). Usage::

    python benchmarks/milp/limit_overrun.py instances/paper/lenet-10x70-tau0.8.json \
        --formulation compact --solvers scip cbc glpk highs --time-limit 5
"""

from __future__ import annotations

import argparse
import sys
import time

from optdist.instance import InstanceError, load_instance
from optdist.milp.model import FORMULATIONS, build
from optdist.solvers import get_solver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance")
    ap.add_argument("--formulation", default="compact", choices=FORMULATIONS)
    ap.add_argument("--solvers", nargs="+", default=["scip", "cbc", "glpk", "highs"])
    ap.add_argument("--time-limit", type=float, default=5.0)
    args = ap.parse_args()
    if not args.time_limit > 0:
        ap.error(f"--time-limit {args.time_limit:g}: give seconds > 0")
    try:
        inst = load_instance(args.instance)
        adapters = [get_solver(name) for name in args.solvers]
    except (OSError, InstanceError, ValueError) as e:
        print(f"limit_overrun.py: {e}", file=sys.stderr)
        sys.exit(2)
    t0 = time.perf_counter()
    b = build(inst, args.formulation)
    print(f"{inst.name} {args.formulation}: built in {time.perf_counter() - t0:.2f} s")
    for name, adapter in zip(args.solvers, adapters):
        if not adapter.is_available():
            print(f"{name:6s} not installed ({adapter.install_hint})")
            continue
        out = adapter.solve(b.model, time_limit=args.time_limit, threads=1)
        phases = out.extra.get("phases_s")  # shell solvers: writing the model file, the solver's run, reading back
        split = "" if phases is None else "  (" + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()) + ")"
        print(f"{name:6s} limit {args.time_limit:g} s  wall {out.wall_time:6.2f} s  overrun "
              f"{out.wall_time - args.time_limit:+6.2f} s  {out.termination}{split}")


if __name__ == "__main__":
    main()
