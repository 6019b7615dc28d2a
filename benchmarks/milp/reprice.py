"""Re-pricing one request class with the pricing model kept loaded in HiGHS vs loaded anew.

    nice -n 10 .venv/bin/python benchmarks/milp/reprice.py instances/coupled/lenet-8x4-rpi3.json \\
        --prices 0 0.002 0.004 0.006 0.008 0.01 --time-limit 20

The column generation (:mod:`optdist.milp.decomposition.colgen`) solves each class's pricing
model (:class:`optdist.milp.decomposition.pricing.PricingModel`, built once) at new prices
every round. For each bandwidth price ``lam`` (model time units, 1e-6 s, per byte sent by any
device), this solves the model of the instance's first request twice over the same price
sequence, with a branching row added and lifted between prices as branch-and-price does: once
with the model kept loaded in the solver (``keep_loaded=True``, the default: only the new
objective, bounds and rows are sent) and once loaded anew at every solve. It prints, per mode,
the CPU seconds of this process (``time.process_time``: robust to other jobs on the machine)
spent loading the model (Pyomo's ``set_instance``), sending changes (``update``) and in
HiGHS's ``run``, the wall seconds, and checks that both modes prove the same values (bound and
incumbent within the pricing gap). Writes nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import time

import numpy as np

from optdist.instance import load_instance
from optdist.milp.data import TIME_UNIT
from optdist.milp.decomposition.pricing import RESOURCES, PricingModel

GAP = 1e-6


def _run(inst, r: int, prices: list[float], time_limit: float, keep: bool) -> tuple[list, dict[str, float]]:
    """Price ``r`` at each ``lam`` (with one branching row on and off in between); returns the
    (value, bound, proven) per solve and the CPU seconds per part (see module docstring)."""
    prof = cProfile.Profile(time.process_time)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    prof.enable()
    pm = PricingModel(inst, r, solver="highs", keep_loaded=keep)
    out = []
    devices = list(range(inst.n_nodes))
    for lam in prices:
        p = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
        p["bandwidth"][:] = lam * TIME_UNIT
        cap = float(np.sum(inst.bandwidth_capacity))
        for limits in ([], [(tuple(devices), "bandwidth", True, cap)]):  # a branching row (cuts nothing alone)
            pm.set_limits(limits)
            pr = pm.solve(p, time_limit=time_limit, mip_gap=GAP, threads=1, seed=0)
            out.append((lam, bool(limits), pr.value, pr.bound, pr.proven))
        pm.set_limits([])
    prof.disable()
    st = pstats.Stats(prof)

    def cum(match) -> float:
        return sum(v[3] for k, v in st.stats.items() if match(k))

    parts = {
        "wall": time.perf_counter() - wall0,
        "cpu": time.process_time() - cpu0,
        "build": pm.build_s,
        "set_instance": cum(lambda k: k[0].endswith("solvers/highs.py") and k[2] == "set_instance"),
        "update": cum(lambda k: k[0].endswith("common/persistent.py") and k[2] == "update"),
        "run": cum(lambda k: "highspy._core.run" in k[2]),
    }
    return out, parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--prices", type=float, nargs="+", required=True, help="TIME_UNIT per byte")
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per pricing solve")
    ap.add_argument("--request", type=int, default=0)
    args = ap.parse_args(argv)
    inst = load_instance(args.instance)
    res = {}
    for keep in (False, True):
        out, parts = _run(inst, args.request, args.prices, args.time_limit, keep)
        res[keep] = out
        name = "kept loaded" if keep else "loaded anew"
        print(f"{inst.name}, {len(out)} pricing solves, model {name}: wall {parts['wall']:.2f} s, CPU {parts['cpu']:.2f} s "
              f"(build {parts['build']:.2f} s wall; set_instance {parts['set_instance']:.2f}, update {parts['update']:.2f}, "
              f"HiGHS run {parts['run']:.2f}); closed {sum(o[4] for o in out)}/{len(out)}")
    bad = 0
    for a, b in zip(res[False], res[True]):
        lam, lim, va, ba, pa = a
        _, _, vb, bb, pb = b
        # a closed solve proves v within the gap: the other mode's bound may not exceed it, nor its value fall below
        for v, bnd, p, other_b in ((va, ba, pa, bb), (vb, bb, pb, ba)):
            if p and v is not None and other_b > v * (1 + 2 * GAP) + 1e-15:
                bad += 1
        print(f"lam {lam:g}{' +row' if lim else ''}: anew {va * 1e3 if va else math.nan:.6f} ms >= {ba * 1e3:.6f} "
              f"({'closed' if pa else 'open'}); kept {vb * 1e3 if vb else math.nan:.6f} ms >= {bb * 1e3:.6f} "
              f"({'closed' if pb else 'open'})")
    print("modes agree" if not bad else f"{bad} disagreements (a bound above a proven value)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
