"""Solving sub-commands: solve, export, import-solution, pareto."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from optdist.commands.core import print_evaluation


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="solve an instance (default: exact MILP with HiGHS) and print the result")
    p.add_argument("instance", type=Path)
    p.add_argument("--method", default="milp", help="milp (default) or a heuristic/RL method name")
    p.add_argument("--formulation", default="compact", choices=["compact", "per-map", "decomposed"],
                   help="MILP formulation (decomposed: by request, with a certified bound; HiGHS only)")
    p.add_argument("--solver", default="highs", help="adapter (highs, cbc, glpk, scip, gurobi, cplex, xpress) or profile in solvers/")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds; the incumbent is kept")
    p.add_argument("--gap", type=float, metavar="G", help="relative MIP gap to stop at (default 1e-6)")
    p.add_argument("--threads", type=int, metavar="N")
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument("--warm-start", metavar="METHOD|FILE", help="MIP start: a method (e.g. greedy) or an assignment .json")
    p.add_argument("--policy", type=Path, metavar="P", help="rl: a trained policy (folder from `optdist train-rl`, or its policy.pt)")
    p.add_argument("--episodes", type=int, metavar="N", help="rl without --policy: training episodes (default: the preset's)")
    p.add_argument("--out", type=Path, help="write the full result (JSON, with the assignment) here")
    p.add_argument("--requests", type=int, default=10, metavar="N", help="show the breakdown of this many requests")
    p.add_argument("--tee", action="store_true", help="show the solver log")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("export", help="write the MILP as an LP or MPS file for any external solver")
    p.add_argument("instance", type=Path)
    p.add_argument("--format", choices=["lp", "mps"], help="default: the extension of --out")
    p.add_argument("--formulation", default="compact", choices=["compact", "per-map"])
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-solution", help="read an external solver's solution of an exported model and score it")
    p.add_argument("instance", type=Path)
    p.add_argument("--model-file", type=Path, required=True, help="the file written by `optdist export`")
    p.add_argument("--solution", type=Path, required=True)
    p.add_argument("--format", default="highs", choices=["highs", "cbc", "glpk", "sol"], help="solution file format")
    p.add_argument("--formulation", choices=["compact", "per-map"], help="default: read from the model file")
    p.add_argument("--out", type=Path, help="write the assignment (optdist-assignment/1 JSON) here")
    p.set_defaults(func=cmd_import_solution)

    p = sub.add_parser("pareto", help="latency / shared-data Pareto front (epsilon-constraint sweep)")
    p.add_argument("instance", type=Path)
    p.add_argument("--points", type=int, default=5)
    p.add_argument("--formulation", default="compact", choices=["compact", "per-map"])
    p.add_argument("--solver", default="highs")
    p.add_argument("--time-limit", type=float, metavar="S", help="per point")
    p.add_argument("--out", type=Path, help="file prefix for .csv, .md, .png (default: pareto-<instance>)")
    p.set_defaults(func=cmd_pareto)


def _method_options(method: str, args: argparse.Namespace) -> dict:
    """MILP options for 'milp'; for another method, only the options its function accepts."""
    from optdist.solve import method_function

    opts = {
        "formulation": args.formulation,
        "solver": args.solver,
        "time_limit": args.time_limit,
        "mip_gap": args.gap,
        "threads": args.threads,
        "seed": args.seed,
        "warm_start": _warm_start(args),
        "tee": args.tee,
        "policy": args.policy,
        "episodes": args.episodes,
    }
    opts = {k: v for k, v in opts.items() if v is not None}
    if method == "milp":
        for name in ("policy", "episodes"):
            if name in opts:
                raise SystemExit(f"optdist solve: --{name} is an option of --method rl, not of milp")
        return opts
    params = inspect.signature(method_function(method)).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in opts.items() if k in ("time_limit", "seed")}
    for name in ("policy", "episodes"):
        if name in opts and name not in params:
            raise SystemExit(f"optdist solve: --{name} is not an option of --method {method}")
    return {k: v for k, v in opts.items() if k in params and k in ("time_limit", "seed", "threads", "policy", "episodes")}


def _warm_start(args: argparse.Namespace):
    if args.warm_start is None:
        return None
    if args.warm_start.endswith(".json"):
        from optdist.assignment import Assignment
        from optdist.instance import load_instance

        return Assignment.load(load_instance(args.instance), args.warm_start)
    return args.warm_start


def _fmt(x: float | None, spec: str = ".9g") -> str:
    return "-" if x is None else format(x, spec)


def cmd_solve(args: argparse.Namespace) -> int:
    from optdist.instance import load_instance
    from optdist.solve import solve

    inst = load_instance(args.instance)
    res = solve(inst, method=args.method, **_method_options(args.method, args))
    print(f"instance     {inst.name}: {inst.n_devices} devices, {inst.n_nodes - inst.n_devices} sources, {inst.n_requests} requests, tau {inst.spec.tau}")
    how = f"{res.method}" + (f"  formulation {res.formulation}  solver {res.solver}" if res.method == "milp" else "")
    print(f"method       {how}")
    status = res.extra.get("solver_status")
    print(f"termination  {res.termination}" + (f"  ({status})" if status else ""))
    gap = res.gap
    print(f"objective    {_fmt(res.objective)}   bound {_fmt(res.bound)}   gap {'-' if gap is None else f'{100 * gap:.4f}%'}")
    build = res.extra.get("build_s")
    timing = f"wall time    {res.wall_time:.3f} s" + (f" (build {build:.3f} s, solve {res.extra['solve_s']:.3f} s)" if build is not None else "")
    print(timing + (f"   nodes {res.nodes}" if res.nodes is not None else ""))
    if "decision_ms_mean" in res.extra:
        x = res.extra
        print(f"decisions    {x['decision_ms_mean']:.3f} ms per request (max {x['decision_ms_max']:.3f} ms), "
              f"{x['decision_us_per_segment']:.1f} us per segment" + (f"; trained {x['train_s']:.1f} s" if "train_s" in x else ""))
    if "warm_start" in res.extra:
        skipped = res.extra.get("warm_start_skipped")
        print(f"warm start   {res.extra['warm_start']}" + (f" (not used: {skipped})" if skipped else ""))
    if res.extra.get("warning"):
        print(f"WARNING      {res.extra['warning']}")
    if res.termination == "infeasible":
        from optdist.diagnose import diagnose

        print(diagnose(inst, solve=False).report())
    if res.evaluation is None:
        print("no solution")
    else:
        print("\n# evaluator")
        print_evaluation(inst, res.evaluation, args.requests)
        first = next((r for r in range(inst.n_requests) if res.evaluation.stage_time[r] is not None), None)
        if first is not None:
            print(f"\nstages of {inst.request_ids[first]} (s; compute and transfer of the slowest owner):")
            print(res.evaluation.breakdown(inst, first).to_markdown(index=False, floatfmt=".6g"))
        _print_node_use(inst, res.evaluation)
    if args.out:
        res.save(inst, args.out)
        print(f"\nwrote {args.out}")
    return 0 if res.evaluation is not None and res.evaluation.feasible else 1


def _print_node_use(inst, ev) -> None:
    import pandas as pd

    rows = [
        {
            "node": inst.node_ids[n],
            "memory %": 100 * ev.memory_used[n] / inst.memory[n],
            "compute %": 100 * ev.compute_used[n] / max(inst.compute_capacity[n], 1e-300),
            "bandwidth %": 100 * ev.bandwidth_used[n] / max(inst.bandwidth_capacity[n], 1e-300),
        }
        for n in range(inst.n_nodes)
        if ev.compute_used[n] > 0 or ev.bandwidth_used[n] > 0 or ev.memory_used[n] > 0
    ]
    if rows:
        print("\nnode use (share of capacity per period):")
        print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))


def cmd_export(args: argparse.Namespace) -> int:
    from optdist.instance import load_instance
    from optdist.milp import build
    from optdist.milp.export import write_model

    inst = load_instance(args.instance)
    b = build(inst, args.formulation)
    path = write_model(b, args.out, args.format)
    s = b.stats()
    print(f"wrote {path}: {args.formulation} model of {inst.name}, minimise (objective in {b.time_unit:g} s units), "
          f"{s['variables']} variables ({s['integer_variables']} integer), {s['constraints']} constraints")
    return 0


def cmd_import_solution(args: argparse.Namespace) -> int:
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance
    from optdist.milp import build
    from optdist.milp.export import formulation_of, load_solution, read_solution

    inst = load_instance(args.instance)
    formulation = args.formulation or formulation_of(args.model_file)
    if formulation is None:
        raise ValueError(f"{args.model_file}: cannot tell the formulation from its header; pass --formulation")
    b = build(inst, formulation)
    values = read_solution(args.solution, args.format)
    unknown = load_solution(b, values, args.model_file.suffix.lstrip(".").lower() or "lp")
    if unknown:
        raise ValueError(f"{args.solution}: {len(unknown)} names are not in the {formulation} model of {inst.name} "
                         f"(e.g. {unknown[:3]}); was the model exported from this instance?")
    asg = b.to_assignment()
    asg.meta.update(source=str(args.solution), solution_format=args.format)
    print(f"read {len(values)} values from {args.solution} ({args.format}); model objective {b.objective_seconds():.9g} s")
    ev = evaluate(inst, asg)
    print_evaluation(inst, ev)
    if args.out:
        asg.save(inst, args.out)
        print(f"wrote {args.out}")
    return 0 if ev.feasible else 1


def cmd_pareto(args: argparse.Namespace) -> int:
    from optdist.instance import load_instance
    from optdist.milp.pareto import front_table, pareto_sweep, plot_front

    inst = load_instance(args.instance)
    front = pareto_sweep(inst, args.points, formulation=args.formulation, solver=args.solver, time_limit=args.time_limit)
    df = front_table(front)
    prefix = args.out or Path(f"pareto-{inst.name}")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    csv, md, png = (prefix.with_name(prefix.name + ext) for ext in (".csv", ".md", ".png"))
    df.to_csv(csv, index=False)
    md.write_text(f"# Latency / shared-data front: {inst.name}\n\n" + df.to_markdown(index=False, floatfmt=".6g") + "\n")
    plot_front(front, str(png), inst.name)
    print(df.to_markdown(index=False, floatfmt=".6g"))
    print(f"wrote {csv}, {md}, {png}")
    return 0
