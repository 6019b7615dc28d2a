"""How large the default ``rejection_penalty`` is next to the objective (README, "Instances",
the objective fields): the instance with admission control, then with one idle slow-radio
device added (an ``stm32h7`` at ``rate`` B/s, placed nowhere), solved by the ``tight`` model
with HiGHS; per row the default penalty (1000 x a bound on any latency, which divides by the
slowest rate), the optimum (evaluator) and their ratio.

    python benchmarks/milp/rejection_penalty_scale.py instances/tiny/lenet-2x4-tight.json [RATE ...]
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from optdist.instance import load_instance, parse
from optdist.solve import solve


def main(argv: list[str]) -> int:
    """Print one row per radio rate (default 10 and 1 B/s); exit 2 on bad arguments."""
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    try:
        rates = [float(x) for x in argv[1:]] or [10.0, 1.0]
    except ValueError as e:
        print(f"RATE must be a number of bytes per second: {e}", file=sys.stderr)
        return 2
    if not all(0 < r < float("inf") for r in rates):
        print(f"RATE must be a positive number of bytes per second, not {argv[1:]}", file=sys.stderr)
        return 2
    try:
        base = load_instance(argv[0])
    except (OSError, ValueError) as e:  # a missing or invalid file: its message names the field and the fix
        print(e, file=sys.stderr)
        return 2
    spec = base.spec.model_dump(mode="json", exclude_none=True)
    spec["objective"]["admission"] = True
    rows = ["| radio B/s | rejection_penalty s | optimum s | penalty / optimum | rejected |", "|---:|---:|---:|---:|---:|"]
    for rate in [None, *rates]:  # the table printed after the solves: their warnings (stderr) stay above it
        doc = copy.deepcopy(spec)
        if rate is not None:
            doc["devices"].append({"id": "slow-radio", "type": "stm32h7", "rate": rate})
        inst = parse(doc, argv[0], Path(argv[0]))
        res = solve(inst, formulation="tight", threads=1)
        pen = inst.rejection_penalty()
        rows.append(f"| {'-' if rate is None else f'{rate:g}'} | {pen:.4g} | {res.evaluator_objective:.4g} | "
                    f"{pen / res.evaluator_objective:.2g} | {res.extra.get('rejected')} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
