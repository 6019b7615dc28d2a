"""Solving sub-commands: solve, export, import-solution, pareto."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import logging
import math
import os
import re
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from optdist.assignment import Assignment
from optdist.cli import (EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED, CliError, count_flag, interrupted_status,
                         number_flag, option_flag, path_flag, read_number)
from optdist.commands.core import (add_request_flags, print_evaluation, print_stage_breakdowns, stages_asked,
                                   warn_defence_ignored)
from optdist.commands.rl import episodes_flag
from optdist.evaluate import FAMILY_NAMES, violation_families
from optdist.io import (atomic_path, atomic_write_text, check_output_folder, make_output_folder, naming,
                        quiet_native_stdout)
from optdist.jsonfile import is_json_name, text_of
from optdist.milp.model import FORMULATIONS
from optdist.milp.pareto import MAX_POINTS
from optdist.milp.run import DEFAULT_MIP_GAP, PROGRESS_AFTER_S, offer_warm_start, watch_progress
from optdist.milp.solve import SOLVE_FORMULATIONS
from optdist.result import warnings_of
from optdist.solvers.base import process_age, run_deadline, shown

log = logging.getLogger("optdist")

#: the CLI flag of each generic solver option (for error messages)
FLAG = {"time_limit": "--time-limit", "mip_gap": "--gap", "threads": "--threads", "seed": "--seed"}
#: the CLI flag of each option of the plan methods (plan-guided, plan-rollout) but the generic ones
PLAN_FLAGS = {"forecast": "--forecast", "plan_time_limit": "--plan-time-limit", "plan_start": "--plan-start",
              "polish_time_limit": "--polish-time-limit", "repair_time_limit": "--repair-time-limit",
              "improve": "--improve"}


def _plan_seconds(value: float, zero: bool) -> bool:
    """:func:`optdist.heuristics.plan_guided.seconds_in_range`, the plan methods' one range of
    seconds, imported when a flag is read (the heuristics load numpy)."""
    from optdist.heuristics.plan_guided import seconds_in_range

    return seconds_in_range(value, zero=zero)


def _seconds(example: str, zero: bool = False) -> type[argparse.Action]:
    """:func:`~optdist.cli.number_flag` for a plan method's flag of seconds (``zero``: 0 allowed,
    --polish-time-limit's no polish), its text kept as typed (:func:`_keeps_text`)."""
    return _keeps_text(number_flag(f"a finite number of seconds > 0{', or 0 for no polish' if zero else ''}",
                                   example, within=lambda v: _plan_seconds(v, zero)))


def _keeps_text(action: type[argparse.Action]) -> type[argparse.Action]:
    """``action`` (a :func:`~optdist.cli.number_flag`) that also keeps the value's text as the user
    typed it, in ``args.typed`` (dest -> text; the last one given, as the value): the plan
    methods' warning of limits above ``--time-limit`` echoes ``--plan-time-limit 1e300`` so, not
    the float's ``1e+300`` (:func:`_limits_named_as_flags`)."""

    class KeepsText(action):  # type: ignore[misc, valid-type]
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: str | list[str], option_string: str | None = None) -> None:
            super().__call__(parser, namespace, values, option_string)
            namespace.typed = {**(getattr(namespace, "typed", None) or {}), self.dest: values}

    return KeepsText


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="solve an instance (default: exact MILP with HiGHS) and print the result",
                       epilog="exit status: 0 feasible (also a feasible warm start kept when the solver failed, e.g. was killed: "
                              "termination error, a warning says why; or when the time limit ran out before a "
                              "placement was found: termination time_limit), 1 no feasible result (e.g. the solver failed "
                              "without one), 2 user error, 3 internal error, "
                              "130 stopped by SIGINT, 143 by SIGTERM (the first signal stops the solver, README "
                              "\"Ctrl-C\", and the incumbent, if any, is still written and printed; a second aborts)")
    p.add_argument("instance", type=Path)
    p.add_argument("--method", default="milp", help="milp (default) or a heuristic/RL method name")
    p.add_argument("--formulation", default="auto", choices=SOLVE_FORMULATIONS,
                   help="MILP formulation (default auto: the decomposition by request where it applies, "
                        "tight otherwise, whatever the solver: on the paper LeNet sets the faster exact path on "
                        "HiGHS, SCIP, CBC and GLPK alike, benchmarks/milp/README.md; every choice runs on any solver)")
    p.add_argument("--solver", default="highs", help="adapter (highs, cbc, glpk, scip, gurobi, cplex, xpress) or profile in solvers/")
    p.add_argument("--time-limit", action=_keeps_text(option_flag("time_limit", "60")), metavar="S",
                   help="seconds; --method milp: from the process start to its exit; the incumbent is kept; "
                        "plan-guided, plan-rollout: for the whole run (plan, polish and every decision) from the "
                        "method's start, each request still decided past it; rl, rl-ppo without --policy: the "
                        "training ends at half of it, then the network places every request, also past it")
    p.add_argument("--gap", "--mip-gap", action=option_flag("mip_gap", "0.01"), metavar="G",
                   help=f"relative MIP gap to stop at (default {DEFAULT_MIP_GAP:g}; --mip-gap: the same)")
    p.add_argument("--threads", action=option_flag("threads", "4"), metavar="N")
    p.add_argument("--seed", action=option_flag("seed", "0"), metavar="N")
    p.add_argument("--warm-start", metavar="METHOD|FILE", help="MIP start: a method (e.g. greedy), an assignment .json or a result .json of `optdist solve --out`; "
                        "a feasible one is the incumbent to beat (kept where the solver's placement scores worse, "
                        "also with a solver that takes no MIP start, e.g. glpk); one that breaks a constraint is "
                        "warned about, never kept, not used by the decomposition or a solver without a MIP start, "
                        "and passed to a solver that takes one, which may discard it")
    p.add_argument("--policy", type=Path, action=path_flag("runs/rl/lenet-10x10-tau0.6", "give the folder `optdist "
                   "train-rl` wrote, e.g. --policy runs/rl/lenet-10x10-tau0.6, or its policy.pt"), metavar="P",
                   help="rl: a trained policy (folder from `optdist train-rl`, or its policy.pt)")
    p.add_argument("--episodes", action=episodes_flag, metavar="N",
                   help="rl without --policy: training episodes (default: the preset's; the training takes the "
                        "preset's train_freq too, e.g. 4 on a mix of CNNs: `optdist train-rl --help`)")
    p.add_argument("--out", type=Path, action=path_flag("result.json"), help="write the full result (JSON, with the assignment) here")
    add_request_flags(p)
    p.add_argument("--solver-option", action="append", default=[], metavar="KEY=VALUE",
                   help="raw solver option, repeatable (e.g. presolve=off, mip_heuristic_effort=0.3); "
                        "numbers and true/false are converted, the rest passed as text")
    p.add_argument("--pricing-solver", metavar="NAME",
                   help="adapter or profile for the pricing problems of the decomposition's column generation "
                        "only (default: --solver; not glpk, which proves false optima there); e.g. scip")
    p.add_argument("--pricing-solver-option", action="append", default=[], metavar="KEY=VALUE",
                   help="raw option of --pricing-solver, repeatable (--solver-option is --solver's own)")
    p.add_argument("--tee", action="store_true", help="show the solver log and banners (otherwise silenced)")
    g = p.add_argument_group("plan-guided, plan-rollout (README \"Online methods\")")
    g.add_argument("--forecast", type=Path, action=path_flag("instances/paper/lenet-10x10-tau0.6.json"), metavar="FILE",
                   help="the expected load: an instance file on the same nodes whose requests use this instance's "
                        "CNNs and sources (default: the instance itself, its counts per class known in advance)")
    g.add_argument("--plan-time-limit", action=_seconds("60"), metavar="S",
                   help="seconds for the exact engine's plan of the forecast, and for each fallback step "
                        "(default 60; with --time-limit T: T/2, a cap inside T)")
    g.add_argument("--plan-start", type=Path, action=path_flag("result.json"), metavar="FILE",
                   help="a placement of the forecast the plan starts from (an assignment .json, or a result .json "
                        "of `optdist solve --out` on the forecast): the plan costs at most that placement where it "
                        "is feasible")
    g.add_argument("--polish-time-limit", action=_seconds("10", zero=True), metavar="S",
                   help="seconds at most for the plan's polish by joint and pair moves, 0: none (default "
                        "--plan-time-limit's; with --time-limit T: T/4)")
    g.add_argument("--repair-time-limit", action=_seconds("5"), metavar="S",
                   help="seconds at most per exact single-request solve online (default 5; with --time-limit, "
                        "at most the request's share of the time left)")
    g.add_argument("--improve", action="store_true",
                   help="plan-guided: per request, an exact solve for a cheaper placement than the planned one "
                        "in the room the rest of the plan leaves")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("export", help="write the MILP as an LP or MPS file for any external solver",
                       epilog="the model is a minimisation with symbolic names; MPS is free MPS without the OBJSENSE "
                              "section (minimise is MPS's default): GLPK reads either, `glpsol --lp model.lp` or "
                              "`glpsol --freemps model.mps`. The header names the instance (percent-encoded: "
                              "\"weird ids\" is weird%20ids), which import-solution reads back. A model whose "
                              f"build may take {PROGRESS_AFTER_S:g} s or more (on a busy machine) says its size and time on stderr "
                              "before it is built, then each step built and when it is written (-q: not); "
                              "--formulation per-map of a 250-request instance has billions of variables")
    p.add_argument("instance", type=Path)
    p.add_argument("--format", type=str.lower, choices=["lp", "mps"],
                   help="lp or mps, in any case (LP, MPS); default: the extension of --out, in any case "
                        "(.lp, .LP, .mps, .MPS)")
    p.add_argument("--formulation", default="tight", choices=FORMULATIONS)
    p.add_argument("--out", type=Path, action=path_flag("model.lp"), required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import-solution", help="read an external solver's solution of an exported model and score it",
                       epilog="exit status: 0 a feasible placement whose evaluator score agrees with the model "
                              "objective, 1 an infeasible placement, or one the evaluator scores higher than the "
                              "model objective (beyond a relative 1e-6: the solution does not fit this instance's "
                              "model; a warning says so, trust the evaluator's), 2 user error (e.g. a model "
                              "file whose header fingerprint is not this instance's content: export it again), "
                              "3 internal error")
    p.add_argument("instance", type=Path)
    p.add_argument("--model-file", type=Path, action=path_flag("model.lp", takes="file"), required=True,
                   help="the file written by `optdist export`")
    p.add_argument("--solution", type=Path, action=path_flag("model.sol", takes="file"), required=True)
    p.add_argument("--format", default="highs", choices=["highs", "cbc", "glpk", "sol"], help="solution file format")
    p.add_argument("--formulation", choices=FORMULATIONS, help="default: read from the model file")
    p.add_argument("--out", type=Path, action=path_flag("assignment.json", takes="file"), help="write the assignment (optdist-assignment/1 JSON) here")
    p.set_defaults(func=cmd_import_solution)

    p = sub.add_parser("pareto", help="latency / shared-data Pareto front (epsilon-constraint sweep)",
                       epilog="exit status: 0 at least one point solved (its table, .csv, .md and .png written; a "
                              "warning names any solver call that failed), 1 no point solved (e.g. the time limit, "
                              "an infeasible instance, a failed solver; nothing is written, existing files are "
                              "kept), 2 user error, 3 internal error, 130 stopped by SIGINT, 143 by SIGTERM (the "
                              "points solved so far are written; none: nothing is written, existing files are kept)")
    p.add_argument("instance", type=Path)
    p.add_argument("--points", action=count_flag("shared-data levels", 5, MAX_POINTS), default=5, metavar="N",
                   help=f"shared-data levels from the least to the latency-optimal one, ends included (default 5, "
                        f"at most {MAX_POINTS}: each is a MILP solve; equal levels are solved once)")
    p.add_argument("--formulation", default="tight", choices=FORMULATIONS)
    p.add_argument("--solver", default="highs", help="adapter (highs, cbc, glpk, scip, ...) or profile in solvers/")
    p.add_argument("--time-limit", action=option_flag("time_limit", "60"), metavar="S", help="per point")
    p.add_argument("--out", action=path_flag("fronts/", "give a file prefix, e.g. --out front, or a folder, e.g. "
                                                         "--out fronts/"), metavar="PREFIX",
                   help="file prefix for .csv, .md, .png (default: pareto-<instance>), each written atomically, "
                        "and only when a point was solved; a name ending in .csv, .md or .png is the prefix "
                        "without it (--out front.csv writes front.csv, front.md, front.png), in an existing "
                        "folder; a folder (an existing one, or a name ending in /, made with its parents once a "
                        "point is solved) "
                        "gets FOLDER/pareto-<instance>.csv, .md, .png. Columns: latency_s (the swept axis, the "
                        "latency objective without the shared-data term; makespan_s for an instance whose "
                        "objective.kind is makespan; bound_s and gap are its solve's), "
                        "shared_bytes, objective_s (the instance's objective, shared_weight included, as "
                        "`optdist solve` reports it)")
    p.set_defaults(func=cmd_pareto)


