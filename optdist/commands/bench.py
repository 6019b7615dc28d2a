"""Benchmark sub-commands: bench (run a sweep), bench-table, bench-figures."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import logging
import shlex
import sys
from pathlib import Path

from optdist.bench.spec import FIGURES as FIGURE_NAMES  # the names only: optdist.bench.figures loads matplotlib
from optdist.cli import CliError, count_flag, path_flag
from optdist.interrupts import interrupted_status, signal_name
from optdist.io import OutputPathError, OutputSpaceError, check_output_folder, make_output_folder, restore_non_finite
from optdist.jsonfile import is_json_name, quoted

MAX_WORKERS = 256  # local runs at once; each is a process (a solver, a torch job)
ERROR_CHARS = 400  # of a failed run's error quoted on stderr (the record holds all of it)
log = logging.getLogger("optdist")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a sweep spec (resumable), then write its tables and figures",
                       epilog="Exit status: 0 when every run of the grid has an ok record; 1 when any is recorded as "
                              "error or timeout (tables are still written; --retry-errors redoes them); 2 on a bad "
                              "spec or a busy folder; 130/143 on SIGINT/SIGTERM.")
    p.add_argument("spec", type=Path, help="sweep spec, .toml or .json (see benchmarks/specs/)")
    p.add_argument("--out", action=path_flag("runs/sweep"),
                   help="output folder (default: the spec's 'out'; another folder also gets the "
                   "tables and figures, OUT/tables and OUT/figures, not the spec's tables_dir/figures_dir)")
    p.add_argument("--workers", action=count_flag("local worker processes", 2, MAX_WORKERS), metavar="N",
                   help=f"local worker processes (default 1, at most {MAX_WORKERS}; not with --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (e.g. tcp://host:8786) instead; "
                   "refused if none answers there within 5 s")
    p.add_argument("--method", action="append", metavar="NAME", help="run only this method of the spec (repeatable)")
    p.add_argument("--retry-errors", action="store_true", help="redo runs recorded as error or timeout")
    p.add_argument("--allow-external-methods", action="store_true",
                   help="let the spec run methods from outside optdist ('module:function'): imports and runs that code")
    p.add_argument("--dry-run", action="store_true", help="list the runs still to do and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--solu", type=Path, action=path_flag("instances/paper.solu"),
                   help="reference .solu file for the gap table")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("bench-table", help="(re)generate the tables of a sweep from its records")
    p.add_argument("out", type=Path, help="sweep output folder (holding records/)")
    p.add_argument("--solu", type=Path, action=path_flag("instances/paper.solu"),
                   help="reference .solu file (its optima win over the records', except a value below a bound "
                   "a record proves, or an optimum above a feasible placement's objective: refused for the tables, "
                   "with a warning naming it)")
    p.add_argument("--dest", type=Path, action=path_flag("runs/sweep/tables"),
                   help="folder for the tables (default: the spec's tables_dir or OUT/tables)")
    p.add_argument("--write-solu", type=Path, action=path_flag("reference.solu"), metavar="FILE",
                   help="merge the records' reference values into this .solu file")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("bench-figures", help="(re)draw a sweep's figures (PNG + CSV) from its records")
    p.add_argument("out", type=Path, help="sweep output folder (holding records/)")
    p.add_argument("--figure", action="append", metavar="NAME",
                   help=f"figure name, one of {', '.join(FIGURE_NAMES)} (repeatable; default: the spec's 'figures')")
    p.add_argument("--dest", type=Path, action=path_flag("runs/sweep/figures"),
                   help="folder for the figures (default: the spec's figures_dir or OUT/figures)")
    p.set_defaults(func=cmd_figures)


def _saved_spec(out: Path) -> dict:
    """The spec a sweep saved in ``OUT/spec.json``; {} if absent, or, with a warning on stderr
    naming the file and the fix, if unreadable or not a JSON object."""
    path = out / "spec.json"
    if not path.exists():
        return {}
    try:
        spec = restore_non_finite(json.loads(path.read_bytes()), str(path))
        why = None if isinstance(spec, dict) else f"a JSON {type(spec).__name__}, not an object"
    except (OSError, ValueError) as e:
        why = f"unreadable: {e}"
    if why is None:
        return spec
    log.warning("%s: %s; its tables_dir, figures_dir and figures are not used, the defaults are (fix: run "
                "`optdist bench SPEC` again, which rewrites it as the sweep starts, or give --dest DIR, and "
                "--figure NAME to bench-figures)", path, why)
    return {}


def sweep_folder(out: Path, command: str) -> Path:
    """``out`` if it is a sweep's output folder (it holds records/ or the spec.json of ``optdist
    bench``), the argument of ``optdist COMMAND OUT``; else, before any folder is made in it, an
    error naming what was given instead and the command to give: the records folder itself, a
    spec, a folder above the sweep's, another file or a missing path."""
    if (out / "records").is_dir() or (out / "spec.json").is_file():
        return out
    if out.name == "records" and out.is_dir():
        raise ValueError(f"{out}: the sweep's records folder, given where its output folder (the one above) is "
                         f"expected (fix: `optdist {command} {out.parent}`)")
    spec = _spec_out(out) if out.is_file() else None
    if spec is not None:
        raise ValueError(f"{out}: a sweep spec, given where the sweep's output folder is expected (fix: "
                         f"`optdist bench {out}` first, then `optdist {command} {spec}`)")
    inside = sorted(str(p.parent) for p in out.glob("*/records") if p.is_dir()) if out.is_dir() else []
    fix = (f"`optdist {command} {inside[0]}`" + (f"; other sweeps here: {', '.join(inside[1:])}" if inside[1:] else "")
           if inside else f"give the folder `optdist bench SPEC` wrote, the spec's out, e.g. `optdist {command} "
           "benchmarks/milp/competing-lenet`")
    what = "not a sweep output folder, it holds no records/" if out.is_dir() else (
        "a file, not a sweep output folder" if out.exists() else "no such folder")
    raise (ValueError if out.exists() else FileNotFoundError)(f"{out}: {what} (fix: {fix})")


