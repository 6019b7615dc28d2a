"""Count floor vs typed floor vs the exact pricing MILP, per class, at a few prices
(benchmarks/scale/README.md, hetero section, "Type-aware pricing floor").

    nice -n 10 python benchmarks/scale/floor_compare.py instances/coupled/cifar-6x5-nexus-rpi3.json \
        [--limit 60] [--kinds 0 1] [--shares 0 1 3 10]

For each request class (``--kinds``: indices of :func:`request_classes`, default all) and each
uniform price ``q`` on the devices' bandwidth rows (``--shares``: seconds per whole row, the
master's rows of :class:`optdist.milp.decomposition.colgen.MasterProblem`), prints the count floor
(:class:`PricingFloor`), the typed floor (:class:`TypedFloor`) and the tight pricing model's
value, proven bound and whether it closed (HiGHS, one thread, ``--limit`` seconds). A floor above
a closed MILP's value would be a bug (the tests check it on small sets).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optdist.milp.decomposition.colgen import MasterProblem  # noqa: E402
from optdist.milp.decomposition.floor import PricingFloor, TypedFloor  # noqa: E402
from optdist.milp.decomposition.pricing import PricingModel  # noqa: E402

from _scale_common import latency_instance  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per pricing solve")
    ap.add_argument("--kinds", type=int, nargs="*", default=None, help="request classes to compare (default all)")
    ap.add_argument("--shares", type=float, nargs="*", default=[0.0, 1.0, 3.0, 10.0],
                    help="uniform prices on the devices' bandwidth rows, seconds per whole row")
    args = ap.parse_args(argv)
    if not (math.isfinite(args.limit) and args.limit > 0):
        ap.error(f"--limit {args.limit:g}: give a positive number of seconds per pricing solve (e.g. --limit 60)")
    bad = [x for x in args.shares if not (math.isfinite(x) and x >= 0)]
    if bad:
        ap.error(f"--shares {bad[0]:g}: prices are seconds per whole row, finite and >= 0 (e.g. --shares 0 1 3 10)")
    inst = latency_instance(args.instance, "the floors and the pricing model price")
    if inst is None:
        return 2
    P = MasterProblem(inst)
    seen: dict[int, int] = {}
    for c, q in enumerate(P.kinds):
        seen.setdefault(q, c)
    kinds = sorted(seen) if args.kinds is None else args.kinds
    for q in kinds:
        if q not in seen:
            print(f"{sys.argv[0]}: error: --kinds {q}: the instance has classes {sorted(seen)}", file=sys.stderr)
            return 2
        r = P.members[seen[q]][0]
        try:
            old = PricingFloor(inst, r)
        except ValueError as e:  # a DAG or grouped convolution: no floor
            print(f"{sys.argv[0]}: error: {e}", file=sys.stderr)
            return 2
        try:
            new: TypedFloor | None = TypedFloor(inst, r)
        except ValueError as e:  # too many owner-count states: the count floor only
            print(f"{inst.name} class {q}: no typed floor ({e})", flush=True)
            new = None
        pm = PricingModel(inst, r, solver="highs")
        for share in args.shares:
            pi = np.array([share / row.rhs if row.resource == 2 and row.nodes[0] < inst.n_devices and row.rhs > 0
                           else 0.0 for row in P.rows])
            prices = P.node_prices(pi)
            t0 = time.perf_counter()
            out = pm.solve(prices, time_limit=args.limit, mip_gap=1e-6, threads=1, seed=0)
            print(f"{inst.name} class {q} ({inst.request_cnn[r]}), bandwidth {share:g} s/row: count floor "
                  f"{old.evaluate(prices)[0]:.6f}, typed floor {'n/a' if new is None else f'{new.evaluate(prices)[0]:.6f}'}, MILP value "
                  f"{out.value if out.value is None else round(out.value, 6)}, bound {out.bound:.6f}, "
                  f"closed {out.proven} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