def _method_options(method: str, args: argparse.Namespace) -> dict:
    """MILP options for 'milp'; for another method, only the options its function accepts."""
    from optdist.solve import METHODS, method_function, unknown_method
    from optdist.solvers import ADAPTERS, profiles, unknown_solver

    if method not in METHODS:
        raise CliError(unknown_method(method, "--method"))
    for flag, name in (("--solver", args.solver), ("--pricing-solver", args.pricing_solver)):
        if name is not None and not name.strip():
            raise CliError(f"{flag} {text_of(name)} is empty (fix: give an adapter or a profile, e.g. {flag} highs)")
        if name is not None and not name.endswith(".toml") and name not in ADAPTERS and name not in profiles():
            raise CliError(unknown_solver(name, flag))
    opts = {
        "formulation": args.formulation,
        "solver": args.solver,
        "time_limit": args.time_limit,
        "mip_gap": args.gap,
        "threads": args.threads,
        "seed": args.seed,
        "warm_start": _warm_start(args) if method == "milp" else args.warm_start,  # others: refused below, unread
        "tee": args.tee,
        "policy": args.policy,
        "episodes": args.episodes,
        "pricing_solver": args.pricing_solver,
        "forecast": args.forecast,
        "plan_time_limit": args.plan_time_limit,
        "plan_start": args.plan_start,
        "polish_time_limit": args.polish_time_limit,
        "repair_time_limit": args.repair_time_limit,
        "improve": True if args.improve else None,
    }
    opts = {k: v for k, v in opts.items() if v is not None}
    raw = parse_solver_options(args.solver_option, solver=args.solver)
    pricing_raw = parse_solver_options(args.pricing_solver_option, "--pricing-solver-option", args.pricing_solver)
    if method == "milp":
        for name in ("policy", "episodes"):
            if name in opts:
                _refuse(name, f"--{name}", "milp")
        for name in sorted(PLAN_FLAGS.keys() & opts.keys()):
            _refuse(name, PLAN_FLAGS[name], "milp")
        if raw:
            if "solver_options" not in inspect.signature(method_function("milp")).parameters:
                raise CliError("--solver-option: this build's MILP engine takes no raw solver options "
                               "(use a profile: solvers/NAME.toml with [solver_options])")
            opts["solver_options"] = _check_raw_options(args.solver, raw, "--solver-option", args.solver_option)
        else:  # a profile's own raw options together, before the model is built
            _check_raw_options(args.solver, raw, "--solver-option")
        _refuse_two_gaps(args, opts.get("solver_options", {}))  # a profile's raw gap too: the flags' words
        if pricing_raw:
            if args.pricing_solver is None:
                raise CliError("--pricing-solver-option needs --pricing-solver (fix: name it, e.g. --pricing-solver "
                               "scip; --solver-option is for --solver)")
            opts["pricing_solver_options"] = _check_raw_options(args.pricing_solver, pricing_raw,
                                                                "--pricing-solver-option", args.pricing_solver_option)
        elif args.pricing_solver is not None:
            _check_raw_options(args.pricing_solver, pricing_raw, "--pricing-solver-option")
        return opts
    for flag, given_raw in (("--solver-option", raw), ("--pricing-solver-option", pricing_raw)):
        if given_raw:
            raise CliError(f"{flag} is an option of --method milp, not of {method} "
                           "(fix: leave it out, or use --method milp)")
    # what the user gave (the MILP defaults of --formulation, --solver and --tee are not a choice)
    given = {k: v for k, v in opts.items() if (k, v) not in (("formulation", "auto"), ("solver", "highs"), ("tee", False))}
    params = inspect.signature(method_function(method)).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        accepted = {"time_limit", "seed"}
    else:
        accepted = set(params) & {"formulation", "solver", "time_limit", "mip_gap", "threads", "seed", "policy", "episodes",
                                  *PLAN_FLAGS}
    if {"policy", "episodes"} <= given.keys():  # the rl method would place with the policy, the episodes unread
        raise CliError("--episodes trains a new policy, --policy places with a trained one: not both (fix: leave "
                       "--episodes out to place with --policy, or --policy out to train)")
    for name in sorted(given.keys() - accepted):
        flag = {**FLAG, **PLAN_FLAGS, "warm_start": "--warm-start", "pricing_solver": "--pricing-solver"}.get(
            name, f"--{name}")
        _refuse(name, flag, method)  # every method that takes it named (--gap: milp or defended)
    return {k: v for k, v in given.items() if k in accepted}


def _refuse_two_gaps(args: argparse.Namespace, raw: dict) -> None:
    """Refuse ``--gap G`` with a different relative gap given raw under the solver's own name
    (HiGHS ``--solver-option mip_rel_gap=X``, SCIP ``limits/gap=X``): the raw one would win inside
    the solver, silently (before, only ``--out``'s ``options['overridden']`` said so). The same
    value given both ways is one gap. Raises CliError naming both and the fix: the one rule and
    message of :meth:`optdist.solvers.Solver.gap_conflict` (a profile's raw gap too)."""
    from optdist.solvers import get_solver

    if args.gap is None:
        return
    try:
        adapter = get_solver(args.solver)
    except ValueError:  # an unknown solver: the solve itself says so, with the fix
        return
    native = adapter.option_names.get("mip_gap")
    text = next((_key_and_text(item)[1] for item in args.solver_option if _key_and_text(item)[0] == native), None)
    if (said := adapter.gap_conflict(args.gap, raw, given=text, cli=True)) is not None:
        raise CliError(said)


def _refuse(name: str, flag: str, method: str) -> NoReturn:
    """Raise the CliError for ``flag`` (of option ``name``) given with ``method``, which does not
    take it: it names the methods that do (:data:`optdist.solve.METHOD_OPTIONS`: ``--policy`` rl
    or rl-ppo, ``--episodes`` rl, ``--gap`` milp or defended, ``--solver`` milp, plan-guided,
    plan-rollout or defended) and the fix, the same words for every option and method."""
    from optdist.solve import METHOD_OPTIONS

    owners = [m for m, names in METHOD_OPTIONS.items() if name in names]
    raise CliError(f"{flag} is an option of --method {' or '.join(owners)}, not of {method} "
                   f"(fix: leave it out, or use --method {owners[0]})")


def _key_and_text(item: str) -> tuple[str, str, bool]:
    """``KEY=VALUE`` -> ``(key, value's text, whether it has a '=')``, both stripped."""
    key, sep, text = item.partition("=")
    return key.strip(), text.strip(), bool(sep)


