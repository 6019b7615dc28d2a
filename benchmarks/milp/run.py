"""Benchmark the exact engine on the paper's LeNet sets: every formulation side by side (issue 11).

    .venv/bin/python benchmarks/milp/run.py --formulations auto tight compact per-map \
        --solvers highs scip --instances 'lenet-*' --time-limit 60 --threads 1

Each (instance, formulation, solver) runs in its own Python process with a hard wall-clock
limit (``--time-limit`` x 1.5 + 120 s), through ``optdist.solve`` exactly as a user calls it
(model building inside the time limit), re-scored by the independent evaluator, and appended
to ``benchmarks/milp/results.csv`` with the command line, the date, the machine's load
average and the model build time. ``RESULTS.md`` is then regenerated from *all* rows of the
CSV, so several runs of at most ~10 minutes each build one table; ``--solu`` also merges the rows into
``instances/paper.solu`` (MIPLIB lines, through
:mod:`optdist.bench.solu`, the one writer of ``.solu`` files: a better fact already there is kept).

Formulations: ``auto`` (the default of ``optdist solve``: the decomposition by request when it
applies, else ``tight``), ``decomposed``, and the Pyomo models ``tight``, ``compact`` and
``per-map``. Every run uses the same stopping rule: relative gap ``--gap`` (default 1e-4,
:data:`optdist.milp.run.DEFAULT_MIP_GAP`) or the time limit.

Bad flags (an unknown formulation or solver, a time limit, gap or thread count out of range,
``--repeat`` below 1, ``--instances`` matching nothing, ``--no-write`` with ``--report-only`` or ``--solu``)
are refused before any run, naming the flag and the fix, exit status 2 (before, each run was an ``error``
row appended to ``results.csv``, exit 0; ``--no-write --report-only`` rewrote RESULTS.md).
A run that fails prints its error on its line.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fnmatch
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PAPER = ROOT / "instances" / "paper"
CSV = HERE / "results.csv"
MD = HERE / "RESULTS.md"
SOLU = ROOT / "instances" / "paper.solu"
FIELDS = ["date", "instance", "formulation", "repeat", "termination", "wall_s", "nodes", "objective",
          "evaluator_objective", "bound", "gap", "feasible", "time_limit", "threads", "mip_gap", "load_before",
          "load_after", "host", "command", "note", "solver", "build_s", "chosen"]
#: the largest --time-limit: each run's hard limit (x 1.5 + 120 s) is a subprocess timeout, which Python's poll
#: takes up to 2**31 ms (24.8 days); past it the first run ended in "OverflowError: timeout is too large"
MAX_TIME_LIMIT_S = 1e6
DEFAULT_INSTANCES = ["lenet-1x10-tau0.8", "lenet-1x10-tau0.6", "lenet-3x10-tau0.8", "lenet-3x10-tau0.6",
                     "lenet-10x10-tau0.8", "lenet-10x10-tau0.6", "lenet-10x70-tau0.8", "lenet-10x70-tau0.6"]


def worker(spec: dict) -> dict:
    """One solve (runs in a child process); returns a CSV row's solver fields."""
    from optdist.instance import load_instance
    from optdist.solve import solve

    inst = load_instance(PAPER / f"{spec['instance']}.json")
    t0 = time.perf_counter()
    res = solve(inst, method="milp", formulation=spec["formulation"], solver=spec.get("solver", "highs"),
                time_limit=spec["time_limit"], mip_gap=spec["mip_gap"], threads=spec["threads"])
    wall = time.perf_counter() - t0
    ev = res.evaluation
    note = res.extra.get("warning", "") or res.extra.get("stopped", "")
    if res.extra.get("coupled"):
        cs = res.extra.get("coupled_solve", {})
        note = (note + " " if note else "") + f"capacities bind: coupled step {cs.get('method')} ({cs.get('termination')})"
    # model build time: the formulation's, or the sum over the decomposition's single-request models
    build = res.extra.get("build_s")
    if build is None and "classes" in res.extra:
        build = sum(st.get("build_s", 0.0) for c in res.extra["classes"] for st in c["steps"])
    return {
        "termination": str(res.termination),
        "wall_s": round(wall, 3),
        "nodes": res.nodes,
        "objective": res.objective,
        "evaluator_objective": None if ev is None else ev.objective,
        "bound": res.bound,
        "gap": res.gap,
        "feasible": None if ev is None else ev.feasible,
        "note": note,
        "build_s": None if build is None else round(build, 3),
        "chosen": res.formulation,
    }


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return ""


