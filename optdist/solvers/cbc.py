"""CBC (COIN-OR) through Pyomo's legacy ``cbc`` shell interface (LP file + solution file).

Typical raw options: ``cuts = "off"``, ``heur = "on"``, ``presolve = "more"``,
``allowableGap = 1e-9`` (absolute gap). CBC reads any abbreviation of a name down to its
mandatory part (``sec`` for ``seconds``, case ignored); optdist expands them and checks every
numeric option's value before CBC runs (:data:`NUMERIC_OPTIONS`: CBC ignores a bad value with a
note in its log and runs on with the default).

Pyomo reads CBC's root LP value ("Continuous objective value") as the lower bound and keeps it
even when the search proved much more, so the bound here is read from CBC's own log
(:func:`proven_bound`): the best of its "best possible" values, incumbent minus the integer gap
it exited on, and its final "Lower bound" line (printed with 3 decimals, so taken 0.0005 lower).
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

from optdist.jsonfile import json_text
from optdist.options import number_problem, unknown_option_fix
from optdist.result import Termination, within_rounding
from optdist.solvers.base import (Feature, LegacySolver, SolverOutcome, _finite, example, shown,
                                  unknown_name_fix)

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_BEST_POSSIBLE = re.compile(r"best possible " + _NUM)
_EXIT_GAP = re.compile(r"Exiting as integer gap of " + _NUM)
_LOWER_BOUND = re.compile(r"^Lower bound:\s+" + _NUM, re.M)
_CONTINUOUS = re.compile(r"Continuous objective value is " + _NUM)
_SEARCH_DONE = re.compile(r"Search completed - best objective|^Result - Optimal solution found", re.M)
_RATIO = re.compile(r"-ratio(?:Gap)?[ =]" + _NUM)
_ALLOWABLE = re.compile(r"-allowableGap[ =]" + _NUM)
CUTOFF_INCREMENT = 1e-5  # CBC's default CbcCutoffIncrement: nodes within it of the incumbent are pruned
_REFUSED = re.compile(r"(No match for \S+|Possible options for \S+ are[^;\n]*)")
_TIME_STOP = re.compile(r"Exiting on maximum time|Stopped on time limit|Result - Stopped on time")
_LIMIT_SET = re.compile(r"^seconds was changed from \S+ to " + _NUM, re.M)
_TIMES = re.compile(r"\((?:CPU|Wallclock) [Ss]econds\):\s+" + _NUM)
#: a stop on another limit than time: nodes (``maxNodes``), solutions (``maxSolutions``), iterations
#: (``maxIterations``), as CbcModel::branchAndBound and CbcSolver print it
_OTHER_LIMIT = re.compile(r"Exiting on maximum (?:nodes|solutions|number of iterations)|"
                          r"Result - Stopped on (?:node|solution|iterations) limit")
#: a stop on a SIGINT (CBC's handler flags its search: "Cbc0027I Exiting on user event")
_USER_STOP = re.compile(r"Exiting on user event|Result - User ctrl-c")
#: every solution CBC reports (Cbc0004I, Cbc0012I, Cbc0016I, Cbc0024I, Cbc0033I): its value only
_SOLUTION = re.compile(r"Integer solution of " + _NUM)

_INT = 2**31 - 1
_INF = math.inf
#: every numeric parameter of CBC 2.10 (``cbc -NAME??`` prints its range): name as CBC lists it,
#: the mandatory part before "(" (any longer prefix of the full name reads the same), ``int`` or
#: ``float``, and CBC's range. A generic option's name (:attr:`Cbc.option_names`) is held to the
#: generic range (optdist.solvers.base.OPTION_RANGES) instead.
NUMERIC_OPTIONS: dict[str, tuple[type, float, float]] = {
    "allow(ableGap)": (float, 0, _INF),
    "cuto(ff)": (float, -_INF, _INF),
    "dualB(ound)": (float, 1e-20, 1e12),
    "dualT(olerance)": (float, 1e-20, _INF),
    "inc(rement)": (float, -_INF, _INF),
    "integerT(olerance)": (float, 1e-20, 0.5),
    "preT(olerance)": (float, 1e-20, _INF),
    "primalT(olerance)": (float, 1e-20, _INF),
    "primalW(eight)": (float, 1e-20, _INF),
    "psi": (float, -1.1, 1.1),
    "pumpC(utoff)": (float, -_INF, _INF),
    "ratio(Gap)": (float, 0, _INF),
    "sec(onds)": (float, -1, _INF),
    "zeroT(olerance)": (float, 1e-100, 1e-5),
    "cutD(epth)": (int, -1, _INT),
    "cutL(ength)": (int, -1, _INT),
    "depth(MiniBab)": (int, -_INT, _INT),
    "force(Solution)": (int, -1, 20_000_000),
    "hot(StartMaxIts)": (int, 0, _INT),
    "idiot(Crash)": (int, -1, _INT),
    "log(Level)": (int, -63, 63),
    "maxF(actor)": (int, 1, _INT),
    "maxIt(erations)": (int, 0, _INT),
    "maxN(odes)": (int, -1, _INT),
    "maxSaved(Solutions)": (int, 0, _INT),
    "maxSo(lutions)": (int, 1, _INT),
    "output(Format)": (int, 1, 6),
    "passC(uts)": (int, -_INT, _INT),
    "passF(easibilityPump)": (int, 0, 10_000),
    "passT(reeCuts)": (int, -_INT, _INT),
    "pumpT(une)": (int, 0, 100_000_000),
    "randomC(bcSeed)": (int, -1, _INT),
    "randomS(eed)": (int, 0, _INT),
    "slog(Level)": (int, -1, 63),
    "slow(cutpasses)": (int, -1, _INT),
    "sprint(Crash)": (int, -1, _INT),
    "strat(egy)": (int, 0, 2),
    "strong(Branching)": (int, 0, _INT),
    "thread(s)": (int, -100, 100_000),
    "trust(PseudoCosts)": (int, -3, _INT),
}
_FULL = {spec.replace("(", "").replace(")", ""): spec for spec in NUMERIC_OPTIONS}  # full name -> spec


def full_name(key: str) -> str | None:
    """The numeric CBC parameter ``key`` names (``sec``, ``SECONDS``, ``secon``: ``seconds``), or None."""
    return next((full for full, spec in _FULL.items() if _reads(key, spec)), None)


def _reads(key: str, spec: str) -> bool:
    """Whether CBC reads ``key`` as the name ``spec`` (``sec(onds)``: case ignored, the full name
    or a shortening of it down to the part before the parenthesis)."""
    low, full = key.lower(), spec.replace("(", "").replace(")", "").lower()
    return len(low) >= len(spec.partition("(")[0]) and full.startswith(low)


@functools.cache
def cbc_names(key: str) -> tuple[str, ...] | None:
    """The names of CBC's parameters and actions that start as ``key`` does, as ``cbc -KEY?`` lists
    them (``sec?``: ``sec(onds)``, the part before the parenthesis the shortest CBC reads; also
    the hidden ones ``cbc -?`` leaves out, e.g. ``thread(s)``); None where CBC cannot be asked (no
    ``cbc`` on PATH)."""
    exe = shutil.which("cbc")
    try:
        said = subprocess.run([exe, f"-{key}?", "-quit"], capture_output=True, text=True, timeout=30).stdout if exe else None
    except (OSError, subprocess.SubprocessError):
        said = None
    if said is None:
        return None
    names, listing = [], False
    for line in said.splitlines():
        text = line.strip()
        if " : " in line:  # "sec(onds) : maximum seconds": the one name KEY starts
            names.append(text.split(" : ")[0])
        elif line.startswith("Completions of "):  # "Completions of cut:", then a name a line
            listing = True
        elif listing and text and " " not in text:
            names.append(text)
        else:
            listing = False
    return tuple(names)


#: CBC's words refusing a parameter's value: a keyword it does not know ("Possible options for
#: cutsOnOff are: off on root ifmove forceOn"), a number out of range ("7 was provided for strategy -
#: valid range is 0 to 2"), not a number ("String of abc is illegal for double parameter ratioGap ...")
_VALUE_REFUSED = re.compile(r"Possible options for \S+ are[^;\n]*|\S+ was provided for \S+ - valid range is [^\n]*"
                            r"|String of \S+ is illegal for [^\n]*")
#: what ``cbc -KEY??`` says of a parameter (its keywords or its range), never of an action (``export``)
_PARAMETER = re.compile(r"^<(?:Possible options for|Range of values is)", re.M)
#: parameters, or one keyword of one (name, keyword, as CBC lists them), that undo what
#: optdist's run reads back or write files: the model's sense (optdist's models minimise;
#: ``direction max`` made CBC report 'unbounded'), the names in the solution file (``keepNames
#: off``: Pyomo could not read it, an internal error), ``preprocess save`` (wrote presolved.mps in
#: the working directory; ``stop``: and no solve), ``presolve file`` and ``cpp`` (wrote user_driver.cpp)
_UNDOES: dict[tuple[str, str | None], str] = {
    ("direction", None): "sets the objective's sense (optdist's models minimise)",
    ("keepN(ames)", None): "drops the names from the solution file, by which optdist reads it",
    ("preprocess", "save"): "save writes the preprocessed model to a file (presolved.mps)",
    ("preprocess", "stop(aftersaving)"): "stop writes the preprocessed model to a file and stops before its solve",
    ("presolve", "file"): "file writes the model to a file",
    ("cpp(Generate)", None): "writes C++ code to a file (user_driver.cpp)",
}


@functools.cache
def _described(key: str) -> str | None:
    """What ``cbc -KEY??`` prints (CBC's description of the one name KEY starts); None where CBC
    cannot be asked (no ``cbc`` on PATH)."""
    exe = shutil.which("cbc")
    try:
        said = subprocess.run([exe, f"-{key}??", "-quit"], capture_output=True, text=True, timeout=30) if exe else None
    except (OSError, subprocess.SubprocessError):
        return None
    return said.stdout if said else None


def cbc_action(key: str) -> str | None:
    """CBC's description of ``key`` where it names no numeric or keyword parameter but one of
    CBC's "actions or string parameters" (``cbc -KEY??`` gives no range or keywords), e.g.
    "export : Export model as mps file", "- : From stdin", "directory : Set Default directory for
    import etc."; None for a parameter, or where CBC cannot be asked or does not describe its
    parameters as CBC 2.10 does (``ratioGap``'s range: another version's words refuse nothing)."""
    said = _described(key)
    if said is None or _PARAMETER.search(said) or not _PARAMETER.search(_described("ratioGap") or ""):
        return None  # (the last: this CBC describes even a known parameter otherwise; nothing is refused)
    return next((line.strip() for line in said.splitlines() if " : " in line), key)


@functools.cache
def cbc_refuses(key: str, value: str) -> str | None:
    """Why CBC refuses ``value`` for its parameter ``key`` (``cbc -KEY VALUE -quit``, as a run
    passes it; CBC is asked only where ``cbc -KEY??`` says KEY is a parameter, an action such as
    ``export FILE`` is never run): its words, e.g. "cbc said: Possible options for cutsOnOff are:
    off on root ifmove forceOn", or that it crashed reading the value (CBC 2.10 on a value of
    1,000 characters or more: "cbc crashed reading it, exit status -11"; before, it passed and
    every run crashed); None where CBC takes it, KEY is no parameter, or CBC cannot be asked (no
    ``cbc``)."""
    said = _described(key)
    if said is None or not _PARAMETER.search(said):
        return None
    try:
        run = subprocess.run([shutil.which("cbc") or "cbc", f"-{key}", value, "-quit"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if run.returncode < 0:
        return f"cbc crashed reading it, exit status {run.returncode}"
    said = "; ".join(_VALUE_REFUSED.findall(run.stdout))
    return f"cbc said: {said}" if said else None


def _range_text(kind: type, low: float, high: float) -> str:
    """``an integer in [0, 2]``, ``a number >= 0``, ``a finite number``."""
    what, num = ("an integer", lambda x: str(int(x))) if kind is int else ("a number", lambda x: f"{x:g}")
    if high == _INF:
        return f"{what} >= {num(low)}" if low > -_INF else "a finite number"
    return f"{what} in [{num(low)}, {num(high)}]"


def _example(kind: type, low: float, high: float) -> str:
    """A value in ``[low, high]`` of ``kind`` for a fix's example: ``low`` where finite, else 0 or ``high``."""
    value = low if low > -_INF else min(0.0, high)
    return str(int(value)) if kind is int else f"{value:g}"


