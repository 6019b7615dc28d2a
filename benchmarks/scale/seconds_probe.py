"""Where a column generation run's seconds go (issue 11, README "cifar43 (2026-12-06)").

Usage (from the repository root)::

    nice -n 10 python benchmarks/scale/seconds_probe.py instances/coupled/cifar-6x5-nexus-rpi3.json \
        --time-limit 60 --out r.json

Runs :func:`optdist.milp.decomposition.colgen.column_generation` as ``optdist bench
benchmarks/specs/coupled.toml`` runs it (HiGHS, threads 1, ``mip_gap`` 0.005, the spec's target;
``--no-mean-columns``: without the LP-mean columns) and prints: the result (incumbent, certified
bound, gap, wall; the placement re-scored by the evaluator), ``extra["seconds"]`` (each second of
the run in one step), each incumbent (when, what found it), each improvement (when, seconds, found
or not) and each round (when it ended, bound, LP value, pricing and LP seconds, its pricing solves:
seconds, closed, solver). ``--out`` also writes them as JSON (strict JSON: a non-finite value is null, named in its
``non_finite`` field). Bad input (a missing or broken instance file, a time out of range, an ``--out`` that cannot be
written: a folder, a missing folder, the instance file itself) is checked before the run: a message naming the file, the
field or flag and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import optdist
from optdist.instance import load_instance
from optdist.io import atomic_write_json, check_not_an_input, check_output_file
from optdist.jsonfile import DocumentError
from optdist.milp.decomposition.colgen import column_generation
from optdist.solvers.base import check_options

MIP_GAP = 0.005  # benchmarks/specs/coupled.toml's [options] mip_gap


def main(argv: list[str] | None = None) -> int:
    """Run the probe on ``argv`` (default: the command line); 0 when done, 2 on bad input."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", help="write the record as JSON to this file")
    ap.add_argument("--no-mean-columns", action="store_true",
                    help="without the LP-mean columns (column_generation's mean_heuristic=False)")
    args = ap.parse_args(argv)
    try:  # every input checked before the run, which takes --time-limit seconds
        check_options({"time_limit": args.time_limit}, "--time-limit")
        inst = load_instance(args.instance)
        if args.out:  # before the run, not after it
            check_not_an_input(check_output_file(args.out, example="probe.json"), [Path(args.instance)])
    except (FileNotFoundError, DocumentError, ValueError) as e:  # InstanceError: a DocumentError; OutputPathError: a ValueError
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    res = column_generation(inst, solver="highs", time_limit=args.time_limit, threads=1, mip_gap=MIP_GAP,
                            mean_heuristic=not args.no_mean_columns)
    ev = optdist.evaluate(inst, res.assignment) if res.assignment is not None else None
    x = res.extra
    rec = {"instance": inst.name, "termination": str(res.termination), "objective": res.objective,
           "bound": res.bound, "gap": res.gap, "wall_s": res.wall_time,
           "evaluator": None if ev is None else {"feasible": ev.feasible, "objective": ev.objective},
           "seconds": x["seconds"], "incumbents": x["incumbents"], "improvements": x["improvements"],
           "rounds": [{k: r.get(k) for k in ("round", "elapsed_s", "incumbent", "bound", "lp", "lp_s", "pricing_s",
                                             "smoothing", "lagrangian", "added", "pricing")} for r in x["rounds"]]}
    print(f"{inst.name}: {rec['termination']}, incumbent {res.objective}, bound {res.bound}, "
          f"gap {res.gap}, wall {res.wall_time:.1f} s, evaluator {rec['evaluator']}")
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(x["seconds"].items(), key=lambda kv: -kv[1])))
    for f in x["incumbents"]:
        print(f"  incumbent {f['objective']:.6f} at {f['elapsed_s']:.1f} s: {f['found_by']}")
    for e in x["improvements"]:
        print(f"  improvement at {e['elapsed_s']:.1f} s ({e['at']}): {e['seconds']:.2f} s, found {e['found']}")
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    for r in rec["rounds"]:
        solves = ", ".join(f"{p['seconds']:.1f} s {'closed' if p['closed'] else 'open'} {p['solver']}"
                           for p in r.get("pricing") or [])
        print(f"  round {r['round']} ended {r['elapsed_s']:.1f} s: bound {num(r['bound'], '.6f')}, "
              f"LP {num(r['lp'], '.6f')}, pricing {num(r['pricing_s'], '.1f')} s, LP solve {num(r['lp_s'], '.3f')} s"
              + (f"; {solves}" if solves else ""))
    if args.out:
        atomic_write_json(args.out, rec, non_finite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
