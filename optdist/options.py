"""The generic options every method takes (``time_limit``, ``mip_gap``, ``threads``, ``seed``)
and their ranges, checked the same way by ``optdist.solve``, the CLI, bench specs and the solver
adapters (:mod:`optdist.solvers.base` re-exports them). No heavy imports: ``optdist.solve``
checks the options of every method, the heuristics' too, without loading Pyomo."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from optdist.names import MANY_NAMES_CUTOFF, closest

MAX_SEED = 2**31 - 1  # solvers take a 32-bit signed seed (HiGHS refused 2**31, SCIP overflowed)
GENERIC_OPTIONS = ("time_limit", "mip_gap", "threads", "seed")

#: the most threads any solve may ask for: HiGHS given 100000 starts that many workers (hangs for
#: minutes, ignoring its time limit and SIGTERM, 800 MB); no machine optdist runs on has more cores
MAX_THREADS = 256

#: allowed range of each generic option, as the error message states it
OPTION_RANGES = {
    "time_limit": "a finite number of seconds > 0",
    "mip_gap": "a relative gap in [0, 1] (1: stop at the first incumbent)",
    "threads": f"an integer in [1, {MAX_THREADS}]",
    "seed": "an integer in [0, 2147483647]",
}
#: an example value of each generic option, for the fix of an error message
OPTION_EXAMPLES = {"time_limit": "60", "mip_gap": "0.01", "threads": "1", "seed": "0"}
#: the test of each generic option's range, on a finite number (:data:`OPTION_RANGES` says it)
IN_RANGE: dict[str, Callable[[float], bool]] = {
    "time_limit": lambda v: v > 0,
    "mip_gap": lambda v: 0 <= v <= 1,
    "threads": lambda v: 1 <= v <= MAX_THREADS,
    "seed": lambda v: 0 <= v <= MAX_SEED,
}
#: the CLI flag of each generic option (``optdist solve``'s), for a fix that points to it
OPTION_FLAGS = {"time_limit": "--time-limit", "mip_gap": "--gap", "threads": "--threads", "seed": "--seed"}
#: words people write for a generic option, beside its own name and the solvers' names for it
#: (a raw option ``timeout=5``, a flag ``--timeout 5``): the generic option they mean
SYNONYMS = {"timeout": "time_limit", "time": "time_limit", "timelimit": "time_limit", "gap": "mip_gap",
            "rel_gap": "mip_gap", "relgap": "mip_gap", "thread": "threads", "jobs": "threads", "cores": "threads",
            "randomseed": "seed"}
#: the generic options that take a whole number
WHOLE_OPTIONS = ("threads", "seed")

#: what :func:`number_problem` finds wrong with a value, as the error messages say it ("is ...")
NOT_A_NUMBER = "not a number"
NOT_WHOLE = "not a whole number"
OUT_OF_RANGE = "out of range"


def is_whole(value: Any, *, integral: bool = False) -> bool:
    """The one rule of whole numbers: whether ``value`` is a number that is a whole number. An int
    (numpy's too) is; so is a finite float without a fractional part (``1e2``, ``2.0``) unless
    ``integral``; a bool (``true``), a text (``"3"``), ``2.5``, inf and nan are not.

    ``integral``: only an int, as JSON documents take a count (``"maps": 2.0`` is refused, with
    "write it without the decimal point"); options and flags take ``1e2`` as 100
    (:func:`take_whole`, ``--threads 2.0``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return not integral and math.isfinite(value) and float(value).is_integer()


def number_problem(value: Any, *, whole: bool = False, within: Callable[[float], bool] = lambda v: True) -> str | None:
    """What is wrong with ``value`` as a number (``whole``: a whole number) in the range
    ``within`` (a test of a finite number), None when nothing is: :data:`NOT_A_NUMBER` for a
    value of another type (a string, a bool, None), :data:`NOT_WHOLE` for that or a finite number
    with a fractional part where ``whole`` (an integral float such as ``1.0`` is whole), else
    :data:`OUT_OF_RANGE` for an infinite number (also where ``whole``) or one that fails
    ``within``; nan is :data:`NOT_A_NUMBER` (it was "out of range": ``--plan-time-limit nan``). The one check of the generic options (:func:`check_options`), the raw solver
    options (:meth:`optdist.solvers.base.Solver.check_raw_options`) and the CLI's numeric flags
    (:func:`optdist.cli.number_flag`), so that each message says the problem there is."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return NOT_WHOLE if whole else NOT_A_NUMBER
    if not isinstance(value, numbers.Integral) and math.isnan(value):
        return NOT_A_NUMBER
    if whole and not is_whole(value) and math.isfinite(value):  # inf: out of range, below
        return NOT_WHOLE
    finite = isinstance(value, numbers.Integral) or math.isfinite(value)  # a huge int: no float to test
    return None if finite and within(value) else OUT_OF_RANGE


def take_whole(value: Any, *, within: Callable[[float], bool] = lambda v: True) -> tuple[Any, str | None]:
    """The one rule for a value an option takes as a whole number (the generic ``threads`` and
    ``seed``, HiGHS's integer options, glpsol's ``--tmlim``): ``(the int, None)`` for a whole
    number that passes ``within``, an integral float written as a decimal (``1e2``, ``2.0``)
    included; else ``(value, the problem)`` as :func:`number_problem` says it ("not a whole
    number" for ``2.5`` or a text, "out of range")."""
    problem = number_problem(value, whole=True, within=within)
    return (value, problem) if problem else (int(value), None)


def generic_meant(word: str, spellings: Iterable[Mapping[str, str]] = ()) -> str | None:
    """The generic option (a key of :data:`OPTION_RANGES`) that ``word`` names, None if none: its
    own name, a :data:`SYNONYMS` word, or a solver's own name for it (``spellings``: adapters'
    ``option_names``, e.g. GLPK's ``tmlim``, SCIP's ``limits/time``), compared without leading
    dashes, case and the difference of ``-`` and ``_`` (``--Time-Limit`` is ``time_limit``)."""
    w = word.lstrip("-").lower().replace("-", "_")
    if w in OPTION_RANGES or w in SYNONYMS:
        return w if w in OPTION_RANGES else SYNONYMS[w]
    return next((g for names in spellings for g, n in names.items() if n.lower().replace("-", "_") == w), None)


def unknown_option_fix(key: str, value: Any, names: Iterable[str], option_names: Mapping[str, str],
                       spellings: Iterable[Mapping[str, str]], where: str) -> str:
    """The fix for a raw option ``key`` (given ``value``) that a solver does not have (``names``:
    the ones it has, ``option_names``: its names for the generic options): a generic option under
    another name (another solver's ``time_limit``, ``tmlim``, ``timeout``: :func:`generic_meant`)
    points to this solver's name for it and to optdist's flag (``where``: ``--solver-option``) or
    generic option (``where`` not a flag), with ``value`` where it is in the generic range; else the closest of ``names``
    (``did you mean presolve?``), if one is close. E.g. "did you mean tmlim? optdist's flag for it:
    --time-limit 5"; a generic option the solver is not given (GLPK's seed, SCIP's threads) says so. Empty where nothing
    is close."""
    generic = generic_meant(key, spellings)
    own = option_names.get(generic) if generic else None
    close = own or closest(key, names, cutoff=MANY_NAMES_CUTOFF)
    if generic is None and close:
        generic = {n: g for g, n in option_names.items()}.get(close)
    said = [f"did you mean {close}?"] if close else []
    shown = option_text(value) if generic is not None and option_problem(generic, value) is None else \
        OPTION_EXAMPLES.get(generic or "")
    if generic is not None and generic not in option_names:  # GLPK's seed and threads, SCIP's threads: the
        # flag would be noted and not passed on (was: "optdist's flag for it: --seed 5")
        said.append(f"optdist's {OPTION_FLAGS[generic] if where == '--solver-option' else 'generic option ' + generic} "
                    "is not passed to this solver")
    elif generic is not None and where == "--solver-option":  # --pricing-solver-option's solver has no such flags
        said.append(f"optdist's flag for it: {OPTION_FLAGS[generic]} {shown}")
    elif generic is not None and not where.startswith("--"):
        said.append(f"optdist's generic option for it: {generic}={shown}")
    return " ".join(said)


def option_text(value: Any) -> str:
    """``value`` as a user types it after ``--solver-option KEY=``: ``true``/``false``, a number,
    text as it is (no quotes). (Was ``typed``, a name :func:`optdist.jsonfile.json_text` had too.)"""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def raw_example(where: str, key: str, value: Any) -> str:
    """``"e.g. --solver-option KEY=VALUE"`` for a raw option given by a flag (``where`` starts
    with ``--``, the flag its first word: "--solver-option with the [solver_options] of solver
    profile ..."), else as a profile's ``[solver_options]`` or a Python mapping would hold it
    (``"e.g. KEY = VALUE"``, a text quoted): a fix's example as the user would write it."""
    # not at the top: optdist.jsonfile imports this module (and pydantic)
    from optdist.jsonfile import text_of

    if where.startswith("--"):
        return f"e.g. {where.split()[0]} {key}={option_text(value)}"
    return f"e.g. {key} = {text_of(value)}" if isinstance(value, str) else f"e.g. {key} = {option_text(value)}"


def option_problem(name: str, value: Any) -> str | None:
    """:func:`number_problem` of ``value`` for the generic option ``name`` (a key of :data:`OPTION_RANGES`)."""
    return number_problem(value, whole=name in WHOLE_OPTIONS, within=IN_RANGE[name])


def check_options(options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Type- and range-check generic options (``None`` = not given); return the given ones, a
    whole-number option (``threads``, ``seed``) given as an integral float (``threads=1.0``) as
    the int.

    ``time_limit``: finite seconds > 0; ``mip_gap``: relative, in [0, 1]; ``threads``: integer
    in [1, :data:`MAX_THREADS`]; ``seed``: integer in [0, :data:`MAX_SEED`]. Raises ValueError
    naming the option, the value, what is wrong (:func:`option_problem`) and the range:
    ``"time_limit = '5' is not a number (fix: give a finite number of seconds > 0)"`` for a value
    of another type (a string, a bool; ``threads`` and ``seed``: also a number with a fractional
    part, e.g. 1.5, is "not a whole number"), as a bench spec says it
    (:func:`optdist.bench.spec.option_value_problem`); ``"... = -1 is out of range (fix: ...)"``
    for a number outside the range.
    """
    prefix = f"{where}: " if where else ""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in OPTION_RANGES:
            from optdist.jsonfile import json_text, quoted  # jsonfile imports this module

            close = generic_meant(str(name)) or closest(str(name), GENERIC_OPTIONS)
            raise ValueError(f"{prefix}unknown option {json_text(name)} (fix: "
                             + (f"did you mean {close}? " if close else "")
                             + f"the generic options are {quoted(GENERIC_OPTIONS)}; a solver's own options are raw "
                             "options, [solver_options] in a profile)")
        problem = option_problem(name, value)
        if problem:
            from optdist.jsonfile import value_text

            raise ValueError(f"{prefix}{name} = {value_text(value)} is {problem} (fix: give {OPTION_RANGES[name]})")
        out[name] = int(value) if name in WHOLE_OPTIONS else value
    return out