def _rounded_down(text: str) -> float:
    """A value CBC printed rounded (e.g. ``99.0598`` for 99.05983): minus half a unit of its last digit."""
    mantissa, _, exp = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return float(text) - 0.5 * 10.0 ** (int(exp or 0) - decimals)


def proven_bound(log: str, incumbent: float | None) -> float | None:
    """The best lower bound CBC's log proves (minimisation); the incumbent where it is above it by
    rounding only (:func:`~optdist.result.within_rounding`; a bound further above is a false claim,
    passed on for :func:`~optdist.result.finalize` to cap and record).

    Sources, each a valid bound: the root LP value; every "best possible X" (node log, partial
    search); "Exiting as integer gap of G" (incumbent - G); "Lower bound: L" (L - 0.0005, as L
    is rounded to 3 decimals); "Search completed" or "Result - Optimal solution found" (also
    printed when the root solves it) without an exit gap: incumbent - max(cutoff increment,
    ratio * |incumbent|, allowableGap), the most CBC prunes by. Values CBC prints rounded
    (root LP, "best possible") are taken half a unit of their last digit lower.
    ``None`` if the log gives none.
    """
    found = [_rounded_down(x) for x in _CONTINUOUS.findall(log)]
    if incumbent is not None and _SEARCH_DONE.search(log) and not _EXIT_GAP.search(log):
        ratio = max((float(x) for x in _RATIO.findall(log)), default=0.0)
        allowable = max((float(x) for x in _ALLOWABLE.findall(log)), default=0.0)
        found.append(incumbent - max(CUTOFF_INCREMENT, ratio * abs(incumbent), allowable))
    found += [_rounded_down(x) for x in _BEST_POSSIBLE.findall(log)]
    found += [float(x) - 5e-4 for x in _LOWER_BOUND.findall(log)]
    if incumbent is not None:
        found += [incumbent - float(g) for g in _EXIT_GAP.findall(log)]
    found = [x for x in found if math.isfinite(x) and abs(x) < 1e49]  # CBC prints 1e50 for "none"
    if not found:
        return None
    best = max(found)
    return best if incumbent is None else within_rounding(best, incumbent)


