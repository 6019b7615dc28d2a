"""scip28: a fresh user's defects in the solver options and the command line's fixes.

1. A SCIP integer parameter given a number beyond C's (``limits/nodes=1e30``,
   ``99999999999999999999``, ``lp/threads=1e30``) was "internal error: OverflowError", exit 3:
   "out of range", exit 2, with SCIP's range and an example in it.
2. SCIP truncated a fraction for an integer parameter (``limits/nodes=2.5`` ran with 2) and took
   ``true`` as 1: the one rule of whole numbers (``1e2``, ``2.0`` taken as the int).
3. Another solver's name for an option (GLPK ``time_limit``, HiGHS ``tmlim``, SCIP
   ``time_limit``) had no close match (GLPK ran glpsol, which failed "check their names"): the
   solver's own name and optdist's flag.
4. An unknown flag's close match was misleading (``--timeout`` -> ``--out``, ``--abc`` ->
   ``--gap``): compared without the dashes, only a close one, ``--timeout`` -> ``--time-limit``.
5. Placeholders as examples (``--solver SOLVER``), no close match for an invalid choice,
   ``nan`` "out of range"; HiGHS's own ``threads=0`` is out of range as the generic threads (solv33).
"""

from __future__ import annotations

import re

import pytest

import optdist
from optdist.cli import main
from optdist.commands.solve import parse_solver_options
from optdist.solvers import ADAPTERS, get_solver

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
scip_installed = pytest.mark.skipif(not ADAPTERS["scip"].is_available(), reason="pyscipopt not installed")
glpk_installed = pytest.mark.skipif(not ADAPTERS["glpk"].is_available(), reason="glpsol not installed")
PARAMS = "https://www.scipopt.org/doc/html/PARAMETERS.php"


def _said(capsys) -> str:
    """The one line on stderr (nothing on stdout)."""
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1, cap
    return cap.err


def _solve(capsys, *words: str) -> str:
    assert main(["solve", MICRO, *words]) == 2
    return _said(capsys)


# 1. SCIP: a number beyond C's is out of range, with SCIP's range and an example

@scip_installed
@pytest.mark.parametrize("option, span, example", [
    ("limits/nodes=1e30", "[-1, 9223372036854775807]", "-1"),
    ("limits/nodes=99999999999999999999", "[-1, 9223372036854775807]", "-1"),
    ("lp/threads=1e30", "[0, 64]", "0"),
    ("presolving/maxrounds=1e30", "[-1, 2147483647]", "-1"),
    ("lp/threads=1000", "[0, 64]", "0"),
])
def test_a_scip_integer_beyond_its_range_is_out_of_range_not_an_internal_error(capsys, option, span, example):
    """Before: "internal error: OverflowError: Python int too large to convert to C long", exit 3."""
    key, typed = option.split("=")
    assert _said_scip(capsys, option) == (
        f"optdist solve: error: --solver-option: SCIP refuses {key} = {typed}: out of range (an integer parameter; "
        f"fix: give a whole number in {span}, e.g. --solver-option {key}={example}; see {PARAMS})\n")
    assert get_solver("scip").check_raw_options(parse_solver_options([f"{key}={example}"])) == {key: int(example)}


def _said_scip(capsys, option: str) -> str:
    return _solve(capsys, "--solver", "scip", "--time-limit", "3", "--solver-option", option)


# 2. SCIP: the one rule of whole numbers

@scip_installed
@pytest.mark.parametrize("option", ["limits/nodes=2.5", "lp/threads=2.5", "misc/usesymmetry=2.5", "limits/nodes=true"])
def test_scip_refuses_a_fraction_or_true_for_an_integer_parameter(capsys, option):
    """Before: each ran, exit 0, pyscipopt holding 2 (or 1 for true) while --out recorded 2.5."""
    key, typed = option.split("=")
    said = _said_scip(capsys, option)
    assert f"SCIP refuses {key} = {typed}: not a whole number (an integer parameter; fix: give a whole number" in said
    assert re.search(rf"e\.g\. --solver-option {re.escape(key)}=-?\d+; see ", said), said


@scip_installed
def test_scip_takes_a_whole_number_written_as_a_decimal_as_the_int():
    taken = get_solver("scip").check_raw_options({"limits/nodes": 1e2, "lp/threads": 2.0})
    assert taken == {"limits/nodes": 100, "lp/threads": 2}
    assert all(type(v) is int for v in taken.values())


@scip_installed
def test_scip_refuses_a_number_for_a_true_false_parameter(capsys):
    """Before: misc/catchctrlc=2 was taken as true."""
    assert "SCIP refuses misc/catchctrlc = 2: not true or false (a true/false parameter; fix: give true or false, " \
           "e.g. --solver-option misc/catchctrlc=true;" in _said_scip(capsys, "misc/catchctrlc=2")


# 3. another solver's option: this solver's name for it and optdist's flag

@glpk_installed
@pytest.mark.parametrize("option, meant", [("time_limit=5", "tmlim? optdist's flag for it: --time-limit 5"),
                                           ("mip_rel_gap=0.1", "mipgap? optdist's flag for it: --gap 0.1"),
                                           ("TMLIM=5", "tmlim? optdist's flag for it: --time-limit 5"),
                                           ("cut=", "cuts?")])
