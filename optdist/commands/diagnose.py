"""``optdist diagnose FILE``: why an instance is infeasible (pre-solve checks and relaxations).

Exit status (the CLI's vocabulary, :mod:`optdist.cli`): 0 the full MILP found a feasible
placement (with ``--no-solve``: the pre-solve checks find nothing); 1 no feasible result: proven
infeasible, or the MILP gave no answer (time limit, solver failure); 2 bad input; 130/143 stopped
by SIGINT/SIGTERM (the solve under way stops, no further relaxation or file is tried, the partial
diagnosis is printed and written). Solver calls that failed (e.g. a CBC process killed: the
relaxation says ``error`` and why) are warned on stderr, one line per distinct failure and file.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from typing import TYPE_CHECKING

from optdist.cli import option_flag, path_flag
from optdist.commands.core import warn_defence_ignored
from optdist.io import atomic_write_json, check_output_file, check_overwritable, make_output_folder, naming
from optdist.jsonfile import quoted, text_of

if TYPE_CHECKING:
    from optdist.diagnose import Diagnosis

log = logging.getLogger("optdist")

EXIT_FEASIBLE = 0
EXIT_NO_FEASIBLE = 1  # the CLI's "no feasible result"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="explain an infeasible instance: pre-solve checks, then which relaxed constraint families restore feasibility",
        epilog="exit status: 0 feasible (--no-solve: the checks find nothing), 1 no feasible result (infeasible, "
               "or the MILP gave no answer in time or its solver failed: a warning names the failure), 2 user error, "
               "3 internal error, 130 interrupted (SIGINT), 143 (SIGTERM)",
    )
    p.add_argument("files", nargs="+", type=Path, help="instance files")
    p.add_argument("--no-solve", action="store_true", help="only the pre-solve checks (no MILP)")
    p.add_argument("--time-limit", action=option_flag("time_limit", "60"), default=60.0, metavar="S",
                   help="total seconds for the MILP relaxations (default 60)")
    p.add_argument("--families", default="privacy,memory,compute,bandwidth",
                   help="constraint families to relax, comma-separated (also: placement)")
    p.add_argument("--threads", action=option_flag("threads", "4"), metavar="N",
                   help="threads for the MILP relaxations")
    p.add_argument("--solver", default="highs",
                   help="MILP solver of the relaxations: adapter (highs, cbc, glpk, scip, ...) or profile in solvers/ "
                        "(default highs)")
    p.add_argument("--json", action=path_flag("diagnosis.json", "give a file for one instance, e.g. --json "
                   "diagnosis.json, or a folder for several, e.g. --json diagnoses"), metavar="OUT",
                   help="write the diagnosis (one file: JSON; several, or a name ending in /: a folder of "
                        "NAME.diagnosis.json files)")
    p.set_defaults(func=cmd_diagnose)


def exit_status(d: Diagnosis) -> int:
    """0 when ``d`` shows the instance feasible (not solved: the checks find nothing), else 1
    (infeasible, or the MILP gave no answer: no feasible result)."""
    shown_feasible = d.infeasible is False if d.solved else not d.findings
    return EXIT_FEASIBLE if shown_feasible else EXIT_NO_FEASIBLE


def _json_folder(args: argparse.Namespace) -> bool:
    """Whether ``--json`` names a folder: several instances, or a name ending in a slash (``--json d/``
    with one instance wrote a file named d: ``Path`` drops the slash, so the flag keeps its text)."""
    return len(args.files) > 1 or args.json.endswith(("/", os.sep))


def _json_path(args: argparse.Namespace, inst) -> Path:
    """Where ``--json`` writes ``inst``'s diagnosis: the file given for one instance, else
    ``FOLDER/<name>.diagnosis.json`` (:func:`_json_folder`)."""
    return Path(args.json) / f"{inst.name}.diagnosis.json" if _json_folder(args) else Path(args.json)


def _refuse_shared_names(files: list[Path], insts: list, folder: Path) -> None:
    """ValueError naming ``folder``, the two files and the fix where two of the instances ``insts``
    (read from ``files``) share a name: their diagnoses would be one file, ``folder/<name>.diagnosis.json``
    (before, the second replaced the first, each said "wrote")."""
    seen: dict[str, Path] = {}
    for f, inst in zip(files, insts):
        if inst.name in seen:
            raise ValueError(f"--json {folder}: {seen[inst.name]} and {f} are both instance {text_of(inst.name)}, so "
                             f"both diagnoses would be {folder / (inst.name + '.diagnosis.json')} (fix: give each "
                             "instance its own \"name\", or diagnose them one at a time, each with its own --json FILE)")
        seen[inst.name] = f


def cmd_diagnose(args: argparse.Namespace) -> int:
    from optdist.diagnose import FORMAT, RELAXABLE, diagnose
    from optdist.instance import load_instance
    from optdist.interrupts import interrupted_status

    fams = tuple(f.strip() for f in args.families.split(",") if f.strip())
    bad = sorted(set(fams) - set(RELAXABLE))
    if bad:
        raise ValueError(f"--families: unknown {quoted(bad)} (fix: choose from {quoted(RELAXABLE)}, e.g. --families privacy,memory)")
    if not fams:  # "" or ",": no relaxation would run, and the report would not say why
        raise ValueError(f"--families {text_of(args.families)} names no family (fix: choose from {quoted(RELAXABLE)}, e.g. "
                         "--families privacy,memory, or leave --families out for all but placement)")
    if args.json and not _json_folder(args):
        check_output_file(Path(args.json), "--json", "diagnosis.json")
    insts = [load_instance(f) for f in args.files]  # every file read before the first diagnosis: a bad one is refused first
    if args.json and _json_folder(args):
        _refuse_shared_names(args.files, insts, Path(args.json))
        make_output_folder(Path(args.json), "--json")  # a file there is refused now, not after the first diagnosis
    for inst in insts if args.json else []:  # an instance or profile given by mistake is kept
        check_overwritable(_json_path(args, inst), (FORMAT,), "--json")
    worst = 0
    for f, inst in zip(args.files, insts):
        warn_defence_ignored(f, inst, "optdist diagnose")
        d = diagnose(inst, solve=not args.no_solve, time_limit=args.time_limit, threads=args.threads, families=fams,
                     solver=args.solver)
        for e in d.solver_errors:
            log.warning("%s: %d solver call%s of this diagnosis failed (status error in the report; the diagnosis is "
                        "what the other solves found): %s", f, e["solves"], "s" if e["solves"] > 1 else "", e["message"])
        print(d.report())
        if args.json:
            out = _json_path(args, inst)
            with naming("--json"):  # the report is printed above: a full disk loses only the file
                atomic_write_json(out, d.to_json(), non_finite=True)
            print(f"wrote {out}")
        if d.interrupted:
            return interrupted_status(d.interrupted)
        worst = max(worst, exit_status(d))
    return worst