def infeasibility_unproven(log: str) -> str | None:
    """Why CBC's claim that the model is infeasible is no proof, from its ``log``; None if the log
    gives no reason to doubt it.

    CBC 2.10's preprocessing stopped by the time limit says "Cut generators found to be infeasible!
    (or unbounded)" / "Pre-processing says infeasible or unbounded" and writes "Integer infeasible"
    as its solution's status, as for a real proof (reproduced: ``cbc lenet-10x10-tau0.6.lp -sec 0.7
    -timeMode elapsed -threads 1 -solve`` on a core shared with two busy loops, CPU 0.26 s,
    wall clock 0.85 s; the model is feasible), and its log says "No feasible solution found" after
    any other stop on time, which Pyomo reads as infeasible. So a claim is doubted where the log
    says CBC stopped on its time limit, or where a limit was set ("seconds was changed from ... to
    L") and its CPU or wall-clock time (seconds, printed with 2 decimals: taken half a unit higher)
    reached L, or no time was printed to tell: a claim made at the limit is no proof either way.
    """
    if _TIME_STOP.search(log):
        return "its log says it stopped on its time limit"
    limits = _LIMIT_SET.findall(log)
    if not limits:
        return None
    limit = float(limits[-1])
    times = [_rounded_down(t) + 10.0 ** -len(t.partition(".")[2]) for t in _TIMES.findall(log)]  # printed rounded: up
    if times and max(times) < limit:
        return None
    spent = f"it ran up to {max(times):.3g} s" if times else "it did not say how long it ran"
    return (f"{spent}, its time limit is {limit:g} s (CBC's preprocessing, stopped by the clock, says "
            "'infeasible' as for a proof)")