def parse_solver_options(items: list[str], flag: str = "--solver-option",
                         solver: str | None = None) -> dict[str, str | int | float | bool]:
    """``KEY=VALUE`` strings -> raw options: whole numbers as int, other numbers as float
    (:func:`~optdist.cli.read_number`: ``1_0`` stays text), true/false as bool, the rest as text.
    Raises CliError naming ``flag`` (the option they came from) for an item that is not
    KEY=VALUE or a number that is not finite (``nan``, ``inf``); the latter's fix gives a value
    that ``solver``'s option KEY takes (:func:`raw_example_value`; none where it is not known)."""
    from optdist.options import option_text, raw_example

    out: dict[str, str | int | float | bool] = {}
    for item in items:
        key, text, sep = _key_and_text(item)
        if not sep or not key:
            own = raw_example_value(solver, key) if key and " " not in key else None
            fix = (f"give {key} a value, e.g. {flag} {key}={option_text(own)}" if own is not None else
                   f"give a name and a value, e.g. {flag} {_solver_example(solver)}")
            why = ": the name is empty" if sep else ""
            raise CliError(f"{flag} {text_of(item)} is not KEY=VALUE{why} (fix: {fix})")
        value: str | int | float | bool = read_number(text, whole=True)
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif isinstance(value, float) and math.isinf(value) and _takes_infinite(solver):
            pass  # e.g. HiGHS's objective_bound=inf (its default): the solver's check decides
        elif isinstance(value, float) and not math.isfinite(value):
            example = raw_example_value(solver, key)
            fix = (f"give a finite value, {raw_example(flag, key, example)}" if example is not None else
                   f"give a finite value in the range the {solver or 'solver'} documentation gives for {key}")
            raise CliError(f"{flag} {key}={text} is not a finite number (fix: {fix})")
        out[key] = value
    return out


#: a raw option each adapter takes, as ``--solver-option`` writes it, for the example of a fix
#: that has no name to go by (``--solver-option =5``): not a generic option under the solver's
#: name (that has its own flag)
SOLVER_EXAMPLES = {"highs": "presolve=off", "glpk": "memlim=1024", "cbc": "cuts=off", "scip": "limits/nodes=1000",
                   "gurobi": "MIPFocus=1", "cplex": "emphasis_mip=1", "xpress": "presolve=0"}


def _adapter_name(solver: str | None) -> str | None:
    """The adapter ``solver`` (an adapter or profile name, a ``.toml`` path) runs, None where it names none."""
    from optdist.solvers import get_solver

    if solver is None:
        return None
    try:
        return get_solver(solver).name
    except (ValueError, OSError):  # an unknown solver or a broken profile: its own error comes next
        return None


def _takes_infinite(solver: str | None) -> bool:
    """Whether ``solver``'s adapter, installed, is asked about an infinite raw value
    (:attr:`~optdist.solvers.base.Solver.takes_infinite`: HiGHS)."""
    from optdist.solvers import ADAPTERS

    name = _adapter_name(solver)
    return name is not None and ADAPTERS[name].takes_infinite and ADAPTERS[name].is_available()


def _solver_example(solver: str | None) -> str:
    """A ``KEY=VALUE`` that ``solver`` takes (:data:`SOLVER_EXAMPLES`; HiGHS's, the default
    solver's, where none is known)."""
    return SOLVER_EXAMPLES.get(_adapter_name(solver or "highs") or "highs", SOLVER_EXAMPLES["highs"])


def raw_example_value(solver: str | None, key: str):
    """A value ``solver``'s (a name or profile) raw option ``key`` takes, for the example of a fix:
    a generic option under the solver's name (HiGHS's ``time_limit``, GLPK's ``tmlim``) the
    generic example (:data:`~optdist.options.OPTION_EXAMPLES`, in the generic range), else the
    adapter's own (``example_value``: HiGHS asks highspy, GLPK knows its whole-number options);
    None where none is known (another shell solver's option, an unknown solver)."""
    from optdist.options import OPTION_EXAMPLES
    from optdist.solvers import get_solver

    if solver is None:
        return None
    try:
        adapter = get_solver(solver)
        native = adapter.native_name(key)
    except (ValueError, OSError):  # an unknown solver or an ambiguous name: its own error comes next
        return None
    generic = {n: g for g, n in adapter.option_names.items()}.get(native)
    if generic is not None:
        return OPTION_EXAMPLES[generic]
    ask = getattr(adapter, "example_value", None)  # HiGHS's and GLPK's (base.Solver has none yet)
    try:
        return None if ask is None else ask(native)
    except ImportError:  # highspy missing: its own error comes next
        return None


def _check_raw_options(solver: str, raw: dict[str, str | int | float | bool], flag: str,
                       items: list[str] | None = None) -> dict[str, str | int | float | bool]:
    """Check ``raw`` options of ``solver`` (a name or profile) as its adapter will
    (:meth:`~optdist.solvers.base.Solver.check_raw_options`), before anything runs, so that an
    error names ``flag`` (``--solver-option``), not the Python parameter, and gives an example
    under it. Each option is checked alone first, so that its error echoes the number as the user
    typed it in ``items`` (``5.``, ``1e30``; the adapter says the value it holds, ``5.0``,
    ``1e+30``), every item that gave it too: a key given twice with two values
    (``mip_max_nodes=2.5``, then ``mip_max_nodes=5``) is refused naming both, after each was
    checked (the first was dropped unchecked, the last kept: which one the user meant is theirs to
    say); then all together (one option given under two names; a combination the solver cannot
    run, :meth:`~optdist.solvers.base.Solver.check_raw_together`, with the profile's). Returns ``raw`` with each value as
    the solver gets it (``mip_max_nodes=1e2``: the int 100, as ``--out`` records it), under the
    names given. Raises CliError."""
    from optdist.solvers import get_solver

    given = [(*_key_and_text(item)[:2], next(iter(parse_solver_options([item], flag, solver).values())))
             for item in items] if items else [(k, str(v), v) for k, v in raw.items()]
    try:
        adapter = get_solver(solver)
        checked: dict[str, str | int | float | bool] = {}
        seen: dict[str, str] = {}  # key -> the value's text as typed
        for key, text, value in given:
            try:
                got = adapter.check_raw_options({key: value}, flag)
            except ValueError as e:
                said = str(e)
                if not isinstance(value, str):
                    said = said.replace(f"{key} = {shown(value)}", f"{key} = {text}", 1)
                raise CliError(said) from None
            now = next(iter(got.values()), value)
            if key in seen and checked[key] != now:  # the same value twice (100 and 1e2) is one value
                raise CliError(f"{flag} {key}={seen[key]} and {flag} {key}={text} both set {key} "
                               f"(fix: give it once, e.g. {flag} {key}={text})")
            seen[key] = text
            checked[key] = now
        full = adapter.check_raw_options(raw, flag)  # under the solver's full names
        adapter.check_raw_together({**adapter.solver_options, **full}, adapter.raw_where(flag if raw else None))
    except ValueError as e:
        raise CliError(str(e)) from None
    return {key: checked.get(key, value) for key, value in raw.items()}


def check_out_path(out: Path, inputs: list[Path], flag: str = "--out", placement: bool = False,
                   example: str = "result.json") -> None:
    """Refuse an output file that cannot be written or that is one of the inputs, before any work.

    Anything but a regular file at ``out`` (a directory, device, pipe, socket or symbolic link),
    a missing or unwritable folder (:func:`optdist.io.check_output_file`), or the same file as an
    input (instance, warm start, policy, profile) is a CliError naming the fix. With
    ``placement`` (``--out`` of a result or assignment, as :meth:`SolveResult.save
    <optdist.result.SolveResult.save>` refuses it), also an existing non-empty file that is no
    optdist result or assignment, e.g. another instance or someone else's JSON
    (:func:`optdist.io.check_overwritable`). ``example``: a file name of what the command writes,
    the fix of a directory at ``out`` (export's ``model.lp``, not ``result.json``).
    """
    from optdist.io import OutputPathError, check_not_an_input, check_output_file, check_overwritable

    try:
        check_output_file(out, flag, example)
        check_not_an_input(out, inputs, flag)
        if placement:
            try:
                check_overwritable(out, flag=flag)
            except OutputPathError as e:  # the fix in the command's words: another --out
                raise OutputPathError(str(e).replace("(fix: give another path,", f"(fix: give another {flag},", 1)) from None
    except OutputPathError as e:
        raise CliError(str(e)) from None


def _input_files(args: argparse.Namespace) -> list[Path]:
    from optdist.instance import referenced_files

    files = [args.instance, *referenced_files(args.instance)]
    if args.warm_start and is_json_name(args.warm_start):
        files.append(Path(args.warm_start))
    for given in (args.policy, args.forecast, args.plan_start):
        if given:
            files.append(given)
    if args.forecast:
        files += referenced_files(args.forecast)
    for name in (args.solver, args.pricing_solver):
        if name is not None and name.endswith(".toml"):
            files.append(Path(name))
    return files



