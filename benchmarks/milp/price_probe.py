"""How far a bound on coupled requests can get, and what limits it (issue 11, tight sets).

    .venv/bin/python benchmarks/milp/price_probe.py instances/paper/lenet-10x10-tight-tau0.6.json \
        --prices 0.005 0.0095 --time-limit 60

For one request class (every request of the instance must be in it) and the group of
identical devices, each price ``lam`` (model time units, 1e-6 s, per byte) solves one request
alone on the ``tight`` model with objective ``latency + lam x bytes the group's devices send``
(HiGHS, threads 1) and prints its proven bound ``v(lam)``, its incumbent, and the Lagrangian
bound ``L(lam) = n v(lam) - lam x (bandwidth capacity of the group)``
(:func:`optdist.milp.decomposition.master.lagrangian_bound`), valid for every ``lam >= 0``.
With identical requests and identical devices, the best such scalar price gives the
Dantzig-Wolfe bound, so this shows the bound column generation can certify at most, and how
long one pricing solve takes to prove ``v(lam)``. ``--lp`` also prints the LP relaxation
values (integrality dropped) of each priced model and of the whole instance's ``tight``
model: how much of the gap the formulation leaves to branching. Prints only; writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pyomo.environ as pyo

from optdist.instance import load_instance
from optdist.milp.data import TIME_UNIT
from optdist.milp.decomposition.classes import identical_device_groups, request_classes
from optdist.milp.decomposition.master import lagrangian_bound
from optdist.milp.model import BuiltModel, build
from optdist.milp.run import adapter_for, solve_built


def _lp(b: BuiltModel, show: int | None = None) -> float:
    """The LP relaxation value (seconds) of ``b``, on a copy with integrality dropped; with
    ``show`` (a request), print per layer its stage time, the segments ``sum_i n`` it places,
    on how many nodes, and the participation ``sum_i y`` (the owners the transfers pay for),
    and per conv transition the partial sums kept ``sum_i v`` (not sent)."""
    m = b.model.clone()
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    out = adapter_for("highs").solve(m, threads=1)
    if show is not None:
        r = show
        for k, layer in enumerate(b.inst.profile(r).layers):
            n = [pyo.value(m.n[key]) for key in m.n if key[0] == r and key[1] == k]
            y = [pyo.value(m.y[key]) for key in m.y if key[0] == r and key[1] == k]
            kept = [pyo.value(m.v[key]) for key in m.v if key[0] == r and key[1] == k] if m.component("v") else []
            T = pyo.value(m.T[r, k]) * TIME_UNIT * 1e3 if (r, k) in m.T else 0.0
            print(f"  layer {k} {layer.kind:11s} {layer.segments:3d} segments: T {T:.6f} ms, sum n {sum(n):.3f} on "
                  f"{sum(v > 1e-6 for v in n)} nodes, sum y {sum(y):.3f}"
                  + (f", partial sums kept into it {sum(kept):.3f}" if kept else ""))
    return out.incumbent * TIME_UNIT


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--prices", type=float, nargs="+", required=True, help="TIME_UNIT per byte")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per pricing solve")
    ap.add_argument("--lp", action="store_true", help="also print LP relaxation values")
    ap.add_argument("--pricing-model", action="store_true",
                    help="solve with column generation's PricingModel instead (latency cut at the "
                         "zero-price optimum's priced value, which warm-starts it)")
    args = ap.parse_args(argv)
    inst = load_instance(args.instance)
    classes = request_classes(inst)
    groups = [g for g in identical_device_groups(inst) if len(g) > 1]
    if len(classes) != 1 or len(groups) != 1:
        print(f"{args.instance}: needs one request class and one group of identical devices "
              f"(found {len(classes)} and {len(groups)})", file=sys.stderr)
        return 2
    group, r, n = groups[0], classes[0][0], len(classes[0])
    cap = float(np.sum(inst.bandwidth_capacity[group]))
    if args.pricing_model:
        return _pricing_model(inst, r, n, group, cap, args)
    b = build(inst, "tight", requests=[r])
    sent = pyo.quicksum(b.usage(r, i, "bandwidth") for i in group)
    adapter = adapter_for("highs")
    print(f"{inst.name}: {n} requests, {len(group)} identical devices, group bandwidth {cap:.0f} B per period")
    if args.lp:
        whole = build(inst, "tight")
        print(f"LP relaxation of the whole tight model: {_lp(whole) * 1e3:.6f} ms")
    for lam in args.prices:
        b.set_objective(b.latency(r) + lam * sent)
        if args.lp:
            print(f"lam {lam:g}: LP relaxation {_lp(b) * 1e3:.6f} ms")
        t0 = time.perf_counter()
        out, _asg, _ = solve_built(b, adapter, time_limit=args.time_limit, mip_gap=1e-6, threads=1, seed=None,
                                   tee=False)
        secs = time.perf_counter() - t0
        v = out.bound if out.bound is not None else -np.inf
        L = lagrangian_bound(np.array([lam]), np.array([cap]), [n], [v]) * TIME_UNIT
        inc = "-" if out.incumbent is None else f"{out.incumbent * TIME_UNIT * 1e3:.6f} ms"
        print(f"lam {lam:g}: {out.termination} in {secs:.1f} s, {out.nodes} nodes; v >= {v * TIME_UNIT * 1e3:.6f} ms "
              f"(incumbent {inc}, latency {pyo.value(b.latency(r)) * TIME_UNIT * 1e3:.6f} ms, "
              f"group bytes {pyo.value(sent):.0f}); L(lam) = {L * 1e3:.6f} ms")
    return 0


def _pricing_model(inst, r: int, n: int, group: list[int], cap: float, args) -> int:
    """``--pricing-model``: :class:`optdist.milp.decomposition.pricing.PricingModel` at each price,
    warm-started with the zero-price optimum (whose priced value caps the latency), as in the
    column generation's rounds; with ``--lp``, the LP relaxation under that cap and the conv
    owners' participation in it."""
    import math

    from optdist.milp.decomposition.pricing import RESOURCES, PricingModel
    from optdist.milp.decomposition.repair import alone

    pm = PricingModel(inst, r, solver="highs")
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    p0 = pm.solve(zero, time_limit=args.time_limit, mip_gap=1e-6, threads=1, seed=0)
    cost, use = alone(inst, r, p0.owners)
    print(f"{inst.name}: {n} requests; zero prices: {p0.value * 1e3:.6f} ms in {p0.seconds:.2f} s")
    for lam in args.prices:
        prices = dict(zero)
        prices["bandwidth"] = np.zeros(inst.n_nodes)
        prices["bandwidth"][group] = lam * TIME_UNIT
        start_value = cost + lam * TIME_UNIT * float(use[group, 2].sum())
        if args.lp:
            tu = pm.b.time_unit
            pm.b.set_objective(pm.base + sum((lam * TIME_UNIT / tu) * pm.usage[i, "bandwidth"] for i in group
                                             if not isinstance(pm.usage[i, "bandwidth"], int)))
            pm._restrict(start_value)
            print(f"lam {lam:g}: LP relaxation under the cap {_lp(pm.b, show=r) * 1e3:.6f} ms (above: its solution)")
            pm._restrict(None)
        pr = pm.solve(prices, time_limit=args.time_limit, mip_gap=1e-6, threads=1, seed=0, start=p0.owners,
                      start_value=start_value, steps=(math.inf,))
        L = lagrangian_bound(np.array([lam]), np.array([cap]), [n], [pr.bound / TIME_UNIT]) * TIME_UNIT
        print(f"lam {lam:g}: {'closed' if pr.proven else 'not closed'} in {pr.seconds:.1f} s, {pr.log['nodes']} nodes; "
              f"v >= {pr.bound * 1e3:.6f} ms (incumbent {pr.value * 1e3:.6f} ms); L(lam) = {L * 1e3:.6f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