def stopped_by(log: str) -> Termination | None:
    """What CBC's ``log`` says stopped it: :attr:`Termination.TIME_LIMIT` where it says it stopped on
    its time limit ("Exiting on maximum time", "Result - Stopped on time limit") and names no other
    limit; :attr:`Termination.ITERATION_LIMIT` where it names a node, solution or iteration limit
    (:data:`_OTHER_LIMIT`); :attr:`Termination.INTERRUPTED` where it stopped on a SIGINT ("Exiting
    on user event": optdist's stop, its watchdog's at the time limit, or anyone's); None where it
    names none.

    CBC 2.10's solution file says "Stopped on iterations" for every stop whose secondary status is
    not "time" (CbcSolver.cpp: ``if (iStat2 == 4) "Stopped on time" else "Stopped on
    iterations"``), a SIGINT's among them, which Pyomo reads as ``maxIterations`` (its status
    "aborted/maxIterations")."""
    if _OTHER_LIMIT.search(log):
        return Termination.ITERATION_LIMIT
    if _TIME_STOP.search(log):
        return Termination.TIME_LIMIT
    return Termination.INTERRUPTED if _USER_STOP.search(log) else None


def reported_incumbent(log: str) -> float | None:
    """The best (least) solution value CBC's ``log`` reported ("Integer solution of X found ...",
    printed with 6 significant digits), or None; its values are never printed."""
    values = [float(x) for x in _SOLUTION.findall(log)]
    return min(values) if values else None