def _warm_start(args: argparse.Namespace):
    if args.warm_start is None:
        return None
    if is_json_name(args.warm_start):  # an assignment, or a result file (e.g. of an interrupted run)
        from optdist.commands.core import load_placement
        from optdist.instance import load_instance

        from optdist.evaluate import evaluate

        inst = load_instance(args.instance)
        asg = load_placement(inst, Path(args.warm_start), use=f"used as the --warm-start of {inst.name}")
        bad = evaluate(inst, asg).violations
        if bad:  # still passed on: the solvers and the decomposition decide what to do with it
            log.warning("--warm-start %s breaks %d constraint(s): %s%s; %s", args.warm_start, len(bad),
                        f"[{bad[0].constraint}] {bad[0].message}", "" if len(bad) == 1 else ", ...",
                        _infeasible_start_fate(inst, args))
        return asg
    from optdist.solve import METHODS

    heuristics = sorted(set(METHODS) - {"milp"})  # the MILP cannot start itself (milp.run.warm_start_assignment)
    if args.warm_start == "milp":
        raise CliError("--warm-start milp: the MILP cannot be its own MIP start (fix: give a heuristic method, e.g. "
                       "greedy, or the --out of an earlier `optdist solve` as a .json file)")
    if args.warm_start not in METHODS:  # e.g. a file whose name does not end in .json: not "unknown method"
        from optdist.names import closest

        close = closest(args.warm_start, heuristics, ignore_case=True)
        raise CliError(f"--warm-start {args.warm_start}: neither a method ({', '.join(heuristics)}) nor a .json "
                       "file (fix: " + (f"did you mean --warm-start {close}? " if close else "")
                       + "give a method, e.g. greedy, or an assignment or result file of `optdist solve --out`, "
                       "its name ending in .json)")
    return args.warm_start


def _infeasible_start_fate(inst, args: argparse.Namespace) -> str:
    """What this run does with a --warm-start the evaluator finds infeasible (the decomposition and
    a solver without a MIP start do not use it; a solver with one is seeded with it and may discard
    it; it is never kept as the incumbent: :func:`optdist.milp.run._keep_warm_start`)."""
    from optdist.milp.decomposition.orchestrate import applies
    from optdist.milp.solve import choose_formulation
    from optdist.solvers import Feature, get_solver

    never = "it is never kept as the incumbent"
    try:
        chosen = choose_formulation(inst, args.formulation)
        adapter = get_solver(args.solver)
    except ValueError:  # an unknown formulation or solver: the solve itself says so, with the fix
        return never
    if chosen == "decomposed" and applies(inst):  # where it does not apply, 'tight' is solved (a MIP start)
        return "the decomposition does not use it (it starts only from a feasible placement)"
    if not adapter.has(Feature.WARM_START):
        return f"not used: solver {adapter.name} takes no MIP start, and {never}"
    return f"it is passed to solver {adapter.name} as a MIP start, which the solver may discard; {never}"


def _within_gap(res) -> str:
    """``" (within gap G)"`` after an ``optimal`` whose proof rests on a nonzero gap tolerance: the
    run's requested relative gap G (``options['mip_gap']``, the raw one where given under the
    solver's own name) and its reported gap above the solvers' rounding (relative
    :data:`~optdist.result.AGREE_RTOL`), e.g. ``--gap 0.9`` closing at 20.5 %; where the reported
    gap exceeds G and the solver's absolute tolerance closed it instead
    (:func:`~optdist.result.closes_gap`; an objective of 3e-12 s, bound 2.5e-12 s: gap 0.05 %
    by the gap's floor), ``" (within the absolute gap tolerance X s)"``; else ""."""
    from optdist.result import AGREE_RTOL, solver_abs_gap

    tolerance, g = res.options.get("mip_gap"), res.gap
    if res.termination != "optimal" or g is None or g <= AGREE_RTOL or not isinstance(tolerance, (int, float)):
        return ""
    if tolerance > 0 and g <= tolerance * (1 + 1e-6):  # the slack of closes_gap
        return f" (within gap {tolerance:g})"
    absolute = solver_abs_gap(res.solver)
    if absolute > 0 and res.objective - res.bound <= absolute * (1 + 1e-6):
        return f" (within the absolute gap tolerance {absolute:g} s)"
    return ""


def _fmt(x: float | None, spec: str = ".9g") -> str:
    return "-" if x is None else format(x, spec)


def exit_reserve(time_limit: float) -> float:
    """Seconds of ``--time-limit`` kept for what follows the solve: the final re-scoring,
    writing ``--out``, printing and the interpreter's exit (1 s + 2 % of the limit; at most a
    fifth of it)."""
    return min(1.0 + 0.02 * time_limit, 0.2 * time_limit)


def cmd_solve(args: argparse.Namespace) -> int:
    """Solve, print the result, then write --out (atomically; printed first, so that a full disk
    loses neither the summary nor, :func:`_keep_result`, the result file).

    Exit status: 0 feasible, also when the solver ended abnormally (termination ``error``, its
    ``solver_error`` warned) or the time limit ran out (termination ``time_limit``) but a feasible
    placement is kept (a feasible warm start, printed as the incumbent, no bound); 1 no feasible result (also a solver that ended abnormally without one);
    130 stopped by SIGINT, 143 by SIGTERM (the
    incumbent, if any, is still written and printed; a second signal aborts with the same status
    and writes nothing the stopped run had not written yet). A closed stdout (``| head``) does not lose --out.
    2 where --out could not be written after the solve (a full disk, the file-size limit): the
    result is kept in the temporary folder (or printed on stderr) and the error says where.
    """
    from optdist.instance import load_instance
    from optdist.solve import solve

    if args.out is not None:
        check_out_path(args.out, _input_files(args), placement=True)
    inst = load_instance(args.instance)
    stages_asked(inst, args)  # a request --stages names that the instance lacks: refused before the solve
    if args.method != "defended":
        warn_defence_ignored(args.instance, inst, f"--method {args.method}")
    elif not inst.spec.defence and not (set(inst.profiles) - set(inst.spec.networks)):
        log.warning("%s: the instance has no defence entry and its CNNs are your own networks: defences are measured "
                    "on the zoo CNNs only, so --method defended can only choose distribution alone (fix: solve without "
                    "--method defended; your networks are protected through their privacy tables)", args.instance)
    elif not inst.spec.defence:
        cnns = sorted(set(inst.profiles) - set(inst.spec.networks))
        log.warning("%s: the instance has no defence entry: --method defended can only choose distribution alone "
                    "(fix: add a defence entry, e.g. \"defence\": {\"%s\": {\"mode\": \"auto\"}}, or solve "
                    "without --method defended)", args.instance, cnns[0] if cnns else "CNN")
    from optdist.privacy import privacy_warnings

    for w in [*inst.measured_warnings(), *privacy_warnings(inst, recorded_only=True)]:
        log.warning("%s", w)
    opts = _method_options(args.method, args)
    deadline = None
    if args.time_limit is not None and args.method == "milp":  # from the process start (or main's call) to the exit
        started = getattr(args, "started", None)  # None: the process's own command (optdist.cli.main)
        age = process_age() if started is None else time.perf_counter() - started
        deadline = time.perf_counter() + args.time_limit - age - exit_reserve(args.time_limit)
        if "time_limit" in opts:  # spent starting up: the method gets a token limit and no solve starts
            opts["time_limit"] = max(deadline - time.perf_counter(), 1e-3)
    log.info("solving %s with %s%s", inst.name, args.method, f" ({args.formulation}, {args.solver})" if args.method == "milp" else "")
    own_process = getattr(args, "started", None) is None
    with watch_progress() as progress:
        if isinstance(opts.get("warm_start"), Assignment):  # a limit spent starting up still reports a feasible one
            offer_warm_start(inst, opts["warm_start"])
        with _stop_at(deadline, inst, args, progress, enabled=own_process and deadline is not None) as stopper, \
                quiet_native_stdout(not args.tee), run_deadline(deadline):
            try:
                with _limits_named_as_flags(args.method, getattr(args, "typed", None)):
                    res = solve(inst, method=args.method, **opts)
            finally:  # also when it raised: that may be the stopper's take-over (see _Stopper.finish)
                stopper.finish()
    return _report(inst, res, args)


def _limits_named_as_flags(method: str, typed: dict[str, str] | None = None) -> contextlib.AbstractContextManager:
    """For a plan method (plan-guided, plan-rollout): its warning of limits above ``--time-limit``
    names the flags the user typed with the values as typed (``typed``: dest -> text,
    ``args.typed`` of :func:`_keeps_text`): ``--plan-time-limit 1e300``, not the Python options
    nor the float's ``1e+300`` (:func:`optdist.heuristics.plan_guided.limits_named`); any other
    method: nothing."""
    from optdist.solve import METHOD_OPTIONS

    if "plan_time_limit" not in METHOD_OPTIONS.get(method, ()):
        return contextlib.nullcontext()
    from optdist.heuristics.plan_guided import limits_named

    return limits_named({**PLAN_FLAGS, "time_limit": FLAG["time_limit"]}, typed)


def _report(inst, res, args: argparse.Namespace) -> int:
    """Print the result, then write --out; return the exit status (see :func:`cmd_solve`).

    The result is printed first, so that a write that fails (a full disk, the file-size limit)
    leaves the objective and placement summary on stdout; a failed write keeps the result
    elsewhere (:func:`_keep_result`) and exits 2. A closed stdout (``| head``) or a printing
    error does not lose --out either: the file is written, then the error stands."""
    fallback = res.extra.get("decomposed")
    if getattr(args, "formulation", None) == "decomposed" and isinstance(fallback, str) and fallback.startswith("not applicable"):
        log.warning("--formulation decomposed: %s", fallback)  # the header says 'tight': here is why
    ok = res.evaluation is not None and res.evaluation.feasible
    rc = interrupted_status(res.extra.get("interrupted")) if res.termination == "interrupted" else 0 if ok else 1
    write = False
    if args.out:
        if res.assignment is None and args.out.exists():
            log.warning("kept the existing %s: this run has no solution (termination %s)%s", args.out, res.termination,
                        _made_for_other(args.out, inst))
        else:
            write = True  # its instance_digest lets a later run that keeps the file tell whose it is
    failed: Exception | None = None
    try:
        _print_result(inst, res, args)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped reading; the result stands (and --out is written)
        from optdist.cli import _quiet_stdout

        _quiet_stdout()
    except Exception as e:  # printing failed: --out is still written, then the error stands
        failed = e
    if write:
        try:
            res.save(inst, args.out, force=True)  # --out checked before the run (check_out_path)
            log.info("wrote %s", args.out)
        except (OSError, ValueError) as e:  # a full disk, the file-size limit, a folder made read-only
            _keep_result(inst, res, args.out, e)
            rc = rc if rc in (EXIT_INTERRUPTED, EXIT_TERMINATED) else 2
    if failed is not None:
        raise failed
    return rc


