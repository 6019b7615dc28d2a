"""Polish a placement by joint moves and keep it if the evaluator scores it better (issues 11, 14).

    nice -n 10 .venv/bin/python benchmarks/scale/polish_placement.py \
        instances/coupled/mixed-8x6-nexus-rpi3.json benchmarks/scale/coupled/best/mixed-8x6-nexus-rpi3.json \
        --time-limit 420 --sizes 2 --out /tmp/polished.json

Loads ``INSTANCE`` and a placement of it (``PLACEMENT``: an ``optdist-assignment/1`` file or the
``--out`` of ``optdist solve``), runs :func:`optdist.milp.decomposition.repair.joint_moves` on it
(HiGHS, threads 1; ``--sizes``: how many requests are freed together, in turn; ``--per-solve``: s
per joint solve, default the engine's :data:`~optdist.milp.decomposition.repair.JOINT_PER_SOLVE_S`;
``--seed``: the tie order of the sets) until ``--time-limit`` s have passed or a sweep gains
nothing, re-scores the result with the independent evaluator (:func:`optdist.evaluate.evaluate`)
and prints the objective before and after (s, MODEL.md section 6). ``--out`` (written atomically)
gets the polished placement as an ``optdist-assignment/1`` file whose ``meta`` says how it was found
(this command, the date, the objective), e.g. for ``benchmarks/scale/coupled/best/``; nothing is
written when no move was made. Joint solves stop at their caps, so what a run finds depends on
the machine's speed and load: the file, not the command, is the reproducible result.

Bad input (a missing or broken file, a placement of another instance or one the evaluator finds
infeasible, a ``--time-limit``/``--per-solve`` not > 0, a ``--seed`` < 0, a ``--sizes`` entry < 2
or above the number of placed requests, an ``--out`` that cannot be written or whose folder is missing: checked before
the moves) ends with a message naming the file or the flag and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime
import math
import shlex
import sys
import time
from pathlib import Path

from optdist.assignment import Assignment
from optdist.commands.core import load_placement
from optdist.evaluate import evaluate
from optdist.instance import load_instance
from optdist.io import atomic_write_json, check_output_file
from optdist.milp.decomposition.repair import JOINT_PER_SOLVE_S, JointStats, joint_moves


def polish(args: argparse.Namespace, argv: list[str]) -> int:
    """Joint moves on ``args.placement`` for ``args.time_limit`` s; prints before/after, writes ``--out``.
    ValueError/OSError on bad input (the message names the file or flag and the fix)."""
    for flag, value in (("--time-limit", args.time_limit), ("--per-solve", args.per_solve)):
        if not 0 < value < math.inf:
            raise ValueError(f"{flag} {value}: not a number of seconds > 0 (fix: e.g. {flag} 30)")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: the tie order's seed is an integer >= 0 (fix: e.g. --seed 0)")
    if min(args.sizes) < 2:
        raise ValueError(f"--sizes {' '.join(map(str, args.sizes))}: a joint move frees 2 requests or more "
                         "(fix: e.g. --sizes 2 3)")
    if args.out is not None:  # before the minutes of moves, not when their result is written
        check_output_file(args.out)
    inst = load_instance(args.instance)
    start = load_placement(inst, args.placement)
    placed = sum(o is not None for o in start.owners)
    if max(args.sizes) > placed:
        fix = f"sizes from 2 to {placed}" if placed >= 2 else "a placement with 2 requests placed or more"
        raise ValueError(f"--sizes {' '.join(map(str, args.sizes))}: {args.placement} places {placed} requests of "
                         f"{inst.name}, no set of {max(args.sizes)} (fix: {fix})")
    before = evaluate(inst, start)
    if not before.feasible:
        raise ValueError(f"{args.placement}: the evaluator finds this placement infeasible (fix: give a feasible "
                         f"one; `optdist evaluate {args.instance} {args.placement}` lists what it breaks)")
    t0, stats = time.perf_counter(), JointStats()
    owners, moves = joint_moves(inst, start.owners, deadline=t0 + args.time_limit, per_solve=args.per_solve,
                                threads=1, seed=args.seed, sizes=args.sizes, stats=stats)
    seconds = time.perf_counter() - t0
    after = evaluate(inst, Assignment(owners))
    print(f"{inst.name}: {before.objective:.9f} -> {after.objective:.9f} s ({moves} joint moves, {seconds:.1f} s; "
          f"{stats.solves} joint solves, {stats.capped} stopped by their cap), feasible {after.feasible}, "
          f"rejected {after.n_rejected}")
    if args.out is not None and moves and after.feasible and after.objective < before.objective:
        meta = {"method": "joint moves", "start": str(args.placement), "start_objective_s": before.objective,
                "objective_s": after.objective, "moves": moves, "seconds": round(seconds, 1),
                "command": "python benchmarks/scale/polish_placement.py " + shlex.join(argv),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}
        atomic_write_json(args.out, Assignment(owners, meta).to_json(inst), indent=None)  # one line, as the others there
        print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", type=Path)
    ap.add_argument("placement", type=Path, help="optdist-assignment/1 file or optdist solve --out")
    ap.add_argument("--time-limit", type=float, default=420.0, help="s of joint moves in all (default 420)")
    ap.add_argument("--per-solve", type=float, default=JOINT_PER_SOLVE_S,
                    help=f"s per joint solve (default {JOINT_PER_SOLVE_S:g})")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2], help="requests freed together, in turn (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="tie order of the sets (default 0)")
    ap.add_argument("--out", type=Path, help="write the polished placement here (only if a move was made)")
    args = ap.parse_args(argv)
    try:
        return polish(args, argv)
    except (OSError, ValueError) as e:  # bad input (DocumentError is a ValueError): the message, no traceback
        print(f"polish_placement.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