def test_glpk_refuses_an_unknown_name_before_glpsol_runs_with_the_name_meant(capsys, option, meant):
    """Before: glpsol ran and failed: "glpk failed with the raw solver options ... check their names"."""
    key = option.split("=")[0]
    assert _solve(capsys, "--solver", "glpk", "--solver-option", option) == (
        f"optdist solve: error: --solver-option: glpsol has no option \"{key}\" (fix: did you mean {meant}"
        f"{'' if meant.endswith('?') else '.'} The names: `glpsol --help`)\n")


@pytest.mark.parametrize("option, meant", [("tmlim=5", "time_limit? optdist's flag for it: --time-limit 5"),
                                           ("time_limt=5", "time_limit? optdist's flag for it: --time-limit 5"),
                                           ("timeout=5", "time_limit? optdist's flag for it: --time-limit 5"),
                                           ("mip_gap=2", "mip_rel_gap? optdist's flag for it: --gap 0.01"),
                                           ("presolv=off", "presolve?")])
def test_highs_names_the_option_meant(capsys, option, meant):
    """Before: "HiGHS has no option 'tmlim' (fix: a name from URL)"; an out-of-range value is not echoed in the flag."""
    key = option.split("=")[0]
    assert f"HiGHS has no option \"{key}\" (fix: did you mean {meant}{'' if meant.endswith('?') else '.'} The names: https://" in _solve(
        capsys, "--solver-option", option)


@scip_installed
def test_scip_names_the_option_meant(capsys):
    assert f"SCIP has no parameter \"time_limit\" (fix: did you mean limits/time? optdist's flag for it: --time-limit 5. " \
           f"The names: {PARAMS})" in _said_scip(capsys, "time_limit=5")


@scip_installed
def test_the_python_api_names_the_generic_option_not_a_flag():
    with pytest.raises(ValueError, match=r"^solver_options: SCIP has no parameter \"threads\" \(fix: did you mean "
                                         r"lp/threads\? optdist's generic option threads is not passed to this solver\. The names: "):
        get_solver("scip").check_raw_options({"threads": 2})


def test_a_pricing_solver_option_names_no_flag_of_the_main_solver(capsys):
    """--time-limit is the whole solve's, not the pricing solver's."""
    said = _solve(capsys, "--pricing-solver", "highs", "--pricing-solver-option", "tmlim=5")
    assert "HiGHS has no option \"tmlim\" (fix: did you mean time_limit? The names: https://" in said


def test_an_unknown_name_with_nothing_close_names_where_the_names_are(capsys):
    assert "HiGHS has no option \"nosuch\" (fix: a name from https://" in _solve(capsys, "--solver-option", "nosuch=1")


# 4. an unknown flag's close match

@pytest.mark.parametrize("flag, fix", [("--timeout", "did you mean --time-limit? "), ("--timelimit", "did you mean "
                                       "--time-limit? "), ("--foo", "leave it out; "), ("--log", "leave it out; "),
                                       ("--abc", "leave it out; "), ("--treads", "did you mean --threads? "),
                                       ("--mip_gap", "did you mean --gap? ")])
def test_an_unknown_flag_is_matched_without_its_dashes(capsys, flag, fix):
    """Before: --timeout, --foo, --log: "did you mean --out?"; --abc: "did you mean --gap?"."""
    assert _solve(capsys, flag) == (f"optdist solve: error: unrecognized argument {flag} (fix: {fix}"
                                    "`optdist solve --help` lists the flags)\n")


# 5. real examples, a close choice, nan, HiGHS's own threads=0

@pytest.mark.parametrize("flag, example", [("--solver", "highs"), ("--method", "milp"), ("--out", "result.json"),
                                           ("--warm-start", "greedy")])
def test_a_flag_without_its_value_gets_a_real_example(capsys, flag, example):
    """Before: "e.g. --solver SOLVER", "--method METHOD", "--out OUT"."""
    assert _solve(capsys, flag) == f"optdist solve: error: {flag} needs a value (fix: give one after it, " \
                                   f"e.g. {flag} {example})\n"


def test_an_invalid_choice_names_the_close_one(capsys):
    assert _solve(capsys, "--formulation", "tigt").endswith("(fix: did you mean --formulation tight?)\n")


def test_nan_is_not_a_number(capsys):
    """Before: "--plan-time-limit nan is out of range"."""
    assert _solve(capsys, "--method", "plan-guided", "--plan-time-limit", "nan") == (
        "optdist solve: error: --plan-time-limit nan is not a number (fix: give a finite number of seconds > 0, "
        "e.g. --plan-time-limit 60)\n")
    with pytest.raises(ValueError, match=r"time_limit = nan is not a number"):
        optdist.solve(MICRO, time_limit=float("nan"))


def test_highs_raw_threads_0_is_range_checked_as_the_generic_threads():
    """HiGHS's own ``threads`` is the generic option's name, so it is held to [1, 256] as CBC's is
    (solv33; scip28 had taken 0, HiGHS's default: leaving threads out gives HiGHS that choice)."""
    with pytest.raises(ValueError, match=r"threads = 0 is out of range \(highs's name for threads"):
        get_solver("highs").check_raw_options({"threads": 0})
    assert main(["solve", MICRO, "-q", "--solver-option", "threads=0"]) == 2