def run_one(spec: dict, command: str, repeat: int) -> dict:
    row = {"date": dt.datetime.now().isoformat(timespec="seconds"), "instance": spec["instance"],
           "formulation": spec["formulation"], "solver": spec["solver"], "repeat": repeat, "time_limit": spec["time_limit"],
           "threads": spec["threads"], "mip_gap": spec["mip_gap"], "load_before": _load(),
           "host": f"{platform.node()} {os.cpu_count()} cpu {platform.processor() or platform.machine()}",
           "command": command}
    hard = spec["time_limit"] * 1.5 + 120
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True,
                             text=True, timeout=hard, cwd=ROOT)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            row.update(termination="error", wall_s=round(time.perf_counter() - t0, 3),
                       note=(out.stderr.strip().splitlines() or ["no output"])[-1][:300])
        else:
            row.update(json.loads(lines[-1]))
    except subprocess.TimeoutExpired:
        row.update(termination="killed", wall_s=round(time.perf_counter() - t0, 3),
                   note=f"no answer within the hard limit of {hard:.0f} s (model build included)")
    row["load_after"] = _load()
    return row


def read_rows() -> list[dict]:
    if not CSV.exists():
        return []
    with CSV.open() as f:
        return list(csv.DictReader(f))


def append_rows(rows: list[dict]) -> None:
    """Append rows; a CSV written with fewer columns is first rewritten with today's (old rows: blank)."""
    old = read_rows()
    if CSV.exists() and list(old[0].keys() if old else []) != FIELDS:
        with CSV.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            for r in old:
                w.writerow({k: r.get(k) for k in FIELDS})
    new = not CSV.exists()
    with CSV.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k in FIELDS})


def _f(x: str | None) -> float | None:
    try:
        return None if x in (None, "", "None") else float(x)
    except ValueError:
        return None


def _ms(x: str | None) -> str:
    v = _f(x)
    return "-" if v is None else f"{1e3 * v:.6f}"