def _spec_out(path: Path) -> str | None:
    """The ``out`` of the sweep spec ``path`` ("OUT" for a .toml file that is not a valid spec);
    None when it is no spec (another .json document, or another file)."""
    from optdist.bench.spec import load_spec

    if path.suffix != ".toml" and not is_json_name(path.name):  # S.JSON is a spec too (load_spec)
        return None
    try:
        return load_spec(path).out
    except (OSError, ValueError):
        return "OUT" if path.suffix == ".toml" else None


def _tables(out: Path, dest: Path | None, solu: Path | None, write_solu: Path | None = None,
            figures: bool = False) -> None:
    """Write the tables (to ``dest``, else the spec's tables_dir, else OUT/tables) and list them on
    stdout; their warnings go to stderr, once each (:func:`optdist.bench.tables.write_tables`).
    ``figures``: the same command draws the figures next, so a record set aside is said to be left
    out of them too, and the figures do not say it again."""
    from optdist.bench.tables import (LEFT_OUT_OF_TABLES, LEFT_OUT_OF_TABLES_AND_FIGURES, check_tables_dest,
                                      write_tables)

    where = "--dest" if dest else "tables_dir"
    dest = _dest_folder(dest or _saved_spec(out).get("tables_dir") or out / "tables", where, "bench-table", out)
    check_tables_dest(dest, where if where == "--dest" or dest != out / "tables" else "the tables folder")
    files, warnings = write_tables(out, dest, solu, write_solu,
                                   LEFT_OUT_OF_TABLES_AND_FIGURES if figures else LEFT_OUT_OF_TABLES)
    for w in warnings:
        log.warning("%s", w)
    print(f"tables: {', '.join(str(f) for f in files if f.suffix == '.md')}")


def _dest_folder(folder: Path | str, where: str, command: str, out: Path) -> Path:
    """:func:`~optdist.io.make_output_folder` of the tables' or figures' folder; where it cannot be
    made or written (a read-only sweep folder), the fix names ``--dest``, which writes them elsewhere
    (on a full disk, after "free space on that disk": :func:`_space_fix`)."""
    try:
        return make_output_folder(folder, where)
    except OutputPathError as e:
        if where == "--dest":
            raise
        if isinstance(e, OutputSpaceError):  # a full disk: the disk's fix first, not the folder's permissions
            raise _space_fix(e, f"write them elsewhere: `optdist {command} {out} --dest DIR` on a disk with "
                                "space") from None
        raise OutputPathError(f"{str(e).rsplit(' (fix: ', 1)[0]} (fix: write them elsewhere: `optdist {command} {out} "
                              "--dest DIR`, a writable folder; or make that folder writable)") from None


