"""GLPK through Pyomo's legacy ``glpk`` shell interface (``glpsol``).

Typical raw options: ``cuts = ""`` (all cuts), ``pcost = ""`` (pseudo-cost branching).
No threads (a solve asked for more than one says so once, :func:`~optdist.solvers.base.one_thread`),
no seed (glpsol's ``--seed`` seeds MathProg models only; a seed given is said once,
:func:`~optdist.solvers.base.no_seed`) and no MIP start; at a time limit ``glpsol`` reports the
incumbent as 'feasible'.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

from optdist.jsonfile import json_text, text_of
from optdist.options import raw_example, take_whole, unknown_option_fix
from optdist.result import within_rounding
from optdist.solvers.base import Feature, LegacySolver, shown, unknown_name_fix

#: glpsol's words when the simplex fails on the LP relaxation (e.g. 'basis matrix is singular')
_LP_FAILED = re.compile(r"cannot solve LP relaxation")
_ERROR_LINE = re.compile(r"^Error: (.+)$", re.MULTILINE)
#: glpsol stopped with its incumbent within --mipgap of its bound (Pyomo reads this as 'feasible')
_GAP_STOP = re.compile(r"RELATIVE MIP GAP TOLERANCE REACHED")
#: glpsol's coefficient range before scaling: ' A: min|aij| =  8.640e-20  max|aij| =  1.000e+06  ratio =  1.157e+25'
_RATIO = re.compile(r"^ A: .*ratio =\s+(\S+)", re.MULTILINE)
#: above this ratio of its largest to its smallest coefficient GLPK's double-precision simplex
#: (tolerances ~1e-9) keeps no reliable digit: its bound is not trusted (optdist's models: ~1e4)
RATIO_TRUSTED = 1e12
#: the largest ``--tmlim`` glpsol takes (a C int of seconds, 68 years): 2147483648 is "Invalid time
#: limit", exit status 1, which read as the solver dying (``optdist solve --solver glpk --time-limit 1e308``)
TMLIM_MAX = 2**31 - 1
#: seconds by which glpsol may pass its ``--tmlim`` (it checks the limit between LPs, then writes its
#: solution: 0.3-0.4 s on an 8,064-variable per-map model, tmlim 10 and 27): the limit it gets ends
#: this much earlier, as a stop at the run's deadline (``optdist solve --time-limit``, which leaves no
#: grace) kills it, glpsol having no interrupt handler, and loses its incumbent ("did not exit normally").
#: A root LP longer than the limit still runs past it (tight model of lenet-10x10-tight-tau0.8: tmlim
#: 4, 5.6 s): glpsol checks no limit inside it
TMLIM_MARGIN_S = 1.0
#: glpsol's options that take a whole number (glpsol.c reads each with ``str2int`` into a C int and
#: fails the run on anything else, ``100.0`` included): the least it takes, what it counts, an
#: example; at most :data:`TMLIM_MAX` each. ``proxy`` also takes no value (its default, 60 s).
WHOLE_RAW: dict[str, tuple[int, str, int]] = {"tmlim": (1, "seconds", 60), "memlim": (1, "megabytes", 1024),
                                              "proxy": (1, "seconds", 60)}
#: glpsol's options that are no setting of its solve, each with what it does instead: optdist's run
#: gives glpsol the model and reads back the solution it writes (before, ``wlp=x.lp`` and ``log=l.txt``
#: wrote those files, ``check=`` failed on a missing file, ``max=`` reported 'unbounded', ``read=FILE``
#: read a solution instead of solving, ``nomip=`` an invalid placement, ``help=`` no result; an input
#: format, ``mps=`` or ``math=``, was overridden unsaid by the ``--cpxlp FILE`` Pyomo passes after the raw
#: options, and ``seed=`` seeded nothing of the search). ``cpxlp`` and ``wcpxlp``, glpsol's unlisted names
#: of ``lp`` and ``wlp``, are refused so too, not as unknown.
NOT_SETTINGS: dict[str, str] = {
    **dict.fromkeys(("output", "write", "ranges", "wmps", "wfreemps", "wlp", "wcpxlp", "wglp", "wcnf", "log"),
                    "writes a file"),
    **dict.fromkeys(("mps", "freemps", "lp", "cpxlp", "glp", "math", "mincost", "maxflow", "cnf"),
                    "sets the format of the input file (optdist's model is given as a CPLEX LP file, by the "
                    "--cpxlp FILE that Pyomo passes after the raw options, which overrides it)"),
    "read": "reads a solution from a file instead of solving",
    "check": "checks the input and solves nothing",
    **dict.fromkeys(("min", "max"), "sets the objective's sense (optdist's models minimise)"),
    "nomip": "solves the LP relaxation, not the MILP",
    "interior": "solves an LP by interior point, not the MILP",
    **dict.fromkeys(("minisat", "objbnd"), "solves a feasibility problem with MiniSat, not the MILP"),
    "hide": "drops the names from the solution, by which optdist reads it",
    "model": "reads a MathProg model from a file, a second problem beside optdist's (glpsol: 'Only one input "
             "problem file allowed')",
    **dict.fromkeys(("data", "display", "seed"), "applies to a MathProg model (--math) only, not to optdist's model"),
    **dict.fromkeys(("help", "version"), "prints and exits without solving"),
}
#: glpsol's updates of a factorization (``--ft`` its default, for ``--luf`` only): ``--btf`` takes
#: only the others, and glpsol 5.0 aborts (SIGABRT: "glp_set_bfcp: type = 0x11; invalid parameter")
#: on ``--btf`` without one of them or with ``--ft`` after it
BTF_UPDATES = ("cbg", "cgr")
#: the bound on a node-log line: '+   20: mip =   7.84e+11 >=   7.83e+11 < 0.1% (1; 3)'
_LOG_BOUND = re.compile(r"^\+\s*\d+: (?:mip =|>>>>>)\s+\S+\s+>=\s+(\S+)", re.MULTILINE)


@functools.cache
def _glpsol_help() -> str:
    """``glpsol --help``'s text; empty where it cannot be asked (no ``glpsol`` on PATH)."""
    exe = shutil.which("glpsol")
    try:
        return subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30).stdout if exe else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def glpsol_options() -> frozenset[str]:
    """The names of glpsol's options (without ``--``), as ``glpsol --help`` lists them; empty
    where it cannot be asked (no ``glpsol`` on PATH)."""
    return frozenset(re.findall(r"--([a-z][a-z0-9]*)", _glpsol_help()))


