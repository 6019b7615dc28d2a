"""What the integer masters lose with HiGHS's sub-MIPs changed (hang44, README "hang44 (2026-12-06)").

Usage (from the repository root)::

    nice -n 10 python benchmarks/scale/submip_probe.py instances/coupled/mixed-8x6-nexus-rpi3.json \
        --time-limit 60 --out r.json

Runs :func:`optdist.milp.decomposition.colgen.column_generation` as
``benchmarks/scale/seconds_probe.py`` does (HiGHS, threads 1, ``mip_gap`` 0.005) and keeps a copy
of every HiGHS model it hands to :func:`optdist.solvers.highs.run_stoppable` (the integer masters
and the relabelling MIPs of ``classes.spread_exact``, with their ``time_limit`` and ``mip_rel_gap``).
Then solves each copy once per variant, one thread, with the same limit and gap: ``with``
(HiGHS's defaults, the code before hang44), ``no-sub-presolve``
(:data:`optdist.solvers.highs.NO_SUB_MIP_PRESOLVE`: sub-MIPs without presolve, hang44's choice),
``without`` (no sub-MIPs: RENS, RINS and root reduced cost off) and ``without-presolve`` (no
sub-MIPs, ``presolve`` off: none of presolve's reductions run, the hang's
``HPresolve::strengthenInequalities`` among them), the order rotating from one model to the
next. Prints per model: its kind, size, limit, and for each variant the status, objective, dual
bound and seconds (objectives in the master's own units: smaller is better); ``--out`` writes
them as JSON. A paired comparison: the variants solve the same model within seconds of each
other, under the same load.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import highspy

import optdist.milp.decomposition.classes as classes_module
import optdist.milp.decomposition.master as master_module
from optdist.instance import load_instance
from optdist.io import atomic_write_json, check_output_file
from optdist.milp.decomposition.colgen import column_generation
from optdist.solvers.highs import NO_SUB_MIP_PRESOLVE, _option_value, fresh_thread_pool

MIP_GAP = 0.005  # benchmarks/specs/coupled.toml's [options] mip_gap, as seconds_probe.py


#: the sub-MIP heuristics (RENS, RINS, root reduced cost: every caller of HiGHS's ``solveSubMip``)
SUB_MIP_HEURISTICS = ("mip_heuristic_run_rens", "mip_heuristic_run_rins", "mip_heuristic_run_root_reduced_cost")
#: variant -> the options it sets (module docstring)
VARIANTS = {"with": {}, "no-sub-presolve": NO_SUB_MIP_PRESOLVE, "without": dict.fromkeys(SUB_MIP_HEURISTICS, False),
            "without-presolve": {**dict.fromkeys(SUB_MIP_HEURISTICS, False), "presolve": "off"}}


def _solve(lp: highspy.HighsLp, time_limit: float, mip_gap: float, options: dict) -> dict:
    """One solve of ``lp`` (one thread) with ``options``: status, objective (None without a
    solution), dual bound and seconds."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("mip_rel_gap", mip_gap)
    for name, value in options.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise SystemExit(f"submip_probe.py: HiGHS {h.version()} refused option '{name}' = {value} (fix: highspy 1.16)")
    h.passModel(lp)
    fresh_thread_pool()
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    info = h.getInfo()
    has = info.primal_solution_status == 2
    return {"status": h.modelStatusToString(h.getModelStatus()), "seconds": seconds,
            "objective": float(info.objective_function_value) if has else None,
            "bound": float(info.mip_dual_bound)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", help="write the comparison as JSON to this file")
    args = ap.parse_args(argv)
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):  # NaN: column generation without a limit
        ap.error(f"--time-limit {args.time_limit:g}: give a finite number of seconds > 0 (e.g. --time-limit 60)")
    try:
        if args.out:
            check_output_file(args.out, example="submip.json")  # before the run, not after it
        inst = load_instance(args.instance)
    except (OSError, ValueError) as e:  # a missing or bad file (DocumentError is a ValueError): the message
        print(f"submip_probe.py: error: {e}", file=sys.stderr)
        return 2
    kept: list[tuple[str, highspy.HighsLp, float, float]] = []
    real = master_module.run_stoppable

    def keeper(kind: str):
        def keeping(h) -> None:
            kept.append((kind, h.getLp(), _option_value(h, "time_limit"), _option_value(h, "mip_rel_gap")))
            real(h)
        return keeping

    master_module.run_stoppable = keeper("integer master")
    classes_module.run_stoppable = keeper("relabelling")
    try:
        res = column_generation(inst, solver="highs", time_limit=args.time_limit, mip_gap=MIP_GAP, threads=1)
    finally:
        master_module.run_stoppable = classes_module.run_stoppable = real
    print(f"{inst.name}: column generation {res.termination}, incumbent {res.objective}, bound {res.bound}; "
          f"{len(kept)} models kept")
    rows = []
    for k, (kind, lp, limit, gap) in enumerate(kept):
        names = list(VARIANTS)
        order = names[k % len(names):] + names[:k % len(names)]
        got = {name: _solve(lp, limit, gap, VARIANTS[name]) for name in order}
        row = {"model": k, "kind": kind, "columns": lp.num_col_, "rows": lp.num_row_, "time_limit": limit, "mip_gap": gap, **got}
        rows.append(row)
        words = "; ".join(f"{side}: {r['status']} obj {r['objective']} bound {r['bound']:.9g} "
                          f"{r['seconds']:.2f} s" for side, r in got.items())
        print(f"  model {k} ({kind}): {lp.num_col_} columns, {lp.num_row_} rows, limit {limit:.2f} s: {words}", flush=True)
    if args.out:  # a solve without a solution has no bound: -inf or inf, null and a "non_finite" field
        atomic_write_json(args.out, {"instance": inst.name, "time_limit": args.time_limit, "models": rows}, non_finite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
