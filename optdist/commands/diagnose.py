"""``optdist diagnose FILE``: why an instance is infeasible (pre-solve checks and relaxations)."""

from __future__ import annotations

import argparse
from pathlib import Path

from optdist.io import atomic_write_json, check_output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="explain an infeasible instance: pre-solve checks, then which relaxed constraint families restore feasibility",
    )
    p.add_argument("files", nargs="+", type=Path, help="instance files")
    p.add_argument("--no-solve", action="store_true", help="only the pre-solve checks (no MILP)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="total seconds for the MILP relaxations (default 60)")
    p.add_argument("--families", default="privacy,memory,compute,bandwidth",
                   help="constraint families to relax, comma-separated (also: placement)")
    p.add_argument("--threads", type=int, metavar="N")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the diagnosis (one file: JSON; several: a folder)")
    p.set_defaults(func=cmd_diagnose)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from optdist.diagnose import RELAXABLE, diagnose
    from optdist.instance import load_instance

    fams = tuple(f.strip() for f in args.families.split(",") if f.strip())
    bad = sorted(set(fams) - set(RELAXABLE))
    if bad:
        raise ValueError(f"--families: unknown {bad}; choose from {list(RELAXABLE)}")
    if args.json and len(args.files) == 1:
        check_output_file(args.json, "--json")
    worst = 0
    for f in args.files:
        inst = load_instance(f)
        d = diagnose(inst, solve=not args.no_solve, time_limit=args.time_limit, threads=args.threads, families=fams)
        print(d.report())
        if args.json:
            out = args.json if len(args.files) == 1 else args.json / f"{inst.name}.diagnosis.json"
            atomic_write_json(out, d.to_json())
            print(f"wrote {out}")
        if d.infeasible:
            worst = max(worst, 1)
    return worst
