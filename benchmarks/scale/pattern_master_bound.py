"""Is the LP master over the patterns a bound? (benchmarks/scale/README.md, hetero section.)

The patterns of :mod:`optdist.milp.decomposition.patterns` are a *restriction* (owner counts on a
grid, segments round-robin on fixed device orders), so the LP master over them is not a lower
bound, even with pricing converged. A certified bound at its duals ``pi`` needs a relaxation's
value per class: the pricing floor (:mod:`optdist.milp.decomposition.floor`),
``L(pi) = -pi . rhs + sum_c n_c F_c(pi)`` (weak duality, any ``pi >= 0``). This prints, per round
of pattern pricing at the master's duals (full capacities): the master LP value (not a bound)
and ``L`` at its duals (a bound).

    nice -n 10 python benchmarks/scale/pattern_master_bound.py instances/paper/hetero-250x70-tau0.8.json ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optdist.milp.decomposition.bounds import capacity_matrix  # noqa: E402
from optdist.milp.decomposition.classes import identical_device_groups, request_classes  # noqa: E402
from optdist.milp.decomposition.floor import class_bound, class_floors  # noqa: E402
from optdist.milp.decomposition.master import Column, Master, Row  # noqa: E402
from optdist.milp.decomposition.patterns import candidates, pattern_tables, placed_alone  # noqa: E402
from optdist.transfers import RESOURCES  # noqa: E402

from _scale_common import latency_instance, run_on_instances  # noqa: E402


def main(paths: list[str], rounds: int = 30) -> None:
    for path in paths:
        inst = latency_instance(path, "the floor Lagrangian bounds")
        if inst is None:  # the message (file, field, fix) is printed
            sys.exit(2)
        t0 = time.perf_counter()
        classes, groups = request_classes(inst), identical_device_groups(inst)
        tables = [pattern_tables(inst, c[0]) for c in classes]
        caps = capacity_matrix(inst)
        rows = [Row(tuple(g), res, float(caps[g, res].sum())) for g in groups for res in range(3)]
        sizes = [len(c) for c in classes]
        master = Master(rows, sizes, 1.0, threads=1)
        for c, (reqs, tab) in enumerate(zip(classes, tables)):
            prof, gu = candidates(inst, reqs[0], tab)
            for e, u in zip(prof, gu):
                master.add(Column(c, "placement", e[1], u), key=(c, e[0]))
        floors = class_floors(inst, [c[0] for c in classes])

        def lagrangian(pi: np.ndarray) -> float:
            prices = {}
            for res, name in enumerate(RESOURCES):
                p = np.zeros(inst.n_nodes)
                for gi, g in enumerate(groups):
                    p[g] = pi[3 * gi + res]
                prices[name] = p
            return float(-pi @ master.rhs + sum(n * class_bound(f, prices)[0] for n, f in zip(sizes, floors)))

        best = -np.inf
        for rnd in range(rounds):
            value, pi, mu = master.solve_lp()
            bound = lagrangian(pi)
            best = max(best, bound)
            added = 0
            for c, (reqs, tab) in enumerate(zip(classes, tables)):
                pattern, priced = tab.solve_at(pi, inst.objective.shared_weight)
                if priced < mu[c] - 1e-9 * max(abs(mu[c]), 1.0) and (c, pattern) not in master.keys:
                    col = placed_alone(inst, reqs[0], pattern)
                    if col is not None and master.add(Column(c, "placement", col[0][1], col[1]), key=(c, pattern)):
                        added += 1
            print(f"{path} round {rnd}: master LP {value:.3f} s (no bound), floor Lagrangian at its duals "
                  f"{bound:.3f} s, new patterns {added}, {time.perf_counter() - t0:.1f} s", flush=True)
            if not added:
                break
        print(f"{path}: best floor Lagrangian at the master's duals {best:.3f} s", flush=True)


if __name__ == "__main__":
    run_on_instances(main, "pattern_master_bound.py")