def glpsol_arguments() -> dict[str, str]:
    """glpsol's options that take an argument and its word for it, as ``glpsol --help`` lists them
    ("--tmlim nnn": ``{"tmlim": "nnn"}``; "--proxy [nnn]": ``"[nnn]"``, optional); the other
    options are switches ("--pcost"). Empty where glpsol cannot be asked, or where its help does not
    read so (``--tmlim nnn`` not found: another version's layout makes no option a switch)."""
    found = dict(re.findall(r"--([a-z][a-z0-9]*) (\[?[a-z]+\]?)(?=\s{2,}|\s*$)", _glpsol_help(), re.M))
    return found if "tmlim" in found else {}


class Glpk(LegacySolver):
    """GLPK (GPL; Debian ``apt-get install glpk-utils``)."""

    name = "glpk"
    pyomo_name = "glpk"
    #: no :attr:`Feature.SEED`: glpsol's ``--seed`` seeds only a MathProg model's random numbers, not
    #: the MIP search, which makes no random choice (a seed given is noted, :func:`~optdist.solvers.base.no_seed`)
    features = frozenset({Feature.BOUND})
    #: GLPK 5 claims false optima (break34a's penalty-max.json, per-map: optimal 8.90312624e-05 s,
    #: a greedy placement scores 7.90026909e-05 s): its bounds are checked
    checks_bound = True
    install_hint = "apt-get install glpk-utils   (or conda install -c conda-forge glpk); needs `glpsol` on PATH"
    option_names: ClassVar[dict[str, str]] = {"time_limit": "tmlim", "mip_gap": "mipgap"}

    def _check_value(self, key: str, native: str, value: Any, where: str) -> Any:
        """An option of :data:`WHOLE_RAW` (``tmlim``, glpsol's name for ``time_limit``, among them:
        its one range, whole seconds; before, ``tmlim=-5`` also said the generic "a finite number of
        seconds > 0", as if 2.5 were taken) by the one rule of whole numbers
        (:func:`~optdist.options.take_whole`): ``tmlim=1e2`` or ``2.0`` passed on as the int,
        which glpsol reads (``100.0`` failed the run), ``2.5`` or a number outside glpsol's range
        refused before anything runs, the error naming ``key``, the value, the range and an example;
        any other generic option under glpsol's name as every adapter's (the generic range)."""
        if native not in WHOLE_RAW:
            return super()._check_value(key, native, value, where)
        if native == "proxy" and value == "":
            return value
        least, unit, example = WHOLE_RAW[native]
        taken, problem = take_whole(value, within=lambda v: least <= v <= TMLIM_MAX)
        if problem:
            raise ValueError(f"{where}: {key} = {shown(value)} is {problem} (glpsol's --{native} takes whole {unit}; fix: "
                             f"give a whole number in [{least}, {TMLIM_MAX}]"
                             f"{', or nothing for its default' if native == 'proxy' else ''}, "
                             f"{raw_example(where, key, example)})")
        return taken

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each name must be one of glpsol's options (:func:`glpsol_options`), checked before glpsol
        runs (before, ``time_limit=5`` started glpsol, which failed: "glpk failed ... check their
        names"); the fix names a close one, or glpsol's name and optdist's flag for a generic
        option under another name (:func:`~optdist.options.unknown_option_fix`). A switch
        (:func:`glpsol_arguments`) takes no value (before, ``pcost = "bar"`` ran glpsol, which read
        ``bar`` as a second input file and failed), an option with an argument needs one; options
        that are no setting of the solve (:data:`NOT_SETTINGS`: files written, the input format,
        another problem solved, a MathProg model's files and seed) are refused (``btf`` without ``cbg`` or ``cgr``:
        :meth:`check_raw_together`), and so is an ``ini`` file that is not there (glpsol said "Unable
        to open" as it ran); the values themselves only glpsol checks, as it runs (but
        :data:`WHOLE_RAW`'s and the generic options', :meth:`_check_value`; an ``ini`` file that is
        no basis file, with ``nointopt``: "Unable to read initial basis")."""
        from optdist.solvers import ADAPTERS

        names = glpsol_options()
        for key, given in options.items():
            if key in NOT_SETTINGS:
                raise ValueError(f"{where}: {key} = {shown(given)}: glpsol's --{key} {NOT_SETTINGS[key]}; optdist's "
                                 "run of glpsol gives it the model and reads back its solution itself, and a raw "
                                 "option only sets how it solves (fix: remove it)")
            if names and key not in names:
                fix = unknown_option_fix(key, given, names, self.option_names,
                                         [a.option_names for a in ADAPTERS.values()], where)
                raise ValueError(f"{where}: glpsol has no option {json_text(key)} (fix: "
                                 f"{unknown_name_fix(fix, '`glpsol --help`')})")
            takes = glpsol_arguments()
            arg, switch = takes.get(key), given is None or str(given).strip() == ""
            if takes and arg is None and not switch:  # glpsol would read the value as a second input file
                raise ValueError(f"{where}: glpsol's --{key} is a switch, it takes no value: {key} = {shown(given)} "
                                 f"(fix: give it no value, {raw_example(where, key, '')})")
            if arg is not None and not arg.startswith("[") and switch:
                raise ValueError(f"{where}: glpsol's --{key} takes a value ({arg}), {key} has none (fix: give "
                                 f"one; `glpsol --help` says what --{key} {arg} means)")
            if key == "ini" and not switch and not os.path.isfile(str(given)):  # else glpsol: "Unable to open"
                what = "not a file" if os.path.exists(str(given)) else "no such file"  # a folder, /dev/null
                raise ValueError(f"{where}: ini = {shown(given)}: {what} (glpsol's --ini reads the initial "
                                 f"basis from it, as glpsol's -w wrote it, relative to {os.getcwd()}; fix: give "
                                 "the path of that file, or remove ini)")

    def check_raw_together(self, options: Mapping[str, Any], where: str = "solver_options") -> None:
        """``btf`` needs ``cbg`` or ``cgr`` and no ``ft`` (:data:`BTF_UPDATES`; before, glpsol aborted:
        SIGABRT, no result). Raises ValueError naming what is missing and the fix."""
        if "btf" in options and ("ft" in options or not set(BTF_UPDATES) & options.keys()):
            said = "with ft" if "ft" in options else "without cbg or cgr"
            fix = ("remove ft" if set(BTF_UPDATES) & options.keys() else  # cbg given too: not "give cbg"
                   f"give cbg or cgr with btf{', and remove ft' if 'ft' in options else ''}, "
                   f"{raw_example(where, 'cbg', '')}")
            raise ValueError(f"{where}: btf {said}: glpsol's --btf (block triangular LU-factorization) takes only "
                             "the Schur-complement updates --cbg or --cgr, not --ft (its default update), and "
                             f"glpsol aborts on it (fix: {fix})")

    @staticmethod
    def example_value(native: str) -> Any:
        """A value glpsol takes for its option ``native`` (:data:`WHOLE_RAW`), for the example of
        a fix; None where optdist does not know one (glpsol cannot be asked up front)."""
        return WHOLE_RAW[native][2] if native in WHOLE_RAW else None

    def native_value(self, option: str, value: Any) -> Any:
        """``glpsol --tmlim`` takes whole seconds: the limit less :data:`TMLIM_MARGIN_S`, rounded down, so
        that it ends within the limit (at least 1, at most :data:`TMLIM_MAX`)."""
        return min(max(1, math.floor(value - TMLIM_MARGIN_S)), TMLIM_MAX) if option == "time_limit" else value

    @staticmethod
    def _ratio(log: str) -> float:
        """glpsol's coefficient ratio before scaling (0 if the log gives none)."""
        found = _RATIO.findall(log)
        try:
            return float(found[0]) if found else 0.0
        except ValueError:
            return math.inf

    def _stopped_within_gap(self, opt: Any) -> bool:
        """glpsol stopped within --mipgap, with coefficients close enough for its bound to hold."""
        log = getattr(opt, "_log", None) or ""
        return bool(_GAP_STOP.search(log)) and self._ratio(log) <= RATIO_TRUSTED

    def _bound(self, opt: Any, res: Any, incumbent: float | None) -> float | None:
        """After a trusted stop within the gap: the last bound of glpsol's node log (Pyomo reads
        none), the incumbent where it is above it by rounding only (a bound further above is a
        false claim, passed on for :func:`~optdist.result.finalize` to cap and record: before,
        it was capped here unseen); otherwise Pyomo's."""
        log = getattr(opt, "_log", None) or ""
        if self._stopped_within_gap(opt):
            for text in reversed(_LOG_BOUND.findall(log)):
                try:
                    value = float(text)
                except ValueError:  # '-inf' parses; 'tree is empty' does not
                    continue
                if math.isfinite(value):  # above the incumbent by more than rounding: left for finalize's cap
                    return value if incumbent is None else within_rounding(value, incumbent)
        return super()._bound(opt, res, incumbent)

    def _failure(self, opt: Any) -> str | None:
        """A stop within the gap whose bound is not trusted (:data:`RATIO_TRUSTED`), or 'cannot
        solve LP relaxation' (glpsol's simplex fails, typically on coefficients many orders of
        magnitude apart) with glpsol's own error line."""
        log = getattr(opt, "_log", None) or ""
        if _GAP_STOP.search(log):
            return (f"glpk stopped within its gap, but the model's coefficients span a ratio of {self._ratio(log):.3g} "
                    f"(> {RATIO_TRUSTED:.0e}), too wide for its bound to be trusted (e.g. a huge rejection_penalty, "
                    "devices many orders of magnitude apart in speed): its placement is kept, unproven; fix: "
                    "--tee shows the solver log; or try another solver, e.g. --solver highs")
        if not _LP_FAILED.search(log):
            return None
        said = _ERROR_LINE.findall(log)
        detail = f" (glpsol: {text_of(said[-1].strip())})" if said else ""
        return (f"glpk could not solve the LP relaxation{detail}: the model's coefficients are likely too far "
                "apart in magnitude for GLPK's simplex (e.g. a huge rejection_penalty, devices or links many "
                "orders of magnitude apart in speed); fix: --tee shows the solver log; or try another solver, "
                "e.g. --solver highs")

    def _no_result(self, opt: Any, error: BaseException) -> str | None:
        """A glpsol that answers no ``glpsol --version`` (Pyomo needs its version to write the command
        line: a TypeError) is not usable; one that ends without writing a solution Pyomo can read
        (Pyomo's "Error parsing solution description file") gave no result. Either: the words of
        ``extra["solver_error"]``, naming glpsol's path and the fix; otherwise None."""
        exe = shutil.which("glpsol") or "glpsol"
        fix = (f"fix: check the glpsol on PATH ({exe}): `glpsol --version` must print its version, and it must "
               f"write the solution file it is asked for; reinstall it ({self.install_hint}); or try another "
               "solver, e.g. --solver highs")
        if isinstance(error, TypeError) and not opt.version():
            return f"solver glpk is not usable: `{exe} --version` gave no version ({fix})"
        if isinstance(error, ValueError) and "solution" in str(error):
            rc = getattr(opt, "_rc", None)
            ended = f"exited with status {rc}" if isinstance(rc, int) else "ended"
            return (f"solver glpk gave no result: glpsol {ended} without writing a solution Pyomo could read "
                    f"(Pyomo: {text_of(str(error))}; {fix})")
        return None
