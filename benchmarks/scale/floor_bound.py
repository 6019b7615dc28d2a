"""The certified bound of the pricing floors alone (benchmarks/scale/README.md, hetero section).

Column generation's bound on ``hetero-250x70`` is the Lagrangian on the pricing floors,
``L(pi) = -pi . rhs + sum_c n_c max(F_c(pi), B_c(0) + F^{w=0}_c(pi))``
(:mod:`optdist.milp.decomposition.floor`), maximised by :func:`dual_ascent`. This script computes
it without the rest of the run: ``B_c(0)`` (each class alone at prices 0: the pricing model's
proven bound, ``--alone-limit`` seconds each) is cached in ``--cache`` (JSON, written
atomically) so that iterating on the floor costs only the ascent.

    nice -n 10 python benchmarks/scale/floor_bound.py instances/paper/hetero-250x70-tau0.8.json \
        --cache /tmp/alone08.json [--floor typed|counts] [--seconds 30] [--target 69.219]

Prints, per class, the floor at prices 0 and ``B_c(0)``, then the ascent's best bound (seconds,
the sum over requests, as the solve reports it) and its time. With admission each class's term
is capped at the rejection penalty (as column generation does); a makespan objective, a class
without a floor (a DAG network) and bad numbers or a foreign ``--cache`` are refused (exit 2).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optdist.io import atomic_write_json, restore_non_finite  # noqa: E402
from optdist.jsonfile import MiB, DocumentError, Problem, read_json  # noqa: E402
from optdist.milp.decomposition.colgen import MasterProblem  # noqa: E402
from optdist.milp.decomposition.floor import class_floors, dual_ascent  # noqa: E402
from optdist.transfers import RESOURCES  # noqa: E402

from _scale_common import latency_instance  # noqa: E402


def alone_bounds(inst, P: MasterProblem, cache: str | None, limit: float) -> list[float]:  # noqa: ANN001
    """``B_c(0)`` per master class (seconds), from ``cache`` when it has them."""
    from optdist.milp.decomposition.pricing import PricingModel

    if cache and os.path.exists(cache):
        saved = restore_non_finite(read_json(cache, MiB, what="--cache (B_c(0))"), str(cache))
        if isinstance(saved, dict) and saved.get("instance") == inst.name:
            by_kind = saved.get("by_kind")
            try:
                return [float(by_kind[str(q)]) for q in P.kinds]  # type: ignore[index]
            except (KeyError, TypeError, ValueError):
                raise DocumentError(cache, [Problem("by_kind", f"not a number for every request class of {inst.name} "
                                                    f"({sorted(set(P.kinds))})", "delete the file (it is remade) or "
                                                    "give another --cache")]) from None
        if not isinstance(saved, dict) or "instance" not in saved:
            raise DocumentError(cache, [Problem("(document)", "not a B_c(0) cache of this script (an object with "
                                                "'instance' and 'by_kind')", "give another --cache path")])
    by_kind: dict[int, float] = {}
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    for c, q in enumerate(P.kinds):
        if q in by_kind:
            continue
        t0 = time.perf_counter()
        pr = PricingModel(inst, P.members[c][0], solver="highs").solve(zero, time_limit=limit, mip_gap=1e-4,
                                                                        threads=1, seed=0)
        by_kind[q] = float(pr.bound)
        print(f"class kind {q}: B(0) = {pr.bound:.4f} s (proven {pr.proven}, {time.perf_counter() - t0:.1f} s)",
              flush=True)
    if cache:
        atomic_write_json(cache, {"instance": inst.name, "by_kind": {str(k): v for k, v in by_kind.items()}},
                          non_finite=True)  # an infeasible class: B(0) = inf
    return [by_kind[q] for q in P.kinds]


def cutting_plane(floors, P: MasterProblem, best0, pi0, seconds: float, box: float | None = None,  # noqa: ANN001
                  penalty: float = math.inf):
    """Proximal Kelley steps on ``L`` (a check of whether the Polyak steps are the limit): the LP
    ``max t, t <= L(q_j) + g_j (q - q_j)`` over the cuts so far, ``q`` (prices in shares of each
    row's capacity) in a box of half-width ``delta`` around the best point, solved by HiGHS
    (scipy); the box grows after a better point and shrinks after a worse one. Every value is
    ``L`` at a real price vector, so the best is a valid bound. ``box``: instead, plain Kelley
    over the fixed box ``0 <= q <= box``; without ``B_c(0)`` ``L`` is concave (each floor is a
    minimum of affine functions of the prices), so the LP's value is then an upper bound on
    ``max L`` over that box (``model`` in the log). ``penalty``: the rejection cost per request
    (admission; each class's term is at most it, as in :func:`dual_ascent`). Returns (best, its
    prices, log)."""
    from scipy.optimize import linprog

    from optdist.milp.decomposition.floor import class_bound

    scale = np.where(P.rhs > 0, P.rhs, 0.0)
    live = scale > 0

    def lag(q):
        pi = np.divide(q, scale, out=np.zeros(len(q)), where=live)
        prices = P.node_prices(pi)
        total, g = float(-pi @ P.rhs), -P.rhs.astype(float)
        for f, n, b0 in zip(floors, P.sizes, best0):
            v, use = class_bound(f, prices, b0)
            if v >= penalty:  # rejecting is cheaper (admission): no usage
                v, use = penalty, None
            total += n * v
            if use is not None:
                g = g + n * P.usage(use)
        return total, np.divide(g, scale, out=np.zeros(len(q)), where=live)  # dL/dq

    q_c = pi0 * scale
    best, g = lag(q_c)
    cuts = [(best, q_c.copy(), g)]
    delta, t_end, log = max(float(q_c.max()), 1.0), time.perf_counter() + seconds, []
    idx = np.flatnonzero(live)
    while time.perf_counter() < t_end and delta > 1e-6:
        # variables: q[idx], t; maximise t
        n = len(idx)
        A = np.array([np.concatenate([-gj[idx], [1.0]]) for _v, _q, gj in cuts])
        b = np.array([v - gj[idx] @ qj[idx] for v, qj, gj in cuts])
        if box is None:
            bounds = [(max(0.0, q_c[i] - delta), q_c[i] + delta) for i in idx] + [(None, None)]
        else:
            bounds = [(0.0, box)] * n + [(None, None)]
        res = linprog(np.concatenate([np.zeros(n), [-1.0]]), A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if res.status != 0:
            break
        q = q_c.copy()
        q[idx] = res.x[:n]
        v, g = lag(q)
        cuts.append((v, q.copy(), g))
        predicted = -res.fun
        if v > best * (1 + 1e-9):
            best, q_c = v, q
            delta *= 2
        elif box is None:
            delta /= 2
        log.append({"value": v, "model": predicted, "best": best, "delta": delta})
    return best, np.divide(q_c, scale, out=np.zeros(len(q_c)), where=live), log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--cache", default=None, help="JSON file holding B_c(0) (made on the first run)")
    ap.add_argument("--alone-limit", type=float, default=300.0, help="seconds per class alone at prices 0")
    ap.add_argument("--floor", choices=("typed", "counts"), default="typed",
                    help="typed: owner counts per device group; counts: owner counts only (the old floor)")
    ap.add_argument("--seconds", type=float, default=30.0, help="time for the dual ascent")
    ap.add_argument("--cutting-plane", type=float, default=0.0,
                    help="seconds of cutting-plane (proximal Kelley) steps after the ascent (0: none)")
    ap.add_argument("--box", type=float, default=None,
                    help="cutting plane: plain Kelley over 0 <= q <= BOX (prices in shares of each row)")
    ap.add_argument("--no-alone", action="store_true", help="no B_c(0): the floors alone (no MILP solves)")
    ap.add_argument("--target", type=float, default=None, help="incumbent (seconds, the objective)")
    args = ap.parse_args(argv)
    for name, low, value in (("--seconds", 0.0, args.seconds), ("--alone-limit", 0.0, args.alone_limit),
                             ("--cutting-plane", 0.0, args.cutting_plane), ("--box", 0.0, args.box)):
        if value is not None and not (math.isfinite(value) and value >= low):
            ap.error(f"{name} {value:g}: give a finite number of seconds >= {low:g} (e.g. {name} 30)"
                     if name != "--box" else f"--box {value:g}: give a finite price share >= 0 (e.g. --box 10)")
    if args.target is not None and not (math.isfinite(args.target) and args.target > 0):
        ap.error(f"--target {args.target:g}: give the incumbent's objective, a finite number of seconds > 0 "
                 "(e.g. --target 69.219)")
    if args.target is None and args.no_alone:
        ap.error("--no-alone needs --target (the incumbent's objective, seconds, e.g. --target 69.219)")
    inst = latency_instance(args.instance, "the floors bound")
    if inst is None:
        return 2
    try:
        P = MasterProblem(inst)
        penalty = inst.rejection_penalty() if inst.objective.admission else math.inf
        best0 = [None] * len(P.sizes) if args.no_alone else [
            min(b, penalty) for b in alone_bounds(inst, P, args.cache, args.alone_limit)]
    except (FileNotFoundError, DocumentError) as e:
        print(f"{sys.argv[0]}: error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    floors = class_floors(inst, [m[0] for m in P.members], typed=args.floor == "typed")
    built = time.perf_counter() - t0
    if None in floors:
        c = floors.index(None)
        print(f"{sys.argv[0]}: error: {args.instance}: request {inst.request_ids[P.members[c][0]]} "
              f"({inst.request_cnn[P.members[c][0]]}): no pricing floor for a DAG network or grouped convolution "
              "(MODEL.md section 9); the floors bound chain networks only", file=sys.stderr)
        return 2
    zero = {res: np.zeros(inst.n_nodes) for res in RESOURCES}
    for c, f in enumerate(floors):
        print(f"class {c} (kind {P.kinds[c]}, n={P.sizes[c]}): F(0) = {f.evaluate(zero)[0]:.4f} s, "
              f"B(0) = {best0[c]} s")
    target = args.target if args.target is not None else 2 * sum(n * b for n, b in zip(P.sizes, best0))
    t1 = time.perf_counter()
    val, pi, log = dual_ascent(floors, P.sizes, P.rhs, P.node_prices, P.usage, deadline=t1 + args.seconds,
                               target=target, alone=best0, penalty=penalty,
                               device_rows=[(row.resource, row.nodes[0] < inst.n_devices) for row in P.rows],
                               coarse=class_floors(inst, [m[0] for m in P.members], typed=False)
                               if args.floor == "typed" else None)
    if args.cutting_plane > 0:
        cp, pi, cp_log = cutting_plane(floors, P, best0, pi, args.cutting_plane, args.box, penalty)
        model = min((e["model"] for e in cp_log), default=math.inf)
        print(f"  cutting plane from the ascent's prices: {val:.4f} -> {cp:.4f} s ({len(cp_log)} steps, "
              f"{time.perf_counter() - t1:.1f} s in all); least LP model value {model:.4f} s")
        val = max(val, cp)
    for e in log:
        if e["phase"] != "steps" or e.get("step", 0) % 100 == 0:
            print(" ", {k: (round(v, 4) if k == "bound" and math.isfinite(v) else v) for k, v in e.items()})
    print(f"{inst.name} [{args.floor}]: bound {val:.4f} s (sum over requests), floors built in "
          f"{built:.2f} s, ascent {time.perf_counter() - t1:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
