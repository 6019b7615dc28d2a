"""A pricing lower bound by dynamic programming over owner counts per class of identical devices.

Probe (issue 14, cifar-20x20): is a relaxation that keeps the number of owners of every layer
integral stronger than the pricing model's LP at binding prices? States: for each device layer k,
``a[G]`` = how many devices of group G (identical devices) own segments of k. Each term of the
priced latency (MODEL.md sections 4-5: stage times, bytes sent priced at the sender, memory and
compute prices) is bounded from below given the owner counts of k and k-1 alone, with segment
counts integral (a stage's makespan over its owners) and the overlap between consecutive owner
sets as large as the groups allow. Every bound is a minimum over a superset of the placements,
so the shortest path is a lower bound on ``v(pi)``.

    python benchmarks/scale/owner_dp_probe.py benchmarks/scale/pricing_prices/cifar-20x20-nexus-rpi3.json [--only 0]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys

import numpy as np

from optdist.instance import load_instance
from optdist.transfers import edges


def _groups(inst, sec):  # noqa: ANN001
    keys: dict = {}
    for j in range(inst.n_devices):
        key = (tuple(np.round(sec[:, j], 15)), float(inst.rate[j]))
        keys.setdefault(key, []).append(j)
    return list(keys.values())


def makespan(P: int, a: tuple[int, ...], t: np.ndarray, cap: int) -> float:
    """min over integer splits of P segments among a[G] owners (each 1..cap) of max n_j t_G."""
    live = [g for g in range(len(a)) if a[g] > 0]
    if sum(a[g] for g in live) * cap < P or sum(a) > P:
        return math.inf
    if all(t[g] == 0 for g in live):
        return 0.0
    levels = sorted({u * float(t[g]) for g in live for u in range(1, cap + 1)})
    floor_level = max(float(t[g]) for g in live)
    for T in levels:
        if T < floor_level - 1e-18:
            continue
        most = sum(a[g] * (cap if t[g] == 0 else min(cap, int(math.floor(T / t[g] * (1 + 1e-12))))) for g in live)
        if most >= P:
            return T
    return math.inf


def least_linear(P: int, a: tuple[int, ...], ov: tuple[int, ...], c_ov: np.ndarray, c_no: np.ndarray,
                 cap: int) -> float:
    """min sum_j n_j cost_j: a[G] owners, ov[G] of them at cost c_ov[G], the rest c_no[G]; 1 <= n_j <= cap."""
    items = []
    for g in range(len(a)):
        if ov[g]:
            items.append((float(c_ov[g]), ov[g]))
        if a[g] - ov[g]:
            items.append((float(c_no[g]), a[g] - ov[g]))
    base = sum(c * m for c, m in items)
    left = P - sum(a)
    for c, m in sorted(items):
        take = min(left, m * (cap - 1))
        base += take * c
        left -= take
    return base if left == 0 else math.inf


def bound(inst, r: int, prices: dict[str, np.ndarray]) -> float:  # noqa: ANN001
    prof, lim = inst.profile(r), inst.limit(r)
    sec = inst.segment_seconds(r)
    L = prof.n_layers
    if not (prof.is_chain and lim.on_source[0] and lim.on_source[L - 1] and not any(lim.on_source[1:L - 1])):
        raise ValueError(f"{inst.name}, request {r}: the probe takes a chain CNN whose first and last layers alone "
                         "run on the source (fix: a CIFAR set, e.g. instances/coupled/cifar-6x5-nexus-rpi3.json)")
    groups = _groups(inst, sec)
    G = len(groups)
    s = int(inst.request_source[r])
    rho_g = np.array([inst.rate[g[0]] for g in groups])
    pi = {res: np.array([min(float(prices[res][j]) for j in g) for g in groups]) for res in prices}
    lay = prof.layers
    ed = edges(prof)
    states = [a for a in itertools.product(*[range(len(g) + 1) for g in groups]) if sum(a) >= 1]

    def res_cost(k: int) -> np.ndarray:
        return lay[k].weight_bytes_per_segment * pi["memory"] + lay[k].mults_per_segment * pi["compute"]

    # source layer 0 (constant): compute, its prices, and the bytes it sends (all at the source's price)
    const = lay[0].segments * sec[0, s] + lay[0].segments * (
        lay[0].weight_bytes_per_segment * prices["memory"][s] + lay[0].mults_per_segment * prices["compute"][s])
    const += lay[L - 1].segments * sec[L - 1, s] + lay[L - 1].segments * (
        lay[L - 1].weight_bytes_per_segment * prices["memory"][s] + lay[L - 1].mults_per_segment * prices["compute"][s])
    best = {}  # state of layer k -> least cost of layers 1..k
    for k in range(1, L - 1):
        e = ed[k][0]
        P = lay[k].segments
        cap = P if lim.device_cap[k] is None else min(P, int(lim.device_cap[k]))
        new = {}
        for a in states:
            if sum(a) > P:
                continue
            prevs = [None] if k == 1 else list(best)
            for ap in prevs:
                prev_cost = 0.0 if ap is None else best[ap]
                if e.kind == "conv":
                    senders_price = prices["bandwidth"][s] if ap is None else float(np.dot(ap, pi["bandwidth"]))
                    rho_send = inst.rate[s] if ap is None else max(rho_g[g] for g in range(G) if ap[g])
                    n_send = 1 if ap is None else sum(ap)
                    ov = tuple(0 for _ in a) if ap is None else tuple(min(a[g], ap[g]) for g in range(G))
                    if P > 1:
                        coef = e.per_receiver_segment
                        wait = coef / rho_send if (ap is None or n_send >= 2) else 0.0
                        T = makespan(P, a, sec[k, [g[0] for g in groups]] + wait, cap)
                        c_no = coef * senders_price + res_cost(k)
                        c_ov = coef * (senders_price - pi["bandwidth"]) + res_cost(k)
                        lin = least_linear(P, a, ov, c_ov, c_no, cap)
                    else:  # one owner (fc): per_pair bytes from every other sender
                        if sum(a) != 1:
                            continue
                        g = a.index(1)
                        coef = e.per_pair
                        T = sec[k, groups[g][0]] + (coef / rho_send if (ap is None or n_send >= 2 or not ov[g]) else 0.0)
                        lin = coef * (senders_price - (pi["bandwidth"][g] if ov[g] else 0.0)) + res_cost(k)[g]
                elif e.kind == "flow":
                    T = makespan(P, a, sec[k, [g[0] for g in groups]], cap)
                    rc = res_cost(k)
                    lin = least_linear(P, a, tuple(0 for _ in a), rc, rc, cap)
                elif e.kind == "to_fc":
                    if sum(a) != 1:
                        continue
                    g = a.index(1)
                    Pp = lay[k - 1].segments
                    capp = Pp if lim.device_cap[k - 1] is None else min(Pp, int(lim.device_cap[k - 1]))
                    others = sum(ap) - (1 if ap[g] else 0)
                    held_elsewhere = max(Pp - capp, others) if ap[g] else Pp
                    pmin = min(pi["bandwidth"][h] for h in range(G) if ap[h])
                    rmax = max(rho_g[h] for h in range(G) if ap[h])
                    lin = e.beta * held_elsewhere * pmin + res_cost(k)[g]
                    wait = 0.0 if others == 0 else e.beta * math.ceil(held_elsewhere / others) / rmax
                    T = sec[k, groups[g][0]] + wait
                else:
                    raise ValueError(f"{inst.name}: edge {lay[k - 1].name} -> {lay[k].name} ({e.kind}) is not in "
                                     "the probe (fix: a CIFAR set)")
                c = prev_cost + T + lin
                if c < new.get(a, math.inf):
                    new[a] = c
        best = new
    # last edge into the source layer L-1: fc -> fc (per_pair) from the one owner of L-2
    e = ed[L - 1][0]
    tail = math.inf
    for a, c in best.items():
        if e.kind == "fc" and sum(a) == 1:
            g = a.index(1)
            tail = min(tail, c + e.per_pair / rho_g[g] + e.per_pair * pi["bandwidth"][g])
        elif e.kind != "fc":
            raise ValueError(f"{inst.name}: edge into {lay[L - 1].name} ({e.kind}) is not in the probe (fix: a CIFAR set)")
    return const + tail


def main(argv: list[str] | None = None) -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--only", type=int, nargs="*")
    p.add_argument("--zero", action="store_true", help="prices 0")
    args = p.parse_args(argv)
    with open(args.file) as f:
        data = json.load(f)
    inst = load_instance(data["instance"])
    for q, sv in enumerate(data["solves"]):
        if args.only is not None and q not in args.only:
            continue
        prices = {k: np.asarray(v, dtype=float) * (0.0 if args.zero else 1.0) for k, v in sv["prices"].items()}
        b = bound(inst, sv["r"], prices)
        print(f"solve {q}: DP bound {b:.6f}  (run: column {sv['value']:.6f}, bound {sv['bound']:.6f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
