"""The patterns construction alone on the full paper scenario (benchmarks/scale/README.md, hetero
section): wall time, the evaluator's objective and which mix found it, per instance.

    nice -n 10 python benchmarks/scale/patterns_alone.py instances/paper/hetero-250x70-tau0.8.json ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optdist.evaluate import evaluate  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.milp.decomposition.patterns import fit_by_patterns  # noqa: E402

from _scale_common import run_on_instances  # noqa: E402


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
    run_on_instances(main, "patterns_alone.py")
