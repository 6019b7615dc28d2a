"""Where the start placement's time goes (benchmarks/scale/README.md, "The construction's time at
scale"): per instance, ``placement_by_construction`` with the budget the engine gives it in a
600-s run (``orchestrate.WINDOW_SHARE`` of the ~300 s left after the per-request optima), each
step it runs timed on its own (the patterns on each grid, the windows, the equal shares: wall
seconds, its budget, the evaluator's objective of what it returns, which mix found it), then the
whole. Works on any checkout of the repository (run it with that tree first on ``PYTHONPATH``,
e.g. a ``git archive`` of an older commit): the steps are timed by wrapping the functions the
construction looks up at call time. A primal heuristic's diagnosis: no value here is a bound.

    nice -n 10 python benchmarks/scale/construction_steps.py instances/paper/hetero-250x70-tau0.8.json ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import optdist.milp.decomposition.construct as construct  # noqa: E402
import optdist.milp.decomposition.patterns as patterns  # noqa: E402
from optdist.evaluate import evaluate  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.milp.decomposition.orchestrate import WINDOW_SHARE  # noqa: E402

from _scale_common import run_on_instances  # noqa: E402

#: seconds a 600-s run has left when it starts the construction (per-request optima at ~295 s on
#: the paper scenario, benchmarks/scale/README.md)
LEFT_S = 300.0


STEPS = ((patterns, "fit_by_patterns"), (construct, "fit_by_windows"), (construct, "window_placement"))


def _timed(step):
    """``step`` wrapped: each call's wall time, budget and result printed."""

    def wrapper(inst, *args, deadline: float, **kw):
        t0 = time.perf_counter()
        asg = step(inst, *args, deadline=deadline, **kw)
        wall = time.perf_counter() - t0
        how = ", ".join(f"{k} {len(v) if isinstance(v, tuple) else v}" for k, v in kw.items())
        got = "none" if asg is None else f"{evaluate(inst, asg).objective:.6f} s ({asg.meta.get('found_by')})"
        print(f"{inst.name} | {step.__name__}{f' ({how})' if how else ''} | budget {deadline - t0:.1f} s | "
              f"{wall:.1f} s | {got}", flush=True)
        return asg

    return wrapper


def main(paths: list[str]) -> None:
    real = [getattr(module, name) for module, name in STEPS]
    for (module, name), step in zip(STEPS, real):
        setattr(module, name, _timed(step))
    try:
        for path in paths:
            inst = load_instance(path)
            t0 = time.perf_counter()
            asg = construct.placement_by_construction(inst, deadline=t0 + WINDOW_SHARE * LEFT_S)
            wall = time.perf_counter() - t0
            got = "none" if asg is None else f"{evaluate(inst, asg).objective:.6f} s ({asg.meta.get('found_by')})"
            print(f"{inst.name} | construction | budget {WINDOW_SHARE * LEFT_S:.1f} s | {wall:.1f} s | {got}",
                  flush=True)
    finally:
        for (module, name), step in zip(STEPS, real):
            setattr(module, name, step)


if __name__ == "__main__":
    run_on_instances(main, "construction_steps.py")
