"""Pricing solves at real column-generation prices: capture them, then time them (issue 11).

    # 1. run column generation and save the prices of its pricing solves (rounds >= 1)
    nice -n 10 .venv/bin/python benchmarks/scale/pricing_probe.py capture \
        instances/coupled/cifar-6x5-nexus-rpi3.json --time-limit 60 --out /tmp/cifar6.json
    # 2. solve each saved pricing problem to optimality (or --time-limit) and time it
    nice -n 10 .venv/bin/python benchmarks/scale/pricing_probe.py time /tmp/cifar6.json --time-limit 60 \
        [--options '{"mip_heuristic_effort": 0.2}'] [--only 0 1]

``capture`` runs :func:`optdist.milp.decomposition.colgen.column_generation` (HiGHS, threads 1;
the engine of the ``coupled.toml`` bench spec) with
:meth:`optdist.milp.decomposition.pricing.PricingModel.solve` wrapped: every solve at a non-zero
price is saved (request, prices per resource and node in seconds per unit, the warm column and
its priced value, and the run's own result: value, bound, closed, seconds) to ``--out`` (JSON,
written atomically), and the run's final incumbent and bound are printed. The prices depend on
the run (the machine's load changes which rounds are reached), so the saved file, not the
command, is what ``time`` reproduces: ``benchmarks/scale/pricing_prices/`` holds those of
``cifar-6x5-nexus-rpi3``, ``mixed-8x6-nexus-rpi3``, ``lenet-10x10-tight-tau0.8`` and
``cifar-20x20-nexus-rpi3``.

``time`` builds a fresh :class:`PricingModel` per saved solve (``--solver``: the adapter or
profile, default ``highs``; ``--options``: raw options of that solver, over the model's own;
``--no-kept-cuts``, ``--no-group-cuts``: the kept-amount or group-count cuts off at any prices;
``--load-cuts``: the class-load cuts added, :class:`PricingModel`'s ``load_cuts``),
solves it in one step with no start and no latency cutoff (``--start``: from the run's warm
column, whose priced value is then the cutoff, as in the run), and prints the column's priced
value, the proven bound, whether it closed (``--gap``, default 1e-5: the pricing gap of
``optdist solve``), the seconds and nodes (``--lp``: first the LP relaxation).
Where the instance is one request class (every request priced as the saved one), it also prints
the Lagrangian bound at the solve's prices, ``L(pi) = -pi . cap + n_requests x bound``
(:func:`optdist.milp.decomposition.master.lagrangian_bound`: a certified lower bound on the
instance's optimum), and the same with the column's value (what an exact pricing solve could give
at most). Prints only.

Bad input (a missing or invalid prices file, a field it lacks or that does not fit its instance:
request index, prices per node, start owners; an ``--only`` index past its saved solves, a
``--time-limit`` not > 0, a ``--gap`` outside [0, 1], ``--options`` that are not a JSON object,
a ``--solver`` that is not known or not installed, ``--fix`` without ``--integer-only``, or
``--integer-only`` with ``--start``, ``--gap`` or a solver other than HiGHS, an ``--out`` that cannot be written) ends with
a message naming the file, the field (or the solver) and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from optdist.cli import FlagError, missing_file_fix, number_flag
from optdist.instance import load_instance
from optdist.io import atomic_write_json, check_output_file, restore_non_finite
from optdist.jsonfile import DocumentError, Problem, read_json
from optdist.milp.decomposition import pricing
from optdist.milp.decomposition.bounds import capacity_matrix
from optdist.milp.decomposition.classes import request_classes
from optdist.transfers import RESOURCES

#: ``time``'s relative gap without ``--gap``: that of ``optdist solve``'s pricing
GAP = 1e-5


def capture(args: argparse.Namespace) -> int:
    """Run column generation on ``args.instance`` and save its priced solves (module docstring)."""
    from optdist.milp.decomposition.colgen import column_generation

    check_output_file(args.out)  # before the run, not after it
    inst = load_instance(args.instance)
    saved: list[dict] = []
    orig = pricing.PricingModel.solve
    t0 = time.perf_counter()

    def hooked(self, prices, **kw):  # noqa: ANN001, ANN003 - the wrapped method's own signature
        out = orig(self, prices, **kw)
        if any(float(np.max(np.asarray(v))) > 0 for v in prices.values()):
            saved.append({"r": int(self.r), "at_s": round(time.perf_counter() - t0, 2),
                          "prices": {k: np.asarray(v, dtype=float).tolist() for k, v in prices.items()},
                          "start": None if kw.get("start") is None else [np.asarray(a).tolist() for a in kw["start"]],
                          "start_value": kw.get("start_value"), "budget_s": kw.get("time_limit"),
                          "value": out.value, "bound": out.bound if math.isfinite(out.bound) else None,
                          "closed": out.proven, "seconds": round(out.seconds, 3)})
        return out

    pricing.PricingModel.solve = hooked
    try:
        res = column_generation(inst, time_limit=args.time_limit, threads=1, seed=0)
    finally:
        pricing.PricingModel.solve = orig
    atomic_write_json(args.out, {"instance": args.instance, "time_limit": args.time_limit,
                                 "objective": res.objective, "bound": res.bound, "solves": saved},
                      non_finite=True)  # a solve's bound of an infeasible pricing problem: inf
    print(f"{len(saved)} priced solves saved to {args.out}; run: objective {res.objective} bound {res.bound}")
    return 0


SOLVE_FIELDS = ("r", "at_s", "prices", "start", "start_value", "value", "bound", "seconds")
"""The fields of one saved solve that ``time`` reads (written by :func:`capture`)."""


def read_prices(path: str) -> dict:
    """The saved prices file of ``capture`` at ``path``, checked: ``instance`` (a path) and ``solves``
    (a list of objects with :data:`SOLVE_FIELDS`).

    Raises :class:`FileNotFoundError` (missing file) or :class:`DocumentError` naming the field and the fix.
    """
    fix = "give a file written by `pricing_probe.py capture ... --out FILE`"
    try:
        data = restore_non_finite(read_json(path, max_bytes=256 * 2**20, what="saved-prices"), str(path))
    except FileNotFoundError as e:  # before: "PATH: saved-prices file not found", no fix
        raise FileNotFoundError(f"{e} (fix: {missing_file_fix(e, str(e))}; the saved ones are in "
                                f"benchmarks/scale/pricing_prices/, or {fix})") from None
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise DocumentError(path, [Problem("(top level)", "not a JSON object", fix)])
    if not isinstance(data.get("instance"), str):
        problems.append(Problem("instance", "missing or not a string (the instance file's path)", fix))
    solves = data.get("solves")
    if not isinstance(solves, list):
        problems.append(Problem("solves", "missing or not a list of saved solves", fix))
    else:
        for q, s in enumerate(solves):
            missing = [k for k in SOLVE_FIELDS if not isinstance(s, dict) or k not in s]
            if missing:
                problems.append(Problem(f"solves[{q}]", f"missing {', '.join(missing)}", fix))
    if problems:
        raise DocumentError(path, problems)
    return data


def check_solves(path: str, data: dict, inst) -> None:  # noqa: ANN001 - an optdist.instance.Instance
    """The saved solves of ``data`` (read from ``path`` by :func:`read_prices`) against ``inst``, the
    instance they were captured on: ``r`` a request index, ``prices`` one array per resource of
    :data:`optdist.transfers.RESOURCES` over the instance's nodes (finite, ``>= 0``), ``start``
    null or the owners of each layer of request ``r`` (one node index per segment),
    ``start_value`` null or a finite number.

    Raises :class:`DocumentError` naming every bad field and the fix (before any solve starts).
    """
    fix = "give a file written by `pricing_probe.py capture ... --out FILE` on this instance"
    n, nodes = inst.n_requests, inst.n_nodes

    def number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    problems: list[Problem] = []
    for q, s in enumerate(data["solves"]):
        r = s["r"]
        if not isinstance(r, int) or isinstance(r, bool) or not 0 <= r < n:
            problems.append(Problem(f"solves[{q}].r", f"{str(r)[:40]} is not a request index 0..{n - 1} of "
                                    f"{data['instance']}", fix))
            r = None
        pr = s["prices"]
        if not isinstance(pr, dict):
            problems.append(Problem(f"solves[{q}].prices", "not a JSON object (resource -> prices per node)", fix))
        else:
            for res in RESOURCES:
                v = pr.get(res)
                if not isinstance(v, list) or len(v) != nodes or not all(number(x) and x >= 0 for x in v):
                    problems.append(Problem(f"solves[{q}].prices.{res}", f"missing or not {nodes} finite numbers >= 0 "
                                            f"(one per node of {data['instance']})", fix))
        st = s["start"]
        if st is not None and r is not None:
            layers = inst.profile(r).layers
            ok = isinstance(st, list) and len(st) == len(layers) and all(
                isinstance(a, list) and len(a) == la.segments
                and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < nodes for i in a)
                for a, la in zip(st, layers))
            if not ok:
                problems.append(Problem(f"solves[{q}].start", f"not null nor the owners of request {r}'s {len(layers)} "
                                        f"layers (per layer one node index 0..{nodes - 1} per segment)", fix))
        if s["start_value"] is not None and not number(s["start_value"]):
            problems.append(Problem(f"solves[{q}].start_value", "not null nor a finite number (seconds)", fix))
    if problems:
        raise DocumentError(path, problems)


def time_solves(args: argparse.Namespace) -> int:
    """Solve each saved pricing problem of ``args.file`` (module docstring)."""
    if args.fix and args.integer_only is None:
        raise ValueError("--fix: fixes the families of --integer-only (fix: add e.g. --integer-only y,s)")
    if args.start and args.integer_only is not None:
        raise ValueError("--start: --integer-only solves the relaxation from no start (fix: drop --start or "
                         "--integer-only)")
    if args.gap is not None and args.integer_only is not None:
        raise ValueError(f"--gap {args.gap:g}: --integer-only solves at its own relative gap, 1e-5 "
                         "(PricingModel.partial_relaxation) (fix: drop --gap or --integer-only)")
    data = read_prices(args.file)
    n = len(data["solves"])
    bad = [q for q in args.only or [] if not 0 <= q < n]
    if bad:
        raise ValueError(f"--only {' '.join(map(str, bad))}: {args.file} holds {n} saved solves "
                         f"(fix: give indices 0..{n - 1})")
    try:
        options = json.loads(args.options) if args.options else None
    except json.JSONDecodeError as e:
        raise ValueError(f"--options: not JSON ({e}) (fix: e.g. --options '{{\"mip_heuristic_effort\": 0.2}}')") from None
    if options is not None and not isinstance(options, dict):
        raise ValueError("--options: not a JSON object (fix: e.g. --options '{\"mip_heuristic_effort\": 0.2}')")
    try:
        inst = load_instance(data["instance"])
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{e} (field 'instance' of {args.file}; paths are from the repository root: "
                                "run from there, or fix the path)") from None
    check_solves(args.file, data, inst)
    # one request class (every request priced as the saved one): L(pi) = -pi . cap + n v(pi)
    # (optdist.milp.decomposition.master.lagrangian_bound; capacities of no row count 0)
    one_class = len(request_classes(inst)) == 1
    caps = np.nan_to_num(capacity_matrix(inst), posinf=0.0)
    for q, s in enumerate(data["solves"]):
        if args.only is not None and q not in args.only:
            continue
        prices = {k: np.asarray(v) for k, v in s["prices"].items()}
        pm = pricing.PricingModel(inst, s["r"], solver=args.solver, solver_options=options, load_cuts=args.load_cuts)
        if args.integer_only is not None and not pm.highs:
            raise ValueError(f"--solver {args.solver}: --integer-only solves with HiGHS only (fix: drop --solver, "
                             "or give a HiGHS profile)")
        if args.no_kept_cuts:
            pm.b.model.kept_cuts.row.deactivate()  # off at any prices
        if args.no_group_cuts:
            pm.b.model.group_cuts.row.deactivate()
        lp = None
        if args.lp:
            lp = pm.lp_value(prices)
        if args.integer_only is not None:
            try:
                pr = pm.partial_relaxation(prices, args.integer_only.split(","), time_limit=args.time_limit,
                                           fix_time_limit=args.time_limit if args.fix else None)
            except ValueError as e:  # a family the model lacks: before, the message named no flag
                raise ValueError(f"--integer-only {args.integer_only}: {e}") from None
            print(f"solve {q} (r {s['r']}, at {s['at_s']} s, run: {s['value']} / {s['bound']} in {s['seconds']} s): "
                  + (f"LP {lp:.6f}  " if lp is not None else "")
                  + f"only {args.integer_only} integer: {pr['relaxed']} / bound {pr['relaxed_bound']} "
                  f"({pr['relaxed_status']})"
                  + (f"  fixed there: {pr['fixed']} / bound {pr['fixed_bound']} ({pr['fixed_status']})"
                     if args.fix else ""), flush=True)
            continue
        warm = args.start and s.get("start") is not None
        pr = pm.solve(prices, time_limit=args.time_limit, mip_gap=GAP if args.gap is None else args.gap, threads=1,
                      seed=0, steps=(math.inf,),
                      start=[np.asarray(a, dtype=np.int64) for a in s["start"]] if warm else None,
                      start_value=s["start_value"] if warm else None)
        print(f"solve {q} (r {s['r']}, at {s['at_s']} s, run: {s['value']} / {s['bound']} in {s['seconds']} s): "
              + (f"LP {lp:.6f}  " if lp is not None else "")
              + f"column {'none found' if pr.value is None else format(pr.value, '.6f')}  bound {pr.bound:.6f}  "
              f"closed {pr.proven}  {pr.seconds:.1f} s "
              f"({pr.log.get('nodes')} nodes)", flush=True)
        if one_class:
            part = -float(sum(np.asarray(prices[res]) @ caps[:, k] for k, res in enumerate(RESOURCES)))
            print(f"  Lagrangian bound at these prices: {part + inst.n_requests * pr.bound:.6f} "
                  f"(-pi . cap {part:.6f} + {inst.n_requests} x bound); with this column's value instead: "
                  f"{'-' if pr.value is None else format(part + inst.n_requests * pr.value, '.6f')} "
                  "(no pricing bound gives more)", flush=True)
    return 0


#: --time-limit of both commands: seconds, finite and > 0
SECONDS = number_flag("a finite number of seconds > 0", "60", within=lambda v: v > 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pricing_probe.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("instance")
    c.add_argument("--time-limit", default=60.0, action=SECONDS)
    c.add_argument("--out", required=True)
    t = sub.add_parser("time")
    t.add_argument("file")
    t.add_argument("--time-limit", default=60.0, action=SECONDS)
    t.add_argument("--solver", default="highs", help="solver adapter or profile of optdist.solvers (default highs)")
    t.add_argument("--options", default=None, help="raw solver options as JSON")
    t.add_argument("--only", type=int, nargs="+", default=None, help="only these saved solves (0-based)")
    t.add_argument("--gap", default=None, action=number_flag("a relative gap in [0, 1]", "1e-5", within=lambda v: 0 <= v <= 1),
                   help=f"relative gap (default {GAP:g}: optdist solve's pricing)")
    t.add_argument("--start", action="store_true", help="start from the run's warm column (its value: the cutoff)")
    t.add_argument("--no-kept-cuts", action="store_true", help="deactivate the kept-amount cuts")
    t.add_argument("--no-group-cuts", action="store_true", help="deactivate the group-count cuts")
    t.add_argument("--load-cuts", action="store_true", help="add the class-load cuts (PricingModel load_cuts)")
    t.add_argument("--lp", action="store_true", help="also print the LP relaxation")
    t.add_argument("--integer-only", default=None, metavar="FAMILIES",
                   help="instead of the solve: the model with only these variable families integer "
                        "(comma list, e.g. y,s or n,f), its value and bound")
    t.add_argument("--fix", action="store_true", help="with --integer-only: then fix those families at its point "
                   "and solve the whole model again (a placement's value)")
    try:  # a bad number echoed as typed, under its flag (before: '--time-limit -1.0: ...')
        args = ap.parse_args(argv)
    except FlagError as e:
        print(f"{e.prog}: error: {e}", file=sys.stderr)
        return 2
    try:
        return capture(args) if args.cmd == "capture" else time_solves(args)
    except (OSError, ValueError) as e:  # bad input (DocumentError is a ValueError): the message, no traceback
        print(f"pricing_probe.py {args.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
