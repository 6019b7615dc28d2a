"""cli28: the command line's and the solver options' remaining rough edges.

1. GLPK's integer options (``tmlim``, ``memlim``, ``proxy``) given as a decimal (``tmlim=1e2``,
   ``2.0``) reached glpsol as ``100.0``, which it refuses ("glpk failed with the raw solver
   options"): a whole number written so is taken as the int (the rule HiGHS follows,
   :func:`optdist.options.whole`), ``2.5`` is refused before anything runs.
2. HiGHS's refusal echoed the converted value (``1e30`` as a 31-digit integer) and gave no
   example: the value as typed, and an example in the option's range.
3. ``--solver-option KEY=inf`` offered ``KEY=0``, out of range for e.g. ``time_limit``: the
   example is one the option takes.
4. A generic option under a solver's name echoed ``5.`` as ``5.0``: as typed.
5. The plan methods' warning (``extra['limits_above_time_limit']``) named the Python options on the
   command line, and said nothing of a repair limit above the time limit or of limits that add up
   to more than it.
6. A missing file named no fix.
7. ``--gap -1e-3x`` and ``--1`` printed argparse's whole usage: one line with a fix.
"""

from __future__ import annotations

import logging
import re

import pytest

import optdist
from optdist.cli import main
from optdist.solvers import ADAPTERS, get_solver

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
TINY = str(ROOT / "instances/tiny/lenet-1x4-tau0.6.json")
LENET = str(ROOT / "instances/paper/lenet-1x10-tau0.6.json")
glpk_installed = pytest.mark.skipif(not ADAPTERS["glpk"].is_available(), reason="glpsol not installed")


def _said(capsys) -> str:
    """The one line on stderr (nothing on stdout, no usage)."""
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "usage:" not in cap.err, cap.err
    return cap.err


def _example(said: str, flag: str = "--solver-option") -> tuple[str, str]:
    """The KEY=VALUE of the fix's example in ``said``."""
    m = re.search(rf"e\.g\. {flag} ([^=\s]+)=([^\s;)]+)", said)
    assert m, said
    return m[1], m[2]


# 1. GLPK's integer options

@pytest.mark.parametrize("text, value", [("1e2", 100), ("2.0", 2), ("60", 60)])
def test_glpk_takes_a_whole_number_written_as_a_decimal_as_the_int(text, value):
    from optdist.commands.solve import parse_solver_options

    got = get_solver("glpk").check_raw_options(parse_solver_options([f"tmlim={text}"]))
    assert got == {"tmlim": value} and type(got["tmlim"]) is int
    assert type(get_solver("glpk").check_raw_options({"memlim": 5e2})["memlim"]) is int


@glpk_installed
def test_glpk_runs_with_tmlim_written_as_a_decimal(capsys):
    """Before: "glpk failed with the raw solver options {'tmlim': 2.0} (Solver (glpk) did not exit normally)"."""
    assert main(["solve", LENET, "--solver", "glpk", "--formulation", "compact", "--solver-option", "tmlim=2.0",
                 "-q"]) == 0
    assert "failed" not in capsys.readouterr().err


@pytest.mark.parametrize("option, said", [
    ("tmlim=2.5", "--solver-option: tmlim = 2.5 is not a whole number (glpsol's --tmlim takes whole seconds; fix: "
                  "give a whole number in [1, 2147483647], e.g. --solver-option tmlim=60)"),
    ("tmlim=1e30", "--solver-option: tmlim = 1e30 is out of range (glpsol's --tmlim takes whole seconds; fix: give a "
                   "whole number in [1, 2147483647], e.g. --solver-option tmlim=60)"),
    ("memlim=0.5", "--solver-option: memlim = 0.5 is not a whole number (glpsol's --memlim takes whole megabytes; "
                   "fix: give a whole number in [1, 2147483647], e.g. --solver-option memlim=1024)"),
    ("proxy=0", "--solver-option: proxy = 0 is out of range (glpsol's --proxy takes whole seconds; fix: give a whole "
                "number in [1, 2147483647], or nothing for its default, e.g. --solver-option proxy=60)"),
])
def test_glpk_refuses_a_fraction_or_a_number_out_of_its_range_before_anything_runs(capsys, option, said):
    """Before: tmlim=2.5 ran glpsol, which failed: "glpk failed with the raw solver options"."""
    assert main(["solve", MICRO, "--solver", "glpk", "--solver-option", option]) == 2
    assert _said(capsys) == f"optdist solve: error: {said}\n"


def test_glpk_proxy_without_a_value_is_taken():
    assert get_solver("glpk").check_raw_options({"proxy": ""}) == {"proxy": ""}


# 2. HiGHS's refusal: the value as typed, an example in range