def write_markdown(rows: list[dict]) -> None:
    order = {f: i for i, f in enumerate(["auto", "decomposed", "tight", "compact", "per-map"])}
    rows = sorted(rows, key=lambda r: (r["instance"], order.get(r["formulation"], 9), r.get("solver") or "highs",
                                       r["date"]))
    lines = [
        "# Exact MILP on the paper's LeNet sets",
        "",
        "Written by `benchmarks/milp/run.py` from every row of `results.csv` (do not edit by hand).",
        "Objective and bound in milliseconds (sum of request latencies); the objective is the",
        "independent evaluator's score of the returned assignment. Gap: |objective - bound| /",
        "max(|objective|, |bound|). `load` = 1-minute load average before / after the run (the",
        "machine was shared with other jobs: times are wall-clock and noisy).",
        "",
        "Solver: HiGHS where blank (rows from before the solver column). Build (s): model building",
        "inside the run (the decomposition: summed over its single-request models).",
        "",
        "| instance | formulation | solver | termination | time (s) | build (s) | nodes | objective (ms) | bound (ms) | gap | feasible | limit (s) | load |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        g = _f(r.get("gap"))
        b = _f(r.get("build_s"))
        form = r["formulation"] + (f" ({r['chosen']})" if r.get("chosen") and r["chosen"] != r["formulation"] else "")
        lines.append(
            f"| {r['instance']} | {form} | {r.get('solver') or 'highs'} | {r['termination']} | {_f(r['wall_s']) or 0:.2f} | "
            f"{'-' if b is None else f'{b:.2f}'} | "
            f"{r.get('nodes') or '-'} | {_ms(r.get('evaluator_objective'))} | {_ms(r.get('bound'))} | "
            f"{'-' if g is None else f'{g:.2e}'} | {r.get('feasible') or '-'} | {r.get('time_limit')} | "
            f"{(r.get('load_before') or '').split(' ')[0]} / {(r.get('load_after') or '').split(' ')[0]} |")
    notes = [r for r in rows if r.get("note")]
    if notes:
        lines += ["", "Notes:", ""]
        for r in notes:
            lines.append(f"- {r['instance']} / {r['formulation']} ({r['date']}): {r['note']}")
    cmds = sorted({r["command"] for r in rows})
    hosts = sorted({r["host"] for r in rows})
    lines += ["", "Commands that produced these rows:", "", "```"] + cmds + ["```", "", "Machine(s): " + "; ".join(hosts), ""]
    MD.write_text("\n".join(lines))


def write_solu(rows: list[dict]) -> None:
    """Merge the rows' reference values into ``instances/paper.solu`` (MIPLIB ``=opt=`` / ``=best=`` /
    ``=bestdual=`` / ``=inf=`` lines) with :mod:`optdist.bench.solu`, the one writer of ``.solu`` files:
    ``=opt=`` only for a run proven optimal within the engine's default gap; a better fact already in
    the file is kept, one the rows refute (below a proven bound, an optimum above a feasible objective)
    is replaced, and contradictions are printed."""
    import pandas as pd

    from optdist.bench.solu import merge_solu_file, refs_from_records

    df = pd.DataFrame({
        "instance": [r["instance"] for r in rows],
        "status": ["error" if r["termination"] == "error" else "ok" for r in rows],
        "termination": [r["termination"] for r in rows],
        "feasible": [r.get("feasible") == "True" for r in rows],
        "gap": [_f(r.get("gap")) for r in rows],
        **{col: [_f(r.get(col)) for r in rows] for col in ("objective", "evaluator_objective", "bound")},
    })
    for warning in merge_solu_file(SOLU, refs_from_records(df)):
        print(f"warning: {warning}", file=sys.stderr)


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the run's flags (the flag, the value and the fix), else None: an unknown
    formulation or solver, a time limit, gap or thread count out of range (:func:`optdist.options.check_options`),
    a time limit above :data:`MAX_TIME_LIMIT_S`, ``--repeat`` below 1, ``--no-write`` with ``--report-only`` or ``--solu`` (which write)."""
    from optdist.milp.model import unknown_formulation
    from optdist.milp.solve import SOLVE_FORMULATIONS
    from optdist.options import check_options
    from optdist.solvers import get_solver

    for form in args.formulations:
        if form not in SOLVE_FORMULATIONS:
            return f"--formulations: {unknown_formulation(form, SOLVE_FORMULATIONS)}"
    for name in args.solvers:
        try:
            get_solver(name)
        except (ValueError, OSError) as e:
            return f"--solvers: {e}"
    for flag, name, value in (("--time-limit", "time_limit", args.time_limit), ("--gap", "mip_gap", args.gap),
                              ("--threads", "threads", args.threads)):
        try:
            check_options({name: value}, flag)
        except ValueError as e:
            return str(e)
    if args.time_limit > MAX_TIME_LIMIT_S:
        return (f"--time-limit {args.time_limit:g}: more than {MAX_TIME_LIMIT_S:g} s (11.6 days), longer than a run's hard "
                f"limit (x 1.5 + 120 s) can wait (fix: give at most {MAX_TIME_LIMIT_S:g} seconds)")
    if args.repeat < 1:
        return f"--repeat {args.repeat}: no run would be made (fix: give a number of runs >= 1, e.g. --repeat 1)"
    clash = [flag for flag, given in (("--report-only", args.report_only), ("--solu", args.solu)) if given]
    if args.no_write and clash:  # --report-only wrote RESULTS.md anyway; --solu merged nothing, without a word
        return (f"--no-write with {' and '.join(clash)}: {clash[0]} writes {'RESULTS.md' if args.report_only else 'paper.solu'}"
                f" (fix: leave out --no-write, or {' and '.join(clash)})")
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--instances", nargs="+", default=DEFAULT_INSTANCES,
                    help="names or globs in instances/paper (default: the eight paper LeNet sets)")
    ap.add_argument("--formulations", nargs="+", default=["auto", "tight", "compact", "per-map"])
    ap.add_argument("--solvers", nargs="+", default=["highs"], help="adapters or profiles (default: highs)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--repeat", type=int, default=1, help="runs per (instance, formulation)")
    ap.add_argument("--no-write", action="store_true", help="print rows only")
    ap.add_argument("--report-only", action="store_true", help="regenerate RESULTS.md (and with --solu merge into paper.solu) from the CSV")
    ap.add_argument("--solu", action="store_true", help="also merge every row's reference values into instances/paper.solu")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker)), default=str))
        return 0
    problem = check_args(args)
    if problem:  # before any run: else each run was an "error" row (appended to results.csv), exit 0
        ap.error(problem)
    if args.report_only:
        rows = read_rows()
        write_markdown(rows)
        if args.solu:
            write_solu(rows)
        print(f"wrote {MD.relative_to(ROOT)}{' and ' + str(SOLU.relative_to(ROOT)) if args.solu else ''} from {len(rows)} rows")
        return 0
    names = sorted(p.stem for p in PAPER.glob("*.json"))
    chosen = [n for pat in args.instances for n in names if fnmatch.fnmatch(n, pat)]
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        ap.error(f"--instances: no instance in instances/paper matches {' '.join(args.instances)} (fix: give names or "
                 "globs of its files without the folder and .json, e.g. lenet-1x10-tau0.8 or 'lenet-1x10-*')")
    command = ".venv/bin/python " + " ".join(shlex.quote(a) for a in [str(Path(__file__).relative_to(ROOT))] + (argv or sys.argv[1:]))
    rows = []
    for name in chosen:
        for form in args.formulations:
            for solver in args.solvers:
                for rep in range(args.repeat):
                    spec = {"instance": name, "formulation": form, "solver": solver, "time_limit": args.time_limit,
                            "threads": args.threads, "mip_gap": args.gap}
                    row = run_one(spec, command, rep)
                    rows.append(row)
                    print(f"{name:28s} {form:10s} {solver:6s} {row['termination']:12s} {float(row['wall_s']):8.2f} s  "
                          f"obj {row.get('evaluator_objective')}  bound {row.get('bound')}  gap {row.get('gap')}  "
                          f"build {row.get('build_s')}  nodes {row.get('nodes')}  load {row['load_before']}"
                          + (f"  ({row['note']})" if row["termination"] in ("error", "killed") else ""), flush=True)
                    if not args.no_write:
                        append_rows([row])
    if not args.no_write:
        all_rows = read_rows()
        write_markdown(all_rows)
        if args.solu:
            write_solu(all_rows)
        print(f"appended {len(rows)} rows to {CSV.relative_to(ROOT)}; wrote {MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
