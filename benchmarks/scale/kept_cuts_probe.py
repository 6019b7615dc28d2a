"""The pricing problem of one request with and without the kept-amount cuts (issue 11, CIFAR sets).

    nice -n 10 .venv/bin/python benchmarks/scale/kept_cuts_probe.py \
        instances/coupled/cifar-6x5-nexus-rpi3.json --price 5e-8 --time-limit 30

Request ``--request`` alone, priced at ``--price`` seconds per byte sent on every device's radio
(column generation's LP duals on ``cifar-6x5-nexus-rpi3`` are 5.0-5.7e-8), is solved by
:class:`optdist.milp.decomposition.pricing.PricingModel` (HiGHS, threads 1, no start, no latency
cutoff) once with the rows of :func:`optdist.milp.tight.kept_cuts` deactivated and once with
them. Prints per variant the LP relaxation (integrality dropped), then the best column's priced
value, the proven bound, whether the solve closed (gap 1e-4) and its seconds. Prints only.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from optdist.instance import load_instance
from optdist.milp.decomposition.pricing import PricingModel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--request", type=int, default=0)
    ap.add_argument("--price", type=float, required=True, help="seconds per byte sent, every device")
    ap.add_argument("--time-limit", type=float, default=30.0)
    args = ap.parse_args(argv)
    inst = load_instance(args.instance)
    prices = {"memory": np.zeros(inst.n_nodes), "compute": np.zeros(inst.n_nodes),
              "bandwidth": np.where(np.arange(inst.n_nodes) < inst.n_devices, args.price, 0.0)}
    for cuts in (False, True):
        pm = PricingModel(inst, args.request, solver="highs")
        if not cuts:
            pm.b.model.kept_cuts.row.deactivate()  # (the block itself is switched by the prices)
        lp = pm.lp_value(prices)
        pr = pm.solve(prices, time_limit=args.time_limit, mip_gap=1e-4, threads=1, seed=0, steps=(math.inf,))
        print(f"kept cuts {'on ' if cuts else 'off'}: LP {lp:.6f} s  column {pr.value:.6f} s  bound {pr.bound:.6f} s  "
              f"closed {pr.proven}  {pr.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