def test_highs_refusal_echoes_the_value_as_typed_with_an_example_in_range(capsys):
    """Before: "HiGHS refuses mip_max_nodes = 1000000000000000019884624838656 (an integer option; fix: a value in its
    range, see ...)"."""
    assert main(["solve", MICRO, "--solver-option", "mip_max_nodes=1e30"]) == 2
    said = _said(capsys)
    assert "HiGHS refuses mip_max_nodes = 1e30: out of its range (an integer option; fix: give a whole number in its range, e.g. " \
           "--solver-option mip_max_nodes=" in said and not re.search(r"\d{20}", said)
    key, value = _example(said)
    from optdist.commands.solve import parse_solver_options

    get_solver("highs").check_raw_options(parse_solver_options([f"{key}={value}"]))  # the example is taken


@pytest.mark.parametrize("option, problem", [("mip_max_nodes=1.5", "mip_max_nodes = 1.5: not a whole number"),
                                             ("presolve=bogus", 'presolve = "bogus" (a text option')])
def test_every_highs_refusal_gives_an_example_the_option_takes(capsys, option, problem):
    assert main(["solve", MICRO, "--solver-option", option]) == 2
    said = _said(capsys)
    assert problem in said
    from optdist.commands.solve import parse_solver_options

    get_solver("highs").check_raw_options(parse_solver_options(["=".join(_example(said))]))


def test_the_python_api_echoes_the_value_given_not_the_int():
    with pytest.raises(ValueError, match=r"^solver_options: HiGHS refuses mip_max_nodes = 1e\+30: out of its range "
                                         r"\(an integer option; fix: give a whole number in its range, e\.g\. "
                                         r"mip_max_nodes = \d+; see https://"):
        get_solver("highs").check_raw_options({"mip_max_nodes": 1e30})


# 3. KEY=inf: an example the option takes

@pytest.mark.parametrize("solver, key", [("highs", "time_limit"), ("highs", "mip_max_nodes"),
                                         ("highs", "mip_rel_gap"),
                                         ("highs", "random_seed"), ("glpk", "tmlim"), ("glpk", "memlim")])
def test_inf_is_refused_with_an_example_the_option_takes(capsys, solver, key):
    """Before: "--solver-option time_limit=inf is not a finite number (fix: ..., e.g. --solver-option time_limit=0)",
    and time_limit=0 is out of range. HiGHS is asked about an infinite value (left28: its own
    default objective_bound=inf is taken, tests/test_left28.py), and says "out of range" for these."""
    assert main(["solve", MICRO, "--solver", solver, "--solver-option", f"{key}=inf"]) == 2
    said = _said(capsys)
    assert re.search(rf"{re.escape(key)}(=inf is not a finite number| = inf is out of range| = inf: out of range)",
                     said) and "fix: " in said, said
    got, value = _example(said)
    assert got == key
    from optdist.commands.solve import parse_solver_options

    get_solver(solver).check_raw_options(parse_solver_options([f"{key}={value}"]))


# 4. a generic option under a solver's name: the value as typed

@pytest.mark.parametrize("solver, option, echo", [("highs", "mip_rel_gap=5.", "mip_rel_gap = 5. is out of range"),
                                                  ("highs", "time_limit=-5.", "time_limit = -5. is out of range"),
                                                  ("highs", "threads=1.50", "threads = 1.50 is not a whole number"),
                                                  ("glpk", "mipgap=5.", "mipgap = 5. is out of range")])
def test_a_generic_option_under_a_solvers_name_echoes_the_value_as_typed(capsys, solver, option, echo):
    """Before: "--solver-option: mip_rel_gap = 5.0 is out of range (...)"."""
    assert main(["solve", MICRO, "--solver", solver, "--solver-option", option]) == 2
    said = _said(capsys)
    assert f"--solver-option: {echo} (" in said and "fix: " in said


# 5. the plan methods' limit warning

def _warning(capsys) -> str:
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "warning:" in line and "time-limit" in line]
    assert len(said) == 1, err
    return said[0]


def test_the_cli_warning_names_the_flags(capsys):
    """Before: "plan-guided: plan_time_limit = 9 s above time_limit = 1.5 s: ... e.g. plan_time_limit = 0.75, ..."."""
    assert main(["solve", TINY, "--method", "plan-guided", "--time-limit", "1.5", "--plan-time-limit", "9",
                 "--polish-time-limit", "0"]) == 0
    assert _warning(capsys) == (
        "optdist: warning: plan-guided: --plan-time-limit 9 above --time-limit 1.5: the run's deadline ends that step "
        "first (fix: give limits below --time-limit, e.g. --plan-time-limit 0.75, or leave them out for shares of it)")


def test_a_repair_limit_above_the_time_limit_is_said(capsys):
    assert main(["solve", TINY, "--method", "plan-rollout", "--time-limit", "1.5", "--repair-time-limit", "3"]) == 0
    said = _warning(capsys)
    assert "--repair-time-limit 3 above --time-limit 1.5: the run's deadline ends each such solve first" in said
    assert "fix: " in said and "_time_limit" not in said