def _keep_result(inst, res, out: Path, e: Exception) -> None:
    """--out ``out`` could not be written (``e``): keep the result, the only copy of a run that may
    have taken hours, in the system's temporary folder under a new name (``r.json`` ->
    ``/tmp/r-kept-k3x9q1.json``; never replacing a file there) and say where and how to move it;
    where that fails too (the same full disk, a file-size limit), print the result's JSON on
    stderr, to copy from the terminal or a log. One error line names ``--out``, the reason and
    the fix."""
    import tempfile

    from optdist.io import OutputWriteError, json_dumps

    if isinstance(e, OutputWriteError):
        why, remedy = f"cannot write --out {out}: {e.reason}", e.remedy
    else:  # e.g. a link put in its place during the run (OutputPathError): its own words
        why, remedy = f"cannot write --out {out}: {e}", ""
    then = f"{remedy}, then " if remedy else ""
    kept = None
    try:
        fd, name = tempfile.mkstemp(dir=tempfile.gettempdir(), prefix=f"{out.stem[:100]}-kept-",
                                    suffix=out.suffix or ".json")
        os.close(fd)
        try:
            res.save(inst, name, force=True)
            kept = Path(name)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(name)
    except OSError:
        pass
    if kept is not None:
        print(f"optdist solve: error: {why}; the result is kept in {kept} instead (fix: {then}`mv {shlex.quote(str(kept))} "
              f"{shlex.quote(str(out))}`; or use {kept} where it is)", file=sys.stderr)
        return
    print(f"optdist solve: error: {why}; nothing could be kept in {tempfile.gettempdir()} either, so the result "
          f"file's JSON follows on stderr (fix: {then}save it as {out}, or anywhere else)", file=sys.stderr)
    print(json_dumps(res.to_json(inst), non_finite=True, where=str(out)), end="", file=sys.stderr)
    sys.stderr.flush()


#: share of the exit reserve after the deadline at which :class:`_Stopper` reports the best so far;
#: the rest is for its re-scoring, ``--out`` and printing (with half of a 4 s reserve, on a loaded
#: machine, MobileNetV2's 300 s run was stopped at 298 s and its process ended at 300.8 s)
STOP_AFTER = 0.25


class _Stopper:
    """Ends the process with the best result so far (:class:`optdist.milp.run.Progress`) when the
    solve has not returned :data:`STOP_AFTER` of the exit reserve past the run's deadline: a
    solver call that does not answer its cancellation (HiGHS in its root-node heuristics,
    ERGO-Code/HiGHS#885) or a step that overruns. Writes ``--out`` and the report to the real
    stdout/stderr (duplicated before any redirection), then ``os._exit``."""

    def __init__(self, deadline: float, inst, args: argparse.Namespace, progress) -> None:
        self.inst, self.args, self.progress = inst, args, progress
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.done = False
        sys.stdout.flush()
        self.fds = (os.dup(1), os.dup(2))  # the real stdout/stderr: a solver may have redirected 1 and 2
        wait = deadline + STOP_AFTER * exit_reserve(args.time_limit) - time.perf_counter()
        self.spent = process_age() if deadline <= time.perf_counter() else None  # the limit gone before the solve
        # at most TIMEOUT_MAX: a huge --time-limit must not overflow the timer
        self.timer = threading.Timer(min(max(wait, 0.0), threading.TIMEOUT_MAX), self._stop)
        self.timer.daemon = True
        self.timer.start()

    def finish(self) -> None:
        """The solve returned or raised: the normal path goes on (or, if the timer took over, this
        thread waits for the timer's report and exit: an exception the take-over caused in the
        solve, e.g. Pyomo's ``capture_output`` finding ``sys.stdout`` swapped, is not reported)."""
        with self.lock:
            taken, self.done = self.done, True
        if taken:
            threading.Event().wait()  # the timer thread reports and ends the process
        self.close()

    def close(self) -> None:
        """Stop the timer, close the duplicated descriptors (idempotent)."""
        self.timer.cancel()
        fds, self.fds = self.fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _stop(self) -> None:
        from optdist.milp.decomposition.guard import cap_bound
        from optdist.result import SolveResult, Termination, finalize

        with self.lock:
            if self.done:
                return
            self.done = True
        p, args = self.progress, self.args
        with p.lock:
            asg, objective, bound, from_start = p.assignment, p.objective, p.bound, p.warm_start
        capped: list[dict] = []  # never a bound above the incumbent (a solver's false claim)
        if bound is not None and objective is not None:
            bound = cap_bound(bound, [objective], solver=args.solver, what="the run's bound at its deadline",
                              record=capped)
        why = (f"the solve had not returned {STOP_AFTER * exit_reserve(args.time_limit):.2g} s past the deadline of "
               f"--time-limit {args.time_limit:g}: " + ("the best placement and bound found so far are reported"
                                                         if asg is not None else "no placement had been found"))
        if self.spent is not None and (asg is None or from_start):
            why = (f"--time-limit {args.time_limit:g} was spent before the solve could start (start-up and loading "
                   f"took {self.spent:.2f} s, the exit reserve {exit_reserve(args.time_limit):.2g} s; fix: a larger "
                   "--time-limit)" + ("; the best placement found so far is reported" if asg is not None else ""))
        term = Termination.TIME_LIMIT if asg is not None else Termination.NO_SOLUTION  # as every other path says it
        res = finalize(self.inst, SolveResult(self.inst.name, args.method, term, objective=objective,
                                              bound=bound, wall_time=time.perf_counter() - self.started,
                                              solver=args.solver, formulation=args.formulation,
                                              options={"pricing_solver": args.pricing_solver}
                                              if args.pricing_solver else {},
                                              assignment=asg, extra={"stopped": why,
                                                                     **({"bound_capped": capped} if capped else {}),
                                                                     **({"incumbent": _stopped_start(bound)}
                                                                        if from_start and asg is not None else {})}))
        out, err = io.StringIO(), io.StringIO()
        rc = 1
        try:
            # the notes go through the CLI's own handlers (their format, once each), into ``err``
            streams = [(h, h.setStream(err)) for h in log.handlers if isinstance(h, logging.StreamHandler)]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    if asg is not None:  # without one, the report says why there is no solution
                        log.warning("%s", why)
                    rc = _report(self.inst, res, args)
                except Exception as e:  # e.g. --out's folder gone: said here as cli._run would (exit below)
                    what = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename else e
                    print(f"optdist solve: {'error' if isinstance(e, OSError) else 'internal error'}: {what}", file=err)
                    rc = 2 if isinstance(e, OSError) else EXIT_INTERNAL
                finally:
                    for h, stream in streams:
                        if stream is not None:
                            h.setStream(stream)
        finally:
            with contextlib.suppress(OSError):
                os.write(self.fds[1], err.getvalue().encode())
                os.write(self.fds[0], out.getvalue().encode())
            os._exit(rc)


def _stopped_start(bound: float | None) -> str:
    """``extra["incumbent"]`` of a run stopped at its deadline (:class:`_Stopper`) whose best
    placement is the warm start: no step had offered a better one; ``bound`` (s): the largest a
    step had offered (None: none)."""
    return ("the warm start: no step of the solve had found a better placement by the run's deadline"
            + (" (the bound is the best its steps had proven)" if bound is not None else ", nor a bound"))


@contextlib.contextmanager
def _stop_at(deadline: float | None, inst, args: argparse.Namespace, progress, *, enabled: bool):
    """A :class:`_Stopper` for the block (only for the process's own command: it ends the
    process); else a stand-in whose ``finish`` does nothing."""
    if not enabled:
        yield _NoStop()
        return
    stopper = _Stopper(deadline, inst, args, progress)
    try:
        yield stopper
    finally:
        stopper.close()


class _NoStop:
    """No deadline, or not the process's own command (e.g. ``main([...])`` in a test)."""

    def finish(self) -> None:
        """Nothing to stop."""


