"""The patterns construction alone on the full paper scenario (benchmarks/scale/README.md, hetero
section): wall time, the evaluator's objective and which mix found it, per instance.

    nice -n 10 python benchmarks/scale/patterns_alone.py instances/paper/hetero-250x70-tau0.8.json ...
"""

from __future__ import annotations

import sys
import time

from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.jsonfile import DocumentError
from optdist.milp.decomposition.patterns import fit_by_patterns


def main(paths: list[str], budget: float = 600.0) -> None:
    for path in paths:
        inst = load_instance(path)
        t0 = time.perf_counter()
        asg = fit_by_patterns(inst, deadline=t0 + budget)
        wall = time.perf_counter() - t0
        if asg is None:
            print(f"{path}: none in {wall:.1f} s", flush=True)
            continue
        ev = evaluate(inst, asg)
        print(f"{path}: {wall:.1f} s, objective {ev.objective:.6f} s (feasible {ev.feasible}), "
              f"{asg.meta['found_by']}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/scale/patterns_alone.py INSTANCE.json ...")
    try:
        main(sys.argv[1:])
    except (FileNotFoundError, DocumentError) as e:  # the message names the file, the field and the fix
        sys.exit(f"{sys.argv[0]}: error: {e}")
