"""The patterns construction's variants side by side (benchmarks/scale/README.md, "Finer owner
counts, segments by speed and a relabelling MIP"): per instance and per variant (owner-count grid
``COUNTS`` or ``FINE_COUNTS``; segments round robin or by speed), the integer master's plan over
the patterns at fill 1 and 0.99 (``master_mix``: the sum of its columns' costs, each pattern
placed alone; no bound), and ``fit_by_patterns``'s placement (evaluator objective, wall time,
which mix and step found it). A primal heuristic's diagnosis: no value printed here is a bound.

    nice -n 10 python benchmarks/scale/pattern_variants.py instances/coupled/cifar-20x20-nexus-rpi3.json ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optdist.evaluate import evaluate  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.milp.decomposition.bounds import capacity_matrix  # noqa: E402
from optdist.milp.decomposition.classes import identical_device_groups, request_classes  # noqa: E402
from optdist.milp.decomposition.patterns import (COUNTS, FINE_COUNTS, candidates, fit_by_patterns,  # noqa: E402
                                                 master_mix, pattern_tables)

from _scale_common import run_on_instances  # noqa: E402

VARIANTS = (("coarse grid, round robin", COUNTS, False), ("fine grid, round robin", FINE_COUNTS, False),
            ("coarse grid, by speed", COUNTS, True), ("fine grid, by speed", FINE_COUNTS, True))
BUDGET = 30.0  # seconds per fit_by_patterns call


def plans(inst, grid, weighted) -> dict[float, float | None]:
    """The integer master's plan (s) over the patterns at fills 1 and 0.99 (None: no mix fits)."""
    classes = request_classes(inst)
    tables = [pattern_tables(inst, c[0], grid, weighted) for c in classes]
    if any(t is None for t in tables):
        return {}
    caps = capacity_matrix(inst)
    total = np.concatenate([caps[g].sum(axis=0) for g in identical_device_groups(inst)])
    profiles, group_use = [], []  # the candidates do not depend on the fill
    for reqs, tab in zip(classes, tables):
        prof, gu = candidates(inst, reqs[0], tab)
        profiles.append(prof)
        group_use.append(gu)
    out = {}
    for fill in (1.0, 0.99):
        x = master_mix(inst, classes, tables, profiles, group_use, total, fill, deadline=time.perf_counter() + BUDGET)
        out[fill] = None if x is None else sum(float(np.dot([e[1] for e in p], xc)) for p, xc in zip(profiles, x))
    return out


def main(paths: list[str]) -> None:
    for path in paths:
        inst = load_instance(path)
        for name, grid, weighted in VARIANTS:
            plan = plans(inst, grid, weighted)
            t0 = time.perf_counter()
            asg = fit_by_patterns(inst, deadline=t0 + BUDGET, grid=grid, weighted=weighted)
            wall = time.perf_counter() - t0
            shown = ", ".join(f"fill {f:g} {'-' if v is None else f'{v:.6f}'}" for f, v in plan.items())
            if asg is None:
                print(f"{inst.name} | {name} | plan {shown} | none in {wall:.1f} s", flush=True)
                continue
            ev = evaluate(inst, asg)
            print(f"{inst.name} | {name} | plan {shown} | placed {ev.objective:.6f} s (feasible {ev.feasible}) "
                  f"in {wall:.1f} s | {asg.meta['found_by']}", flush=True)


if __name__ == "__main__":
    run_on_instances(main, "pattern_variants.py")