def _print_result(inst, res, args: argparse.Namespace) -> None:
    print(f"instance     {inst.name}: {inst.n_devices} devices, {inst.n_nodes - inst.n_devices} sources, {inst.n_requests} requests, tau {inst.spec.tau}")
    how = f"{res.method}" + (f"  formulation {res.formulation}  solver {res.solver}" if res.method == "milp" else "")
    print(f"method       {how}")
    status = res.extra.get("solver_status")
    claimed = res.extra.get("claimed_termination")
    print(f"termination  {res.termination}{_within_gap(res)}" + (f"  ({status})" if status else "")
          + (f"  ({_by_design(res, inst) or f'the method said {claimed}'}{_why_not_claimed(res)})" if claimed else ""))
    gap = res.gap
    print(f"objective    {_fmt(res.objective)}   bound {_fmt(res.bound)}   gap {'-' if gap is None else f'{100 * gap:.4f}%'}")
    build = res.extra.get("build_s")
    timing = f"wall time    {res.wall_time:.3f} s" + (f" (build {build:.3f} s, solve {res.extra['solve_s']:.3f} s)" if build is not None else "")
    if isinstance(res.extra.get("train_s"), (int, float)):  # rl, rl-ppo without a policy: the training is not in it
        timing += f" (placement; training {res.extra['train_s']:.3g} s)"
    print(timing + (f"   nodes {res.nodes}" if res.nodes is not None else ""))
    if res.method == "defended" and res.extra.get("defence"):  # the choice, not only in --out's extra
        from optdist.defences.placement import defences_text

        print(f"defence      {defences_text(res.extra['defence'], len(inst.limits))}")
        ch = res.extra.get("charges_s") or {}
        if any(ch.values()) and res.extra.get("score") is not None:  # objective/bound: the placement's, as scored
            print(f"score        {_fmt(res.extra['score'])} = objective + DefQ time {_fmt(ch.get('defq', 0.0))} "
                  f"+ accuracy charge {_fmt(ch.get('accuracy', 0.0))} (what the defence was chosen by)")
    if "decision_ms_mean" in res.extra:
        x = res.extra
        print(f"decisions    {x['decision_ms_mean']:.3f} ms per request (max {x['decision_ms_max']:.3f} ms), "
              f"{x['decision_us_per_segment']:.1f} us per segment"
              + (f"; warm-up {1e3 * x['warmup_s']:.1f} ms before the first request" if x.get("warmup_s") is not None
                 else ""))
    if res.extra.get("past_deadline"):  # plan-guided, plan-rollout: --time-limit ran out before these were decided
        x, rejected = res.extra, 0 if res.evaluation is None else res.evaluation.n_rejected
        print(f"deadline     {x['past_deadline']} of {inst.n_requests} requests decided after --time-limit ran out, "
              f"without an exact solve (by the plan, found by {x['plan_found_by']}, else the greedy alone)"
              + (f"; {rejected} rejected (fix: a larger --time-limit may place them)" if rejected else ""))
    if "train_cut" in res.extra or res.extra.get("decided_past_deadline"):  # rl, rl-ppo: what --time-limit cut
        x = res.extra
        if "train_cut" in x:
            cut = x["train_cut"]
            done = (f"{cut['episodes']} of {cut['episodes_planned']} episodes" if "episodes" in cut
                    else f"{cut['env_steps']} of {cut['timesteps']} env steps")
            print(f"training     cut at {cut['train_limit_s']:.3g} s (half of --time-limit): {done}")
        if x.get("decided_past_deadline"):
            warm = (f"; the warm-up before the first request took {1e3 * x['warmup_s']:.1f} ms of it"
                    if x.get("warmup_s") is not None else "")
            if x.get("decisions_began_s") is not None:  # break39: else 'wall time 0.013 s' beside a 0.015 s limit
                warm += (f"; the limit counts from the start, and the first decision began "
                         f"{1e3 * x['decisions_began_s']:.1f} ms after it (loading the policy"
                         f"{', training' if 'train_s' in x else ''} and any warm-up, not in the wall time)")
            print(f"deadline     {x['decided_past_deadline']} of {inst.n_requests} requests decided after --time-limit "
                  f"ran out (by the network, milliseconds each){warm}")
    if "warm_start" in res.extra:
        skipped, unseeded = res.extra.get("warm_start_skipped"), res.extra.get("warm_start_not_seeded")
        print(f"warm start   {res.extra['warm_start']}" + (f" (not used: {skipped})" if skipped else
                                                           f" (the incumbent to beat, not a MIP start: {unseeded})"
                                                           if unseeded else ""))
    for text in warnings_of(res.extra) + [res.extra[key] for key in ("optimality_unproven",) if res.extra.get(key)]:
        print(f"WARNING      {text}")  # each of the run's warnings, in order (result.add_warning)
        log.warning("%s", text)  # on stderr too, as every other warning
    if res.evaluation is not None and res.extra.get("solver_error"):  # a placement kept: warned on stderr too
        print(f"WARNING      {res.extra['solver_error']}")
        kept = res.extra.get("incumbent") or "the placement found before it failed"
        log.warning("%s; kept %s%s", res.extra["solver_error"], kept, _no_bound(kept, res.bound))
    if res.evaluation is not None:
        for why in _solver_errors(res):
            print(f"WARNING      {why}")
            log.warning("%s", why)  # on stderr too, as every other warning (without a placement: below)
    if stopped := (res.extra.get("coupled_solve") or {}).get("pricing_stopped"):  # the coupled step ended early
        print(f"WARNING      {stopped}")
        log.warning("%s", stopped)
    start = _start_kept(res, args)
    if res.extra.get("interrupted"):
        kept = ("no incumbent yet" if not res.has_solution else "the incumbent and its bound are kept"
                if res.bound is not None else "the incumbent is kept, no bound"
                + (f" ({res.extra['incumbent']})" if res.extra.get("incumbent") else ""))
        print(f"interrupted  by {res.extra['interrupted']}: {kept}{start}")
    elif res.has_solution and res.bound is None and res.extra.get("incumbent"):  # e.g. the warm start, the solver killed
        said = res.extra["incumbent"]  # or out of time
        print(f"incumbent    {said}{_no_bound(said, res.bound)}{start}")
    elif res.has_solution and (res.extra.get("incumbent") or "").startswith("the warm start: "):
        print(f"incumbent    {res.extra['incumbent']}{start}")  # e.g. better than what a solver without a MIP start found
    if res.termination == "infeasible":
        from optdist.diagnose import diagnose

        print(diagnose(inst, solve=False).report(command=f"optdist diagnose {shlex.quote(str(args.instance))}"))
    if res.evaluation is None:
        print("no solution")
        reasons = [res.extra.get(key) for key in ("stopped", "reason", "solver_error", "infeasible_by_checks")]
        reasons.append(_solver_errors(res))
        proof = res.extra.get("infeasible_by_checks")
        if proof and isinstance(proof, list):  # listed once, tidy, in the diagnosis above: here its count and first
            reasons[reasons.index(proof)] = (f"proven infeasible by {len(proof)} pre-solve check(s), the first: {proof[0]}"
                                             + ("" if len(proof) == 1 else " (the diagnosis on stdout lists them)"
                                                if len(proof) <= 12 else " (the diagnosis on stdout lists the first 12; "
                                                f"`optdist diagnose {shlex.quote(str(args.instance))} --no-solve --json "
                                                "OUT` writes all)"))
        for why in filter(None, reasons):  # why (also in the --out file's extra)
            log.warning("no solution: %s", "; ".join(why) if isinstance(why, list) else why)
        limit, source = _time_limit(res, args.time_limit)
        if res.termination == "no_solution" and not any(reasons):
            if (res.extra.get("cancelled") or res.extra.get("limit_reached") == "time_limit"
                    or (limit is not None and res.wall_time >= 0.8 * limit)):  # the clock
                log.warning("no solution: the solve's time limit (%.3g s; %s) ran out before a placement was found "
                            "(fix: a larger --time-limit, or --warm-start greedy)", *_solver_limit(res, limit, source))
            else:  # ended by itself, neither placed nor proven impossible
                log.warning("no solution: the search ended without a placement and without proving that none "
                            "exists (fix: `optdist diagnose %s` says why; `--formulation tight` may prove it "
                            "infeasible)", args.instance)
    else:
        print("\n# evaluator")
        print_evaluation(inst, res.evaluation, args.requests, f'{args.out}\'s "violation_list"' if args.out else
                         'the "violation_list" of the result file --out FILE writes')
        print_stage_breakdowns(inst, res.evaluation, args.requests, stages_asked(inst, args))
        _print_node_use(res.scored_on or inst, res.evaluation)  # a defence's capacities where it scaled them


def _made_for_other(path, inst) -> str:
    """For the warning that keeps an existing --out file after a run without a solution: ``"; but it
    was made for another instance ..."`` where the file's instance name or its ``instance_digest``
    (:meth:`~optdist.instance.Instance.content_digest`; in a file written before it, its
    ``extra.instance_fingerprint``, :func:`optdist.milp.export.instance_fingerprint`) differs from
    ``inst``'s (same name, other content: e.g. tau changed), or it records neither; "" where it is
    a result of this very instance (or unreadable)."""
    from optdist.jsonfile import MiB, DocumentError, read_json

    try:
        doc = read_json(path, 256 * MiB, what="result")
    except (OSError, DocumentError, ValueError):
        return ""
    if not isinstance(doc, dict):
        return ""
    name = doc.get("instance")
    fix = " (fix: do not use it as this instance's result; remove it, or give another --out)"
    if name != inst.name:
        return (f"; but {path} was made for a different instance ({text_of(name)}, not {text_of(inst.name)})" + fix)
    extra = doc.get("extra") if isinstance(doc.get("extra"), dict) else {}
    if isinstance(theirs := doc.get("instance_digest"), str):
        ours, what = inst.content_digest(), "instance digest"
        theirs = theirs.lower()
    elif isinstance(theirs := extra.get("instance_fingerprint"), str):  # a file written before instance_digest
        from optdist.milp.export import instance_fingerprint

        ours, what = instance_fingerprint(inst), "instance fingerprint"
    else:
        return (f"; {path} records no instance digest, so it may be a result of another version of "
                f"{text_of(inst.name)} (this one's instance_digest is {inst.content_digest()[:12]})" + fix)
    if theirs != ours:
        return (f"; but {path} was made for a different instance: same name {text_of(inst.name)}, other content "
                f"({what} {theirs[:12]}, not {ours[:12]}: its devices, networks, privacy tables or tau "
                "differ)" + fix)
    return ""


def _no_bound(said: str, bound: float | None) -> str:
    """``"; no bound"`` to add to ``said`` (the words on a kept placement, e.g. ``extra["incumbent"]``)
    where the run has no ``bound`` and ``said`` does not say so already (the :class:`_Stopper`'s
    words end "..., nor a bound": :func:`_stopped_start`); else "". The one home of that rule
    for every line that says a placement was kept (fix24 fixed the incumbent line's "nor a bound;
    no bound"; msgs25 the failed solver's warning, which could say it twice the same way)."""
    return "" if bound is not None or "no bound" in said or "nor a bound" in said else "; no bound"