def _figures(out: Path, names: list[str], dest: Path | None, warn: bool = True) -> None:
    """Draw the figures ``names``; ``warn`` False: the same command's tables said each record set aside."""
    from optdist.bench.figures import write_figures

    where = "--dest" if dest else "figures_dir"
    dest = _dest_folder(dest or _saved_spec(out).get("figures_dir") or out / "figures", where, "bench-figures", out)
    files = write_figures(out, names, dest, warn)
    print(f"figures: {', '.join(str(f) for f in files if f.suffix == '.png')}")


def cmd_bench(args: argparse.Namespace) -> int:
    from optdist.bench.records import DAMAGED_DIR, DamagedRecord
    from optdist.bench.runner import check_runs, finished, run_sweep
    from optdist.bench.spec import load_spec

    if args.workers is not None and args.scheduler:  # the Dask workers run the sweep: N would be unread
        raise CliError(f"--workers {args.workers} sets the local pool, --scheduler {args.scheduler} runs the sweep on "
                       "that Dask cluster's workers instead: not both (fix: leave --workers out, and start as many "
                       "`dask worker` processes as you want; or leave --scheduler out)")
    args.workers = 1 if args.workers is None else args.workers
    if args.out is not None:  # a str: --out "" would be Path("."), the current folder
        if not str(args.out).strip():
            raise CliError("--out is empty (fix: give a folder, e.g. --out runs/trial, or --out . for the current "
                           "folder)")
        args.out = Path(args.out)
    spec = load_spec(args.spec, args.out)  # --out stands in for a spec without 'out'
    grid = spec.runs()  # the tables count the whole spec's runs, also when --method runs a part of it
    if args.method:
        unknown = sorted(set(args.method) - set(spec.methods))
        if unknown:
            close = {u: difflib.get_close_matches(u, spec.methods, 1) for u in unknown}
            hint = "; ".join(f"{u}: did you mean {m[0]}?" for u, m in close.items() if m)
            raise ValueError(f"--method {quoted(unknown)} not in the spec's methods {quoted(spec.methods)} of "
                             f"{args.spec}{f' ({hint})' if hint else ''} (fix: give one of those methods, or add it "
                             "to the spec's methods)")
    _unused_axes(spec, args.spec)
    chosen = [r for r in grid if not args.method or r.method in args.method]  # the runs --method keeps
    # a Dask cluster's workers may have a solver this machine lacks; --dry-run runs none. run_sweep checks them
    # again (a Python caller's sweep): here they come before --dry-run's list and the folders' checks, as before
    check_runs(chosen, args.spec, solvers=not args.scheduler and not args.dry_run)
    whole = spec  # saved as OUT/spec.json: `optdist bench OUT/spec.json` reruns every method, not only --method's
    if args.method:
        spec = dataclasses.replace(spec, methods=tuple(m for m in spec.methods if m in args.method))
    out = args.out or Path(spec.out)
    if args.out is not None and out.resolve() != Path(spec.out).resolve() and (spec.tables_dir or spec.figures_dir):
        # a trial into another folder: its tables (of its own records) must not replace the spec's, often committed
        print(f"note: --out {out} is not the spec's out ({spec.out}): tables and figures go to {out}/tables and "
              f"{out}/figures, not to the spec's tables_dir/figures_dir (to write those: `optdist bench-table {out} "
              f"--dest DIR`, `optdist bench-figures {out} --dest DIR`)", file=sys.stderr)
        spec = dataclasses.replace(spec, tables_dir=None, figures_dir=None)
        whole = dataclasses.replace(whole, tables_dir=None, figures_dir=None)

    def to_do(run) -> bool:  # a damaged record is redone (the sweep says so where it sets it aside)
        try:
            return not finished(out, run, args.retry_errors, spec.guard_s(run))
        except DamagedRecord:
            return True

    _unused_solver_options(spec.runs(), args.spec, to_do)  # what runs (--method's), not what is recorded
    if args.solu is not None:  # read by the tables after the sweep: a typo is named now, not hours later
        from optdist.bench.solu import read_solu

        try:
            read_solu(args.solu)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"--solu {e} (fix: correct the path, or leave --solu out)") from None
    if args.dry_run:
        spec.external_methods(args.allow_external_methods)
        todo = []
        for r in spec.runs():
            try:
                done = finished(out, r, args.retry_errors, spec.guard_s(r))
            except DamagedRecord as e:  # on stderr, as the sweep's own warning: stdout lists the runs to do
                log.warning("%s; listed to do: `optdist bench` without --dry-run sets it aside under %s and "
                            "redoes the run (fix: none needed)", e, e.path.parent / DAMAGED_DIR)
                done = False
            if not done:
                todo.append(r)
        for r in todo:
            print(r.key)
        print(f"{len(todo)} of {len(spec.runs())} runs to do")
        return 0
    # every folder is checked, none created, before the sweep makes any: a refused spec leaves none behind
    if args.out is None:  # the folder is the spec's: a problem with it names the spec's field, not --out
        try:
            check_output_folder(out, f"{args.spec}: out =")
        except OutputSpaceError as e:  # a full disk, `ulimit -f 0`: the fix is the disk's or the limit's
            raise _space_fix(e, f"give another out in {args.spec} on a disk with space, or --out DIR") from None
        except ValueError as e:
            moved = "" if isinstance(e, OutputPathError) else "move that file away, or "  # a file is in the way
            raise type(e)(f"{str(e).rsplit(' (fix: ', 1)[0]} (fix: {moved}give another out in {args.spec}, "
                          "or --out DIR)") from None
    else:
        check_output_folder(out, "--out")  # as the sweep's lock would refuse it (optdist.bench.runner.sweep_lock)
    _check_not_foreign(out, "--out" if args.out is not None else f"{args.spec}: out =")
    tables = Path(spec.tables_dir) if spec.tables_dir else out / "tables"
    if tables.is_dir():  # the tables are written after the runs: a file of the user's there is named now
        from optdist.bench.tables import check_tables_dest

        check_tables_dest(tables, f"{args.spec}: tables_dir =" if spec.tables_dir else "the tables folder",
                          f"give another tables_dir in {args.spec}" if spec.tables_dir else "give another --out DIR")
    _check_before_runs(spec, args.spec)
    try:
        rep = run_sweep(spec, out, workers=args.workers, scheduler=args.scheduler, retry_errors=args.retry_errors,
                        allow_external=args.allow_external_methods, progress=not args.no_progress, grid=grid,
                        spec_file=None if args.out is not None else str(args.spec), saved=whole)
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM (Terminated: also before the sweep's own handler)
        print(f"{spec.name}: interrupted by {signal_name(e)}; finished runs are recorded in {out}/records, "
              "run the same command to resume", file=sys.stderr)
        return interrupted_status(signal_name(e))
    print(f"{spec.name}: {rep.total} runs, {rep.skipped} already recorded, {rep.ran} run now ({rep.failed} failed) -> {out}/records")
    if rep.damaged:
        print(f"{len(rep.damaged)} damaged record(s) set aside under {out}/records/damaged/ and run again")
    _tables(out, None, args.solu, figures=bool(spec.figures))
    if spec.figures:
        _figures(out, list(spec.figures), None, warn=False)  # the tables' warnings named the figures too
    status = _report_failures(spec.name, out, spec.runs())
    if rep.lost:  # no record, so not among the failures above: said again here, and not exit 0
        print(f"{spec.name}: {rep.lost} run(s) lost by the executor (a Dask worker or scheduler gone) have no record "
              "(fix: run the same command again: it redoes them)", file=sys.stderr)
        return 1
    return status


def _unused_axes(spec, spec_file: Path) -> None:
    """Warn of a spec's solvers or formulations that none of its methods takes (only its
    ``solver_methods`` do): ignored, which the user may not know."""
    takers = [m for m in spec.methods if m in spec.solver_methods]
    for name in ("solvers", "formulations"):
        values = getattr(spec, name)
        if values and not takers:
            log.warning("%s: %s %s are ignored: none of its methods %s takes a solver (those that do: its "
                        "solver_methods, %s) (fix: leave %s out of the spec, or add a method that takes them, e.g. "
                        "milp)", spec_file, name, quoted(values), quoted(spec.methods), quoted(spec.solver_methods),
                        name)


def _unused_solver_options(runs, spec_file: Path, to_do) -> None:
    """Note once, for each solver of ``runs`` without a parallel search (no
    :attr:`~optdist.solvers.base.Feature.THREADS`: GLPK, SCIP), that its runs asking for more than
    one thread run on one (:func:`~optdist.solvers.base.one_thread`), and for each solver that takes
    no seed (no :attr:`~optdist.solvers.base.Feature.SEED`: GLPK) that its runs' seeds (the ``seeds``
    axis, or ``seed`` among the spec's options) seed nothing (:func:`~optdist.solvers.base.no_seed`):
    each run's own note goes to its log, and a comparison of solvers at ``threads = 4`` or over ``seeds`` would not say so where the sweep is started.
    A solver profile's ``threads`` or ``seed`` (its ``[options]``, taken where the run gives none:
    :meth:`~optdist.solvers.base.Solver.settings`) is said so too, naming the profile (before, only
    each run's log said it). Only runs still to do count (``to_do(run)``: a resumed sweep whose
    runs on such a solver are all recorded says nothing; before, the note came again on each resume)."""
    from optdist.solvers import Feature, get_solver
    from optdist.solvers.base import no_seed, one_thread

    adapters: dict[str, object] = {}  # the runs' solver names (a profile's and its adapter's: said once, by the adapter's)
    said: set[tuple[str, Feature]] = set()
    for run in runs:
        opts = run.solve_options()  # the seeds axis's seed, or a seed among the spec's options
        name, threads, seed = opts.get("solver"), opts.get("threads"), opts.get("seed")
        if not isinstance(name, str):
            continue
        if name not in adapters:
            try:
                adapters[name] = get_solver(name)
            except (ValueError, OSError):  # a method's own solver option: its runs say what is wrong
                adapters[name] = None
        adapter = adapters[name]
        if adapter is None:
            continue
        given = {"threads": threads, "seed": seed}
        for feature, key, text in ((Feature.THREADS, "threads", one_thread), (Feature.SEED, "seed", no_seed)):
            value = adapter.defaults.get(key) if given[key] is None else given[key]  # the profile's, if any
            used = isinstance(value, int) and (value > 1 or feature is Feature.SEED)
            if used and not adapter.has(feature) and (adapter.name, feature) not in said and to_do(run):
                said.add((adapter.name, feature))
                where = spec_file if given[key] is not None else f"{spec_file}: solver profile {name}"
                log.info("%s: %s", where, text(adapter.name, value))


def _check_not_foreign(out: Path, where: str) -> None:
    """Before the sweep writes into ``out``: where it is no sweep's folder yet (no records/), refuse a
    file there that the sweep would replace but optdist did not write (a user's spec.json or
    grid.json, tables/*.md of their own), naming it and the fix; a sweep's own folder passes."""
    from optdist.bench.records import GRID_FORMAT, GRID_NAME
    from optdist.bench.tables import foreign_tables
    from optdist.io import document_format

    if (out / "records").is_dir() or not out.is_dir():
        return

    def ours(path: Path) -> bool:
        try:
            return path.name == GRID_NAME and document_format(path) == GRID_FORMAT
        except OSError:
            return False

    foreign = [p for p in (out / "spec.json", out / GRID_NAME) if p.is_file() and p.stat().st_size and not ours(p)]
    foreign += foreign_tables(out / "tables") if (out / "tables").is_dir() else []
    if foreign:
        more = f" (and {', '.join(map(str, foreign[1:]))})" if foreign[1:] else ""
        raise OutputPathError(f"{where} {out}: not a sweep's folder (no records/), and {foreign[0]}{more} exists and "
                              "was not written by optdist; the sweep would replace it (fix: give another folder, e.g. "
                              "--out DIR, or move the file away)")


def _check_before_runs(spec, spec_file: Path) -> None:
    """Before the first run, what failed only after the whole sweep, or in every worker: the
    spec's tables_dir and figures_dir (where the tables and figures go after the sweep) can be
    created and written (:func:`~optdist.io.check_output_folder`: none is created yet), and each
    instance file loads (an instance pattern matching, e.g.,
    instances/schema.json); an instance's defence entry, used only by the method ``defended``, is
    warned about (:func:`~optdist.commands.core.warn_defence_ignored`). ValueError naming the spec,
    the field and the file (a full disk under a folder: the disk's fix first, :func:`_space_fix`)."""
    from optdist.commands.core import warn_defence_ignored
    from optdist.instance import load_instance
    from optdist.solve import METHODS

    undefended = [m for m in spec.methods if m in METHODS and m != "defended"]
    for path in spec.instance_paths():
        try:
            inst = load_instance(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"{spec_file}: instances: {path} is not a valid instance file, every run of it would "
                             f"fail (fix: correct the pattern in instances, or the file): {e}") from None
        if undefended:
            warn_defence_ignored(path, inst, f"{spec_file}'s methods {quoted(undefended)}")
    for name in ("tables_dir", "figures_dir"):
        folder = getattr(spec, name)
        if folder and (name == "tables_dir" or spec.figures):
            try:
                check_output_folder(folder, f"{spec_file}: {name} =")
            except OutputSpaceError as e:  # a full disk, `ulimit -f 0`: not a folder to change but the disk or limit
                raise _space_fix(e, f"give {name} in {spec_file} on a disk with space, or leave it out: "
                                    f"OUT/{name.split('_')[0]}") from None
            except ValueError as e:
                raise type(e)(f"{str(e).rsplit(' (fix: ', 1)[0]} (fix: give a writable folder as {name} in "
                              f"{spec_file}, or leave it out: OUT/{name.split('_')[0]})") from None


def _space_fix(e: OutputSpaceError, instead: str) -> OutputSpaceError:
    """``e`` (no file can be written under a folder of the spec's: a full disk, ``ulimit -f 0``;
    :func:`optdist.io.check_output_folder`) with its fix in place (``e.remedy``: "free space on
    that disk"), then, where another folder would do (a full disk), ``instead`` (where else,
    e.g. "give another out in SPEC on a disk with space, or --out DIR")."""
    if not e.elsewhere:  # the file-size limit holds in every folder: its own fix alone
        return e
    return OutputSpaceError(f"{str(e).rsplit(' (fix: ', 1)[0]} (fix: {e.remedy}, or {instead})", e.remedy, True)


def _report_failures(name: str, out: Path, runs: list) -> int:
    """Say which runs of the grid failed (:func:`optdist.bench.records.failed`: recorded as ``error`` or
    ``timeout``, run now or earlier; not a run that ended ``error`` with a feasible placement kept) and
    where their records are; the exit status: 1 if any, else 0 (tables are written either way)."""
    from optdist.bench.records import DamagedRecord, failed as run_failed, find, kept_placement

    failed: list[tuple[Path, dict]] = []
    kept: list[Path] = []  # ended in solver error but kept a feasible warm start: a result, not a failure (fixc31)
    for run in runs:
        try:
            found = find(out, run)
        except DamagedRecord:  # set aside and run again above: only a concurrent edit gets here
            continue
        if found is not None and run_failed(found[1]):
            failed.append(found)
        elif found is not None and kept_placement(found[1].get("summary")):
            kept.append(found[0])
    if kept:  # else a sweep whose every solve died said "(0 failed)" and nothing more
        names = ", ".join(str(p) for p in kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
        print(f"{name}: {len(kept)} of {len(runs)} runs ended in solver error (termination error) and kept their "
              f"feasible warm start, recorded as results (status ok, counted in the tables, not as failed): {names} "
              "(fix: see each record's note for the solver's error; to redo them after fixing the solver, delete "
              "those records and run again)", file=sys.stderr)
    if not failed:
        return 0
    which = "all" if len(failed) == len(runs) else f"{len(failed)} of {len(runs)}"
    path, rec = failed[0]
    error = " ".join(str(rec.get("error") or "no error message").split())  # on one line: its first may be a heading
    error = error if len(error) <= ERROR_CHARS else error[:ERROR_CHARS] + " ..."
    print(f"{name}: {which} runs failed (status error or timeout: a solver that died without a feasible placement "
          f"is an error; one that kept a feasible warm start is a result, status ok); their records, "
          f"with the error and the solver log's tail, are in {out}/records/ (e.g. {path}: {error}); "
          "fix the cause and run again with --retry-errors to redo them", file=sys.stderr)
    return 1


def cmd_table(args: argparse.Namespace) -> int:
    sweep_folder(args.out, "bench-table")
    if args.write_solu:  # before the tables: a path that cannot take the file, or a damaged one, is named first
        from optdist.bench.solu import read_solu
        from optdist.io import check_output_file

        check_output_file(args.write_solu, "--write-solu", "reference.solu")  # its folder must exist (not created), writable
        if args.write_solu.exists():
            read_solu(args.write_solu)
    _tables(args.out, args.dest, args.solu, args.write_solu)
    if args.write_solu:
        print(f"merged reference values into {args.write_solu}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    sweep_folder(args.out, "bench-figures")
    names = args.figure or list(_saved_spec(args.out).get("figures") or [])
    if not names:
        raise ValueError(f"no figure named (fix: pass --figure NAME or list 'figures' in the spec; names: "
                         f"{', '.join(FIGURE_NAMES)}; e.g. `optdist bench-figures {shlex.quote(str(args.out))} "
                         f"--figure {FIGURE_NAMES[0]}`)")
    _figures(args.out, names, args.dest)
    return 0