class Cbc(LegacySolver):
    """CBC (EPL licence; Debian ``apt-get install coinor-cbc``, conda ``coin-or-cbc``)."""

    name = "cbc"
    pyomo_name = "cbc"
    features = frozenset({Feature.WARM_START, Feature.THREADS, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "apt-get install coinor-cbc   (or conda install -c conda-forge coin-or-cbc); needs `cbc` on PATH"
    abs_gap = CUTOFF_INCREMENT  # an exhausted tree proves optimality to within CBC's cutoff increment
    #: CBC stops at a SIGINT only between steps of its search (nodes, cut passes), and drops one
    #: that comes before the search starts (its handler flags the running search): in its
    #: preprocessing or feasibility pump it ran on for 10 s through repeated SIGINTs
    #: (lenet-10x10-tau0.8 per-map); after this grace it is killed, its incumbent lost (:meth:`_killed`
    #: keeps its log's bound and names the solution's value). In its search it took 8 s at a load of
    #: 4 to act on the watchdog's SIGINT at its first node (lenet-10x10-tau0.6 compact, greedy
    #: start; 1.2 s on lenet-3x10-tau0.6), so a busy machine loses incumbents to this grace too
    stop_grace = 2.0
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "seconds",
        "mip_gap": "ratioGap",
        "threads": "threads",
        "seed": "randomCbcSeed",
    }

    def raw_options(self, opts: dict[str, Any], generic: tuple[str, ...], raw: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`Solver.raw_options`, with ``timeMode elapsed`` beside a time limit (unless given
        raw): CBC's ``seconds`` counts its CPU time by default, which on a shared machine runs far
        behind the clock (a 3-s limit took 11.5 s on 2 cores under a load of 8, 4.3 s with it;
        ``tests/test_solver_time_limits.py``'s model)."""
        out = super().raw_options(opts, generic, raw)
        if "seconds" in out and not any(k.lower().startswith("timem") for k in out):
            out["timeMode"] = "elapsed"
        return out

    def native_name(self, key: str) -> str:
        """CBC's full name for a numeric parameter given abbreviated (``sec``: ``seconds``); other names as given."""
        return full_name(key) or key

    def _check_value(self, key: str, native: str, value: Any, where: str) -> Any:
        """A numeric parameter's value must be a number of its kind in its range (:data:`NUMERIC_OPTIONS`;
        the generic range for a generic option's name: :meth:`Solver._check_value`); returns it as
        passed on (an integer parameter given as an integral float, ``maxNodes=5.0``, as the int).
        Raises ValueError naming the option, the value, what is wrong (:func:`~optdist.options.number_problem`:
        "is not a number", "is not a whole number", "is out of range") and the fix."""
        if native in self.option_names.values():
            return super()._check_value(key, native, value, where)
        spec = _FULL.get(native)
        if spec is None:
            return value  # a keyword or action: CBC's log says whether it took it (_raw_refused)
        kind, low, high = NUMERIC_OPTIONS[spec]
        problem = number_problem(value, whole=kind is int, within=lambda v: low <= v <= high)
        if problem:
            raise ValueError(f"{where}: {key} = {shown(value)} is {problem} ({self.name}'s numeric parameter {native}; "
                             f"fix: give {_range_text(kind, low, high)}{example(where, key, _example(kind, low, high))})")
        return int(value) if kind is int else value

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each raw option's name must be one CBC reads (asked: :func:`cbc_names`, :func:`_reads`;
        before, CBC skipped an unknown one with "No match for" in its log, so every run given it
        failed); the fix names a close one, or CBC's name and optdist's generic option for a
        generic option under another solver's name (HiGHS's ``mip_rel_gap``: ``ratioGap``,
        ``mip_gap``; :func:`~optdist.options.unknown_option_fix`). CBC's actions and string parameters
        are refused (:func:`cbc_action`; before, ``export=`` wrote a file named ``-stat=1``, ``quit=``
        and ``stop=`` ended CBC before its solve, ``restore=`` and ``printMask=x`` crashed it, ``-``
        read its commands from stdin), as are the parameters that undo what the run reads back or
        write files (:data:`_UNDOES`: ``direction``, ``keepNames``, ``preprocess save``, ``cpp``).
        Each parameter's value must be one CBC takes (asked: :func:`cbc_refuses`; before, a keyword
        CBC does not know, ``cuts = "bogus"``, failed every run, the error printing the options as
        a Python dict); numeric ones are also checked by :meth:`_check_value`. Raises ValueError
        naming the option, the value, CBC's words and the fix."""
        from optdist.solvers import ADAPTERS

        for key, given in options.items():
            names = cbc_names(key)
            if names is not None and not any(_reads(key, n) for n in names):
                fix = unknown_option_fix(key, given, [n.replace("(", "").replace(")", "") for n in names] + list(_FULL),
                                         self.option_names, [a.option_names for a in ADAPTERS.values()], where)
                raise ValueError(f"{where}: CBC has no option {json_text(key)} (fix: "
                                 f"{unknown_name_fix(fix, '`cbc -?`')})")
            action = cbc_action(key)
            if action is not None:
                raise ValueError(f"{where}: {key} = {shown(given)} names one of CBC's actions or string parameters "
                                 f"({json_text(action)}), not a parameter of its solve: optdist's run of CBC imports "
                                 "the model, solves it and writes its solution itself, and a raw option only sets a "
                                 "numeric or keyword parameter (fix: remove it; `cbc -?` lists the parameters)")
            undoes = next(((why, word) for (spec, word), why in _UNDOES.items()
                           if _reads(key, spec) and (word is None or _reads(str(given), word))), None)
            if undoes is not None:
                fix = "remove it" if undoes[1] is None else f"give another value; `cbc -{key}??` lists them"
                raise ValueError(f"{where}: {key} = {shown(given)}: CBC's {key} {undoes[0]} (fix: {fix})")
            said = cbc_refuses(key, str(given))
            if said:
                raise ValueError(f"{where}: CBC does not take {key} = {shown(given)} ({said}) (fix: give a "
                                 f"value it takes; `cbc -{key}??` describes {key} and its values)")

    def _bound(self, opt: Any, res: Any, incumbent: float | None) -> float | None:
        log = getattr(opt, "_log", None)
        if not log:
            return _finite(res.problem.lower_bound)
        return proven_bound(log, incumbent)

    def _raw_refused(self, opt: Any) -> str | None:
        """CBC skips an unknown option ('No match for foo') or bad value ('Possible options for X')."""
        said = _REFUSED.findall(getattr(opt, "_log", None) or "")
        return "cbc said: " + "; ".join(said) if said else None

    def _infeasibility_unproven(self, opt: Any) -> str | None:
        """:func:`infeasibility_unproven` of CBC's log."""
        return infeasibility_unproven(getattr(opt, "_log", None) or "")

    def _hit_time_limit(self, opt: Any, res: Any, opts: dict[str, Any]) -> bool:
        return bool(_TIME_STOP.search(getattr(opt, "_log", None) or "")) or super()._hit_time_limit(opt, res, opts)

    def _stopped_by(self, opt: Any, term: Termination) -> Termination | None:
        """A stop Pyomo read as an iteration limit (from CBC's solution file, "Stopped on
        iterations") is what CBC's log says stopped it (:func:`stopped_by`): its time limit, or a
        SIGINT (``interrupted``; the watchdog's at the time limit: ``time_limit``, as
        :meth:`LegacySolver._solve` records it); a node, solution or iteration limit the log names
        is an iteration limit, also where Pyomo read 'other' (``maxSolutions``) or
        'intermediateNonInteger' (no solution)."""
        said = stopped_by(getattr(opt, "_log", None) or "")
        if term is Termination.ITERATION_LIMIT:
            return said
        # a node or solution limit Pyomo read as 'other' or 'intermediateNonInteger' (before: 'error',
        # or 'time_limit' for a solution limit with a time limit set)
        return said if term is Termination.ERROR and said is Termination.ITERATION_LIMIT else None

    def _killed(self, opt: Any) -> SolverOutcome:
        """CBC killed after a stop was asked (a signal's, or the watchdog's at the time limit), past
        :attr:`stop_grace` (it acts on a SIGINT only once its branch-and-bound runs, and there only
        between nodes: in its preprocessing or the feasibility pump before it, it runs on): its
        log's bound (:func:`proven_bound`) is kept, and the value of the best solution it had
        reported, whose placement died with it (CBC 2.10 writes a solution's values only as it
        exits; its log prints the value alone), is named in ``extra["incumbent_lost"]``. A warm start the run gave is kept by the run
        (:func:`optdist.milp.run._keep_warm_start`)."""
        log = getattr(opt, "_log", None) or ""
        best = reported_incumbent(log)
        out = SolverOutcome(Termination.NO_SOLUTION, "", bound=proven_bound(log, best) if log else None)
        if best is not None and out.bound is not None and out.bound > best:
            out.bound = None  # above a solution it reported beyond rounding: no proof, and no placement to cap it at
        if best is not None:
            out.extra["incumbent_lost"] = (
                f"cbc had reported a solution of {best:g} (the model's units) when it was killed, "
                f"{self.stop_grace:g} s after it was asked to stop (it stops on a signal only in its "
                "branch-and-bound, and writes a solution's values only as it exits): that placement is lost "
                "(fix: a larger --time-limit, or --warm-start greedy, whose placement the run keeps)")
        return out