def _by_design(res, inst) -> str:
    """For a placement the evaluator found infeasible, what its method said of each family of
    its violations: the method's own words for those it makes by design (``extra["not_modelled"]``,
    e.g. per-layer ignores privacy: "violates privacy (10f): per-layer does not model the privacy
    limits Nf"), and for any other, that the method claimed it respected it. "" where the
    method names none (its claim covers every constraint: the caller says "the method said ...")."""
    own = res.extra.get("not_modelled")
    if not own or res.evaluation is None or res.evaluation.feasible:
        return ""
    scored = res.scored_on or inst
    families = list(dict.fromkeys(violation_families(scored, res.evaluation.violations)))
    said = [_admission_words(own[f], res.evaluation) if f == "admission" else own[f] for f in families if f in own]
    other = [f for f in families if f not in own]
    if other:
        named = ", ".join(FAMILY_NAMES.get(f, f) for f in other)  # "placement (layers on a source)", not the key
        said.append(f"violates {named}, which {res.method} models: the method said "
                    f"{res.extra.get('claimed_termination')} (a bug in the method)")
    return "; ".join(said)


def _admission_words(said: str, ev) -> str:
    """A method's words for the requests it rejects with admission control off ("rejects requests
    with admission control off: WHY", ``extra["not_modelled"]["admission"]``) with how many and
    which: "rejects 1 request (r1) with admission control off: WHY" (at most 5 ids named)."""
    ids = [v.request for v in ev.violations if v.constraint == "admission"]
    named = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return said.replace("rejects requests", f"rejects {len(ids)} request{'s' if len(ids) > 1 else ''} ({named})", 1)


def _why_not_claimed(res) -> str:
    """Why the termination is not the one the method claimed (``extra["claimed_termination"]``):
    its placement breaks constraints (listed below), its bound closes the gap though a limit
    stopped it (:func:`optdist.result.finalize`), or a warning says why (e.g. a proof in doubt)."""
    if res.evaluation is not None and not res.evaluation.feasible:
        return "; see the violations below"
    if res.termination == "optimal":
        return "; its bound already closes the gap"
    return "; see the WARNING lines"


def _start_kept(res, args: argparse.Namespace) -> str:
    """``"; the kept placement is the --warm-start FILE"`` (or METHOD, as given) where the run's
    placement is its warm start (``extra["incumbent"]`` "the warm start: ...", e.g. interrupted or
    out of time before the solver's own), for the line that says why it is kept; else ""."""
    given = getattr(args, "warm_start", None)
    if not (given and res.has_solution and (res.extra.get("incumbent") or "").startswith("the warm start: ")):
        return ""
    return f"; the kept placement is the --warm-start {given}"


def _time_limit(res, given: float | None) -> tuple[float | None, str]:
    """The time limit (s) that bound the solve and where it came from: the CLI's (``given``, the
    --time-limit; the solve's is that less start-up and an exit reserve, the run's deadline too)
    or a raw solver option's, which replaces it in ``res.options["time_limit"]``
    (:func:`optdist.milp.solve.record_raw_options`): the shorter of the two bound it."""
    limit = res.options.get("time_limit")
    cli = res.options.get("overridden", {}).get("time_limit")
    if cli is not None and (limit is None or cli <= limit):
        limit = cli
    elif cli is not None or (given is None and limit is not None):
        return limit, "from --solver-option or the solver profile"
    return limit, "from the CLI, its --time-limit less start-up and an exit reserve"


def _solver_limit(res, limit: float | None, source: str) -> tuple[float | None, str]:
    """The time limit the solver itself ran under and its source, for the "no solution" warning:
    ``limit`` (s, from ``source``: :func:`_time_limit`) is the run's; where the solver call had
    less of it (``extra["solver_time_limit_s"]``: the run's less the warm start's share and the
    model's build, :func:`optdist.milp.run.solve_formulation`), that, saying what took the rest.
    Before, the warning named the run's limit (1.37 s) for a solver that had 0.23 s of it after a
    --warm-start plan-guided and the build."""
    own = res.extra.get("solver_time_limit_s")
    if not isinstance(own, (int, float)) or limit is None or own >= limit * (1 - 1e-9):
        return limit, source
    took = [f"the --warm-start {res.extra['warm_start']}"
            if res.extra.get("warm_start") not in (None, "assignment") else None,
            f"the model's build ({res.extra['build_s']:.2g} s)" if isinstance(res.extra.get("build_s"), float) else None]
    rest = " and ".join(t for t in took if t) or "the steps before the solve"
    return own, f"what the solver had of the run's {limit:.3g} s after {rest}; the run's is {source}"


def _solver_errors(res) -> list[str]:
    """The failed solver calls of a run of many (``extra["solver_errors"]``, e.g. the
    decomposition's: :func:`optdist.solvers.base.reports_solver_failures`), one line each."""
    return [f"{e['solves']} solver call{'s' if e['solves'] > 1 else ''} of this run failed (the result is what "
            f"its other steps found): {e['message']}" for e in res.extra.get("solver_errors", ())]


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
    from optdist.instance import load_instance, referenced_files
    from optdist.milp import build
    from optdist.milp.export import write_model
    from optdist.milp.run import PROGRESS_AFTER_S, progress  # as the build reads them, when it runs

    check_out_path(args.out, [args.instance, *referenced_files(args.instance)], example=f"model.{args.format or 'lp'}")
    inst = load_instance(args.instance)
    warn_defence_ignored(args.instance, inst, "optdist export: the model places without defences")
    start = time.perf_counter()
    b = build(inst, args.formulation, progress=True)  # a long build says its size, time and steps (-q: not)
    if time.perf_counter() - start >= PROGRESS_AFTER_S:  # writing a large model takes as long again, or longer
        progress.info("%7.1fs  model built; writing %s", time.perf_counter() - start, args.out)
    try:
        with naming("--out"):
            path = write_model(b, args.out, args.format)
    except ValueError as e:  # an extension that is not .lp/.mps, or not --format's
        raise CliError(f"--out {args.out}: {e} (fix: name a .lp or .mps file, or give --format lp|mps with the "
                       "same extension)") from None
    s = b.stats()
    how = "glpsol --lp" if path.suffix.lower() == ".lp" else "glpsol --freemps"
    q = lambda p: shlex.quote(str(p))  # noqa: E731 - the command is pasted into a shell: a space must not split a path
    print(f"wrote {path}: {args.formulation} model of {inst.name}, minimise (objective in {b.time_unit:g} s units), "
          f"{s['variables']} variables ({s['integer_variables']} integer), {s['constraints']} constraints; "
          f"e.g. `{how} {q(path)} -o {q(path.with_suffix('.sol'))}`, then `optdist import-solution ... --format glpk`")
    return 0


def _fresh_model_name(model_file: Path, name: object) -> Path:
    """A model file name for instance ``name`` beside ``model_file`` (its extension), other than
    ``model_file`` and any file there: the fix of a refused import suggests exporting to it."""
    model_file = Path(model_file)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name or "")).strip("._") or "model"
    suffix = model_file.suffix or ".lp"
    fresh, n = model_file.with_name(stem + suffix), 1
    while fresh.name == model_file.name or os.path.lexists(fresh):
        n += 1
        fresh = model_file.with_name(f"{stem}-{n}{suffix}")
    return fresh


def cmd_import_solution(args: argparse.Namespace) -> int:
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance, referenced_files
    from optdist.milp import build
    from optdist.milp.export import (MODEL_FORMATS, fingerprint_of, formulation_of, instance_fingerprint, instance_of,
                                     load_solution, read_solution)

    if args.out:
        check_out_path(args.out, [args.instance, *referenced_files(args.instance), args.model_file, args.solution],
                       placement=True, example="assignment.json")
    inst = load_instance(args.instance)
    written = formulation_of(args.model_file)
    if args.formulation and written and args.formulation != written:  # the header's is the model's: one would be misread
        raise CliError(f"--formulation {args.formulation}: {args.model_file} holds the {written} model (its header) "
                       f"(fix: leave --formulation out, or give --formulation {written})")
    formulation = args.formulation or written
    if formulation is None:
        raise ValueError(f"{args.model_file}: cannot tell the formulation from its header: it names no model of "
                         "`optdist export` (name '<instance>-<formulation>~<fingerprint>'), so it is another file, "
                         "e.g. the solution or the instance (fix: give the .lp or .mps file `optdist export` wrote "
                         "as --model-file; for a model written otherwise, pass --formulation)")
    model_format = args.model_file.suffix.lstrip(".").lower() or "lp"
    if model_format not in MODEL_FORMATS:  # its names are read as the .lp or .mps writer names the columns
        raise CliError(f"--model-file {args.model_file}: a .{model_format} file is no model `optdist export` writes "
                       f"(it writes {' or '.join('.' + f for f in MODEL_FORMATS)}; the names in the solution are read "
                       "as that writer names the columns) (fix: give the .lp or .mps file `optdist export` wrote, "
                       "under the name it was written to)")
    exported_from = instance_of(args.model_file)
    exported_fp, this_fp = fingerprint_of(args.model_file), instance_fingerprint(inst)
    other = exported_from is not None and exported_from != inst.name
    if exported_fp is not None and exported_fp != this_fp:  # None: a file written before fingerprints
        # one refusal, naming both instances (before: a warning of the other name, then this)
        what = (f"instance {text_of(exported_from)}, not {text_of(inst.name)} ({args.instance}), and their contents "
                f"differ ({exported_fp} in its header, {this_fp} here)" if other else
                f"instance content {exported_fp} (its header), but {args.instance} ({text_of(inst.name)}) has content "
                f"{this_fp}: the instance changed since the export (its devices, networks or privacy tables), or it is "
                "another one")
        fresh = _fresh_model_name(args.model_file, inst.name)  # not --out MODEL_FILE: it would replace the user's file
        raise CliError(f"{args.model_file}: exported from {what} (fix: export the model of this instance again, "
                       f"`{shlex.join(['optdist', 'export', str(args.instance), '--formulation', formulation, '--out', str(fresh)])}`, and "
                       "solve it; or import against the instance it was exported from)")
    if other:  # same content (or a file written before fingerprints): the name alone differs
        log.warning("%s: exported from instance %s, not %s; the model objective printed is the "
                    "solver's value for that instance", args.model_file, text_of(exported_from), text_of(inst.name))
    b = build(inst, formulation)
    values = read_solution(args.solution, args.format)
    unknown = load_solution(b, values, model_format)
    if unknown:
        raise ValueError(f"{args.solution}: {len(unknown)} names are not in the {formulation} model of {inst.name} "
                         f"that {args.model_file} holds (e.g. {', '.join(map(text_of, unknown[:3]))}): the solution is "
                         "of another model, e.g. another --formulation's export or another instance's (fix: give the "
                         f"solution the solver wrote for {args.model_file}, or the --model-file it solved)")
    from optdist.milp.extract import InvalidSolution

    try:
        asg = b.to_assignment()
    except InvalidSolution as e:  # the file's values (NaN, counts that do not add up): bad input, named
        raise ValueError(f"{args.solution}: its values are no placement of the {formulation} model of {inst.name} "
                         f"({e}); fix: check that the solver finished and wrote this model's solution") from e
    asg.meta.update(source=str(args.solution), solution_format=args.format)
    claimed, whence = _model_objective(b, values, args.format)
    print(f"read {len(values)} values from {args.solution} ({args.format}); model objective {claimed:.9g} s "
          f"({whence})")
    ev = evaluate(inst, asg)
    print_evaluation(inst, ev)
    higher = _objectives_disagree(args, inst.name, claimed, ev)
    if args.out:
        asg.save(inst, args.out, force=True)  # --out checked first (check_out_path)
        print(f"wrote {args.out}")
    return 0 if ev.feasible and not higher else 1


