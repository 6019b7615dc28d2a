"""Model sizes and solve times of per-map, compact and tight on DAG networks (MODEL.md section 9).

On the micro DAGs of tests/test_dag_evaluator.py (a grouped convolution, adds of whole maps,
and the counted residual / concat / depthwise blocks) each formulation is built and solved to a
zero gap (HiGHS, one thread); with ``--instance FILE --build-only`` the formulations are only
built (a large network: per-map is skipped when its size estimate exceeds ``--max-vars``).
Prints one Markdown row per network and formulation: variables, integer variables, rows, the
layers indexed per map, build and solve seconds, the objective re-scored by the evaluator.

    nice -n 10 .venv/bin/python benchmarks/milp/dag_sizes.py --requests 2 --devices 3
    nice -n 10 .venv/bin/python benchmarks/milp/dag_sizes.py --instance benchmarks/own_networks/resnet18-10x20.json --build-only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from optdist.instance import Instance, load_instance  # noqa: E402
from optdist.milp import build  # noqa: E402
from optdist.milp.data import model_data  # noqa: E402
from optdist.solve import solve  # noqa: E402

FORMULATIONS = ("per-map", "compact", "tight")


def row(name: str, inst: Instance, formulation: str, build_only: bool, max_vars: int) -> str:
    """One Markdown row: sizes, build time, and (unless ``build_only``) solve time and objective."""
    size = model_data(inst, frozenset(), None, None).size_estimate(formulation)
    if size > max_vars:
        return f"| {name} | {formulation} | ~{size:,} (estimate, not built) | | | | | | |"
    t0 = time.perf_counter()
    b = build(inst, formulation)
    tb = time.perf_counter() - t0
    st = b.stats()
    maps = sum(len(b.data.map_layers(r)) for r in b.requests[:1]) if formulation != "per-map" else "all"
    solved = ""
    if not build_only:
        t0 = time.perf_counter()
        res = solve(inst, formulation=formulation, mip_gap=0.0, threads=1)
        solved = f"{time.perf_counter() - t0:.2f} | {res.termination} | {res.evaluator_objective:.6g}"
    else:
        solved = " | | "
    return (f"| {name} | {formulation} | {st['variables']:,} | {st['integer_variables']:,} | {st['constraints']:,} "
            f"| {maps} | {tb:.2f} | {solved} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--networks", nargs="+", default=["grp", "mrg", "loop", "res", "cat", "dw"])
    p.add_argument("--requests", type=int, default=1)
    p.add_argument("--devices", type=int, default=3)
    p.add_argument("--instance", type=Path, help="an instance file instead of the micro networks")
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--max-vars", type=int, default=2_000_000, help="skip a formulation estimated larger")
    a = p.parse_args(argv)
    print("| network | formulation | variables | integer | rows | layers per map (request 0) | build s "
          "| solve s | status | objective (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    if a.instance is not None:
        inst = load_instance(a.instance)
        for f in FORMULATIONS:
            print(row(inst.name, inst, f, a.build_only, a.max_vars), flush=True)
        return 0
    from tests.test_dag_evaluator import dag_instance

    for cnn in a.networks:
        inst = dag_instance(Path(tempfile.mkdtemp()), cnn, a.requests, a.devices)
        for f in FORMULATIONS:
            print(row(f"{cnn}-{a.requests}x{a.devices}", inst, f, a.build_only, a.max_vars), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