def test_limits_each_below_the_time_limit_that_add_up_to_more_are_said(capsys):
    assert main(["solve", TINY, "--method", "plan-guided", "--time-limit", "2", "--plan-time-limit", "1.2",
                 "--polish-time-limit", "0.5", "--repair-time-limit", "0.5"]) == 0
    said = _warning(capsys)
    assert ("--plan-time-limit 1.2 + --polish-time-limit 0.5 + --repair-time-limit 0.5 = 2.2 above --time-limit 2"
            in said and "fix: " in said)


def test_the_python_api_says_the_repair_limit_and_the_sum_in_its_names(caplog):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = optdist.solve(TINY, method="plan-guided", time_limit=1.5, repair_time_limit=2)
        said = res.extra["limits_above_time_limit"]
        assert said.startswith("plan-guided: repair_time_limit = 2 s above time_limit = 1.5 s") and "--" not in said
        res = optdist.solve(TINY, method="plan-guided", time_limit=2, plan_time_limit=1.5, polish_time_limit=1)
        said = res.extra["limits_above_time_limit"]
        assert "plan_time_limit = 1.5 s + polish_time_limit = 1 s = 2.5 s above time_limit = 2 s" in said
    assert said in caplog.text


def test_the_defaults_say_nothing(caplog):
    """The default repair limit (5 s) above a 1.5 s time limit is no choice of the user's."""
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = optdist.solve(TINY, method="plan-guided", time_limit=1.5, plan_time_limit=0.5)
    assert "limits_above_time_limit" not in res.extra and "above time_limit" not in caplog.text


# 6. a missing file

@pytest.mark.parametrize("words, missing", [(["evaluate", "/nonexist.json", "x.json"], "/nonexist.json"),
                                            (["evaluate", MICRO, "/nonexist/x.json"], "/nonexist/x.json"),
                                            (["solve", "instances/no-such.json"], "instances/no-such.json")])
def test_a_missing_file_is_named_with_a_fix(capsys, words, missing):
    """Before: "optdist evaluate: error: /nonexist.json: instance file not found"."""
    assert main(words) == 2
    said = _said(capsys)
    assert said.startswith(f"optdist {words[0]}: error: {missing}: ") and " not found (fix: check the path" in said
    assert "e.g. `ls " in said


def test_a_missing_instance_at_the_top_suggests_the_instances_folder(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", "/nonexist.json", "x.json"]) == 2
    assert "e.g. `ls instances/`" in _said(capsys)


# 7. argparse's own errors: one line

@pytest.mark.parametrize("words, said", [
    (["--gap", "-1e-3x"], "--gap -1e-3x is not a number (fix: give a relative gap in [0, 1] (1: stop at the first "
                          "incumbent), e.g. --gap 0.01)"),
    (["--time-limit", "-5s"], "--time-limit -5s is not a number (fix: give a finite number of seconds > 0, "
                              "e.g. --time-limit 60)"),
    (["--gap"], "--gap needs a value (fix: give one after it, e.g. --gap 0.01)"),
    (["--mip-gap", "--tee"], "--mip-gap needs a value, not the flag --tee (fix: give one after it, e.g. "
                             "--mip-gap 0.01)"),
])
def test_a_flag_without_its_value_is_one_line(capsys, words, said):
    """Before: argparse's whole usage and "argument --gap/--mip-gap: expected one argument"."""
    assert main(["solve", MICRO, *words]) == 2
    assert _said(capsys) == f"optdist solve: error: {said}\n"


@pytest.mark.parametrize("words, said", [
    (["solve", MICRO, "--1"], "optdist solve: error: unrecognized argument --1 (fix: leave it out; "
                              "`optdist solve --help` lists the flags)"),
    (["solve", MICRO, "--gapp", "0.1"], "optdist solve: error: unrecognized arguments --gapp 0.1 (fix: did you mean "
                                        "--gap? `optdist solve --help` lists the flags)"),
    (["solve"], "optdist solve: error: the following arguments are required: instance (fix: see "
                "`optdist solve --help`)"),
    (["solve", MICRO, "--formulation", "x"], 'optdist solve: error: argument --formulation: invalid choice: "x" '
                                             '(choose from "auto", "decomposed", "compact", "per-map", "tight") '
                                             "(fix: e.g. --formulation auto)"),
    (["solvee"], 'optdist: error: argument COMMAND: invalid choice: "solvee" (choose from "profile", "validate", '),
])
def test_an_unknown_flag_and_every_other_parse_error_is_one_line(capsys, words, said):
    """Before: "usage: optdist [-h] [--version] [-v] [-q] [--debug] COMMAND ..." and "optdist: error: unrecognized
    arguments: --1"."""
    assert main(words) == 2
    got = _said(capsys)
    assert got.startswith(said) and "(fix: " in got, got


def test_bare_optdist_lists_the_commands(capsys):
    """`optdist` alone prints the help with every command (as `--help` does), on stderr, status 2."""
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: optdist") and "solve" in err and "bench-table" in err and "optdist: error" not in err