def _model_objective(b, values, fmt: str) -> tuple[float, str]:
    """The model objective of an imported solution, in seconds, and where it comes from: the
    solver's own objective line in its file (``values.objective``, model units of ``b.time_unit``
    s: glpsol's ``Objective:  obj = ...``, CBC's ``objective value ...``), else recomputed from the
    column values as the file prints them (glpsol and CBC round them, so this may differ from the
    solver's in the last digits)."""
    solver = {"glpk": "glpsol", "cbc": "CBC"}.get(fmt, fmt)
    if values.objective is not None:
        return (values.objective * b.time_unit,
                f"{solver}'s own, line {values.objective_line} of the file: {values.objective:.12g} in model units "
                f"of {b.time_unit:g} s")
    rounded = f", which {solver} rounds" if fmt in ("glpk", "cbc") else ""
    return b.objective_seconds(), f"recomputed from the values as the file prints them{rounded}"


def _objectives_disagree(args: argparse.Namespace, name: str, claimed: float, ev) -> bool:
    """Warn when the model objective of the values read and the evaluator's score of the placement
    differ by more than :data:`~optdist.result.AGREE_RTOL` (relative); True when the evaluator
    scores it HIGHER (the solution does not fit this instance's model, e.g. it solved another
    instance with the same names: import-solution then exits 1). A lower score is a solution with
    slack stage times (e.g. a time-limited incumbent): the evaluator's is the placement's cost."""
    from optdist.result import AGREE_RTOL, GAP_EPS

    diff = abs(ev.objective - claimed) / max(abs(ev.objective), abs(claimed), GAP_EPS)
    if diff <= AGREE_RTOL:
        return False
    higher = ev.objective > claimed
    log.warning("the model objective %.9g s of %s and the evaluator's %.9g s for %s disagree (%.3g relative, "
                "tolerance %g); trust the evaluator's: %s", claimed, args.solution, ev.objective, name, diff,
                AGREE_RTOL, "the solution does not fit this instance's model (was it solved for another instance, "
                "or another export?); exit status 1" if higher else
                "the solution's stage times have slack (e.g. a time-limited incumbent); the placement costs the "
                "evaluator's")
    return higher


#: the extensions pareto writes its prefix with; an --out ending in one is the prefix without it
PARETO_EXTENSIONS = (".csv", ".md", ".png")


def _pareto_prefix(out: str | None, name: str) -> Path:
    """The file prefix of pareto's --out: ``pareto-<instance>`` where none is given, inside the
    folder ``out`` names (an existing folder, or a name ending in a slash, which pathlib would
    drop: ``--out dir/`` wrote dir.csv beside the folder), else ``out`` less one of the
    extensions written (:data:`PARETO_EXTENSIONS`, in any case: ``--out p.csv`` wrote p.csv.csv,
    ``--out p.CSV`` p.CSV.csv), else ``out`` itself."""
    default = f"pareto-{name}"
    if out is None:
        return Path(default)
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return Path(out) / default
    given = Path(out)
    return given.with_suffix("") if given.suffix.lower() in PARETO_EXTENSIONS else given


def _refuse_foreign_pareto_files(prefix: Path) -> None:
    """CliError, before the sweep, where one of the files pareto writes at ``prefix`` (.csv, .md,
    .png) exists, is not empty and is not pareto's own (a CSV whose header is not the front's, a
    Markdown file without its title, a PNG matplotlib did not draw): ``--out data.csv`` replaced
    the user's data.csv."""
    from optdist.bench.figures import _drawn_by_optdist
    from optdist.bench.tables import _first_line

    csv, md, png = (prefix.with_name(prefix.name + ext) for ext in PARETO_EXTENSIONS)
    ours = {csv: lambda: (_first_line(csv) or "").startswith("eps_bytes,"),
            md: lambda: "/ shared-data front: " in (_first_line(md) or ""),
            png: lambda: _drawn_by_optdist(png)}
    for path, is_ours in ours.items():
        if path.is_file() and path.stat().st_size and not is_ours():
            raise CliError(f"--out {path}: exists and was not written by optdist pareto; the sweep would replace it "
                           "(fix: give another --out, e.g. --out front/, or move the file away)")


def cmd_pareto(args: argparse.Namespace) -> int:
    """Sweep, print the front's table, then write its .csv, .md and .png (each atomically; the
    table first, so that a full disk loses no point: the write's error names the file and the fix).

    Solver calls that failed (e.g. a CBC process killed) are warned, one line per distinct
    failure. A sweep without a solved point writes nothing (existing files of the prefix are kept,
    a warning says so). Exit status: 0 a point solved, 1 none (no feasible result), 130 stopped by
    SIGINT, 143 by SIGTERM (the points solved so far written, as above).
    """
    from optdist.instance import load_instance, referenced_files
    from optdist.milp.pareto import front_table, pareto_sweep, plot_front
    from optdist.solvers.base import signals_received

    inst = load_instance(args.instance)
    prefix = _pareto_prefix(args.out, inst.name)
    folder = None  # a folder --out names (ending in /) that is not there yet: made once a point is solved
    if args.out is not None and args.out.endswith(("/", os.sep)) and not prefix.parent.is_dir():
        folder = check_output_folder(prefix.parent, "--out")  # as bench, train-rl, calibrate check theirs
    elif args.out is not None:  # a prefix in a missing folder is refused: optdist makes none for a file named
        for ext in PARETO_EXTENSIONS:
            check_out_path(prefix.with_name(prefix.name + ext), [args.instance, *referenced_files(args.instance)],
                           example=f"pareto-{inst.name}{ext}")  # a folder there: --out FOLDER/ writes it
    _refuse_foreign_pareto_files(prefix)
    warn_defence_ignored(args.instance, inst, "optdist pareto")
    front = pareto_sweep(inst, args.points, formulation=args.formulation, solver=args.solver, time_limit=args.time_limit)
    got = signals_received()
    stopped = signal.Signals(got[0]).name if got else None
    for e in front.solver_errors:
        log.warning("%d solver call%s of this sweep failed (%s; the front is what the other solves found): %s",
                    e["solves"], "s" if e["solves"] > 1 else "", "their points say termination error"
                    if e["solves"] > 1 else "its point says termination error", e["message"])
    if front.not_run:
        log.warning("%s: %d of the %d shared-data levels were not run (the table has the %d points solved or "
                    "stopped)", stopped or "stopped", front.not_run, front.not_run + sum(p.eps_bytes is not None
                                                                                       for p in front),
                    len(front))
    kind = inst.objective.kind  # the swept axis is latency_s or makespan_s
    df = front_table(front, kind)
    csv, md, png = (prefix.with_name(prefix.name + ext) for ext in PARETO_EXTENSIONS)
    print(df.to_markdown(index=False, floatfmt=".6g"))
    sys.stdout.flush()
    if front.solved:
        if folder is not None:
            make_output_folder(folder, "--out")
        with naming("--out"):
            atomic_write_text(csv, df.to_csv(index=False))
            atomic_write_text(md, f"# {kind.capitalize()} / shared-data front: {inst.name}\n\n" + df.to_markdown(index=False, floatfmt=".6g") + "\n")
            with atomic_path(png, keep_suffix=True) as tmp:
                plot_front(front, str(tmp), inst.name, kind)
        print(f"wrote {csv}, {md}, {png}")
    else:
        kept = [str(path) for path in (csv, md, png) if path.exists()]
        why = (f"stopped by {stopped} before the first point was solved" if stopped else
               f"no point was solved (termination {', '.join(dict.fromkeys(p.termination for p in front))})")
        infeasible = any(p.termination == "infeasible" for p in front)
        limited = not stopped and args.time_limit is not None and any(
            p.termination in ("no_solution", "time_limit") for p in front)  # a limit ended a solve without one
        log.warning("no point on the front: %s; nothing written%s%s", why,
                    f", the existing {', '.join(kept)} kept" if kept else "",
                    f" (`optdist diagnose {shlex.quote(str(args.instance))}` says why)" if infeasible else
                    f" (fix: a larger --time-limit, now {args.time_limit:g} s per solve)" if limited else "")
    if stopped:
        return interrupted_status(stopped)
    return 0 if front.solved else 1  # 1: the CLI's "no feasible result"
