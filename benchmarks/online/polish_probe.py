"""The plan's polish on its own: joint then pair moves on one start placement, under a named schedule.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/online/polish_probe.py \\
        instances/coupled/cifar-6x5-nexus-rpi3.json --start /tmp/starts/cifar-6x5.json --schedule main

Loads an instance of ``instances/coupled/``, takes the start placement from the ``--start`` file,
or, where that file does not exist yet, computes it as the exact engine's 10-s placement
(``optdist.solve(inst, method="milp", time_limit=10, threads=1, seed=0)``) and writes it there
(atomically), so that runs share one start. Then polishes that placement as
:func:`optdist.heuristics.plan_guided._plan` does (``solver="highs"``, ``threads=1``, ``seed``
0, pair moves ``per_solve`` 5 s: plan-rollout's ``repair_time_limit``) for ``--polish`` s, with
the schedule:

* ``main``: ``_plan``'s polish before branch joint23 (main's then): :func:`joint_moves` with
  ``per_solve`` :data:`JOINT_PER_SOLVE_S` (30 s, a fixed cap) to the polish's deadline, then
  :func:`pair_moves` in what it leaves.
* ``quarter``, ``sixth`` (branch joint22; measured, not landed): ``main`` with each joint solve
  capped at ``min(30 s, --polish / n)``, n = 4 or 6 (:data:`SPLITS`; 15 or 10 s of a 60-s polish:
  four or six solves, not two).
* ``stall5``, ``stall10`` (branch joint23): ``main`` with each joint solve also stopped on its own
  progress (:data:`STALLS`: :class:`optdist.solvers.highs.StallStop`): once it has gone 5 / 10 s
  without an improving solution, 15 s after its start at the earliest, 30 s at the most; ``stall5``
  (:data:`JOINT_STALL`) is ``_plan``'s polish since branch joint23, ``stall10`` was not landed. The floor:
  the joint solves of this probe's starts found their first placement better than the start 6-13 s
  after it (4 solves of ``main`` on cifar-6x5 and mixed-8x6, 16:23 UTC, load 2-4; a script in /tmp).

A third schedule measured on branch joint22, ``halve`` (each joint solve capped at half the time
left; the first solve stopped by its cap without a gain handed the rest to pair moves), ran from
this file at commit e8ef1f3 (it needed two knobs of ``joint_moves`` that were not kept). Results:
benchmarks/online/README.md, "Joint solves capped by the polish time".

Prints the start's and the polished placement's objective (ms, re-scored by
:func:`optdist.evaluate`), the moves, the joint solves started, capped and stalled, the seconds of each
phase and the load; ``--json`` adds one line of JSON with the same and the times (s after the
polish's start) at which each request of an accepted joint move was re-placed and the seconds of each
joint solver call. ``--out PATH`` keeps the best feasible placement (after every accepted joint move,
and the polished one at the end) in ``PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import optdist
from optdist import Assignment, evaluate, load_instance
from optdist.milp.decomposition.repair import JOINT_PER_SOLVE_S, JOINT_STALL, JointStats, joint_moves, pair_moves
from optdist.solvers.highs import StallStop

SCHEDULES = ("main", "quarter", "sixth", "stall5", "stall10")
PAIR_PER_SOLVE_S = 5.0  # plan-rollout's and plan-guided's default repair_time_limit
SPLITS = {"quarter": 4, "sixth": 6}  # a joint solve's cap is the polish time over this
STALLS = {"stall5": JOINT_STALL, "stall10": StallStop(stall_s=10.0, floor_s=15.0)}


def start_placement(inst: optdist.Instance, path: Path) -> Assignment:
    """The start in ``path``, or the exact engine's 10-s placement, written there first. Raises
    ``SystemExit`` if the engine finds no feasible placement in 10 s."""
    if path.exists():
        return Assignment.load(inst, path)
    res = optdist.solve(inst, method="milp", time_limit=10, threads=1, seed=0)
    if res.evaluation is None or not res.evaluation.feasible or res.assignment is None:
        raise SystemExit(f"{inst.name}: the exact engine found no feasible placement in 10 s; no start")
    path.parent.mkdir(parents=True, exist_ok=True)
    res.assignment.save(inst, path)
    return res.assignment


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", type=Path, help="instance file (instances/coupled/*.json)")
    ap.add_argument("--start", type=Path, required=True,
                    help="start placement file: read if it exists, else the exact engine's 10-s placement written there")
    ap.add_argument("--polish", type=float, default=60.0, help="seconds of polish (default 60, _plan's default)")
    ap.add_argument("--schedule", choices=SCHEDULES, required=True,
                    help="main: _plan's polish before joint23 (joint then pair moves, 30-s cap per joint "
                    "solve); quarter, sixth: the same with the cap at the polish / 4 or / 6; stall5, stall10: "
                    "main with each joint solve also stopped 5 / 10 s after its last improving solution (15 s at "
                    "the earliest; stall5: _plan's polish)")
    ap.add_argument("--json", action="store_true", help="print one line of JSON at the end")
    ap.add_argument("--out", type=Path, default=None,
                    help="write the best feasible placement so far here (optdist-assignment/1, atomically) after "
                         "every accepted joint move and at the end, so that a long polish stopped early keeps it")
    args = ap.parse_args(argv)
    inst = load_instance(args.instance)
    start = start_placement(inst, args.start)
    ev0 = evaluate(inst, start)
    if not ev0.feasible or any(o is None for o in start.owners):
        raise SystemExit(f"{args.start}: the start is infeasible or leaves a request unplaced; delete it to recompute")
    obj0 = float(ev0.objective)
    stats, moves_at = JointStats(), []
    now, best = list(start.owners), [obj0]
    t0 = time.perf_counter()

    def keep(owners: list) -> None:
        """Write ``owners`` to ``--out`` where it is feasible and better than the best written."""
        ev = evaluate(inst, Assignment(owners))
        if args.out is not None and ev.feasible and float(ev.objective) < best[0]:
            best[0] = float(ev.objective)
            Assignment(owners).save(inst, args.out, force=True)

    def joint_column(r: int, owners_r: list) -> None:
        moves_at.append(round(time.perf_counter() - t0, 2))
        now[r] = owners_r
        keep(now)  # between the requests of one move the placement may not fit: keep() skips it

    deadline = t0 + args.polish
    cap = min(JOINT_PER_SOLVE_S, args.polish / SPLITS.get(args.schedule, 1))
    owners, joint = joint_moves(inst, start.owners, deadline=deadline, solver="highs", threads=1, seed=0,
                                stats=stats, on_column=joint_column, per_solve=cap, stall=STALLS.get(args.schedule))
    t_joint = time.perf_counter() - t0
    owners, pair = pair_moves(inst, owners, deadline=deadline, solver="highs", per_solve=PAIR_PER_SOLVE_S,
                              threads=1, seed=0)
    t_pair = time.perf_counter() - t0 - t_joint
    ev = evaluate(inst, Assignment(owners))
    if not ev.feasible:
        raise SystemExit(f"{inst.name}: the polished placement breaks {ev.violations[:3]}")
    if args.out is not None:
        Assignment(owners).save(inst, args.out, force=True)
    out = {"instance": inst.name, "schedule": args.schedule, "polish_s": args.polish, "start_ms": obj0 * 1e3,
           "polished_ms": float(ev.objective) * 1e3, "joint_moves": joint, "pair_moves": pair,
           "joint_solves": stats.solves, "joint_capped": stats.capped, "joint_stalled": stats.stalled,
           "joint_solve_s": stats.solve_s, "joint_s": round(t_joint, 2),
           "pair_s": round(t_pair, 2), "joint_move_requests_at_s": moves_at, "load_1min": os.getloadavg()[0]}
    print(f"{inst.name} [{args.schedule}] start {obj0 * 1e3:.2f} ms -> {ev.objective * 1e3:.2f} ms; joint: "
          f"{joint} moves, {stats.solves} solves ({stats.capped} capped, {stats.stalled} stalled), {t_joint:.1f} s; "
          f"pair: {pair} moves, "
          f"{t_pair:.1f} s; load {os.getloadavg()[0]:.2f}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
